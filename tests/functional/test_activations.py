"""Activations against PyTorch (float32) and finite differences (float64)."""
import gc

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import deepsheet as ds
from deepsheet import functional as F
from deepsheet.functional import _logits
from deepsheet.functional import _special as S
from deepsheet.functional import activations as A
from oracle import check_op, check_torch, rand

# (our function, torch's twin); every entry is checked forward, backward and by gradcheck.
PAIRS = {
    "sigmoid": (F.sigmoid, torch.sigmoid),
    "tanh": (F.tanh, torch.tanh),
    "relu": (F.relu, torch.relu),
    "leaky_relu": (F.leaky_relu, TF.leaky_relu),
    "leaky_relu_0.2": (lambda x: F.leaky_relu(x, alpha=0.2), lambda x: TF.leaky_relu(x, 0.2)),
    "elu": (F.elu, TF.elu),
    "elu_0.5": (lambda x: F.elu(x, alpha=0.5), lambda x: TF.elu(x, alpha=0.5)),
    "softmax": (F.softmax, lambda x: torch.softmax(x, -1)),
    "log_softmax": (F.log_softmax, lambda x: torch.log_softmax(x, -1)),
    "gelu": (F.gelu, TF.gelu),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh")),
    "softplus": (F.softplus, TF.softplus),
    "swish": (F.swish, TF.silu),
    "silu": (F.silu, TF.silu),
}


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_against_torch_and_gradcheck(name):
    ours, theirs = PAIRS[name]
    check_op(ours, theirs, rand(3, 5, seed=1, low=-4, high=4))


@pytest.mark.parametrize("name", sorted(PAIRS))
@pytest.mark.parametrize("shape", [(), (1,), (4, 1), (2, 0)])
def test_edge_shapes(name, shape):
    ours, theirs = PAIRS[name]
    check_torch(ours, theirs, rand(*shape, seed=2))


@pytest.mark.parametrize("fn,tfn", [(F.softmax, torch.softmax), (F.log_softmax, torch.log_softmax)])
@pytest.mark.parametrize("axis", [0, 1, -1, -3])
def test_softmax_axes(fn, tfn, axis):
    check_op(lambda x: fn(x, axis=axis), lambda x: tfn(x, axis), rand(2, 3, 4, seed=3))


def test_gelu_more_points_vs_torch():
    x = np.linspace(-9, 9, 721).astype(np.float32)
    check_torch(F.gelu, TF.gelu, x)
    check_torch(lambda t: F.gelu(t, approximate=True), lambda t: TF.gelu(t, approximate="tanh"), x)


def test_ndtr_accuracy_float64_and_float32():
    # Phi(x) = erfc(-x/sqrt2)/2 from the polynomial erfc fit, against 30-digit mpmath
    # (SciPy's and torch's ndtr are themselves off by 1e-13 and more in the far tail).
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 30
    x = np.concatenate([np.linspace(-37, 8, 1201), -np.geomspace(1e-12, 37, 100),
                        np.geomspace(1e-12, 8, 100), [0.0]])
    ref = np.array([float(mp.ncdf(mp.mpf(float(v)))) for v in x])
    got, _ = S._ndtr(x, np)
    np.testing.assert_allclose(got, ref, rtol=5e-15, atol=0)
    x32 = x[x > -12.5].astype(np.float32)  # Phi(-13) ~ 6e-39 is float32's subnormal range
    ref32 = np.array([float(mp.ncdf(mp.mpf(float(v)))) for v in x32])
    got32, _ = S._ndtr(x32, np)
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, ref32, rtol=6e-7, atol=0)


def test_ndtr_limits():
    x = np.array([-np.inf, -1e30, 0.0, 1e30, np.inf], dtype=np.float32)
    np.testing.assert_array_equal(S._ndtr(x, np)[0], [0.0, 0.0, 0.5, 1.0, 1.0])


EXTREME = np.array([-1e8, -1e4, -100.0, -50.0, 0.0, 50.0, 100.0, 1e4, 1e8], dtype=np.float32)


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_extreme_inputs_finite_and_match_torch(name):
    ours, theirs = PAIRS[name]
    x = ds.tensor(EXTREME[None, :], requires_grad=True)
    y = ours(x)
    assert np.all(np.isfinite(y.numpy())), y
    y.sum().backward()
    assert np.all(np.isfinite(x.grad)), x.grad
    # torch's softplus switches to y = x above its threshold: same to float32 precision
    check_torch(ours, theirs, EXTREME[None, :], rtol=1e-6, atol=1e-6)


# x·Φ(x) and x·σ(x) tend to 0 at −inf and to +inf at +inf. PyTorch's own value at −inf is
# an accident of its kernels (nan or −0 depending on the tensor's length and the CPU's
# vector unit), so these are checked against the limits, not against PyTorch.
LIMITS = {"gelu", "gelu_tanh", "swish", "silu"}


