"""Functional losses against PyTorch (float32) and finite differences (float64).

PyTorch's losses with reduction="none" give the per-element values; Keras's per-sample loss
(mean over the last axis, or the sum over classes) and DESIGN's weighted mean
Σ wᵢ·Lᵢ / m (masked entries not counted) are composed from them here.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import deepsheet as ds
from deepsheet import functional as F
from oracle import check_op, check_torch, rand

EPS = 1e-7


def probs(*shape, seed=0):
    return rand(*shape, low=0.05, high=0.95, seed=seed)


def labels(n, classes, seed=0, shape=None):
    return np.random.default_rng(seed).integers(0, classes, size=shape or (n,)).astype(np.int64)


def torch_reduce(per, sample_weight=None, reduction="sum_over_batch_size", mask=None):
    """DESIGN's rule applied to torch's per-sample losses."""
    if sample_weight is not None:
        w = torch.as_tensor(sample_weight, dtype=per.dtype)
        while w.ndim < per.ndim:
            w = w[..., None]
        per = per * w
    if mask is not None:
        per = per * torch.as_tensor(mask, dtype=per.dtype)
    if reduction == "none":
        return per
    if reduction == "sum":
        return per.sum()
    count = per.numel() if mask is None else int(np.count_nonzero(mask)) * (
        per.numel() // np.asarray(mask).size)
    return per.sum() / count


# torch twins of Keras's per-sample losses (last axis, or class axis 1 for torch's CE)
def t_mse(t, p):
    return TF.mse_loss(p, t, reduction="none").mean(-1)


def t_mae(t, p):
    return TF.l1_loss(p, t, reduction="none").mean(-1)


def t_huber(t, p, delta=1.0):
    return TF.huber_loss(p, t, reduction="none", delta=delta).mean(-1)


def t_bce(t, p, ls=0.0):
    t = t * (1 - ls) + 0.5 * ls
    return TF.binary_cross_entropy(p.clamp(EPS, 1 - EPS), t, reduction="none").mean(-1)


def t_bce_logits(t, z, ls=0.0):
    t = t * (1 - ls) + 0.5 * ls
    return TF.binary_cross_entropy_with_logits(z, t, reduction="none").mean(-1)


def t_cce(t, p, ls=0.0):
    q = (p / p.sum(-1, keepdim=True)).clamp(EPS, 1 - EPS)
    t = t * (1 - ls) + ls / t.shape[-1]
    return -(t * torch.log(q)).sum(-1)


def t_cce_logits(t, z, ls=0.0):
    return TF.cross_entropy(z, t, reduction="none", label_smoothing=ls)


def t_scce(y, p):
    q = (p / p.sum(-1, keepdim=True)).clamp(EPS, 1 - EPS)
    return TF.nll_loss(torch.log(q), y, reduction="none")


def t_scce_logits(y, z):
    return TF.cross_entropy(z, y, reduction="none")


DENSE = {
    "mse": (F.mse, t_mse, rand, None),
    "mae": (F.mae, t_mae, rand, None),
    "huber": (F.huber, t_huber, rand, None),
    "huber_delta_0.5": (lambda t, p, **k: F.huber(t, p, delta=0.5, **k),
                        lambda t, p: t_huber(t, p, 0.5), rand, None),
    "bce": (F.binary_crossentropy, t_bce, probs, None),
    "bce_smooth": (lambda t, p, **k: F.binary_crossentropy(t, p, label_smoothing=0.2, **k),
                   lambda t, p: t_bce(t, p, 0.2), probs, None),
    "bce_logits": (lambda t, z, **k: F.binary_crossentropy(t, z, from_logits=True, **k),
                   t_bce_logits, rand, None),
    "bce_logits_smooth": (lambda t, z, **k: F.binary_crossentropy(
        t, z, from_logits=True, label_smoothing=0.1, **k), lambda t, z: t_bce_logits(t, z, 0.1),
        rand, None),
    "cce": (F.categorical_crossentropy, t_cce, probs, None),
    "cce_smooth": (lambda t, p, **k: F.categorical_crossentropy(t, p, label_smoothing=0.1, **k),
                   lambda t, p: t_cce(t, p, 0.1), probs, None),
    "cce_logits": (lambda t, z, **k: F.categorical_crossentropy(t, z, from_logits=True, **k),
                   t_cce_logits, rand, None),
    "cce_logits_smooth": (lambda t, z, **k: F.categorical_crossentropy(
        t, z, from_logits=True, label_smoothing=0.2, **k), lambda t, z: t_cce_logits(t, z, 0.2),
        rand, None),
}


def targets(name, shape, seed):
    if name.startswith(("bce", "cce")):
        return probs(*shape, seed=seed)  # soft targets exercise the target gradient too
    return rand(*shape, seed=seed)


@pytest.mark.parametrize("reduction", ["none", "sum_over_batch_size", "sum"])
@pytest.mark.parametrize("name", sorted(DENSE))
def test_dense_target_losses_vs_torch(name, reduction):
    ours, theirs, make, _ = DENSE[name]
    t, p = targets(name, (4, 3), seed=1), make(4, 3, seed=2)
    check_op(lambda a, b: ours(a, b, reduction=reduction),
             lambda a, b: torch_reduce(theirs(a, b), reduction=reduction), t, p)


@pytest.mark.parametrize("name", sorted(DENSE))
def test_dense_target_losses_weighted_vs_torch(name):
    ours, theirs, make, _ = DENSE[name]
    t, p = targets(name, (5, 3), seed=3), make(5, 3, seed=4)
    w = np.array([0.5, 2.0, 0.0, 1.0, 3.0], dtype=np.float32)
    check_torch(lambda a, b: ours(a, b, sample_weight=w, reduction="sum_over_batch_size"),
                lambda a, b: torch_reduce(theirs(a, b), w), t, p)
    check_torch(lambda a, b: ours(a, b, sample_weight=w, reduction="none"),
                lambda a, b: torch_reduce(theirs(a, b), w, "none"), t, p)


SPARSE = {
    "scce": (F.sparse_categorical_crossentropy, t_scce, probs),
    "scce_logits": (lambda y, z, **k: F.sparse_categorical_crossentropy(y, z, from_logits=True, **k),
                    t_scce_logits, rand),
}


@pytest.mark.parametrize("reduction", ["none", "sum_over_batch_size", "sum"])
@pytest.mark.parametrize("name", sorted(SPARSE))
def test_sparse_vs_torch(name, reduction):
    ours, theirs, make = SPARSE[name]
    check_op(lambda y, p: ours(y, p, reduction=reduction),
             lambda y, p: torch_reduce(theirs(y, p), reduction=reduction),
             labels(6, 4, seed=5), make(6, 4, seed=6))


@pytest.mark.parametrize("name", sorted(SPARSE))
def test_sparse_weighted_and_masked_vs_torch(name):
    ours, theirs, make = SPARSE[name]
    y = np.array([0, 3, -1, 2, -1, 1], dtype=np.int64)
    valid = y != -1
    p = make(6, 4, seed=7)
    w = np.array([1.0, 0.5, 9.0, 2.0, 9.0, 0.0], dtype=np.float32)
    y_safe = np.where(valid, y, 0)
    for reduction in ["none", "sum_over_batch_size", "sum"]:
        check_torch(lambda a, b: ours(a, b, ignore_class=-1, sample_weight=w, reduction=reduction),
                    lambda a, b: torch_reduce(theirs(torch.from_numpy(y_safe), b), w, reduction,
                                              mask=valid), y, p)
    # unweighted mean over the valid entries only, as torch's ignore_index does
    if name == "scce_logits":
        check_torch(lambda a, b: ours(a, b, ignore_class=-1, reduction="sum_over_batch_size"),
                    lambda a, b: TF.cross_entropy(b, a, ignore_index=-1), y, p)


def test_all_ignored_gives_zero_not_nan():
    z = ds.tensor(rand(3, 4), requires_grad=True)
    loss = F.sparse_categorical_crossentropy([7, 7, 7], z, from_logits=True, ignore_class=7,
                                             reduction="sum_over_batch_size")
    loss.backward()
    assert loss.item() == 0.0 and not np.any(z.grad)


@pytest.mark.parametrize("name", ["cce", "cce_logits"])
def test_categorical_class_axis_1_vs_torch(name):
    # torch's cross-entropy takes classes on axis 1: (N, C, L)
    from_logits = name == "cce_logits"
    make = rand if from_logits else probs

    def theirs(t, z):
        if from_logits:
            return TF.cross_entropy(z, t, reduction="none").mean()
        return t_cce(t.movedim(1, -1), z.movedim(1, -1)).mean()
    check_op(lambda t, z: F.categorical_crossentropy(t, z, from_logits=from_logits, axis=1,
                                                     reduction="sum_over_batch_size"),
             theirs, probs(2, 3, 4, seed=8), make(2, 3, 4, seed=9))


def test_sparse_class_axis_1_and_sequences_vs_torch():
    y = labels(0, 3, seed=10, shape=(2, 5))
    check_op(lambda a, z: F.sparse_categorical_crossentropy(a, z, from_logits=True, axis=1,
                                                            reduction="sum_over_batch_size"),
             lambda a, z: TF.cross_entropy(z, a), y, rand(2, 3, 5, seed=11))
    # (N, T, C) logits with (N, T) labels and per-sequence weights (N,), as Keras extends them
    w = np.array([2.0, 0.5], dtype=np.float32)
    check_op(lambda a, z: F.sparse_categorical_crossentropy(a, z, from_logits=True,
                                                            sample_weight=w,
                                                            reduction="sum_over_batch_size"),
             lambda a, z: torch_reduce(TF.cross_entropy(z.movedim(-1, 1), a, reduction="none"), w),
             y, rand(2, 5, 3, seed=12))


# ----------------------------------------------------------------------------- the fused gradient
def test_softmax_cross_entropy_gradient_is_p_minus_y_over_m():
    z = rand(8, 5, seed=13)
    y = labels(8, 5, seed=14)
    onehot = np.eye(5, dtype=np.float32)[y]
    p = np.exp(z - z.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    for loss in (lambda t: F.sparse_categorical_crossentropy(y, t, from_logits=True,
                                                             reduction="sum_over_batch_size"),
                 lambda t: F.categorical_crossentropy(onehot, t, from_logits=True,
                                                      reduction="sum_over_batch_size")):
        t = ds.tensor(z, requires_grad=True)
        out = loss(t)
        assert type(out._ctx).__name__ in ("SparseSoftmaxCE", "SoftmaxCE")  # one fused node
        assert out._ctx.parents[1] is t
        out.backward()
        np.testing.assert_allclose(t.grad, (p - onehot) / 8, rtol=1e-5, atol=1e-7)


def test_sparse_matches_categorical_on_one_hot():
    z = rand(7, 6, seed=15, low=-20, high=20)
    y = labels(7, 6, seed=16)
    onehot = np.eye(6, dtype=np.float32)[y]
    for from_logits, pred in ((True, z), (False, probs(7, 6, seed=17))):
        a = F.sparse_categorical_crossentropy(y, pred, from_logits=from_logits).numpy()
        b = F.categorical_crossentropy(onehot, pred, from_logits=from_logits).numpy()
        np.testing.assert_allclose(a, b, rtol=1e-6)


# ----------------------------------------------------------------------------- stability
@pytest.mark.parametrize("scale", [1e4, 1e8])
@pytest.mark.parametrize("kind", ["bce", "cce", "scce"])
def test_logit_losses_finite_at_extreme_logits(kind, scale):
    z = np.array([[1.0, -1.0, 0.5], [-1.0, 1.0, -0.25], [0.0, 1.0, -1.0]], np.float32) * scale
    y = np.array([0, 1, 2])
    onehot = np.eye(3, dtype=np.float32)[y]
    t = ds.tensor(z, requires_grad=True)
    if kind == "bce":
        loss = F.binary_crossentropy(onehot, t, from_logits=True, reduction="sum")
        ref = t_bce_logits(torch.from_numpy(onehot), torch.from_numpy(z)).sum()
    elif kind == "cce":
        loss = F.categorical_crossentropy(onehot, t, from_logits=True, reduction="sum")
        ref = TF.cross_entropy(torch.from_numpy(z), torch.from_numpy(onehot), reduction="sum")
    else:
        loss = F.sparse_categorical_crossentropy(y, t, from_logits=True, reduction="sum")
        ref = TF.cross_entropy(torch.from_numpy(z), torch.from_numpy(y), reduction="sum")
    loss.backward()
    assert np.isfinite(loss.item()) and np.all(np.isfinite(t.grad))
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-6)


def test_bce_logits_at_0_50_100_vs_torch():
    z = np.array([[0.0, 50.0, -50.0, 100.0, -100.0, 0.0]] * 2, dtype=np.float32)
    y = np.array([[1.0, 1.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]], np.float32)
    check_torch(lambda a, b: F.binary_crossentropy(a, b, from_logits=True),
                lambda a, b: t_bce_logits(a, b), y, z, rtol=1e-6, atol=1e-7)


def test_probability_losses_never_log_zero():
    p = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dtype=np.float32)
    onehot = np.eye(3, dtype=np.float32)[[1, 2]]
    for loss in (lambda t: F.binary_crossentropy(onehot, t, reduction="sum"),
                 lambda t: F.categorical_crossentropy(onehot, t, reduction="sum"),
                 lambda t: F.sparse_categorical_crossentropy([1, 2], t, reduction="sum")):
        t = ds.tensor(p, requires_grad=True)
        out = loss(t)
        out.backward()
        assert np.isfinite(out.item()) and np.all(np.isfinite(t.grad))
    # log(1e-7) is the largest a clipped loss can be
    worst = F.sparse_categorical_crossentropy([2], [[1.0, 0.0, 0.0]]).item()
    np.testing.assert_allclose(worst, -np.log(np.float32(EPS)), rtol=1e-6)


# ----------------------------------------------------------------------------- logits contract
@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_softmax_output_uses_logits_form_exactly(scale):
    z = rand(4, 3, seed=18) * scale
    y = labels(4, 3, seed=19)
    onehot = np.eye(3, dtype=np.float32)[y]
    for loss in (lambda p, fl: F.sparse_categorical_crossentropy(y, p, from_logits=fl,
                                                                 reduction="sum_over_batch_size"),
                 lambda p, fl: F.categorical_crossentropy(onehot, p, from_logits=fl,
                                                          reduction="sum_over_batch_size")):
        a = ds.tensor(z, requires_grad=True)
        la = loss(F.softmax(a), False)
        la.backward()
        b = ds.tensor(z, requires_grad=True)
        lb = loss(b, True)
        lb.backward()
        assert la.item() == lb.item()
        np.testing.assert_array_equal(a.grad, b.grad)
        assert np.all(np.isfinite(a.grad))
    if scale > 1:  # the probability form would have clipped the loss at -log(1e-7) ~ 16.1
        assert la.item() > 100


@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_sigmoid_output_uses_logits_form_exactly(scale):
    z, y = rand(4, 2, seed=20) * scale, probs(4, 2, seed=21)
    a, b = ds.tensor(z, requires_grad=True), ds.tensor(z, requires_grad=True)
    la = F.binary_crossentropy(y, F.sigmoid(a), reduction="sum_over_batch_size")
    lb = F.binary_crossentropy(y, b, from_logits=True, reduction="sum_over_batch_size")
    la.backward()
    lb.backward()
    assert la.item() == lb.item()
    np.testing.assert_array_equal(a.grad, b.grad)


def test_logits_form_also_under_no_grad():
    z = np.array([[1e4, -1e4]], dtype=np.float32)
    with ds.no_grad():
        loss = F.sparse_categorical_crossentropy([1], F.softmax(z)).item()
    assert loss == 2e4


def test_mismatched_activation_keeps_probability_form():
    z = rand(3, 2, seed=22)
    p = F.softmax(z)  # a softmax output given to binary cross-entropy is just probabilities
    y = probs(3, 2, seed=23)
    np.testing.assert_array_equal(F.binary_crossentropy(y, p).numpy(),
                                  F.binary_crossentropy(y, p.numpy()).numpy())
    s = F.sigmoid(z)
    onehot = np.eye(2, dtype=np.float32)[[0, 1, 1]]
    np.testing.assert_array_equal(F.categorical_crossentropy(onehot, s).numpy(),
                                  F.categorical_crossentropy(onehot, s.numpy()).numpy())
    q = F.softmax(rand(2, 3, 4, seed=24), axis=1)  # softmax over another axis than the loss's
    t = np.eye(4, dtype=np.float32)[[[0, 1, 2], [3, 0, 1]]]
    np.testing.assert_array_equal(F.categorical_crossentropy(t, q).numpy(),
                                  F.categorical_crossentropy(t, q.numpy()).numpy())


# ----------------------------------------------------------------------------- shapes, dtypes
def test_trailing_axis_of_one_matched_as_keras():
    p = probs(4, 1, seed=25)
    y = np.array([1.0, 0.0, 1.0, 1.0], dtype=np.float32)
    np.testing.assert_array_equal(F.binary_crossentropy(y, p).numpy(),
                                  F.binary_crossentropy(y[:, None], p).numpy())
    np.testing.assert_array_equal(F.mse(y[:, None], p[:, 0]).numpy(), F.mse(y, p[:, 0]).numpy())
    ys = labels(4, 3, seed=26)
    z = rand(4, 3, seed=27)
    np.testing.assert_array_equal(F.sparse_categorical_crossentropy(ys[:, None], z).numpy(),
                                  F.sparse_categorical_crossentropy(ys, z).numpy())


def test_integer_targets_and_label_dtypes():
    p = probs(4, 3, seed=28)
    y = np.array([0, 2, 1, 2], dtype=np.uint8)
    ref = F.sparse_categorical_crossentropy(y.astype(np.int64), p).numpy()
    np.testing.assert_array_equal(F.sparse_categorical_crossentropy(y, p).numpy(), ref)
    np.testing.assert_array_equal(
        F.sparse_categorical_crossentropy(y.astype(np.float32), p).numpy(), ref)
    onehot = np.eye(3, dtype=np.int64)[y]
    assert F.categorical_crossentropy(onehot, p).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtypes_flow_through(dtype):
    p = ds.tensor(probs(3, 2, seed=29).astype(dtype), requires_grad=True)
    for fn in (F.mse, F.mae, F.huber, F.binary_crossentropy, F.categorical_crossentropy):
        out = fn(np.ones((3, 2)), p, reduction="sum_over_batch_size")  # float64 targets
        assert out.dtype == dtype
        out.backward()
        assert p.grad.dtype == dtype
        p.grad = None
    out = F.sparse_categorical_crossentropy([0, 1, 1], p, sample_weight=np.ones(3),
                                            reduction="sum")
    assert out.dtype == dtype


def test_scalar_and_one_dimensional_predictions():
    check_op(lambda t, p: F.mse(t, p), lambda t, p: TF.mse_loss(p, t), rand(seed=30), rand(seed=31))
    # (N,) predictions: Keras's mean over the last axis gives one number
    check_op(lambda t, p: F.binary_crossentropy(t, p), lambda t, p: t_bce(t, p),
             probs(5, seed=32), probs(5, seed=33))


def test_empty_batch_mean_is_zero():
    z = ds.tensor(np.zeros((0, 3), np.float32), requires_grad=True)
    loss = F.sparse_categorical_crossentropy(np.zeros(0, np.int64), z, from_logits=True,
                                             reduction="sum_over_batch_size")
    loss.backward()
    assert loss.item() == 0.0 and z.grad.shape == (0, 3)


def test_sample_weight_shapes():
    t, p = rand(4, 3, seed=34), rand(4, 3, seed=35)
    w = np.array([1.0, 2.0, 0.0, 0.5], np.float32)
    ref = F.mse(t, p, sample_weight=w, reduction="sum_over_batch_size").item()
    assert F.mse(t, p, sample_weight=w[:, None], reduction="sum_over_batch_size").item() == ref
    assert F.mse(t, p, sample_weight=ds.tensor(w), reduction="sum_over_batch_size").item() == ref
    np.testing.assert_allclose(F.mse(t, p, sample_weight=2.0, reduction="sum").item(),
                               2 * F.mse(t, p, reduction="sum").item(), rtol=1e-6)
    # zero weights still count in m (Keras's sum over batch size)
    np.testing.assert_allclose(ref, (F.mse(t, p).numpy() * w).sum() / 4, rtol=1e-6)


def test_reduce_loss():
    v = ds.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    out = F.reduce_loss(v, sample_weight=[1.0, 0.0, 2.0, 1.0], mask=[True, True, True, False])
    assert out.item() == pytest.approx((1 + 6) / 3)
    out.backward()
    np.testing.assert_allclose(v.grad, [1 / 3, 0, 2 / 3, 0])
    check_op(lambda a: F.reduce_loss(a, reduction="none", sample_weight=np.array([2.0, 3.0])),
             lambda a: a * torch.tensor([2.0, 3.0]), rand(2, seed=36))


def test_target_gradient_through_reshape():
    t = ds.tensor(rand(4, seed=37), requires_grad=True)
    F.mse(t, rand(4, 1, seed=38), reduction="sum").backward()
    assert t.grad.shape == (4,)


# ----------------------------------------------------------------------------- bad input
def test_label_out_of_range_names_loss_range_and_value():
    z = rand(3, 4)
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy: labels must be in "
                                         r"\[0, 4\).* got 4"):
        F.sparse_categorical_crossentropy([0, 4, 1], z)
    with pytest.raises(ValueError, match=r"\[0, 4\).*got -2"):
        F.sparse_categorical_crossentropy([0, -2, 1], z, from_logits=True)
    with pytest.raises(ValueError, match=r"ignore_class=-1.*got -2"):
        F.sparse_categorical_crossentropy([-1, -2, 1], z, ignore_class=-1)
    with pytest.raises(ValueError, match="whole numbers"):
        F.sparse_categorical_crossentropy([0.5, 1.0, 1.0], z)


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"mean_squared_error: .*y_true \(4, 2\) and y_pred \(4, 3\)"):
        F.mse(rand(4, 2), rand(4, 3))
    with pytest.raises(ValueError, match=r"categorical_crossentropy: .*\(4, 2\).*\(4, 3\)"):
        F.categorical_crossentropy(rand(4, 2), rand(4, 3))
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy: y_true of shape \(5,\) "
                                         r"does not match y_pred of shape \(4, 3\)"):
        F.sparse_categorical_crossentropy(np.zeros(5, np.int64), rand(4, 3))
    with pytest.raises(ValueError, match=r"sample_weight of shape \(3,\).*\(4,\)"):
        F.mse(rand(4, 2), rand(4, 2), sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="needs a class axis"):
        F.sparse_categorical_crossentropy(0, 1.0)


def test_bad_options():
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.mse(rand(2), rand(2), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        F.binary_crossentropy(probs(2), probs(2), label_smoothing=1.5)
    with pytest.raises(ValueError, match="delta must be a positive"):
        F.huber(rand(2), rand(2), delta=0.0)
    with pytest.raises(ValueError, match="axis 2 is out of bounds"):
        F.categorical_crossentropy(probs(2, 2), probs(2, 2), axis=2)
