"""``y ← a·x + b·y`` in one BLAS pass (optimizers._axpby) and the optimizers that use it
(Adam/AdamW, SGD, RMSprop, Adagrad).

The small problems of test_update_rules stay under ``MIN_SIZE`` (NumPy passes); here the
parameters are large enough for the BLAS path, checked against torch.optim and the formula.
"""
import numpy as np
import pytest
import torch

import deepsheet as ds
from deepsheet.optimizers import _axpby
from oracle import F32


def _numpy_openblas():
    config = getattr(np, "__config__", None)
    deps = getattr(config, "CONFIG", {}).get("Build Dependencies", {})
    return "openblas" in str(deps.get("blas", {}).get("name", "")).lower()


def test_numpys_openblas_is_found():
    if not _numpy_openblas():
        pytest.skip("NumPy is built against another BLAS: axpby uses NumPy passes (tested below)")
    assert _axpby.available(np.float32) and _axpby.available(np.float64)
    assert not _axpby.available(np.float16)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("blas", [True, False])
@pytest.mark.parametrize("n", [1, 37, _axpby.MIN_SIZE + 17])
def test_axpby_is_the_formula(dtype, blas, n, monkeypatch):
    if not blas:
        monkeypatch.setattr(_axpby, "_funcs", {})
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n).astype(dtype)
    y = rng.standard_normal(n).astype(dtype)
    want = 0.3 * x.astype(np.float64) - 1.7 * y.astype(np.float64)
    x0 = x.copy()
    out = _axpby.axpby(0.3, x, -1.7, y, np.empty_like(y))
    assert out is y and y.dtype == dtype
    np.testing.assert_allclose(y, want, rtol=1e-6 if dtype == np.float32 else 1e-14,
                               atol=1e-6 if dtype == np.float32 else 1e-14)
    np.testing.assert_array_equal(x, x0)  # x is read only (scratch is another array)


