"""functional.dropout: mask statistics, scaling, gradient, reproducibility, bad rates."""
import numpy as np
import pytest

import deepsheet as ds
import deepsheet.functional as F
from oracle import check_grad, rand


def test_inverted_scaling_and_mask_statistics():
    x = ds.tensor(np.ones((400, 500), np.float32))
    y = F.dropout(x, rate=0.3).numpy()
    assert y.dtype == np.float32
    vals = np.unique(y)
    np.testing.assert_allclose(vals, [0.0, 1 / 0.7], rtol=1e-6)
    # kept fraction 0.7 ± 5 standard errors (sd of the mean sqrt(0.21/2e5) ~ 0.001)
    assert abs((y != 0).mean() - 0.7) < 0.005
    assert abs(y.mean() - 1.0) < 0.01  # E[y] = x


def test_gradient_is_the_same_mask():
    x = ds.tensor(rand(50, 40, seed=1), requires_grad=True)
    y = F.dropout(x, rate=0.5)
    g = rand(50, 40, seed=2)
    y.backward(g)
    mask = y.numpy() / x.numpy()
    np.testing.assert_allclose(x.grad, g * mask, rtol=1e-6)
    assert set(np.unique(np.round(mask, 5))) <= {0.0, 2.0}
    assert x.grad.dtype == np.float32


def test_gradcheck_with_fixed_seed():
    def fn(x):
        ds.manual_seed(3)  # the same mask at every evaluation
        return F.dropout(x, rate=0.4)
    check_grad(fn, rand(3, 4, seed=1))


def test_identity_at_inference_and_rate_zero():
    x = ds.tensor(rand(3, 4))
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x


def test_reproducible_under_manual_seed_and_generator():
    x = ds.tensor(np.ones((20, 20), np.float32))
    ds.manual_seed(5)
    a = F.dropout(x, 0.5).numpy()
    b = F.dropout(x, 0.5).numpy()
    ds.manual_seed(5)
    np.testing.assert_array_equal(a, F.dropout(x, 0.5).numpy())
    assert not np.array_equal(a, b)
    g1 = F.dropout(x, 0.5, generator=np.random.default_rng(1)).numpy()
    g2 = F.dropout(x, 0.5, generator=np.random.default_rng(1)).numpy()
    np.testing.assert_array_equal(g1, g2)


def test_noise_shape_shares_mask():
    x = ds.tensor(np.ones((4, 5, 5, 3), np.float32), requires_grad=True)
    y = F.dropout(x, 0.5, noise_shape=(None, 1, 1, None))
    yn = y.numpy()
    assert (yn == yn[:, :1, :1, :]).all()  # one draw per (sample, channel)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, yn)  # x = 1: gradient = mask
    with pytest.raises(ValueError, match="noise_shape"):
        F.dropout(x, 0.5, noise_shape=(4, 2, 1, 3))


def test_float64_and_empty():
    x = ds.tensor(np.ones((3, 2)))
    assert F.dropout(x, 0.5).dtype == np.float64
    assert F.dropout(ds.tensor(np.ones((0, 3), np.float32)), 0.5).shape == (0, 3)


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, float("nan"), "half"])
def test_bad_rate(rate):
    with pytest.raises(ValueError, match="rate"):
        F.dropout(ds.tensor(rand(2, 2)), rate)
