"""Winograd's F(2x2, 3x3) (functional/_winograd.py) inside the fused convolution + pooling node
and in the plain ``conv2d``: against PyTorch in float32, central differences and the im2col path
in float64, with several chunks and a partial last one, and bit-identical with 1, 2 and 3
threads."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import deepsheet as ds
from deepsheet.functional import _kernels, _winograd, conv, conv_pool
from deepsheet.functional._kernels import Geometry
from deepsheet.functional.conv_pool import conv2d_max_pool2d
from oracle import check_grad, check_torch, rand


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 2 (forward) and 3 (backward) samples: several, and a partial last one; and
    the Winograd path for test-sized channel counts."""
    monkeypatch.setattr(_winograd, "MIN_PAIRS", 1)
    monkeypatch.setattr(conv_pool, "WINOGRAD_CHUNK", 2)
    monkeypatch.setattr(conv_pool, "WINOGRAD_BACKWARD_CHUNK", 3)
    monkeypatch.setattr(conv, "WINOGRAD_CHUNK", 3)
    monkeypatch.setattr(conv_pool, "MIN_CHUNK_FLOPS", 0)
    monkeypatch.setattr(conv_pool, "FORWARD_CHUNK_FLOPS", 0)
    monkeypatch.setattr(_kernels, "CHUNK_BYTES", 3000)


@pytest.fixture
def spy(monkeypatch):
    """Counts the chunks the Winograd forward and backward run (the path is really taken)."""
    calls = {"forward": 0, "backward": 0}
    fwd, back = _winograd.WinogradConv.__call__, _winograd.WinogradBackward.__call__

    def f(self, *a, **k):
        calls["forward"] += 1
        return fwd(self, *a, **k)

    def b(self, *a, **k):
        calls["backward"] += 1
        return back(self, *a, **k)
    monkeypatch.setattr(_winograd.WinogradConv, "__call__", f)
    monkeypatch.setattr(_winograd.WinogradBackward, "__call__", b)
    return calls


def _torch_fn(relu):
    def fn(x, w, b=None):
        y = TF.conv2d(x.permute(0, 3, 1, 2), w.permute(3, 2, 0, 1), b, padding=1)
        return TF.max_pool2d(torch.relu(y) if relu else y, 2).permute(0, 2, 3, 1)
    return fn


# (N, H, W, C, O, relu, bias)
CASES = [
    (7, 6, 6, 16, 16, True, True),
    (5, 4, 8, 16, 20, False, True),     # rectangular images, no activation
    (4, 2, 2, 24, 16, True, False),     # one tile per image, no bias
    (1, 14, 14, 32, 64, True, True),    # the reference CNN's second layer, batch 1
]


def _vs_torch(ours, theirs, case, seed):
    """``ours(x, w, b, padding=, activation=)`` against ``theirs(relu)`` on a CASES entry."""
    N, H, W, C, O, relu, bias = case
    x = rand(N, H, W, C, seed=seed)
    w = rand(3, 3, C, O, seed=seed + 1, low=-0.5, high=0.5)
    act = "relu" if relu else None
    inputs = (x, w, rand(O, seed=seed + 2)) if bias else (x, w)
    check_torch(lambda *t: ours(*t, padding="same", activation=act), theirs(relu), *inputs)


@pytest.mark.parametrize("case", CASES)
def test_winograd_node_vs_torch(case, small_chunks, spy):
    _vs_torch(conv2d_max_pool2d, _torch_fn, case, 1)
    assert spy["forward"] >= min(case[0], 2) and spy["backward"] >= 1


def test_winograd_node_finite_differences(small_chunks, spy):
    x, w, b = rand(4, 4, 4, 16, seed=4), rand(3, 3, 16, 16, seed=5), rand(16, seed=6)
    check_grad(lambda x, w, b: conv2d_max_pool2d(x, w, b, padding="same"), x, w, b)
    assert spy["backward"] >= 2


