import subprocess
import sys

import pytest

from deepsheet import plot


def test_import_does_not_load_matplotlib():
    code = ("import sys, deepsheet, deepsheet.plot as p; p.history; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_matplotlib_says_how_to_install(monkeypatch):
    monkeypatch.delitem(sys.modules, "matplotlib.pyplot")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install deepsheet\[plot\]"):
        plot.activation("relu")


def test_headless_picks_agg():
    code = "import deepsheet.plot as p; print(p.pyplot().get_backend())"
    env = {k: v for k, v in __import__("os").environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env)
    assert out.stdout.strip().lower() == "agg"