@pytest.mark.parametrize("name", sorted(set(PAIRS) - {"softmax", "log_softmax"}))
def test_infinities_like_torch(name):
    ours, theirs = PAIRS[name]
    x = np.array([-np.inf, np.inf, np.nan], dtype=np.float32)
    y = ours(x).numpy()
    if name in LIMITS:
        np.testing.assert_array_equal(y, [0.0, np.inf, np.nan])  # -0.0 == 0.0; nan stays nan
    else:
        np.testing.assert_allclose(y, theirs(torch.from_numpy(x)).numpy(), equal_nan=True)


@pytest.mark.parametrize("name", sorted(LIMITS))
def test_gradient_at_minus_infinity_is_the_limit(name):
    # d/dx x·Φ(x) = Φ(x) + x·φ(x) and d/dx x·σ(x) = σ(x)(1 + x(1 − σ(x))) both tend to 0
    x = ds.tensor(np.array([-np.inf, -30.0, 30.0], np.float32), requires_grad=True)
    PAIRS[name][0](x).sum().backward()
    np.testing.assert_allclose(x.grad, [0.0, 0.0, 1.0], atol=1e-6)


def test_relative_accuracy_near_zero_and_in_tails():
    # ELU's exp(x) - 1 and softplus's log(1 + e) keep full relative accuracy for tiny values
    x = np.array([-1e-7, -1e-4, -0.3, -20.0], dtype=np.float32)
    np.testing.assert_allclose(F.elu(x).numpy(), np.expm1(x.astype(np.float64)), rtol=3e-7)
    z = np.array([-30.0, -17.0, -5.0, 0.0, 5.0, 17.0], dtype=np.float32)
    np.testing.assert_allclose(F.softplus(z).numpy(), np.logaddexp(0, z.astype(np.float64)),
                               rtol=3e-7)
    np.testing.assert_allclose(F.swish(z).numpy(),
                               z / (1 + np.exp(-z.astype(np.float64))), rtol=3e-7)


def test_sigmoid_tails_keep_relative_accuracy():
    x = np.array([-80.0, -30.0, -10.0], dtype=np.float32)
    np.testing.assert_allclose(F.sigmoid(x).numpy(), 1 / (1 + np.exp(-x.astype(np.float64))),
                               rtol=1e-6)


def test_softmax_rows_sum_to_one_at_any_magnitude():
    x = ds.tensor(np.array([[1e4, -1e4, 1e4], [1e8, 1e8 - 64, -1e8], [-1e4, -1e4, -1e4]],
                           dtype=np.float32))
    p = F.softmax(x).numpy()
    np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(p[0], [0.5, 0.0, 0.5])


