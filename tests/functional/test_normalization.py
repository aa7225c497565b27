"""functional.batch_norm / layer_norm against PyTorch (float32) and finite differences (float64)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import deepsheet as ds
import deepsheet.functional as F
from oracle import check_grad, check_op, check_torch, rand

EPS = 1e-3


def _nhwc(fn):
    """Run a channels-first torch function on channels-last data."""
    def wrapped(x, *args):
        perm = (0, x.ndim - 1) + tuple(range(1, x.ndim - 1))
        inv = np.argsort(perm).tolist()
        return fn(x.permute(*perm), *args).permute(*inv)
    return wrapped


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 3, 2), (5, 2, 4)])
def test_batch_norm_training_channels_last(shape):
    c = shape[-1]
    x, g, b = rand(*shape, seed=1), rand(c, seed=2), rand(c, seed=3)
    check_op(lambda x, g, b: F.batch_norm(x, gamma=g, beta=b, training=True, epsilon=EPS),
             _nhwc(lambda x, g, b: TF.batch_norm(x, None, None, g, b, training=True, eps=EPS)),
             x, g, b)


@pytest.mark.parametrize("shape", [(32, 8, 8, 32), (67, 7, 7, 20)])
def test_batch_norm_large_channels_last_wide_view(shape):
    # Large inputs with few channels take the tiled (rows, k·C) path: k = 64 and k = 49 here.
    from deepsheet.functional.normalization import _Features
    assert _Features(shape, (3,)).k > 1
    c = shape[-1]
    x, g, b = rand(*shape, seed=1), rand(c, seed=2), rand(c, seed=3)
    mm, mv = rand(c, seed=4), rand(c, seed=5, low=0.5, high=2.0)
    # dgamma/dbeta sum 65,536 terms to values up to ~300: both sides are within ~3e-5 of a
    # float64 reference, so they may differ by ~1e-4 absolute (7e-7 of the magnitude).
    tol = dict(rtol=1e-4, atol=3e-4)
    check_torch(lambda x, g, b: F.batch_norm(x, gamma=g, beta=b, training=True),
                _nhwc(lambda x, g, b: TF.batch_norm(x, None, None, g, b, training=True, eps=EPS)),
                x, g, b, **tol)
    check_torch(lambda x, g, b: F.batch_norm(x, mm, mv, g, b, training=False),
                _nhwc(lambda x, g, b: TF.batch_norm(x, torch.from_numpy(mm), torch.from_numpy(mv),
                                                   g, b, training=False, eps=EPS)), x, g, b, **tol)


def test_batch_norm_training_channels_first_axis1():
    x, g, b = rand(4, 3, 5, seed=1), rand(3, seed=2), rand(3, seed=3)
    check_op(lambda x, g, b: F.batch_norm(x, gamma=g, beta=b, training=True, axis=1),
             lambda x, g, b: TF.batch_norm(x, None, None, g, b, training=True, eps=EPS), x, g, b)


def test_batch_norm_training_without_scale_and_center():
    x = rand(6, 4, seed=1)
    check_op(lambda x: F.batch_norm(x, training=True),
             lambda x: TF.batch_norm(x, None, None, training=True, eps=EPS), x)


@pytest.mark.parametrize("shape", [(6, 3), (2, 3, 2, 3)])
def test_batch_norm_inference_vs_torch_eval(shape):
    x, g, b = rand(*shape, seed=1), rand(3, seed=2), rand(3, seed=3)
    mm, mv = rand(3, seed=4), rand(3, seed=5, low=0.5, high=2.0)
    check_op(lambda x, g, b: F.batch_norm(x, mm, mv, g, b, training=False),
             _nhwc(lambda x, g, b: TF.batch_norm(x, torch.from_numpy(mm), torch.from_numpy(mv),
                                                g, b, training=False, eps=EPS)), x, g, b)


def test_batch_norm_moving_statistics_update_biased_variance():
    x = rand(10, 4, seed=1)
    mm, mv = np.zeros(4, np.float32), np.ones(4, np.float32)
    F.batch_norm(ds.tensor(x), mm, mv, training=True, momentum=0.9)
    np.testing.assert_allclose(mm, 0.1 * x.mean(0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(mv, 0.9 + 0.1 * x.var(0), rtol=1e-5)  # ddof=0, as Keras
    assert mm.dtype == np.float32 and mv.dtype == np.float32
    # inference leaves them alone
    before = mm.copy()
    F.batch_norm(ds.tensor(x), mm, mv, training=False)
    np.testing.assert_array_equal(mm, before)


def test_batch_norm_moving_stats_match_torch_with_variance_correction():
    # torch: momentum_t = 1 - momentum, running_var uses the unbiased variance.
    x = rand(8, 3, seed=7)
    mm, mv = np.zeros(3, np.float32), np.ones(3, np.float32)
    F.batch_norm(ds.tensor(x), mm, mv, training=True, momentum=0.99)
    rm, rv = torch.zeros(3), torch.ones(3)
    TF.batch_norm(torch.from_numpy(x), rm, rv, training=True, momentum=0.01, eps=EPS)
    np.testing.assert_allclose(mm, rm.numpy(), rtol=1e-5, atol=1e-7)
    n = x.shape[0]
    np.testing.assert_allclose(mv - 0.99, (rv.numpy() - 0.99) * (n - 1) / n, rtol=1e-4)


def test_batch_norm_gamma_gradient_in_inference():
    x, g, b = rand(5, 3, seed=1), rand(3, seed=2), rand(3, seed=3)
    mm, mv = rand(3, seed=4), rand(3, seed=5, low=0.5, high=2.0)
    check_grad(lambda x, g, b: F.batch_norm(x, mm.astype(np.float64), mv.astype(np.float64),
                                            g, b, training=False), x, g, b)


def test_batch_norm_dtype_and_errors():
    x = ds.tensor(rand(4, 3))
    assert F.batch_norm(x, training=True).dtype == np.float32
    with pytest.raises(ValueError, match="needs moving_mean"):
        F.batch_norm(x, training=False)
    with pytest.raises(ValueError, match="gamma must have 3 values"):
        F.batch_norm(x, gamma=ds.tensor(rand(4)), training=True)
    with pytest.raises(ValueError, match="momentum"):
        F.batch_norm(x, training=True, momentum=1.5)
    with pytest.raises(ValueError, match="at least one value"):
        F.batch_norm(ds.tensor(rand(0, 3)), training=True)


@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 6), (3,)])
def test_layer_norm_last_axis(shape):
    n = shape[-1]
    x, g, b = rand(*shape, seed=1), rand(n, seed=2), rand(n, seed=3)
    check_op(lambda x, g, b: F.layer_norm(x, g, b, epsilon=EPS),
             lambda x, g, b: TF.layer_norm(x, (n,), g, b, eps=EPS), x, g, b)


def test_layer_norm_large_input_wide_view():
    # 512 rows of 128 features: gamma/beta go through the tiled (rows, k·C) view (k = 16).
    x, g, b = rand(512, 128, seed=1), rand(128, seed=2), rand(128, seed=3)
    check_torch(lambda x, g, b: F.layer_norm(x, g, b),
                lambda x, g, b: TF.layer_norm(x, (128,), g, b, eps=EPS), x, g, b)


def test_layer_norm_two_trailing_axes_and_no_params():
    x, g, b = rand(2, 3, 4, seed=1), rand(3, 4, seed=2), rand(3, 4, seed=3)
    check_op(lambda x, g, b: F.layer_norm(x, g, b, axis=(-2, -1)),
             lambda x, g, b: TF.layer_norm(x, (3, 4), g, b, eps=EPS), x, g, b)
    check_op(lambda x: F.layer_norm(x, axis=(1, 2)),
             lambda x: TF.layer_norm(x, (3, 4), eps=EPS), x)


def test_layer_norm_middle_axis():
    def torch_ln(x, g, b):
        mean = x.mean(1, keepdim=True)
        var = x.var(1, unbiased=False, keepdim=True)
        return (x - mean) / torch.sqrt(var + EPS) * g[:, None] + b[:, None]
    x, g, b = rand(2, 3, 4, seed=1), rand(3, seed=2), rand(3, seed=3)
    check_op(lambda x, g, b: F.layer_norm(x, g, b, axis=1), torch_ln, x, g, b)


def test_layer_norm_constant_input_is_finite():
    x = ds.tensor(np.full((2, 5), 3.0, np.float32), requires_grad=True)
    y = F.layer_norm(x)
    y.sum().backward()
    assert np.all(y.numpy() == 0) and np.all(np.isfinite(x.grad))


def test_layer_norm_errors():
    with pytest.raises(ValueError, match=r"gamma must have shape \(4,\)"):
        F.layer_norm(ds.tensor(rand(2, 4)), ds.tensor(rand(3)))
    with pytest.raises(ValueError, match="out of bounds"):
        F.layer_norm(ds.tensor(rand(2, 4)), axis=2)
