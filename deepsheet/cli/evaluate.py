"""``deepsheet evaluate``: loss and accuracy of a saved model on a dataset split."""
from __future__ import annotations

from ._common import (_accuracy_and_loss, _input_shape, _load_dataset, _load_model, _positive_int,
                      _preprocessing, _table)
from ._registry import command



def _evaluate_arguments(parser):
    parser.add_argument("model", help="a .deepsheet file or a run folder")
    parser.add_argument("--dataset", default=None,
                        help="digits, fashion-mnist or an IDX folder (default: the one the "
                             "model was trained on, when `deepsheet train` made it)")
    parser.add_argument("--split", choices=("test", "train"), default="test")
    parser.add_argument("--batch-size", type=_positive_int, default=256)


@command("evaluate", "loss and accuracy of a saved model on a dataset's test (or train) split",
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
    acc, loss = _accuracy_and_loss(model, x, y, args.batch_size)
    print(f"model: {path} ({model.name}, {model.count_params():,} parameters)")
    print(f"data: {data.name}, {args.split} split, {len(y):,} images")
    print()
    print(_table([(args.split, loss, acc)]))
    print()
    print(f"{args.split} accuracy: {acc:.4f}")
    return 0
