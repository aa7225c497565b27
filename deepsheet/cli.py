"""The ``deepsheet`` command: train, evaluate, inspect and apply models; describe the setup.

Also reachable as ``python -m deepsheet``. Each subcommand is one entry in ``COMMANDS``:
a function that adds its arguments to an ``argparse`` parser and a function that runs
it and returns the exit status. Heavy modules (models, datasets, CuPy) are imported
inside the run functions, never at the top, so ``deepsheet --version`` and ``--help``
stay fast. A user's mistake (unknown dataset or model, missing or broken file) prints one
line naming what exists and exits with status 1; a bug keeps its traceback.

* ``train [--dataset digits|fashion-mnist|FOLDER] [--model mlp|cnn|lenet5|...] [--epochs N]
  [--batch-size N] [--learning-rate LR] [--validation-split F] [--seed N] [--out DIR]``:
  trains (the recipes are in ``deepsheet.recipes``), evaluates on the test split, prints a
  table and ``test accuracy: 0.XXXX``, and writes ``model.deepsheet``, ``history.csv`` and
  ``metrics.json`` to the run folder (default ``runs/<dataset>-<model>-<timestamp>``);
* ``evaluate MODEL [--dataset D] [--split test|train]``: loss and accuracy of a saved model
  (MODEL is a ``.deepsheet`` file or a run folder);
* ``summary MODEL``: layers, shapes, parameters, how and on what it was trained;
* ``predict MODEL FILE.npy [--output OUT.npy]``: predicted classes of raw images (scaled
  as in training: the scale is saved with the model);
* ``info [--json]``: version, array backend, BLAS, threads, GPU, datasets.

Examples
--------
    $ deepsheet --version
    deepsheet 0.1.0
    $ deepsheet train                      # embedded digits, MLP, a few seconds
    $ deepsheet train --dataset fashion-mnist --model mlp --epochs 10
    $ deepsheet evaluate runs/digits-mlp-20250101-120000
    $ deepsheet predict runs/digits-mlp-20250101-120000 images.npy
    $ deepsheet info --json
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys

import numpy as np  # already loaded by the package itself (backend), so free here

from . import __version__

__all__ = ["main", "build_parser", "COMMANDS", "system_info"]

# name -> (help line, add_arguments(parser), run(args) -> exit status)
COMMANDS = {}

# Errors that mean "the user asked for something that cannot be done" (a bad path, an unknown
# name): printed as one line. Anything else is a bug and keeps its traceback.
USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError, NotADirectoryError,
               IsADirectoryError, PermissionError)

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")
_OPTIONAL = ("tqdm", "safetensors", "matplotlib", "gymnasium", "cupy")


def _command(name, help, arguments=None):
    """Register ``run(args) -> int`` as subcommand ``name``; ``arguments(parser)`` adds its options."""
    def register(run):
        COMMANDS[name] = (help, arguments, run)
        return run
    return register


# ---------------------------------------------------------------- info

def _blas_info():
    """NumPy's BLAS as NumPy reports it (``show_config(mode="dicts")``, NumPy >= 1.26)."""
    import numpy as np
    try:
        config = np.show_config(mode="dicts")
    except TypeError:  # older NumPy: show_config only prints
        return {"name": "unknown (NumPy < 1.26 does not report it)"}
    blas = (config or {}).get("Build Dependencies", {}).get("blas", {})
    out = {"name": blas.get("name", "unknown"), "version": blas.get("version", "unknown")}
    if blas.get("openblas configuration"):
        out["configuration"] = " ".join(str(blas["openblas configuration"]).split())
    return out