@pytest.mark.parametrize("relu", [True, False])
def test_winograd_equals_the_im2col_path_in_float64(relu, small_chunks, monkeypatch):
    rng = np.random.default_rng(7)
    x0 = rng.standard_normal((5, 6, 10, 16))
    w0 = rng.standard_normal((3, 3, 16, 18)) * 0.3
    b0 = rng.standard_normal(18)
    gy = rng.standard_normal((5, 3, 5, 18))
    results = []
    for enabled in (True, False):
        monkeypatch.setattr(_winograd, "ENABLED", enabled)
        x, w, b = (ds.tensor(a, requires_grad=True) for a in (x0, w0, b0))
        y = conv2d_max_pool2d(x, w, b, padding="same", activation="relu" if relu else None)
        assert y._ctx.wino is enabled
        (y * ds.tensor(gy)).sum().backward()
        results.append([y.numpy(), x.grad, w.grad, b.grad])
    for a, c in zip(*results):
        np.testing.assert_allclose(a, c, rtol=1e-11, atol=1e-11 * np.abs(c).max())


def test_only_the_weight_or_only_the_input_gradient(small_chunks):
    rng = np.random.default_rng(8)
    x0 = rng.standard_normal((4, 4, 4, 16)).astype(np.float32)
    w0 = (rng.standard_normal((3, 3, 16, 16)) * 0.3).astype(np.float32)
    tx, tw = torch.tensor(x0, requires_grad=True), torch.tensor(w0, requires_grad=True)
    _torch_fn(True)(tx, tw).sum().backward()
    x, w = ds.tensor(x0, requires_grad=True), ds.tensor(w0)
    y = conv2d_max_pool2d(x, w, padding="same")
    assert y._ctx.wino
    y.sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-4, atol=1e-5)
    x, w = ds.tensor(x0), ds.tensor(w0, requires_grad=True)
    conv2d_max_pool2d(x, w, padding="same").sum().backward()
    np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_bit_identical_with_1_2_3_threads(threads, small_chunks):
    rng = np.random.default_rng(9)
    x0 = rng.standard_normal((11, 6, 6, 16)).astype(np.float32)
    w0 = (rng.standard_normal((3, 3, 16, 16)) * 0.3).astype(np.float32)
    b0 = rng.standard_normal(16).astype(np.float32)
    runs = []
    for n in (1, 2, 3):
        threads(n)
        x, w, b = (ds.tensor(a, requires_grad=True) for a in (x0, w0, b0))
        y = conv2d_max_pool2d(x, w, b, padding="same")
        assert y._ctx.wino
        (y * y).sum().backward()
        runs.append([y.numpy(), x.grad, w.grad, b.grad])
    for other in runs[1:]:
        for a, c in zip(runs[0], other):
            np.testing.assert_array_equal(a, c)


def _geo(H, W, k=3, pad=1, stride=1, dilation=1):
    Ho = (H + 2 * pad - dilation * (k - 1) - 1) // stride + 1
    Wo = (W + 2 * pad - dilation * (k - 1) - 1) // stride + 1
    return Geometry(Ho, Wo, k, k, (stride, stride), (dilation, dilation),
                    ((pad, pad), (pad, pad)), out_hw=(H, W))


@pytest.mark.parametrize("x_shape, w_shape, geo, ok", [
    ((2, 14, 14, 32), (3, 3, 32, 64), _geo(14, 14), True),
    ((2, 7, 7, 32), (3, 3, 32, 64), _geo(7, 7), False),                # odd output
    ((2, 14, 14, 8), (3, 3, 8, 64), _geo(14, 14), True),               # 8 x 64 channel pairs
    ((2, 14, 14, 4), (3, 3, 4, 128), _geo(14, 14), False),             # few input channels
    ((2, 14, 14, 16), (3, 3, 16, 16), _geo(14, 14), False),            # few channel pairs
    ((2, 14, 14, 32), (3, 3, 32, 64), _geo(14, 14, pad=0), False),     # "valid"
    ((2, 14, 14, 32), (5, 5, 32, 64), _geo(14, 14, k=5, pad=2), False),  # 5x5
    ((2, 14, 14, 32), (3, 3, 32, 64), _geo(14, 14, pad=2, dilation=2), False),
])
def test_where_winograd_applies(x_shape, w_shape, geo, ok):
    assert _winograd.usable(x_shape, w_shape, geo, np) is ok
    if ok:  # float16 has no BLAS product: the im2col path
        assert _winograd.usable(x_shape, w_shape, geo, np, np.float64)
        assert not _winograd.usable(x_shape, w_shape, geo, np, np.float16)


