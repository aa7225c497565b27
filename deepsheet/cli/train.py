"""``deepsheet train``: train a recipe on a dataset, evaluate it, save the run folder."""
from __future__ import annotations

import os

from .. import __version__
from ._common import (MODEL_FILE, _accuracy_and_loss, _fraction, _new_run_folder,
                      _positive_float, _positive_int, _table)
from ._registry import command



def _train_arguments(parser):
    parser.add_argument("--dataset", default="digits",
                        help="digits (embedded, default), fashion-mnist, or a folder of the 4 "
                             "MNIST-style IDX files")
    parser.add_argument("--model", default="mlp",
                        help="mlp (default), cnn, or an architecture of deepsheet.applications "
                             "(lenet5, alexnet, vgg, resnet, resnet18, googlenet, mobilenet)")
    parser.add_argument("--epochs", type=_positive_int, default=None,
                        help="passes over the training data (default: 20 for digits, 10 otherwise)")
    parser.add_argument("--batch-size", type=_positive_int, default=None,
                        help="samples per step (default: 32 for digits, 128 otherwise)")
    parser.add_argument("--learning-rate", type=_positive_float, default=1e-3,
                        help="Adam's learning rate (default 0.001)")
    parser.add_argument("--validation-split", type=_fraction, default=0.1,
                        help="fraction of the training images held out for validation (default 0.1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the library RNG (default 0)")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="run folder (default runs/<dataset>-<model>-<timestamp>)")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                        help="0 silent, 1 progress bar (default), 2 one line per epoch")


@command("train", "train a model on a dataset, evaluate it on the test split, save the run",
          arguments=_train_arguments)
def _run_train(args):
    import json
    import time

    from .. import backend, recipes
    from ..callbacks import CSVLogger
    from ..saving import atomic_write, save_model

    if args.seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {args.seed}")
    backend.manual_seed(args.seed)
    data = recipes.load_dataset(args.dataset)
    model = recipes.build_model(args.model, data.input_shape, data.classes,
                                learning_rate=args.learning_rate, dataset=data.name)
    settings = recipes.defaults(data.name)
    epochs = args.epochs or settings["epochs"]
    batch_size = args.batch_size or settings["batch_size"]
    folder = args.out or _new_run_folder(data.name, args.model)
    if os.path.isfile(folder):
        raise NotADirectoryError(f"--out {folder!r} is a file, expected a folder")
    os.makedirs(folder, exist_ok=True)

    n_val = int(len(data.x_train) * args.validation_split)
    shape = "x".join(str(d) for d in data.input_shape)
    print(f"Training {args.model} ({model.count_params():,} parameters) on {data.name}: "
          f"{len(data.x_train) - n_val:,} train / {n_val:,} validation / {len(data.x_test):,} "
          f"test images of {shape}, {data.classes} classes; {epochs} epochs, batch {batch_size}, "
          f"Adam(learning_rate={args.learning_rate:g}), seed {args.seed}", flush=True)
    start = time.perf_counter()
    history = model.fit(data.x_train, data.y_train, batch_size=batch_size, epochs=epochs,
                        validation_split=args.validation_split, verbose=args.verbose,
                        callbacks=[CSVLogger(os.path.join(folder, "history.csv"))])
    seconds = time.perf_counter() - start
    eval_batch = max(batch_size, 256)
    test_acc, test_loss = _accuracy_and_loss(model, data.x_test, data.y_test, eval_batch)

    last = {k: v[-1] for k, v in history.history.items()}
    rows = [("train (last epoch)", last.get("loss"), last.get("accuracy"))]
    if "val_loss" in last:
        rows.append(("validation", last.get("val_loss"), last.get("val_accuracy")))
    rows.append(("test", test_loss, test_acc))
    run = {"dataset": data.name, "model": args.model, "epochs": epochs,
           "epochs_run": len(history.epoch), "batch_size": batch_size,
           "learning_rate": args.learning_rate, "validation_split": args.validation_split,
           "seed": args.seed, "train_samples": len(data.x_train) - n_val,
           "validation_samples": n_val, "test_samples": len(data.x_test),
           "parameters": model.count_params(), "train_seconds": round(seconds, 3),
           "test_accuracy": test_acc, "test_loss": test_loss, "last_epoch": last,
           "deepsheet_version": __version__, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    model_path = save_model(model, os.path.join(folder, MODEL_FILE), metadata={
        "preprocessing": {"scale": data.scale, "input_shape": list(data.input_shape)},
        "run": {k: run[k] for k in ("dataset", "model", "test_accuracy", "epochs_run", "seed")}})
    text = json.dumps(run, indent=2) + "\n"
    atomic_write(os.path.join(folder, "metrics.json"), lambda f: f.write(text.encode()))

    print()
    print(_table(rows))
    print()
    print(f"test accuracy: {test_acc:.4f}")
    per_epoch = seconds / max(len(history.epoch), 1)
    print(f"trained {len(history.epoch)} epochs in {seconds:.1f} s ({per_epoch:.2f} s/epoch); "
          f"run folder: {folder} ({os.path.basename(model_path)}, history.csv, metrics.json)")
    return 0
