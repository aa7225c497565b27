"""``deepsheet predict``: predicted classes (or outputs) of a saved model for images in a .npy file."""
from __future__ import annotations

import os

import numpy as np

from ._common import _class_predictions, _input_shape, _load_model, _positive_int, _preprocessing
from ._registry import command



def _predict_arguments(parser):
    parser.add_argument("model", help="a .deepsheet file or a run folder")
    parser.add_argument("file", metavar="FILE.npy",
                        help="raw images as the dataset stores them: (N, H, W[, C]) or one (H, W[, C])")
    parser.add_argument("--output", metavar="OUT.npy", default=None,
                        help="write the predicted classes here instead of printing them")
    parser.add_argument("--probabilities", action="store_true",
                        help="the model's outputs (N, classes) instead of classes: written to "
                             "--output, or printed one row per image")
    parser.add_argument("--top-k", type=_positive_int, default=None, metavar="K",
                        help="print the K most likely classes of each image with their "
                             "probabilities")
    parser.add_argument("--batch-size", type=_positive_int, default=256)


@command("predict", "predicted classes of a saved model for the images in a .npy file",
          arguments=_predict_arguments)
def _run_predict(args):
    from .. import recipes
    from ..saving import atomic_write
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
    prep, run = _preprocessing(model)
    _check_range(x, prep.get("scale", 1.0), args.file)
    x = recipes.prepare_images(x, prep.get("scale", 1.0), _input_shape(model),
                               what=repr(args.file))
    outputs = model.predict(x, batch_size=args.batch_size, verbose=0)
    outputs = outputs[0] if isinstance(outputs, list) else outputs
    classes = _class_predictions(outputs)
    names = _class_names(run.get("dataset"))
    if args.output is None:
        if args.top_k is not None:
            print("\n".join(_top_k_line(row, args.top_k, names) for row in outputs))
        elif args.probabilities:
            print("\n".join(" ".join(f"{p:.4f}" for p in np.ravel(row)) for row in outputs))
        else:
            print("\n".join(str(int(c)) + (f"\t{names[int(c)]}" if names else "")
                            for c in classes))
        return 0
    result = outputs if args.probabilities else classes.astype(np.int64)

    def write(f):
        np.save(f, result)

    atomic_write(args.output, write)
    what = "model outputs" if args.probabilities else "predicted classes"
    print(f"wrote {len(result):,} {what} of {len(x):,} images to {args.output}")
    return 0


def _check_range(x, scale, what):
    """Refuse images that were already scaled, for a model that scales them itself."""
    if x.dtype.kind not in "uif":
        raise ValueError(f"{what!r}: expected numeric image data, got dtype {x.dtype}")
    if x.size == 0:
        raise ValueError(f"{what!r} holds no images (shape {x.shape})")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise ValueError(f"{what!r} holds NaN or infinite values")
    low, high = float(x.min()), float(x.max())
    raw_max = round(1.0 / scale) if scale and scale < 1 else None
    if raw_max is None:
        return
    if low < 0 or high > raw_max:
        raise ValueError(f"{what!r} holds values in [{low:g}, {high:g}]; this model takes raw "
                         f"pixels in [0, {raw_max}] (it multiplies them by 1/{raw_max} itself)")
    if x.dtype.kind == "f" and high <= 1.0 and raw_max > 1:
        raise ValueError(f"{what!r} holds values in [{low:g}, {high:g}]: images already scaled "
                         f"to [0, 1], but this model takes raw pixels in [0, {raw_max}] and "
                         f"scales them itself; pass the raw images (e.g. x * {raw_max})")


def _class_names(dataset):
    if dataset == "fashion-mnist":
        from ..datasets import fashion_mnist
        return fashion_mnist.CLASS_NAMES
    return None


def _top_k_line(row, k, names):
    row = np.ravel(row)
    order = np.argsort(-row, kind="stable")[:k]
    return ", ".join(f"{int(c)}" + (f" {names[int(c)]}" if names else "") + f" ({row[c]:.4f})"
                     for c in order)