@pytest.mark.parametrize("name", sorted(ACT for ACT in A.ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved(name, dtype):
    y = A.ACTIVATIONS[name](ds.tensor(rand(2, 3, dtype=dtype)))
    assert y.dtype == dtype


@pytest.mark.parametrize("name", ["sigmoid", "relu", "softmax", "gelu"])
def test_integer_and_list_inputs_become_float32(name):
    assert A.ACTIVATIONS[name](np.array([[1, -2, 3]])).dtype == np.float32
    assert A.ACTIVATIONS[name]([[1.0, 2.0]]).dtype == np.float32


def test_relu_gradient_at_zero_is_zero_like_torch():
    check_torch(F.relu, torch.relu, np.array([-1.0, 0.0, 1.0], dtype=np.float32))
    check_torch(F.leaky_relu, TF.leaky_relu, np.array([-1.0, 0.0, 1.0], dtype=np.float32))
    check_torch(F.elu, TF.elu, np.array([-1.0, 0.0, 1.0], dtype=np.float32))


def test_tensor_methods_route_here():
    x = ds.tensor(rand(2, 3), requires_grad=True)
    for method, fn in [("relu", F.relu), ("sigmoid", F.sigmoid), ("tanh", F.tanh)]:
        np.testing.assert_array_equal(getattr(x, method)().numpy(), fn(x).numpy())
    np.testing.assert_array_equal(x.softmax(axis=0).numpy(), F.softmax(x, axis=0).numpy())
    np.testing.assert_array_equal(x.log_softmax().numpy(), F.log_softmax(x).numpy())


def test_swish_and_silu_are_one_function():
    assert F.swish is F.silu
    assert A.get_activation("silu") is A.get_activation("swish")


def test_linear_is_identity_without_a_node():
    x = ds.tensor(rand(3), requires_grad=True)
    assert A.linear(x) is x
    assert isinstance(A.linear([1.0, 2.0]), ds.Tensor)


# ----------------------------------------------------------------------------- logits contract
@pytest.mark.parametrize("grad", [True, False])
def test_softmax_and_sigmoid_record_their_logits(grad):
    x = ds.tensor(rand(2, 3), requires_grad=True)
    with ds.enable_grad() if grad else ds.no_grad():
        p, s = F.softmax(x), F.sigmoid(x)
    assert p._logits is x and s._logits is x
    assert F.logits_of(p, "softmax") is x and F.logits_of(p, "sigmoid") is None
    assert F.logits_of(s, "sigmoid") is x and F.logits_of(s, "softmax") is None
    assert F.logits_of(F.softmax(x, axis=0), "softmax") is None  # another axis
    assert F.logits_of(F.softmax(x, axis=0), "softmax", axis=-2) is x
    assert F.logits_of(F.relu(x), "sigmoid") is None
    assert F.logits_of(x, "softmax") is None


def test_logits_recorded_as_tensor_for_array_input():
    x = rand(2, 3, seed=5)
    p = F.softmax(x)
    assert isinstance(p._logits, ds.Tensor)
    np.testing.assert_array_equal(p._logits.numpy(), x)


def test_hand_set_logits_recognised_through_creator_activation():
    class FusedDenseSoftmax(ds.autograd.Function):
        activation = "softmax"
        axis = -1

        def forward(self, z):
            return z / z.sum(-1, keepdims=True)

        def backward(self, g):
            return g

    z = ds.tensor(rand(2, 3, low=1, high=2), requires_grad=True)
    out = FusedDenseSoftmax.apply(z)
    out._logits = z
    assert F.logits_of(out, "softmax") is z
    assert F.logits_of(out, "sigmoid") is None


def test_logits_record_dies_with_its_output():
    p = F.softmax(rand(2, 3))
    key = id(p)
    assert _logits._PRODUCERS[key]() is p
    del p
    gc.collect()
    assert key not in _logits._PRODUCERS


def test_mark_logits_rejects_other_activations():
    with pytest.raises(ValueError, match="softmax' or 'sigmoid"):
        F.mark_logits(ds.tensor([1.0]), ds.tensor([1.0]), "relu")


# ----------------------------------------------------------------------------- registry
def test_get_activation_names_are_keras():
    for name in ["relu", "sigmoid", "softmax", "tanh", "elu", "leaky_relu", "gelu", "softplus",
                 "swish", "silu", "log_softmax", "linear"]:
        fn = F.get_activation(name)
        assert fn is A.ACTIVATIONS[name]
        assert F.get_activation(fn.__name__) is fn  # names round-trip for layer configs
    assert F.get_activation(None) is A.linear
    assert F.get_activation("ReLU") is F.relu
    fn = lambda x: x  # noqa: E731
    assert F.get_activation(fn) is fn


def test_get_activation_unknown_lists_valid_names():
    with pytest.raises(ValueError, match="unknown activation 'reluu'.*leaky_relu.*softmax"):
        F.get_activation("reluu")
    with pytest.raises(ValueError, match="callable"):
        F.get_activation(3)


def test_leaky_relu_rejects_a_negative_slope_and_keeps_alpha_at_least_one():
    with pytest.raises(ValueError, match=r"leaky_relu: alpha \(the negative slope\) must be >= 0, got -0.1"):
        F.leaky_relu(rand(3), alpha=-0.1)
    # alpha >= 1: still x above 0 and alpha·x below (not max(alpha·x, x)), as PyTorch computes
    check_torch(lambda x: F.leaky_relu(x, alpha=2.0), lambda x: TF.leaky_relu(x, 2.0),
                np.array([-1.5, -0.5, 0.5, 2.0], np.float32))


@pytest.mark.parametrize("bad", ["x", float("nan"), None, True])
def test_bad_alpha(bad):
    with pytest.raises(ValueError, match="alpha"):
        F.leaky_relu(rand(3), alpha=bad)
    with pytest.raises(ValueError, match="alpha"):
        F.elu(rand(3), alpha=bad)


def test_bad_axis_and_approximate():
    with pytest.raises(ValueError, match="softmax: axis 2 is out of bounds.*\\(2, 3\\)"):
        F.softmax(rand(2, 3), axis=2)
    with pytest.raises(ValueError, match="axis must be an int"):
        F.log_softmax(rand(2, 3), axis=None)
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(rand(3), approximate="erf")


@pytest.mark.parametrize("dtype,rtol", [(np.float32, 3e-7), (np.float64, 5e-16)])
def test_log1p_helper_accuracy(dtype, rtol):
    u = np.concatenate([np.geomspace(1e-30, 1, 300), -np.geomspace(1e-30, 0.999, 300)])
    np.testing.assert_allclose(S._log1p_unit(u.astype(dtype), np), np.log1p(u.astype(dtype)),
                               rtol=rtol)
