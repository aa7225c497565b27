"""Subnormal numbers are kept out of the optimizers' arithmetic, never out of the user's."""
import contextlib

import numpy as np
import pytest

import deepsheet as ds
from deepsheet import backend
from deepsheet import optimizers as O
from deepsheet.optimizers.base import ZERO_EVERY

TINY = np.finfo(np.float32).tiny
SUB = np.float32(1e-39)  # a float32 subnormal


def user_fp_is_ieee():
    return np.float32(1e-39) * np.float32(1.0) == SUB and (np.full(4, SUB) * 1)[0] == SUB


class NoFlush:
    """What ``backend.flush_denormal`` is where the CPU flags cannot be reached."""

    available = False

    def __call__(self):
        return contextlib.nullcontext()


def subnormal_adam(monkeypatch=None, available=None, mode="flush"):
    if available is False:
        monkeypatch.setattr(backend, "flush_denormal", NoFlush())
    w = ds.tensor(np.ones(64, np.float32), requires_grad=True)
    opt = O.Adam([w])
    opt.subnormals = mode
    opt.load_state_dict({"iterations": np.array(100), "0.step": np.array(100),
                         "0.exp_avg": np.full(64, SUB), "0.exp_avg_sq": np.full(64, SUB)})
    w.grad = np.zeros(64, np.float32)  # a weight that never gets a gradient
    return w, opt


def test_flush_denormal_context_restores_the_environment():
    if not backend.flush_denormal.available:
        pytest.skip("flush-to-zero is not reachable on this platform")
    assert user_fp_is_ieee()
    with backend.flush_denormal():
        assert np.float32(1e-39) * np.float32(1.0) == 0.0
    assert user_fp_is_ieee()


@pytest.mark.parametrize("available", [True, False], ids=["ftz", "fallback"])
def test_step_leaves_no_subnormal_state_and_user_fp_untouched(monkeypatch, available):
    if available and not backend.flush_denormal.available:
        pytest.skip("flush-to-zero is not reachable on this platform")
    w, opt = subnormal_adam(monkeypatch, available)
    before = w.data.copy()
    for _ in range(ZERO_EVERY):  # the portable remedy scans every ZERO_EVERY-th update
        opt.step()
    for name in ("exp_avg", "exp_avg_sq"):
        v = opt.state[w][name]
        assert not np.any((v != 0) & (np.abs(v) < TINY)), name
    np.testing.assert_array_equal(w.data, before)  # zero moments: no update
    assert user_fp_is_ieee()


def test_keep_mode_is_ieee():
    w, opt = subnormal_adam(mode="keep")
    opt.step()
    v = opt.state[w]["exp_avg_sq"]
    assert np.all((v > 0) & (v < TINY))  # 0.999 * 1e-39 stays subnormal under IEEE rules
    assert user_fp_is_ieee()


def test_zero_mode_and_bad_mode():
    w, opt = subnormal_adam(mode="zero")
    for _ in range(ZERO_EVERY):
        opt.step()
    assert not opt.state[w]["exp_avg_sq"].any()
    opt.subnormals = "fast"
    with pytest.raises(ValueError, match="subnormals"):
        opt.step()


def test_user_fp_untouched_after_error_inside_step():
    w = ds.tensor(np.ones(3, np.float32), requires_grad=True)
    w.grad = np.ones(4, np.float32)
    with pytest.raises(ValueError):
        O.Adam([w]).step()
    assert user_fp_is_ieee()


def test_normal_values_unchanged_by_fallback(monkeypatch):
    monkeypatch.setattr(backend, "flush_denormal", NoFlush())
    rng = np.random.default_rng(0)
    results = []
    for mode in ("keep", "flush"):
        w = ds.tensor(rng.standard_normal(50).astype(np.float32), requires_grad=True)
        w.data[...] = np.linspace(-1, 1, 50, dtype=np.float32)
        opt = O.RMSprop([w], momentum=0.9)
        opt.subnormals = mode
        for k in range(5):
            w.grad = np.linspace(-1, 1, 50, dtype=np.float32) * (k + 1)
            opt.step()
        results.append(w.data.copy())
    np.testing.assert_array_equal(results[0], results[1])
