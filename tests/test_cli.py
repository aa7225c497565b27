import importlib.util
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import deepsheet
from deepsheet import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*args, env=None):
    """Run a command line from the repository root, importing this checkout of deepsheet."""
    full_env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    full_env.update(env or {})
    return subprocess.run(args, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("module", ["deepsheet", "deepsheet.cli"])
def test_version_via_python_m(module):
    result = _run(sys.executable, "-m", module, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"deepsheet {deepsheet.__version__}"


def test_info_subprocess_text():
    result = _run(sys.executable, "-m", "deepsheet", "info")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "deepsheet:" in out and deepsheet.__version__ in out
    assert "numpy:" in out and np.__version__ in out
    for label in ("BLAS:", "backend:", "default dtype:", "CPUs:", "thread variables:", "CuPy:"):
        assert label in out, label
    assert "float32" in out


def test_info_json_subprocess_reflects_environment():
    result = _run(sys.executable, "-m", "deepsheet.cli", "info", "--json",
                  env={"OMP_NUM_THREADS": "3", "DEEPSHEET_DEVICE": "cpu"})
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["deepsheet"] == deepsheet.__version__
    assert info["numpy"] == np.__version__
    assert info["default_dtype"] == "float32"
    assert info["backend"] == "numpy" and info["default_device"] == "cpu"
    assert info["threads"]["env"]["OMP_NUM_THREADS"] == "3"
    assert info["threads"]["cpu_count"] == os.cpu_count()
    assert isinstance(info["cupy"]["available"], bool)


def test_info_blas_matches_numpy(capsys):
    assert cli.main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    assert info["blas"]["name"] == blas["name"]
    assert info["blas"]["version"] == blas["version"]


def test_invalid_device_is_reported_not_raised(capsys, monkeypatch):
    from deepsheet import backend
    monkeypatch.setattr(backend, "_default_device", None)
    monkeypatch.setenv("DEEPSHEET_DEVICE", "tpu")
    assert cli.main(["info"]) == 0
    assert "invalid" in capsys.readouterr().out


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed here")
def test_version_and_info_import_nothing_heavy():
    code = (
        "import sys\n"
        "from deepsheet.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "assert 'deepsheet.datasets' not in sys.modules, 'datasets imported by --version'\n"
        "main(['info'])\n"
        "assert 'cupy' not in sys.modules, 'cupy imported by info'\n"
        "print('OK')\n")
    result = _run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("OK")


def test_no_command_prints_help_and_fails():
    result = _run(sys.executable, "-m", "deepsheet")
    assert result.returncode == 2
    assert "usage: deepsheet" in result.stdout and "info" in result.stdout


def test_unknown_command_is_an_error(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["frobnicate"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'frobnicate'" in err and "info" in err


def test_user_errors_become_one_line(capsys, monkeypatch):
    def boom(args):
        raise FileNotFoundError("no such model file 'x.deepsheet'")
    monkeypatch.setitem(cli.COMMANDS, "boom", ("test only", None, boom))
    assert cli.main(["boom"]) == 1
    assert capsys.readouterr().err.strip() == "deepsheet boom: error: no such model file 'x.deepsheet'"


def test_a_module_adds_a_subcommand_and_a_shared_option(capsys, monkeypatch):
    # what a new cli module does: @command for its subcommand, @option for an option of others
    monkeypatch.setattr(cli._registry, "COMMANDS", dict(cli.COMMANDS))
    monkeypatch.setattr(cli, "COMMANDS", cli._registry.COMMANDS)
    monkeypatch.setattr(cli._registry, "OPTIONS", [])
    monkeypatch.setattr(cli, "OPTIONS", cli._registry.OPTIONS)
    seen = []

    @cli.command("echo", "print its word", arguments=lambda p: p.add_argument("word"))
    def run(args):
        print(args.word, args.times)
        return 0

    @cli.option(["echo"], lambda p: p.add_argument("--times", type=int, default=1))
    def apply(args):
        seen.append(args.times)

    assert cli.main(["echo", "hi", "--times", "3"]) == 0
    assert capsys.readouterr().out == "hi 3\n" and seen == [3]
    with pytest.raises(SystemExit):
        cli.main(["info", "--times", "3"])  # the option belongs to echo only
    assert "unrecognized arguments: --times" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("deepsheet") is None, reason="package not installed (no console script)")
def test_console_script():
    result = _run("deepsheet", "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("deepsheet ")
