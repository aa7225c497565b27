"""One-line oracle checks: deepsheet against PyTorch (float32) and finite differences (float64).

Tolerances live here, once. Loosen one only at a call site, with the reason in a comment.
"""
from __future__ import annotations

import numpy as np
import torch

import deepsheet as ds
from deepsheet.testing import gradcheck

# float32 forward/backward against PyTorch: both sides round differently (summation order,
# fused kernels), so agreement is to a few ulps scaled by the magnitudes involved.
F32 = dict(rtol=1e-4, atol=1e-5)
# float64 central differences with h = 1e-6: truncation O(h^2) and rounding O(eps/h).
F64 = dict(eps=1e-6, atol=1e-6, rtol=1e-5)


def rand(*shape, low=-2.0, high=2.0, seed=None, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return rng.uniform(low, high, size=shape).astype(dtype)


def _to_torch(x, requires_grad):
    if isinstance(x, np.ndarray):
        t = torch.from_numpy(x.copy())
        if requires_grad and x.dtype.kind == "f":
            t.requires_grad_(True)
        return t
    return x


def _to_ds(x, requires_grad):
    if isinstance(x, np.ndarray):
        return ds.tensor(x.copy(), requires_grad=requires_grad and x.dtype.kind == "f")
    return x


def _outs(o):
    return list(o) if isinstance(o, (tuple, list)) else [o]


def assert_close(ours, theirs, rtol, atol, what):
    ours = np.asarray(ours)
    theirs = np.asarray(theirs)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} != torch {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg=what)


def check_torch(ds_fn, torch_fn, *inputs, grad=True, rtol=None, atol=None):
    """Run both functions on the same float32 inputs; compare outputs, dtypes and gradients.

    ``inputs`` are NumPy arrays (float arrays get gradients on both sides) or other values
    passed unchanged. The backward pass uses the same random upstream gradient on both sides.
    """
    rtol = F32["rtol"] if rtol is None else rtol
    atol = F32["atol"] if atol is None else atol
    ours_in = [_to_ds(x, grad) for x in inputs]
    theirs_in = [_to_torch(x, grad) for x in inputs]
    ours = _outs(ds_fn(*ours_in))
    theirs = _outs(torch_fn(*theirs_in))
    assert len(ours) == len(theirs)
    for k, (o, t) in enumerate(zip(ours, theirs)):
        assert_close(o.numpy(), t.detach().numpy(), rtol, atol, f"output {k}")
        if t.dtype == torch.float32:
            assert o.dtype == np.float32, f"output {k} dtype {o.dtype}, expected float32"
    if not grad:
        return
    rng = np.random.default_rng(99)
    ours_loss, theirs_loss = None, None
    for o, t in zip(ours, theirs):
        if not t.requires_grad:
            continue
        w = rng.standard_normal(tuple(t.shape)).astype(np.float32)
        lo = (o * w).sum()
        lt = (t * torch.from_numpy(w)).sum()
        ours_loss = lo if ours_loss is None else ours_loss + lo
        theirs_loss = lt if theirs_loss is None else theirs_loss + lt
    if theirs_loss is None:
        return
    ours_loss.backward()
    theirs_loss.backward()
    for k, (o, t) in enumerate(zip(ours_in, theirs_in)):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            tg = t.grad
            og = o.grad
            if tg is None:
                assert og is None or not np.any(og), f"grad {k}: torch has none, ours nonzero"
                continue
            assert og is not None, f"grad {k}: missing (torch has one)"
            assert og.dtype == o.dtype, f"grad {k} dtype {og.dtype} != tensor dtype {o.dtype}"
            assert_close(og, tg.numpy(), rtol, atol, f"grad of input {k}")


def check_grad(ds_fn, *inputs, **tol):
    """gradcheck in float64 with the shared tolerances."""
    kw = dict(F64)
    kw.update(tol)
    inputs64 = [x.astype(np.float64) if isinstance(x, np.ndarray) and x.dtype.kind == "f" else x
                for x in inputs]
    assert gradcheck(ds_fn, *inputs64, **kw)


def check_op(ds_fn, torch_fn, *inputs, rtol=None, atol=None, fd=True):
    """The one-line op test: PyTorch in float32 and finite differences in float64."""
    check_torch(ds_fn, torch_fn, *inputs, rtol=rtol, atol=atol)
    if fd:
        check_grad(ds_fn, *inputs)
