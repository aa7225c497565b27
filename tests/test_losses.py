"""Loss classes: Keras's reductions and sample weights against PyTorch, configs, ``get``."""
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import deepsheet as ds
from deepsheet import losses
from oracle import check_op, check_torch, rand

EPS = 1e-7


def probs(*shape, seed=0):
    return rand(*shape, low=0.05, high=0.95, seed=seed)


# Keras-configured class, torch per-sample twin, input maker
CASES = {
    "mse": (losses.MeanSquaredError(), lambda t, p: TF.mse_loss(p, t, reduction="none").mean(-1)),
    "mae": (losses.MeanAbsoluteError(), lambda t, p: TF.l1_loss(p, t, reduction="none").mean(-1)),
    "huber": (losses.Huber(delta=0.7),
              lambda t, p: TF.huber_loss(p, t, reduction="none", delta=0.7).mean(-1)),
    "bce": (losses.BinaryCrossentropy(),
            lambda t, p: TF.binary_cross_entropy(p.clamp(EPS, 1 - EPS), t,
                                                 reduction="none").mean(-1)),
    "bce_logits": (losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
                   lambda t, z: TF.binary_cross_entropy_with_logits(
                       z, t * 0.9 + 0.05, reduction="none").mean(-1)),
    "cce_logits": (losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
                   lambda t, z: TF.cross_entropy(z, t, reduction="none", label_smoothing=0.1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_default_reduction_is_mean_over_batch(name):
    loss, theirs = CASES[name]
    p = probs(5, 3, seed=1) if name == "bce" else rand(5, 3, seed=1)
    check_op(loss, lambda t, x: theirs(t, x).mean(), probs(5, 3, seed=2), p)


@pytest.mark.parametrize("name", sorted(CASES))
def test_sample_weight_and_reductions(name):
    base, theirs = CASES[name]
    w = np.array([1.0, 0.0, 2.5, 0.5, 1.0], dtype=np.float32)
    p = probs(5, 3, seed=3) if name == "bce" else rand(5, 3, seed=3)
    t = probs(5, 3, seed=4)
    tw = torch.from_numpy(w)
    for reduction, combine in [("sum_over_batch_size", lambda v: (v * tw).sum() / 5),
                               ("sum", lambda v: (v * tw).sum()), ("none", lambda v: v * tw)]:
        loss = type(base).from_config({**base.get_config(), "reduction": reduction})
        check_torch(lambda a, b: loss(a, b, sample_weight=w),
                    lambda a, b: combine(theirs(a, b)), t, p)


def test_sparse_class_with_ignore_class_vs_torch():
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)
    y = np.array([[1, 2, 0, 0], [3, 0, 1, 2]], dtype=np.int64)
    check_op(loss, lambda a, z: TF.cross_entropy(z.movedim(-1, 1), a, ignore_index=0), y,
             rand(2, 4, 5, seed=5))
    w = np.array([1.0, 3.0], dtype=np.float32)  # per sequence, extended over time
    valid = torch.from_numpy(y != 0).float()
    check_torch(lambda a, z: loss(a, z, sample_weight=w),
                lambda a, z: (TF.cross_entropy(z.movedim(-1, 1), a, reduction="none") * valid
                              * torch.from_numpy(w)[:, None]).sum() / valid.sum(),
                y, rand(2, 4, 5, seed=6))


def test_mse_half_is_the_sheets_one_over_2m_form():
    y, yhat = rand(8, 1, seed=7), rand(8, 1, seed=8)
    p = ds.tensor(yhat, requires_grad=True)
    j = losses.MeanSquaredError(half=True)(y, p)
    np.testing.assert_allclose(j.item(), ((yhat - y) ** 2).sum() / (2 * 8), rtol=1e-6)
    j.backward()
    np.testing.assert_allclose(p.grad, (yhat - y) / 8, rtol=1e-6)  # dJ/dŷ = (ŷ − y)/m
    full = losses.MeanSquaredError()(y, yhat).item()
    np.testing.assert_allclose(j.item(), full / 2, rtol=1e-6)


def test_softmax_output_with_probability_loss_trains_on_logits():
    z = ds.tensor(np.array([[30.0, -30.0], [-30.0, 30.0]], np.float32), requires_grad=True)
    loss = losses.SparseCategoricalCrossentropy()  # from_logits=False, as after softmax
    out = loss([1, 0], ds.functional.softmax(z))
    out.backward()
    np.testing.assert_allclose(out.item(), 60.0, rtol=1e-6)  # not the clipped 16.1
    np.testing.assert_allclose(z.grad, [[0.5, -0.5], [-0.5, 0.5]], atol=1e-7)


def test_call_returns_per_sample_losses():
    loss = losses.Huber()
    per = loss.call(rand(4, 3, seed=9), rand(4, 3, seed=10))
    assert per.shape == (4,)
    np.testing.assert_allclose(per.numpy().mean(), loss(rand(4, 3, seed=9), rand(4, 3, seed=10)).item(),
                               rtol=1e-6)


@pytest.mark.parametrize("cls", [losses.MeanSquaredError, losses.MeanAbsoluteError, losses.Huber,
                                 losses.BinaryCrossentropy, losses.CategoricalCrossentropy,
                                 losses.SparseCategoricalCrossentropy])
def test_config_round_trip_is_json(cls):
    kwargs = {"reduction": "sum", "name": "my_loss"}
    if cls is losses.Huber:
        kwargs["delta"] = 2.0
    if cls in (losses.BinaryCrossentropy, losses.CategoricalCrossentropy):
        kwargs.update(from_logits=True, label_smoothing=0.2)
    if cls is losses.SparseCategoricalCrossentropy:
        kwargs.update(from_logits=True, ignore_class=-1)
    loss = cls(**kwargs)
    text = json.dumps(losses.serialize(loss))
    again = losses.deserialize(json.loads(text))
    assert type(again) is cls and again.get_config() == loss.get_config()
    assert again.from_logits == loss.from_logits
    assert cls.from_config(loss.get_config()).get_config() == loss.get_config()


def test_deserialize_rejects_unknown():
    with pytest.raises(ValueError, match="unknown loss class 'Nope'"):
        losses.deserialize({"class_name": "Nope", "config": {}})
    with pytest.raises(ValueError, match="bad config"):
        losses.deserialize({"class_name": "Huber", "config": {"deltta": 1.0}})
    with pytest.raises(ValueError, match="class_name"):
        losses.deserialize({"config": {}})


def test_wrapper_and_custom_subclass():
    wrapped = losses.LossFunctionWrapper(losses.mean_squared_error, half=True)
    t, p = rand(3, 2, seed=11), rand(3, 2, seed=12)
    w = np.array([1.0, 2.0, 0.0], np.float32)
    ref = losses.MeanSquaredError(half=True)(t, p, sample_weight=w).item()
    np.testing.assert_allclose(wrapped(t, p, sample_weight=w).item(), ref, rtol=1e-6)
    again = losses.deserialize(json.loads(json.dumps(losses.serialize(wrapped))))
    np.testing.assert_allclose(again(t, p, sample_weight=w).item(), ref, rtol=1e-6)
    with pytest.raises(ValueError, match="cannot be serialized"):
        losses.LossFunctionWrapper(lambda a, b: b).get_config()

    class Squared(losses.Loss):
        def call(self, y_true, y_pred):
            d = y_pred - y_true
            return (d * d).mean(axis=-1)

    x = ds.tensor(p, requires_grad=True)
    out = Squared()(ds.tensor(t), x, sample_weight=w)
    np.testing.assert_allclose(out.item(), 2 * ref, rtol=1e-6)
    out.backward()
    assert x.grad.shape == (3, 2)
    with pytest.raises(NotImplementedError):
        losses.Loss()(t, p)


def test_get_strings_objects_and_callables():
    expected = {"mse": losses.MeanSquaredError, "mean_squared_error": losses.MeanSquaredError,
                "mae": losses.MeanAbsoluteError, "mean_absolute_error": losses.MeanAbsoluteError,
                "huber": losses.Huber, "binary_crossentropy": losses.BinaryCrossentropy,
                "categorical_crossentropy": losses.CategoricalCrossentropy,
                "sparse_categorical_crossentropy": losses.SparseCategoricalCrossentropy,
                "SparseCategoricalCrossentropy": losses.SparseCategoricalCrossentropy}
    for name, cls in expected.items():
        loss = losses.get(name)
        assert type(loss) is cls and loss.reduction == "sum_over_batch_size"
        assert loss.from_logits is False
    obj = losses.Huber(delta=3.0)
    assert losses.get(obj) is obj
    assert type(losses.get(losses.MeanSquaredError)) is losses.MeanSquaredError
    fn = losses.mean_absolute_error
    assert losses.get(fn) is fn
    assert losses.get(None) is None
    assert isinstance(losses.get({"class_name": "Huber", "config": {"delta": 2.0}}), losses.Huber)
    assert ds.losses is losses


def test_get_unknown_lists_valid_names():
    with pytest.raises(ValueError, match="unknown loss 'mse2'.*binary_crossentropy.*mse"):
        losses.get("mse2")
    with pytest.raises(ValueError, match="loss must be"):
        losses.get(3)


def test_constructor_validation():
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.MeanSquaredError(reduction="avg")
    with pytest.raises(ValueError, match="delta"):
        losses.Huber(delta=-1.0)
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.CategoricalCrossentropy(label_smoothing=-0.1)
    with pytest.raises(ValueError, match="from_logits must be True or False"):
        losses.BinaryCrossentropy(from_logits="yes")
    with pytest.raises(ValueError, match="ignore_class must be an int"):
        losses.SparseCategoricalCrossentropy(ignore_class=1.5)
    with pytest.raises(ValueError, match="half"):
        losses.MeanSquaredError(half=1)
    assert losses.MeanSquaredError(reduction=None).reduction == "none"
