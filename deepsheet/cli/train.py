"""``deepsheet train``: train a recipe on a dataset, evaluate it, save the run folder."""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading

from .. import __version__
from ._common import (MODEL_FILE, _accuracy_and_loss, _fraction, _load_dataset, _new_run_folder,
                      _number_arg,
                      _positive_float, _positive_int, _table)
from . import _figures as figures
from ._registry import UsageError, command

_seed = _number_arg(int, lambda v: v >= 0, "a non-negative integer")
RUN_FILES = (MODEL_FILE, "metrics.json", "history.csv")


def _run_folder(args, data_name):
    """The run folder: a new one, or ``--out`` if it holds no run (or ``--overwrite``)."""
    if args.out is None:
        return _new_run_folder(data_name, args.model)
    folder = args.out
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise NotADirectoryError(f"--out {folder!r} is a file, expected a folder")
    held = [f for f in RUN_FILES if os.path.exists(os.path.join(folder, f))]
    if held and not args.overwrite:
        raise UsageError(f"--out {folder!r} already holds a run ({', '.join(held)}); pass "
                         "--overwrite to replace it, or leave --out out for a new folder")
    return folder


def _dataset_record(name_or_path, data_name):
    """What a run records as its dataset: a known name, or the folder's absolute path, so
    ``deepsheet evaluate`` finds it from any working directory."""
    return os.path.abspath(name_or_path) if os.path.isdir(name_or_path) and \
        data_name not in ("digits", "fashion-mnist") else data_name


def _silent(*args, **kwargs):
    pass


class _EpochSaver:
    """Saves the model after every finished epoch (atomically) and remembers where it is,
    so an interrupted run keeps its last finished epoch."""

    def __init__(self, path, metadata, epochs):
        from ..callbacks import Callback
        self.path, self.metadata, self.epochs = path, metadata, epochs
        self.epoch, self.saved_epoch = 0, 0
        saver = self

        class _Hook(Callback):
            def on_epoch_begin(self, epoch, logs=None):
                saver.epoch = epoch + 1

            def on_epoch_end(self, epoch, logs=None):
                from ..saving import save_model
                run = dict(saver.metadata["run"], epochs_run=epoch + 1, finished=False)
                # A Ctrl-C between the file's rename and the bookkeeping would make the
                # message name the wrong epoch: it waits until both are done.
                with _sigint_deferred():
                    save_model(self.model, saver.path, metadata=dict(saver.metadata, run=run))
                    saver.saved_epoch = epoch + 1

        self.callback = _Hook()

    def interrupted_message(self):
        where = (f"the model after epoch {self.saved_epoch} is in {self.path}"
                 if self.saved_epoch else "no epoch had finished, so no model was saved")
        when = (f"after epoch {self.saved_epoch}" if self.saved_epoch >= self.epoch
                else f"in epoch {self.epoch}")
        return f"interrupted {when} of {self.epochs}; {where}"


