"""Pooling and upsampling against PyTorch (NHWC <-> NCHW) and finite differences."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import deepsheet as ds
import deepsheet.functional as F
from deepsheet.diagnostics import resolve_padding
from oracle import check_grad, check_op, check_torch, rand


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _nchw(x):
    return x.permute(0, 3, 1, 2)


def _nhwc(x):
    return x.permute(0, 2, 3, 1)


def torch_max_pool(pool, strides, pads):
    (t, b), (l, r) = pads

    def fn(x):
        xc = TF.pad(_nchw(x), (l, r, t, b), value=-float("inf"))
        return _nhwc(TF.max_pool2d(xc, pool, strides))
    return fn


def torch_avg_pool(pool, strides, pads):
    """Mean over real cells: window sums of the zero-padded input / window counts."""
    (t, b), (l, r) = pads

    def fn(x):
        xc = TF.pad(_nchw(x), (l, r, t, b))
        ones = TF.pad(torch.ones_like(_nchw(x)[:1, :1]), (l, r, t, b))
        return _nhwc(TF.avg_pool2d(xc, pool, strides) / TF.avg_pool2d(ones, pool, strides))
    return fn


# (N, H, W, C, pool, strides, padding)
POOL_CASES = [
    (2, 8, 8, 3, 2, None, "valid"),          # the CNN's 2x2/2
    (2, 7, 9, 2, 2, None, "valid"),          # odd sizes round down
    (1, 7, 7, 2, 3, 2, "same"),              # overlapping windows, "same"
    (2, 6, 5, 2, (2, 3), (1, 2), "same"),    # rectangular, asymmetric "same"
    (1, 5, 6, 3, 3, 1, 1),                   # int padding, stride 1
    (2, 9, 7, 1, (3, 2), (3, 3), ((1, 2), (0, 1))),  # explicit asymmetric pads, stride > pool
    (1, 4, 4, 2, 4, None, "valid"),          # one window
]


def _pool_case(case):
    N, H, W, C, k, s, pad = case
    pool = _pair(k)
    strides = pool if s is None else _pair(s)
    return pool, strides, resolve_padding(pad, (H, W), pool, strides)


@pytest.mark.parametrize("case", POOL_CASES)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool2d_vs_torch(case, kind):
    N, H, W, C, k, s, pad = case
    pool, strides, pads = _pool_case(case)
    ours = F.max_pool2d if kind == "max" else F.avg_pool2d
    theirs = (torch_max_pool if kind == "max" else torch_avg_pool)(pool, strides, pads)
    x = rand(N, H, W, C, seed=sum(case[:4]))
    check_torch(lambda x: ours(x, k, s, pad), theirs, x)


@pytest.mark.parametrize("case", [POOL_CASES[0], POOL_CASES[2], POOL_CASES[4]])
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool2d_ties_go_to_the_first_maximum(case, kind):
    # Constant images and small integer values: ties everywhere (blank image regions).
    N, H, W, C, k, s, pad = case
    pool, strides, pads = _pool_case(case)
    ours = F.max_pool2d if kind == "max" else F.avg_pool2d
    theirs = (torch_max_pool if kind == "max" else torch_avg_pool)(pool, strides, pads)
    for x in (np.ones((N, H, W, C), np.float32),
              np.random.default_rng(3).integers(0, 3, (N, H, W, C)).astype(np.float32)):
        check_torch(lambda x: ours(x, k, s, pad), theirs, x)


def test_max_pool_tie_gradient_is_not_split():
    x = ds.tensor(np.zeros((1, 2, 2, 1), np.float32), requires_grad=True)
    F.max_pool2d(x).sum().backward()
    np.testing.assert_array_equal(x.grad[0, :, :, 0], [[1, 0], [0, 0]])


@pytest.mark.parametrize("case", [POOL_CASES[2], POOL_CASES[3], POOL_CASES[5]])
def test_pool2d_gradcheck(case):
    N, H, W, C, k, s, pad = case
    x = np.random.default_rng(0).permutation(N * H * W * C).reshape(N, H, W, C) * 0.1
    check_grad(lambda x: F.max_pool2d(x, k, s, pad), x)
    check_grad(lambda x: F.avg_pool2d(x, k, s, pad), x)


def test_pool2d_dtype_and_no_grad_fast_path():
    x = rand(2, 6, 6, 3)
    with ds.no_grad():
        y = F.max_pool2d(ds.tensor(x, requires_grad=True))
    assert y.dtype == np.float32 and y._ctx is None
    np.testing.assert_array_equal(y.numpy(), x.reshape(2, 3, 2, 3, 2, 3).max(axis=(2, 4)))
    assert F.avg_pool2d(x.astype(np.float64)).dtype == np.float64


def test_pool2d_errors():
    with pytest.raises(ValueError, match=r"max_pool2d.*does not fit"):
        F.max_pool2d(rand(1, 2, 2, 1), 3)
    with pytest.raises(ValueError, match="smaller than the pool size"):
        F.avg_pool2d(rand(1, 4, 4, 1), 2, padding=2)
    with pytest.raises(ValueError, match=r"rank 4 \(N, H, W, C\)"):
        F.max_pool2d(rand(4, 4, 1))


# ---------------------------------------------------------------- 1-D

@pytest.mark.parametrize("k, s, pad, pads", [(2, None, "valid", (0, 0)), (3, 2, "same", (1, 1)),
                                             (3, 1, (1, 0), (1, 0))])
def test_pool1d_vs_torch(k, s, pad, pads):
    x = rand(2, 9, 3, seed=4)
    st = k if s is None else s
    tmax = lambda x: TF.max_pool1d(TF.pad(x.permute(0, 2, 1), pads, value=-float("inf")),  # noqa
                                   k, st).permute(0, 2, 1)

    def tavg(x):
        xc = TF.pad(x.permute(0, 2, 1), pads)
        ones = TF.pad(torch.ones(1, 1, x.shape[1]), pads)
        return (TF.avg_pool1d(xc, k, st) / TF.avg_pool1d(ones, k, st)).permute(0, 2, 1)
    check_op(lambda x: F.max_pool1d(x, k, s, pad), tmax, x)
    check_op(lambda x: F.avg_pool1d(x, k, s, pad), tavg, x)


# ---------------------------------------------------------------- global pooling

def test_global_pools_vs_torch():
    x = rand(2, 3, 4, 5, seed=1)
    check_op(lambda x: F.global_avg_pool2d(x), lambda x: x.mean(dim=(1, 2)), x)
    check_op(lambda x: F.global_avg_pool2d(x, keepdims=True),
             lambda x: x.mean(dim=(1, 2), keepdim=True), x)
    check_op(lambda x: F.global_max_pool2d(x),
             lambda x: TF.adaptive_max_pool2d(_nchw(x), 1)[:, :, 0, 0], x)
    check_op(lambda x: F.global_max_pool2d(x, keepdims=True),
             lambda x: _nhwc(TF.adaptive_max_pool2d(_nchw(x), 1)), x)
    s = rand(3, 6, 2, seed=2)
    check_op(lambda x: F.global_avg_pool1d(x), lambda x: x.mean(dim=1), s)
    check_op(lambda x: F.global_max_pool1d(x),
             lambda x: TF.adaptive_max_pool1d(x.permute(0, 2, 1), 1)[:, :, 0], s)


def test_global_max_pool_ties_and_single_pixel():
    check_torch(lambda x: F.global_max_pool2d(x),
                lambda x: TF.adaptive_max_pool2d(_nchw(x), 1)[:, :, 0, 0],
                np.ones((2, 3, 3, 2), np.float32))
    x = rand(2, 1, 1, 4)
    np.testing.assert_array_equal(F.global_max_pool2d(x).numpy(), x[:, 0, 0])


# ---------------------------------------------------------------- upsampling

@pytest.mark.parametrize("size", [2, (1, 3), (3, 2)])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_upsample2d_vs_torch(size, mode):
    x = rand(2, 3, 4, 2, seed=5)
    extra = {} if mode == "nearest" else dict(align_corners=False)
    check_op(lambda x: F.upsample2d(x, size, mode),
             lambda x: _nhwc(TF.interpolate(_nchw(x), scale_factor=_pair(size), mode=mode,
                                            **extra)), x)


def test_upsample2d_errors():
    with pytest.raises(ValueError, match="interpolation"):
        F.upsample2d(rand(1, 2, 2, 1), 2, "bicubic")
    with pytest.raises(ValueError, match="size"):
        F.upsample2d(rand(1, 2, 2, 1), 0)
