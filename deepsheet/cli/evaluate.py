"""``deepsheet evaluate``: loss, accuracy and the per-class report of a saved model on a dataset
split; the report is also written into the metrics.json next to the model."""
from __future__ import annotations

import json
import os
import time

from ._common import (_accuracy_and_loss, _input_shape, _load_dataset, _load_model, _positive_int,
                      _preprocessing, _table)
from . import _figures as figures
from ._registry import command



def _evaluate_arguments(parser):
    parser.add_argument("model", help="a .deepsheet file or a run folder")
    parser.add_argument("--dataset", default=None,
                        help="digits, fashion-mnist or an IDX folder (default: the one the "
                             "model was trained on, when `deepsheet train` made it)")
    parser.add_argument("--split", choices=("test", "train"), default="test")
    parser.add_argument("--batch-size", type=_positive_int, default=256)


@command("evaluate", "loss, accuracy and per-class report of a saved model on a dataset's test "
                     "(or train) split",
          arguments=_evaluate_arguments)
def _run_evaluate(args):
    from .. import recipes
    path, model = _load_model(args.model)
    prep, run = _preprocessing(model)
    dataset = args.dataset or run.get("dataset")
    if dataset is None:
        raise ValueError(f"{path!r} does not say which dataset it was trained on; pass "
                         "--dataset digits|fashion-mnist|FOLDER")
    data = _load_dataset(dataset, scale=prep.get("scale"))
    x, y = (data.x_test, data.y_test) if args.split == "test" else (data.x_train, data.y_train)
    x = recipes.prepare_images(x, 1.0, _input_shape(model), what=f"dataset {data.name!r}")
    acc, loss, outputs = _accuracy_and_loss(model, x, y, args.batch_size, return_outputs=True)
    outputs = figures.outputs_of(model, x, args.batch_size, out=outputs)
    names = figures.class_names(data.name, outputs.shape[1])
    report_text, report = figures.per_class_report(y, outputs, names)
    print(f"model: {path} ({model.name}, {model.count_params():,} parameters)")
    print(f"data: {data.name}, {args.split} split, {len(y):,} images")
    print()
    print(_table([(args.split, loss, acc)]))
    print()
    print(report_text)
    print(f"{args.split} accuracy: {acc:.4f}")
    where = _record_evaluation(path, {
        "dataset": data.name, "split": args.split, "samples": int(len(y)), "accuracy": acc,
        "loss": loss, "classification_report": report,
        "evaluated": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    print(f"per-class report written to {where} (\"evaluation\")")
    return 0


def _record_evaluation(model_path, evaluation):
    """Store the evaluation in the metrics.json next to the model (made if absent)."""
    from ..saving import atomic_write
    path = os.path.join(os.path.dirname(os.path.abspath(model_path)), "metrics.json")
    record = {}
    if os.path.isfile(path):
        try:
            with open(path, encoding="utf-8") as f:
                record = json.load(f)
        except (OSError, ValueError):
            record = {}   # unreadable: replaced by a fresh record rather than failing the run
        if not isinstance(record, dict):
            record = {}
    record["evaluation"] = evaluation
    text = json.dumps(record, indent=2) + "\n"
    atomic_write(path, lambda f: f.write(text.encode()))
    return path
