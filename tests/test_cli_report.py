"""The run report: figures from `deepsheet train`, the per-class report from `evaluate`, and
`deepsheet report` checked in a real (headless) browser."""
import io
import json
import os
import re

import numpy as np
import pytest

from deepsheet import cli
from deepsheet.cli import _figures

pytest.importorskip("matplotlib", reason="the run report draws with the plot extra")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report") / "run"
    assert cli.main(["train", "--epochs", "2", "--out", str(folder), "--verbose", "0"]) == 0
    return folder


def test_train_draws_the_run_figures(run):
    for name in ("history.png", "confusion_matrix.png", "misclassified.png"):
        with open(run / name, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", name
    metrics = json.loads((run / "metrics.json").read_text())
    report = metrics["classification_report"]
    assert set(report) >= {str(k) for k in range(10)} | {"accuracy", "macro avg"}
    assert report["accuracy"] == pytest.approx(metrics["test_accuracy"])


def test_train_without_matplotlib_says_how_to_get_the_figures(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(_figures, "have_matplotlib", lambda: False)
    assert cli.main(["train", "--epochs", "1", "--out", str(tmp_path / "r"), "--verbose", "1"]) == 0
    out = capsys.readouterr().out
    assert "pip install deepsheet[plot]" in out and "history.png" in out
    assert not any(f.endswith(".png") for f in os.listdir(tmp_path / "r"))
    assert cli.main(["report", str(tmp_path / "r")]) == 1
    assert "pip install deepsheet[plot]" in capsys.readouterr().err


def test_evaluate_prints_and_records_the_per_class_report(run, capsys):
    assert cli.main(["evaluate", str(run)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^\s+precision\s+recall\s+f1-score\s+support", out, re.M)
    assert re.search(r"^\s+macro avg\s", out, re.M)
    evaluation = json.loads((run / "metrics.json").read_text())["evaluation"]
    assert evaluation["split"] == "test" and evaluation["samples"] == 360
    assert evaluation["classification_report"]["accuracy"] == pytest.approx(evaluation["accuracy"])
    assert "test_accuracy" in json.loads((run / "metrics.json").read_text())   # kept


@pytest.fixture(scope="module")
def page(run):
    assert cli.main(["report", str(run)]) == 0
    return run / "report.html"


def test_report_is_one_self_contained_page(page):
    html = page.read_text()
    for section in ("Settings", "Final metrics", "Per class", "Learning curves",
                    "Confusion matrix", "ROC curves", "Misclassified", "Model", "Environment"):
        assert f">{section}" in html, section
    assert html.count('src="data:image/png;base64,') == 4
    # nothing outside the file: no external src/href, no scripts
    assert not re.search(r'(src|href)="(?!data:|#)', html) and "<script" not in html
    assert "weighted avg" in html and "numpy" in html and "no validation data" not in html


def test_report_bad_input_is_one_line(tmp_path, capsys):
    assert cli.main(["report", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "is not a finished run" in err and "Traceback" not in err
    (tmp_path / "f.txt").write_text("x")
    assert cli.main(["report", str(tmp_path / "f.txt")]) == 1
    assert "is a file" in capsys.readouterr().err
    assert cli.main(["report", str(tmp_path / "nope")]) == 1
    assert "no run folder" in capsys.readouterr().err


def test_report_without_validation_data(run, tmp_path, capsys):
    import shutil
    folder = tmp_path / "noval"
    shutil.copytree(run, folder)
    rows = (folder / "history.csv").read_text().splitlines()
    keep = [i for i, name in enumerate(rows[0].split(",")) if not name.startswith("val_")]
    (folder / "history.csv").write_text("\n".join(",".join(r.split(",")[i] for i in keep)
                                                  for r in rows) + "\n")
    assert cli.main(["report", str(folder), "--out", str(tmp_path / "r.html")]) == 0
    assert "no validation data" in (tmp_path / "r.html").read_text()
    assert "wrote" in capsys.readouterr().out


def test_report_in_a_real_browser(run, page):
    import browser
    exe, why = browser.find_chromium()
    if exe is None:
        print(f"skipping the browser check: {why}")
        pytest.skip(why)
    result = browser.open_page(page.as_uri())
    assert result.problems == []
    from matplotlib import pyplot as plt
    pixels = plt.imread(io.BytesIO(result.screenshot), format="png")[..., :3]
    assert pixels.shape[0] >= 800 and pixels.shape[1] >= 1000
    # not blank: dark text and coloured cards on white
    assert pixels.std() > 0.05 and (pixels.mean(axis=-1) < 0.3).mean() > 0.005
    # the checker itself catches what it is there to catch
    bad = run.parent / "bad.html"
    bad.write_text('<!DOCTYPE html><html><body><img src="missing.png">'
                   '<script>console.error("boom"); nope();</script></body></html>')
    found = browser.open_page(bad.as_uri()).problems
    assert any("boom" in p for p in found) and any("nope" in p for p in found)
    assert any("missing.png" in p and "failed request" in p for p in found)