def test_a_strided_x_and_x_as_scratch(monkeypatch):
    n = _axpby.MIN_SIZE + 5
    rng = np.random.default_rng(0)
    x2 = rng.standard_normal((n, 2)).astype(np.float32)
    y = rng.standard_normal(n).astype(np.float32)
    want = 2.0 * x2[:, 1].astype(np.float64) + 0.5 * y
    _axpby.axpby(2.0, x2[:, 1], 0.5, y, np.empty_like(y))
    np.testing.assert_allclose(y, want, rtol=1e-6, atol=1e-6)
    monkeypatch.setattr(_axpby, "_funcs", {})  # the NumPy passes may overwrite x = scratch
    x = rng.standard_normal(n).astype(np.float32)
    y = rng.standard_normal(n).astype(np.float32)
    want = 2.0 * x.astype(np.float64) + 1.0 * y
    _axpby.axpby(2.0, x, 1.0, y, x)
    np.testing.assert_allclose(y, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_block_updates_exactly_as_the_whole(dtype):
    """The optimizers' threaded blocks rely on it: results must not depend on the cut."""
    if not _axpby.available(dtype):
        pytest.skip("no BLAS axpby here: NumPy's passes are elementwise anyway")
    rng = np.random.default_rng(1)
    n = 3 * _axpby.MIN_SIZE + 29
    x = rng.standard_normal(n).astype(dtype)
    y = rng.standard_normal(n).astype(dtype)
    whole = y.copy()
    _axpby.axpby(0.1, x, 0.9, whole, None)
    cut = y.copy()
    for a, b in [(0, _axpby.MIN_SIZE + 3), (_axpby.MIN_SIZE + 3, 2 * _axpby.MIN_SIZE + 11),
                 (2 * _axpby.MIN_SIZE + 11, n)]:
        _axpby.axpby(0.1, x[a:b], 0.9, cut[a:b], None)
    np.testing.assert_array_equal(cut, whole)


def test_blocks_are_never_smaller_than_the_blas_threshold(monkeypatch):
    from deepsheet.optimizers import _blocks
    least = _axpby.MIN_SIZE
    for n in (least - 1, least, _blocks.BLOCK + 1, _blocks.BLOCK + least, 3 * _blocks.BLOCK):
        spans = _blocks._spans(n)
        assert spans[0][0] == 0 and spans[-1][1] == n
        assert all(b0 == a1 for (_, a1), (b0, _) in zip(spans, spans[1:]))
        if n >= least:
            assert min(b - a for a, b in spans) >= least, (n, spans)
        else:
            assert len(spans) == 1


CASES = {
    "adam": (lambda p: ds.optimizers.Adam(p, learning_rate=0.01),
             lambda p: torch.optim.Adam(p, lr=0.01)),
    "adam-wd": (lambda p: ds.optimizers.Adam(p, learning_rate=0.01, beta_1=0.8, beta_2=0.99,
                                             weight_decay=0.05),
                lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), weight_decay=0.05)),
    "adamw-amsgrad": (lambda p: ds.optimizers.AdamW(p, learning_rate=0.01, amsgrad=True),
                      lambda p: torch.optim.AdamW(p, lr=0.01, amsgrad=True)),
    "sgd": (lambda p: ds.optimizers.SGD(p, learning_rate=0.05),
            lambda p: torch.optim.SGD(p, lr=0.05)),
    "sgd-momentum-dampening-wd": (
        lambda p: ds.optimizers.SGD(p, learning_rate=0.02, momentum=0.8, dampening=0.3,
                                    weight_decay=0.01),
        lambda p: torch.optim.SGD(p, lr=0.02, momentum=0.8, dampening=0.3, weight_decay=0.01)),
    "sgd-nesterov": (lambda p: ds.optimizers.SGD(p, learning_rate=0.02, momentum=0.9,
                                                 nesterov=True),
                     lambda p: torch.optim.SGD(p, lr=0.02, momentum=0.9, nesterov=True)),
    "rmsprop-momentum": (lambda p: ds.optimizers.RMSprop(p, learning_rate=0.002, rho=0.9,
                                                         momentum=0.5),
                         lambda p: torch.optim.RMSprop(p, lr=0.002, alpha=0.9, momentum=0.5)),
    "rmsprop-centered": (lambda p: ds.optimizers.RMSprop(p, learning_rate=0.002, centered=True,
                                                         weight_decay=0.01),
                         lambda p: torch.optim.RMSprop(p, lr=0.002, centered=True,
                                                       weight_decay=0.01)),
    "adagrad": (lambda p: ds.optimizers.Adagrad(p, learning_rate=0.05, lr_decay=0.01),
                lambda p: torch.optim.Adagrad(p, lr=0.05, lr_decay=0.01)),
}
STATE = ("exp_avg", "exp_avg_sq", "momentum_buffer", "square_avg", "grad_avg", "sum")


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_optimizers_on_large_parameters_match_torch(case, dtype):
    """Parameters over MIN_SIZE (the BLAS path) and under it, 15 steps of fixed gradients."""
    make_ours, make_theirs = CASES[case]
    rng = np.random.default_rng(2)
    shapes = [(130, 140), (9,)]
    assert shapes[0][0] * shapes[0][1] >= _axpby.MIN_SIZE
    init = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ours = [ds.tensor(w.copy(), requires_grad=True) for w in init]
    theirs = [torch.tensor(w.copy(), requires_grad=True) for w in init]
    opt, topt = make_ours(ours), make_theirs(theirs)
    tol = F32 if dtype == np.float32 else dict(rtol=1e-9, atol=1e-12)
    for step in range(15):
        for o, t in zip(ours, theirs):
            g = rng.standard_normal(o.shape).astype(dtype) * (0.1 if step % 2 else 3.0)
            o.grad = g
            t.grad = torch.from_numpy(g.copy())
        opt.step()
        topt.step()
        for i, (o, t) in enumerate(zip(ours, theirs)):
            np.testing.assert_allclose(o.data, t.detach().numpy(), **tol,
                                       err_msg=f"parameter {i}, step {step + 1}")
    compared = 0
    for o, t in zip(ours, theirs):
        state, tstate = opt.state[o], topt.state[t]
        for name in STATE:
            if name in state:
                np.testing.assert_allclose(state[name], tstate[name].numpy(), **tol,
                                           err_msg=name)
                compared += 1
    assert compared or case == "sgd"  # plain SGD keeps no state
    assert not np.allclose(ours[0].data, init[0])


@pytest.mark.parametrize("blas", [True, False])
@pytest.mark.parametrize("n", [5, _axpby.MIN_SIZE + 3])
def test_lerp_is_torchs_lerp(blas, n, monkeypatch):
    if not blas:
        monkeypatch.setattr(_axpby, "_funcs", {})
    rng = np.random.default_rng(3)
    y = rng.standard_normal(n).astype(np.float32)
    x = rng.standard_normal(n).astype(np.float32)
    want = torch.from_numpy(y.copy()).lerp_(torch.from_numpy(x), 0.1).numpy()
    numpy_passes = y + np.float32(0.1) * (x - y)  # torch's form for weights under 0.5
    _axpby.lerp(y, x, 0.1, np.empty_like(y))
    np.testing.assert_allclose(y, want, rtol=1e-6, atol=1e-7)
    if not (blas and _axpby.available(np.float32) and n >= _axpby.MIN_SIZE):
        np.testing.assert_array_equal(y, numpy_passes)  # the NumPy path: torch's passes
