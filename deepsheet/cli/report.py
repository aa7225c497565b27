"""``deepsheet report RUN``: one self-contained ``report.html`` for a training run.

The page holds the run's settings, the model summary, the final metrics with the per-class
``classification_report``, the learning curves, the confusion matrix, one-vs-rest ROC curves,
the most confidently misclassified test images and the environment (versions, threads). Every
image is inlined as a PNG data URI and the page has no scripts, so it opens anywhere offline.
"""
from __future__ import annotations

import base64
import html
import io
import json
import os
import time

from ._common import (MODEL_FILE, _input_shape, _load_dataset, _load_model, _positive_int,
                      _preprocessing)
from ._registry import command

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1080px;margin:1.5em auto;
padding:0 1em;color:#1d2330;background:#fff}
h1{font-size:1.5em;margin-bottom:.2em}h2{border-bottom:2px solid #3465a4;padding-bottom:.15em;
margin-top:1.6em}.sub{color:#555}table{border-collapse:collapse;margin:.5em 0}
td,th{border-bottom:1px solid #ddd;padding:.3em .8em;text-align:left}th{background:#eef2f8}
pre{background:#f6f8fa;padding:.8em;overflow-x:auto;font-size:.82em;line-height:1.35}
img{max-width:100%;height:auto;display:block;margin:.6em 0}.note{color:#8a5a00}
.big{font-size:1.6em;font-weight:600}.cards{display:flex;gap:1.2em;flex-wrap:wrap}
.card{background:#eef2f8;border-radius:6px;padding:.6em 1em}
"""


def _report_arguments(parser):
    parser.add_argument("run", help="a run folder written by `deepsheet train`")
    parser.add_argument("--out", metavar="FILE", default=None,
                        help="where to write the page (default RUN/report.html)")
    parser.add_argument("--dataset", default=None,
                        help="evaluate on this dataset instead of the run's own")
    parser.add_argument("--batch-size", type=_positive_int, default=256)


def _png(fig):
    """A figure as an inline <img> (PNG, base64) and closed."""
    from ..plot import pyplot
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    pyplot().close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="" src="data:image/png;base64,{data}">'


def _table(rows, header=None):
    esc = html.escape
    head = "" if header is None else "<tr>" + "".join(f"<th>{esc(str(h))}</th>"
                                                      for h in header) + "</tr>"
    body = "".join("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table>{head}{body}</table>"


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    return "-" if v is None else v


def _check_run(folder):
    if not os.path.exists(folder):
        raise FileNotFoundError(f"no run folder at {folder!r}")
    if not os.path.isdir(folder):
        raise NotADirectoryError(f"{folder!r} is a file; deepsheet report takes the run folder "
                                 f"that `deepsheet train` wrote")
    if not os.path.isfile(os.path.join(folder, MODEL_FILE)):
        has = os.path.isfile(os.path.join(folder, "metrics.json"))
        raise ValueError(f"{folder!r} is not a finished run: no {MODEL_FILE} there"
                         + (" (only metrics.json: the run was interrupted before its first "
                            "epoch ended)" if has else
                            "; make a run with `deepsheet train --out FOLDER`"))


def _settings(folder):
    path = os.path.join(folder, "metrics.json")
    if not os.path.isfile(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path!r} is not readable JSON ({exc})") from None
    return value if isinstance(value, dict) else {}


@command("report", "write one self-contained report.html for a run: settings, metrics per "
                   "class, curves, confusion matrix, ROC, misclassified images, environment",
         arguments=_report_arguments)
def _run_report(args):
    from .. import recipes
    from ..metrics import roc_auc_score
    from ..models.summary import summary_text
    from ..saving import atomic_write
    from . import _figures as figs
    from .info import _format_info, system_info

    folder = args.run
    _check_run(folder)
    if not figs.have_matplotlib():
        raise ValueError(f"deepsheet report draws its figures with matplotlib, which is not "
                         f"installed: {figs.PLOT_HINT}")
    settings = _settings(folder)
    path, model = _load_model(os.path.join(folder, MODEL_FILE))
    prep, run = _preprocessing(model)
    dataset = args.dataset or settings.get("dataset") or run.get("dataset")
    if dataset is None:
        raise ValueError(f"{folder!r} does not say which dataset it was trained on; pass "
                         "--dataset digits|fashion-mnist|FOLDER")
    data = _load_dataset(dataset, scale=prep.get("scale"))
    x = recipes.prepare_images(data.x_test, 1.0, _input_shape(model),
                               what=f"dataset {data.name!r}")
    y = data.y_test
    outputs = figs.outputs_of(model, x, args.batch_size)
    names = figs.class_names(data.name, outputs.shape[1])
    report_text, report = figs.per_class_report(y, outputs, names)
    accuracy = float((outputs.argmax(axis=1) == y).mean())
    try:
        auc = float(roc_auc_score(y, outputs, multi_class="ovr",
                                  labels=list(range(outputs.shape[1]))))
    except ValueError:
        auc = float("nan")  # a class missing from the test labels
    esc = html.escape
    title = f"{settings.get('model', model.name)} on {data.name}"
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>deepsheet report: {esc(title)}</title>",
             f"<style>{_STYLE}</style></head><body>",
             f"<h1>deepsheet run report: {esc(title)}</h1>",
             f'<p class="sub">run folder <code>{esc(os.path.abspath(folder))}</code>; written '
             f'{esc(time.strftime("%Y-%m-%d %H:%M:%S"))}</p>']
    cards = [("test accuracy", f"{accuracy:.4f}"),
             ("macro F1", f"{report['macro avg']['f1-score']:.4f}"),
             ("one-vs-rest AUC", f"{auc:.4f}"),
             ("test images", f"{len(y):,}")]
    parts.append('<div class="cards">' + "".join(
        f'<div class="card"><div>{esc(k)}</div><div class="big">{esc(v)}</div></div>'
        for k, v in cards) + "</div>")
    if settings and not settings.get("finished", True):
        parts.append('<p class="note">This run was interrupted; the model is the one saved '
                     'after its last finished epoch.</p>')

    parts.append("<h2>Settings</h2>")
    keys = ("dataset", "model", "epochs", "epochs_run", "batch_size", "learning_rate",
            "validation_split", "seed", "train_samples", "validation_samples", "test_samples",
            "parameters", "train_seconds", "created", "deepsheet_version")
    rows = [(k, _fmt(settings[k])) for k in keys if k in settings]
    parts.append(_table(rows or [("model file", path)], ("setting", "value")))

    parts.append("<h2>Final metrics</h2>")
    last = settings.get("last_epoch") or {}
    rows = [(k, _fmt(v)) for k, v in last.items()]
    rows += [("test loss", _fmt(settings.get("test_loss"))), ("test accuracy", f"{accuracy:.4f}")]
    parts.append(_table(rows, ("metric (last epoch, then test)", "value")))
    parts.append("<h3>Per class (test split)</h3>")
    parts.append(f"<pre>{esc(report_text)}</pre>")

    parts.append("<h2>Learning curves</h2>")
    csv = os.path.join(folder, "history.csv")
    if os.path.isfile(csv):
        with open(csv, encoding="utf-8") as f:
            header = f.readline()
        if "val_" not in header:
            parts.append('<p class="note">This run had no validation data '
                         '(--validation-split 0): only training curves.</p>')
        parts.append(_png(figs.draw("history", history_csv=csv)))
    else:
        parts.append('<p class="note">No history.csv in the run folder.</p>')

    parts.append("<h2>Confusion matrix</h2>")
    parts.append(_png(figs.draw("confusion_matrix", y_true=y, outputs=outputs, names=names)))
    parts.append("<h2>ROC curves (one class against the rest)</h2>")
    parts.append(_png(figs.draw("roc", y_true=y, outputs=outputs, names=names)))
    parts.append("<h2>Misclassified examples</h2>")
    fig = figs.draw("misclassified", y_true=y, outputs=outputs, x=x, names=names)
    parts.append(_png(fig) if fig is not None else "<p>None: every test image is right.</p>")

    parts.append("<h2>Model</h2>")
    parts.append(f"<pre>{esc(summary_text(model))}</pre>")
    parts.append("<h2>Environment</h2>")
    parts.append(f"<pre>{esc(_format_info(system_info()))}</pre>")
    parts.append("</body></html>")
    page = "\n".join(parts).encode("utf-8")
    out = args.out or os.path.join(folder, "report.html")
    atomic_write(out, lambda f: f.write(page))
    print(f"wrote {out} ({len(page) / 1024:,.0f} KiB): test accuracy {accuracy:.4f}, "
          f"macro F1 {report['macro avg']['f1-score']:.4f}; open it in a browser")
    return 0
