"""``deepsheet summary``: a saved model's layers, parameters and how it was trained."""
from __future__ import annotations

import os

from ._common import _load_model, _preprocessing
from ._registry import command



def _summary_arguments(parser):
    parser.add_argument("model", help="a .deepsheet file or a run folder")


@command("summary", "print a saved model's layers, shapes, parameter counts and how it was trained",
          arguments=_summary_arguments)
def _run_summary(args):
    path, model = _load_model(args.model)
    model.summary()
    meta = model.checkpoint_metadata
    prep, run = _preprocessing(model)
    print(f"file: {path} ({os.path.getsize(path):,} bytes), written by deepsheet "
          f"{meta.get('deepsheet_version', '?')}")
    if run:
        print(f"trained by `deepsheet train`: dataset {run.get('dataset')}, model "
              f"{run.get('model')}, {run.get('epochs_run')} epochs, seed {run.get('seed')}, "
              f"test accuracy {run.get('test_accuracy', float('nan')):.4f}")
    if prep:
        print(f"inputs: images of shape {tuple(prep.get('input_shape', ()))}, pixels scaled "
              f"by {prep.get('scale')}")
    if "epoch" in meta:
        print(f"checkpoint after epoch {meta['epoch']} (resume with fit(..., "
              f"initial_epoch={meta['epoch']}))")
    opt = getattr(model, "optimizer", None)
    if opt is not None:
        print(f"optimizer: {type(opt).__name__}, {opt.iterations:,} steps taken, "
              f"learning rate {opt.learning_rate:g}")
    else:
        print("not compiled (no optimizer saved)")
    return 0