def _blas_threads():
    """Threads each loaded BLAS will use, via threadpoolctl when it happens to be installed."""
    if importlib.util.find_spec("threadpoolctl") is None:
        return None
    import threadpoolctl
    return {f"{i['internal_api']} ({i.get('version') or '?'})": i["num_threads"]
            for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"}


def _package_version(name):
    import importlib.metadata  # ~15 ms: only for `info`, never for --version
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cupy_info():
    """CuPy's version and GPUs, importing CuPy only when it is installed."""
    if importlib.util.find_spec("cupy") is None:
        return {"available": False, "detail": "not installed (pip install 'deepsheet[gpu]')"}
    from . import backend
    try:
        cp = backend.cupy()
        count = cp.cuda.runtime.getDeviceCount()
        names = [cp.cuda.runtime.getDeviceProperties(i)["name"].decode() for i in range(count)]
    except Exception as exc:  # noqa: BLE001 - a broken CUDA setup is reported, not raised
        return {"available": False, "detail": f"installed but unusable: {type(exc).__name__}: {exc}"}
    return {"available": count > 0, "version": cp.__version__, "gpus": names}


def system_info():
    """Everything ``deepsheet info`` prints, as a JSON-friendly dict."""
    import numpy as np

    from . import backend
    from .datasets import fashion_mnist, idx

    try:
        device = backend.get_default_device()
    except ValueError as exc:
        device = f"invalid ({exc})"
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    fm_found = next((f for f in fashion_mnist.search_paths() if all(idx.find_files(f).values())), None)
    return {
        "deepsheet": __version__,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "numpy": np.__version__,
        "blas": _blas_info(),
        "backend": {"cpu": "numpy", "gpu": "cupy"}.get(device, "unknown"),
        "default_device": device,
        "default_dtype": str(backend.get_default_dtype()),
        "threads": {
            "cpu_count": os.cpu_count(),
            "usable_cpus": affinity,
            "env": {var: os.environ.get(var) for var in _THREAD_VARS},
            "blas_threads": _blas_threads(),
        },
        "cupy": _cupy_info(),
        "optional_packages": {name: _package_version(name) for name in _OPTIONAL},
        "datasets": {"digits": "embedded",
                     "fashion-mnist": fm_found or "not found (see deepsheet.datasets.fashion_mnist)"},
    }


def _format_info(info):
    threads = info["threads"]
    env = ", ".join(f"{k}={v}" for k, v in threads["env"].items() if v is not None) or "none set"
    blas = info["blas"]
    blas_line = blas["name"] + (f" {blas['version']}" if blas.get("version") else "")
    cupy = info["cupy"]
    if cupy["available"]:
        cupy_line = f"{cupy['version']}, GPUs: {', '.join(cupy['gpus'])}"
    else:
        cupy_line = cupy.get("detail") or f"{cupy.get('version')}, no GPU visible"
    rows = [
        ("deepsheet", info["deepsheet"]),
        ("python", info["python"]),
        ("platform", info["platform"]),
        ("numpy", info["numpy"]),
        ("BLAS", blas_line),
    ]
    if blas.get("configuration"):
        rows.append(("BLAS build", blas["configuration"]))
    rows += [
        ("backend", f"{info['backend']} (default device: {info['default_device']})"),
        ("default dtype", info["default_dtype"]),
        ("CPUs", f"{threads['cpu_count']} ({threads['usable_cpus']} usable by this process)"
         if threads["usable_cpus"] is not None else str(threads["cpu_count"])),
        ("thread variables", env),
    ]
    if threads["blas_threads"]:
        rows.append(("BLAS threads", ", ".join(f"{k}: {v}" for k, v in threads["blas_threads"].items())))
    rows += [
        ("CuPy", cupy_line),
        ("optional packages", ", ".join(f"{k} {v or '-'}" for k, v in info["optional_packages"].items())),
        ("datasets", ", ".join(f"{k}: {v}" for k, v in info["datasets"].items())),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k + ':':<{width + 1}} {v}" for k, v in rows)


def _info_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print the same facts as JSON")


@_command("info", "print the version, array backend, NumPy and its BLAS, threads, dtype, GPU support",
          arguments=_info_arguments)
def _run_info(args):
    import json
    info = system_info()
    print(json.dumps(info, indent=2) if args.json else _format_info(info))
    return 0


# ---------------------------------------------------------------- train / evaluate / summary / predict

MODEL_FILE = "model.deepsheet"


def _number_arg(convert, ok, expected):
    """An argparse type: ``convert(text)`` checked by ``ok``; errors say what was expected."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return value
    return parse


_positive_int = _number_arg(int, lambda v: v >= 1, "a positive integer")
_positive_float = _number_arg(float, lambda v: 0.0 < v < float("inf"), "a positive number")
_fraction = _number_arg(float, lambda v: 0.0 <= v < 1.0, "a number in [0, 1)")


def _model_files_near(folder):
    """Up to 8 model files in ``folder`` and its run subfolders, for error messages."""
    found = []
    runs = os.path.join(folder, "runs")
    for where in (folder, runs) if os.path.isdir(runs) else (folder,):
        try:
            entries = sorted(os.listdir(where or "."))
        except OSError:
            continue
        for entry in entries:
            full = os.path.join(where, entry)
            if entry.endswith(".deepsheet") and os.path.isfile(full):
                found.append(full)
            elif os.path.isfile(os.path.join(full, MODEL_FILE)):
                found.append(os.path.join(full, MODEL_FILE))
    return found[:8]


def _model_path(path):
    """The model file that ``path`` names: a ``.deepsheet`` file, the same without its
    extension, or a run folder holding ``model.deepsheet``."""
    if os.path.isdir(path):
        inside = os.path.join(path, MODEL_FILE)
        if os.path.isfile(inside):
            return inside
        near = _model_files_near(path)
        raise FileNotFoundError(f"{path!r} is a folder without a {MODEL_FILE}"
                                + (f"; model files there: {', '.join(near)}" if near else ""))
    if os.path.exists(path):
        return path
    if os.path.exists(path + ".deepsheet"):
        return path + ".deepsheet"
    folder = os.path.dirname(path)
    near = _model_files_near(folder)
    where = folder or "the current folder"
    raise FileNotFoundError(
        f"no model file at {path!r}; " + (f"model files in {where}: {', '.join(near)}" if near
                                          else f"none in {where} (train one with `deepsheet train`)"))


def _load_model(path):
    from .saving import load_model
    path = _model_path(path)
    return path, load_model(path)


def _preprocessing(model):
    meta = getattr(model, "checkpoint_metadata", None) or {}
    return meta.get("preprocessing") or {}, meta.get("run") or {}


def _class_predictions(outputs):
    outputs = outputs[0] if isinstance(outputs, list) else outputs
    if outputs.ndim == 2 and outputs.shape[1] > 1:
        return outputs.argmax(axis=1)
    return (outputs.reshape(len(outputs), -1)[:, 0] > 0.5).astype(np.int64)


def _accuracy_and_loss(model, x, y, batch_size):
    """(accuracy from the predicted classes, loss or None when the model is not compiled)."""
    loss = None
    if getattr(model, "_compiled", False):
        logs = model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
        loss = logs["loss"]
    pred = _class_predictions(model.predict(x, batch_size=batch_size, verbose=0))
    return float((pred == y).mean()) if len(y) else float("nan"), loss


def _table(rows, header=("", "loss", "accuracy")):
    def cell(v):
        return "-" if v is None else f"{v:.4f}"
    width = max(len(r[0]) for r in rows + [header])
    lines = [f"{header[0]:<{width}}  {header[1]:>8}  {header[2]:>8}"]
    lines += [f"{name:<{width}}  {cell(loss):>8}  {cell(acc):>8}" for name, loss, acc in rows]
    return "\n".join(lines)


def _new_run_folder(dataset, model_name):
    import time
    base = os.path.join("runs", f"{dataset}-{model_name}-{time.strftime('%Y%m%d-%H%M%S')}")
    folder, n = base, 1
    while os.path.exists(folder):
        folder, n = f"{base}-{n}", n + 1
    return folder


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


@_command("train", "train a model on a dataset, evaluate it on the test split, save the run",
          arguments=_train_arguments)
def _run_train(args):
    import json
    import time

    from . import backend, recipes
    from .callbacks import CSVLogger
    from .saving import atomic_write, save_model

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


def _evaluate_arguments(parser):
    parser.add_argument("model", help="a .deepsheet file or a run folder")
    parser.add_argument("--dataset", default=None,
                        help="digits, fashion-mnist or an IDX folder (default: the one the "
                             "model was trained on, when `deepsheet train` made it)")
    parser.add_argument("--split", choices=("test", "train"), default="test")
    parser.add_argument("--batch-size", type=_positive_int, default=256)


@_command("evaluate", "loss and accuracy of a saved model on a dataset's test (or train) split",
          arguments=_evaluate_arguments)
def _run_evaluate(args):
    from . import recipes
    path, model = _load_model(args.model)
    prep, run = _preprocessing(model)
    dataset = args.dataset or run.get("dataset")
    if dataset is None:
        raise ValueError(f"{path!r} does not say which dataset it was trained on; pass "
                         "--dataset digits|fashion-mnist|FOLDER")
    data = recipes.load_dataset(dataset, scale=prep.get("scale"))
    x, y = (data.x_test, data.y_test) if args.split == "test" else (data.x_train, data.y_train)
    x = recipes.prepare_images(x, 1.0, _input_shape(model), what=f"dataset {data.name!r}")
    acc, loss = _accuracy_and_loss(model, x, y, args.batch_size)
    print(f"model: {path} ({model.name}, {model.count_params():,} parameters)")
    print(f"data: {data.name}, {args.split} split, {len(y):,} images")
    print()
    print(_table([(args.split, loss, acc)]))
    print()
    print(f"{args.split} accuracy: {acc:.4f}")
    return 0


def _input_shape(model):
    shape = getattr(model, "input_shape", None)
    if isinstance(shape, list):
        raise ValueError(f"model '{model.name}' has {len(shape)} inputs; the command line "
                         "handles single-input image models")
    return tuple(shape[1:])


def _summary_arguments(parser):
    parser.add_argument("model", help="a .deepsheet file or a run folder")


@_command("summary", "print a saved model's layers, shapes, parameter counts and how it was trained",
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


def _predict_arguments(parser):
    parser.add_argument("model", help="a .deepsheet file or a run folder")
    parser.add_argument("file", metavar="FILE.npy",
                        help="raw images as the dataset stores them: (N, H, W[, C]) or one (H, W[, C])")
    parser.add_argument("--output", metavar="OUT.npy", default=None,
                        help="write the predicted classes here instead of printing them")
    parser.add_argument("--probabilities", action="store_true",
                        help="with --output: write the model's outputs (N, classes) instead")
    parser.add_argument("--batch-size", type=_positive_int, default=256)


@_command("predict", "predicted classes of a saved model for the images in a .npy file",
          arguments=_predict_arguments)
def _run_predict(args):
    from . import recipes
    from .saving import atomic_write
    path, model = _load_model(args.model)
    if not os.path.isfile(args.file):
        raise FileNotFoundError(f"no input file at {args.file!r}")
    try:
        x = np.load(args.file, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{args.file!r} is not a readable .npy array ({exc})") from None
    if not isinstance(x, np.ndarray):
        x.close()
        raise ValueError(f"{args.file!r} is an .npz archive; save one array with np.save")
    prep, _ = _preprocessing(model)
    x = recipes.prepare_images(x, prep.get("scale", 1.0), _input_shape(model),
                               what=repr(args.file))
    outputs = model.predict(x, batch_size=args.batch_size, verbose=0)
    classes = _class_predictions(outputs)
    if args.output is None:
        print("\n".join(str(int(c)) for c in classes))
        return 0
    result = (outputs[0] if isinstance(outputs, list) else outputs) if args.probabilities \
        else classes.astype(np.int64)

    def write(f):
        np.save(f, result)

    atomic_write(args.output, write)
    what = "model outputs" if args.probabilities else "predicted classes"
    print(f"wrote {len(result):,} {what} of {len(x):,} images to {args.output}")
    return 0


# ---------------------------------------------------------------- entry point

def build_parser():
    """The ``argparse`` parser of the ``deepsheet`` command with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="deepsheet",
        description="deepsheet: the deep-learning cheat sheet made executable, on NumPy (CuPy on a GPU).")
    parser.add_argument("--version", action="version", version=f"deepsheet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_line, add_arguments, _) in COMMANDS.items():
        p = sub.add_parser(name, help=help_line, description=help_line)
        if add_arguments is not None:
            add_arguments(p)
    return parser


def main(argv=None):
    """Run the ``deepsheet`` command with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    run = COMMANDS[args.command][2]
    try:
        return run(args)
    except USER_ERRORS as exc:
        print(f"deepsheet {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