@contextlib.contextmanager
def _sigint_deferred():
    """Hold a Ctrl-C until the block is done, then raise it (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt



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
    parser.add_argument("--seed", type=_seed, default=0, help="seed of the library RNG (default 0)")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="run folder (default runs/<dataset>-<model>-<timestamp>, a new "
                             "numbered folder if that exists); an existing run there is "
                             "refused unless --overwrite")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the run already in --out")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                        help="0 silent, 1 progress bar (default), 2 one line per epoch")


@command("train", "train a model on a dataset, evaluate it on the test split, save the run",
          arguments=_train_arguments)
def _run_train(args):
    from .distributed import job
    dist = job(args)
    if dist is None:
        return _train(args, None)
    # Under mpirun a failure on one rank (a user error too) must end every rank.
    with dist.abort_on_error(prefix="deepsheet train: error: "):
        return _train(args, dist)


def _train(args, dist):
    import json
    import time

    from .. import backend, recipes
    from ..callbacks import CSVLogger
    from ..saving import atomic_write, save_model

    if args.model not in recipes.model_names():
        raise UsageError(f"unknown --model {args.model!r}; choose one of: "
                         f"{', '.join(recipes.model_names())}")
    root = dist is None or dist.rank() == 0  # the one process that prints and writes
    if args.out is not None and root:
        _run_folder(args, None)  # refuse an existing run before spending time on the data
    backend.manual_seed(args.seed)
    say = print if args.verbose and root else _silent  # --verbose 0: nothing but errors
    data = _load_dataset(args.dataset)
    model = recipes.build_model(args.model, data.input_shape, data.classes,
                                learning_rate=args.learning_rate, dataset=data.name)
    settings = recipes.defaults(data.name)
    epochs = args.epochs or settings["epochs"]
    batch_size = args.batch_size or settings["batch_size"]
    ranks = 1
    if dist is not None:
        ranks = dist.size()
        model.optimizer = dist.DistributedOptimizer(model.optimizer)
        dist.broadcast_weights(model)  # checks that every rank built the same model
    folder = dist.broadcast_object(_run_folder(args, data.name) if root else None) \
        if dist is not None else _run_folder(args, data.name)
    if root:
        os.makedirs(folder, exist_ok=True)
    dataset = _dataset_record(args.dataset, data.name)
    metadata = {"preprocessing": {"scale": data.scale, "input_shape": list(data.input_shape)},
                "run": {"dataset": dataset, "model": args.model, "seed": args.seed}}
    saver = _EpochSaver(os.path.join(folder, MODEL_FILE), metadata, epochs)

    n_val = int(len(data.x_train) * args.validation_split)
    shape = "x".join(str(d) for d in data.input_shape)
    say(f"Training {args.model} ({model.count_params():,} parameters) on {data.name}: "
          f"{len(data.x_train) - n_val:,} train / {n_val:,} validation / {len(data.x_test):,} "
          f"test images of {shape}, {data.classes} classes; {epochs} epochs, batch "
          f"{batch_size if ranks == 1 else f'{batch_size} per rank x {ranks} ranks = {batch_size * ranks}'}, "
          f"Adam(learning_rate={args.learning_rate:g}), seed {args.seed}", flush=True)
    start = time.perf_counter()
    try:
        callbacks = [CSVLogger(os.path.join(folder, "history.csv")), saver.callback] \
            if root else []
        if dist is not None:
            callbacks.insert(0, dist.MetricAverageCallback())  # before anything that logs
        history = model.fit(data.x_train, data.y_train, batch_size=batch_size, epochs=epochs,
                            validation_split=args.validation_split,
                            verbose=args.verbose if root else 0, callbacks=callbacks)
    except KeyboardInterrupt:
        text = json.dumps({"dataset": dataset, "model": args.model, "epochs": epochs,
                           "epochs_run": saver.saved_epoch, "finished": False,
                           "interrupted_in_epoch": saver.epoch}, indent=2) + "\n"
        atomic_write(os.path.join(folder, "metrics.json"), lambda f: f.write(text.encode()))
        print(f"\ndeepsheet train: {saver.interrupted_message()}", file=sys.stderr)
        return 130
    seconds = time.perf_counter() - start
    if not root:
        return 0  # rank 0 evaluates, writes and reports
    eval_batch = max(batch_size, 256)
    test_acc, test_loss, outputs = _accuracy_and_loss(model, data.x_test, data.y_test,
                                                      eval_batch, return_outputs=True)
    outputs = figures.outputs_of(model, data.x_test, eval_batch, out=outputs)
    names = figures.class_names(data.name, outputs.shape[1])
    _, per_class = figures.per_class_report(data.y_test, outputs, names)

    last = {k: v[-1] for k, v in history.history.items()}
    rows = [("train (last epoch)", last.get("loss"), last.get("accuracy"))]
    if "val_loss" in last:
        rows.append(("validation", last.get("val_loss"), last.get("val_accuracy")))
    rows.append(("test", test_loss, test_acc))
    run = {"dataset": dataset, "model": args.model, "epochs": epochs, "finished": True,
           "epochs_run": len(history.epoch), "batch_size": batch_size,
           "learning_rate": args.learning_rate, "validation_split": args.validation_split,
           "seed": args.seed, "train_samples": len(data.x_train) - n_val,
           "validation_samples": n_val, "test_samples": len(data.x_test),
           "parameters": model.count_params(), "train_seconds": round(seconds, 3),
           "ranks": ranks, "global_batch_size": batch_size * ranks,
           "test_accuracy": test_acc, "test_loss": test_loss, "last_epoch": last,
           "classification_report": per_class,
           "deepsheet_version": __version__, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    model_path = save_model(model, os.path.join(folder, MODEL_FILE), metadata=dict(
        metadata, run={k: run[k] for k in ("dataset", "model", "test_accuracy", "epochs_run",
                                           "seed", "finished")}))
    text = json.dumps(run, indent=2) + "\n"
    atomic_write(os.path.join(folder, "metrics.json"), lambda f: f.write(text.encode()))

    drawn = figures.write_run_figures(folder, y_true=data.y_test, outputs=outputs,
                                      x=data.x_test, names=names)

    say()
    say(_table(rows))
    say()
    say(f"test accuracy: {test_acc:.4f}")
    per_epoch = seconds / max(len(history.epoch), 1)
    files = [os.path.basename(model_path), "history.csv", "metrics.json", *drawn]
    n = len(history.epoch)
    say(f"trained {n} epoch{'' if n == 1 else 's'} in {seconds:.1f} s ({per_epoch:.2f} s/epoch); "
        f"run folder: {folder} ({', '.join(files)})")
    if drawn:
        say(f"the whole run on one page: deepsheet report {folder}")
    else:
        say(f"no figures: matplotlib is not installed ({figures.PLOT_HINT} draws "
            f"{', '.join(figures.RUN_FIGURES)} and makes `deepsheet report` work)")
    return 0