def test_the_kept_transform_is_released_after_backward(small_chunks):
    x = ds.tensor(rand(3, 4, 4, 16, seed=1), requires_grad=True)
    w = ds.tensor(rand(3, 3, 16, 16, seed=2), requires_grad=True)
    y = conv2d_max_pool2d(x, w, padding="same")
    node = y._ctx
    assert node.wino and node.V is not None
    y.sum().backward()
    assert getattr(node, "V", None) is None
    with ds.no_grad():
        node = conv2d_max_pool2d(x, w, padding="same")._ctx
    assert node is None  # nothing is recorded, nothing kept


# ---------------------------------------------------------------- the plain conv2d

def _torch_conv(relu):
    def fn(x, w, b=None):
        y = TF.conv2d(x.permute(0, 3, 1, 2), w.permute(3, 2, 0, 1), b, padding=1)
        return (torch.relu(y) if relu else y).permute(0, 2, 3, 1)
    return fn


@pytest.mark.parametrize("case", CASES)
def test_winograd_conv2d_vs_torch(case, small_chunks, spy):
    _vs_torch(ds.functional.conv2d, _torch_conv, case, 4)
    assert spy["forward"] >= 1 and spy["backward"] >= 1


def test_winograd_conv2d_finite_differences_and_im2col(small_chunks, monkeypatch):
    x, w, b = rand(4, 2, 4, 16, seed=7), rand(3, 3, 16, 16, seed=8), rand(16, seed=9)
    check_grad(lambda x, w, b: ds.functional.conv2d(x, w, b, padding="same",
                                                    activation="relu"), x, w, b)
    rng = np.random.default_rng(10)
    x0, w0, b0 = (rng.standard_normal(s) for s in ((7, 6, 8, 16), (3, 3, 16, 20), (20,)))
    gy = rng.standard_normal((7, 6, 8, 20))
    results = []
    for enabled in (True, False):
        monkeypatch.setattr(_winograd, "ENABLED", enabled)
        tx, tw, tb = (ds.tensor(a, requires_grad=True) for a in (x0, w0, b0))
        y = ds.functional.conv2d(tx, tw, tb, padding="same")
        assert y._ctx.wino is enabled
        (y * ds.tensor(gy)).sum().backward()
        results.append([y.numpy(), tx.grad, tw.grad, tb.grad])
    for a, c in zip(*results):
        np.testing.assert_allclose(a, c, rtol=1e-11, atol=1e-11 * np.abs(c).max())


def test_winograd_conv2d_bit_identical_with_1_2_3_threads(threads, small_chunks):
    rng = np.random.default_rng(11)
    x0 = rng.standard_normal((10, 4, 6, 16)).astype(np.float32)
    w0 = (rng.standard_normal((3, 3, 16, 16)) * 0.3).astype(np.float32)
    runs = []
    for n in (1, 2, 3):
        threads(n)
        x, w = ds.tensor(x0, requires_grad=True), ds.tensor(w0, requires_grad=True)
        y = ds.functional.conv2d(x, w, padding="same", activation="relu")
        assert y._ctx.wino
        (y * y).sum().backward()
        runs.append([y.numpy(), x.grad, w.grad])
    for other in runs[1:]:
        for a, c in zip(runs[0], other):
            np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("fused", [True, False])
def test_without_the_kept_transform_the_backward_transforms_x_again(fused, small_chunks,
                                                                      monkeypatch):
    """Above KEEP_BYTES the forward keeps x, not its 4x larger transform: same gradients."""
    rng = np.random.default_rng(12)
    x0, w0, b0 = (rng.standard_normal(s) for s in ((5, 6, 4, 16), (3, 3, 16, 16), (16,)))
    fn = conv2d_max_pool2d if fused else ds.functional.conv2d
    results = []
    for keep_bytes in (1 << 30, 0):
        monkeypatch.setattr(_winograd, "KEEP_BYTES", keep_bytes)
        x, w, b = (ds.tensor(a, requires_grad=True) for a in (x0, w0, b0))
        y = fn(x, w, b, padding="same")
        assert (y._ctx.V is None) is (keep_bytes == 0)
        (y * y).sum().backward()
        results.append([y.numpy(), x.grad, w.grad, b.grad])
    for a, c in zip(*results):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-12 * np.abs(c).max())


def test_chunks_shrink_for_large_images():
    assert _winograd.chunk_size((128, 14, 14, 32), 64, np.float32, 8) == 8
    assert _winograd.chunk_size((8, 224, 224, 64), 64, np.float32, 8) == 1
    assert _winograd.keeps_transform((128, 14, 14, 32), np.float32)
    assert not _winograd.keeps_transform((64, 56, 56, 128), np.float32)
