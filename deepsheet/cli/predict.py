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
                        help="with --output: write the model's outputs (N, classes) instead")
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
