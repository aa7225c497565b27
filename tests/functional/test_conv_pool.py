"""conv2d_max_pool2d (the fused Conv2D + ReLU + MaxPooling2D node) against PyTorch, finite
differences and the unfused functions; Sequential's fusion against the layers one by one."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import deepsheet as ds
import deepsheet.functional as F
from deepsheet import layers
from deepsheet.diagnostics import resolve_padding
from deepsheet.functional import _kernels, conv_pool
from deepsheet.functional.conv_pool import Conv2dMaxPool2dOp, conv2d_max_pool2d, tapered_spans
from oracle import F32, check_grad, check_op, rand


def _torch_fn(pads, dilation, relu, pool):
    (t, b), (l, r) = pads

    def fn(x, w, bias=None):
        y = TF.conv2d(TF.pad(x.permute(0, 3, 1, 2), (l, r, t, b)), w.permute(3, 2, 0, 1), bias,
                      dilation=dilation)
        return TF.max_pool2d(torch.relu(y) if relu else y, pool).permute(0, 2, 3, 1)
    return fn


# (N, H, W, C, O, kernel, padding, dilation, relu, pool)
CASES = [
    (2, 8, 8, 1, 4, 3, "same", 1, True, 2),        # the reference CNN's first layer, small
    (3, 6, 6, 5, 6, 3, "same", 1, True, 2),        # several channels
    (1, 7, 9, 2, 3, 3, "same", 1, True, 2),        # odd sizes: the last row/column in no window
    (2, 7, 7, 3, 2, 3, "valid", 1, False, 2),      # no activation, valid padding
    (1, 9, 8, 2, 3, (2, 3), "valid", (2, 1), True, (3, 2)),  # dilation, 3x2 windows
    (1, 4, 4, 1, 1, 3, "same", 1, True, 4),        # batch 1, one window per image
]


def _case(case, seed=0, dtype=np.float32):
    N, H, W, C, O, k, pad, d, relu, pool = case
    kh, kw = (k, k) if isinstance(k, int) else k
    x = rand(N, H, W, C, seed=seed, dtype=dtype)
    w = rand(kh, kw, C, O, seed=seed + 1, low=-1, high=1, dtype=dtype)
    b = rand(O, seed=seed + 2, dtype=dtype)
    pads = resolve_padding(pad, (H, W), (kh, kw), 1, d)
    kw_args = dict(padding=pad, dilation_rate=d, activation="relu" if relu else None,
                   pool_size=pool)
    pool2 = (pool, pool) if isinstance(pool, int) else pool
    dil = (d, d) if isinstance(d, int) else d
    return x, w, b, kw_args, _torch_fn(pads, dil, relu, pool2)


@pytest.mark.parametrize("case", CASES)
def test_conv2d_max_pool2d_vs_torch(case, monkeypatch):
    monkeypatch.setattr(_kernels, "CHUNK_BYTES", 3000)  # several chunks, a partial last one
    monkeypatch.setattr(conv_pool, "MIN_CHUNK_FLOPS", 0)
    monkeypatch.setattr(conv_pool, "FORWARD_CHUNK_FLOPS", 0)
    x, w, b, kw, tfn = _case(case)
    check_op(lambda x, w, b: conv2d_max_pool2d(x, w, b, **kw), tfn, x, w, b, fd=False)
    x, w, b, kw, _ = _case(case, dtype=np.float64)
    check_grad(lambda x, w, b: conv2d_max_pool2d(x, w, b, **kw), x, w, b)


@pytest.mark.parametrize("case", [CASES[0], CASES[1], CASES[5]])
def test_first_layer_without_input_gradient_vs_torch(case, monkeypatch):
    # x needs no gradient (the data): the product's rows come tap by tap (the pooling reads
    # contiguous blocks), a path of its own.
    monkeypatch.setattr(_kernels, "CHUNK_BYTES", 3000)
    monkeypatch.setattr(conv_pool, "MIN_CHUNK_FLOPS", 0)
    monkeypatch.setattr(conv_pool, "FORWARD_CHUNK_FLOPS", 0)
    x, w, b, kw, tfn = _case(case)
    tw, tb = ds.tensor(w, requires_grad=True), ds.tensor(b, requires_grad=True)
    y = conv2d_max_pool2d(ds.tensor(x), tw, tb, **kw)
    assert y._ctx.order is not None
    g = np.random.default_rng(5).standard_normal(y.shape).astype(np.float32)
    (y * ds.tensor(g)).sum().backward()
    rw, rb = (torch.tensor(a, requires_grad=True) for a in (w, b))
    ry = tfn(torch.tensor(x), rw, rb)
    (ry * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(y.numpy(), ry.detach().numpy(), **F32)
    np.testing.assert_allclose(tw.grad, rw.grad.numpy(), **F32)
    np.testing.assert_allclose(tb.grad, rb.grad.numpy(), **F32)
    x64, w64, b64, _, _ = _case(case, dtype=np.float64)
    check_grad(lambda w, b: conv2d_max_pool2d(ds.tensor(x64), w, b, **kw), w64, b64)


def test_the_fused_node_runs_and_matches_the_unfused_functions_bit_for_bit(monkeypatch):
    # One sample per chunk: tapering leaves the chunks as the unfused nodes have them, so
    # the same partial sums in the same order.
    monkeypatch.setattr(_kernels, "CHUNK_BYTES", 20_000)
    monkeypatch.setattr(conv_pool, "MIN_CHUNK_FLOPS", 0)
    monkeypatch.setattr(conv_pool, "FORWARD_CHUNK_FLOPS", 0)
    x, w, b, kw, _ = _case((5, 9, 9, 3, 4, 3, "same", 1, True, 2))
    act = kw.pop("activation")
    pool = kw.pop("pool_size")
    results = []
    for fused in (True, False):
        tx, tw, tb = (ds.tensor(a, requires_grad=True) for a in (x, w, b))
        if fused:
            y = conv2d_max_pool2d(tx, tw, tb, activation=act, pool_size=pool, **kw)
            assert isinstance(y._ctx, Conv2dMaxPool2dOp)
        else:
            y = F.max_pool2d(F.conv2d(tx, tw, tb, activation=act, **kw), pool)
        (y * ds.tensor(np.linspace(-1, 1, y.size, dtype=np.float32).reshape(y.shape))) \
            .sum().backward()
        results.append([y.numpy(), tx.grad, tw.grad, tb.grad])
    for ours, plain in zip(*results):
        np.testing.assert_array_equal(ours, plain)


@pytest.mark.parametrize("kw", [dict(strides=2), dict(groups=2), dict(pool_strides=1),
                                dict(pool_padding="same")])
def test_arguments_the_fused_node_does_not_take_run_the_two_functions(kw):
    x = rand(2, 8, 8, 4, seed=3)
    w = rand(3, 3, 4 // kw.get("groups", 1), 4, seed=4)
    b = rand(4, seed=5)
    y = conv2d_max_pool2d(ds.tensor(x), ds.tensor(w), ds.tensor(b), padding="same", **kw)
    conv_kw = {k: v for k, v in kw.items() if k in ("strides", "groups")}
    ref = F.max_pool2d(F.conv2d(x, w, b, padding="same", activation="relu", **conv_kw), 2,
                       kw.get("pool_strides"), kw.get("pool_padding", "valid"))
    np.testing.assert_array_equal(y.numpy(), ref.numpy())


def test_tapered_spans_cover_the_batch_in_order_and_depend_on_the_shape_only():
    assert [b - a for a, b in tapered_spans(128, 7)] == [7] * 16 + [4] * 4
    assert tapered_spans(10, 7) == [(0, 7), (7, 10)]   # two chunks or fewer: as they are
    for n, size in ((40, 3), (1, 1), (100, 33), (0, 5)):
        spans = tapered_spans(n, size)
        assert [a for a, _ in spans[1:]] == [b for _, b in spans[:-1]]
        assert (spans[0][0], spans[-1][1]) == (0, n) if n else spans == []
        assert max(b - a for a, b in spans or [(0, 0)]) <= size


def test_chunks_carry_a_minimum_of_work():
    geo = _kernels.Geometry(28, 28, 3, 3, (1, 1), (1, 1), ((1, 1), (1, 1)))
    least = conv_pool._at_least
    # 0.45 MFLOP a sample: 36 samples for 16 MFLOP, capped at a quarter of the batch (32)
    assert least(16, 128, geo, (3, 3, 1, 32), np, 16e6) == 32
    assert least(16, 128, geo, (3, 3, 1, 32), np, 96e6) == 32
    assert least(16, 20, geo, (3, 3, 1, 32), np, 16e6) == 10    # 16 evened out: 2 of 10
    assert least(3, 20, geo, (3, 3, 1, 32), np, 16e6) == 5      # 4 chunks of 5
    geo = _kernels.Geometry(14, 14, 3, 3, (1, 1), (1, 1), ((1, 1), (1, 1)))
    assert least(7, 128, geo, (3, 3, 32, 64), np, 16e6) == 7    # 7.2 MFLOP a sample
    assert least(7, 128, geo, (3, 3, 32, 64), np, 96e6) == 13   # 14, evened out: 10 of 13


@pytest.mark.parametrize("case", [CASES[1], CASES[2], CASES[4]])
def test_weight_gradient_from_the_input_gradients_im2col(case, monkeypatch):
    """With dL/dx wanted, dL/dW = xᵀ·D from the im2col matrix D that dL/dx builds (flipped
    taps); it equals the gradient from x's own im2col up to float32 rounding (several
    chunks, bias, dilation)."""
    monkeypatch.setattr(_kernels, "CHUNK_BYTES", 3000)
    monkeypatch.setattr(conv_pool, "MIN_CHUNK_FLOPS", 0)
    x, w, b, kw, _ = _case(case)
    results = []
    for shared in (True, False):
        monkeypatch.setattr(conv_pool, "SHARE_IM2COL", shared)
        tx, tw, tb = (ds.tensor(a, requires_grad=True) for a in (x, w, b))
        y = conv2d_max_pool2d(tx, tw, tb, **kw)
        (y * ds.tensor(np.linspace(-1, 1, y.size, dtype=np.float32).reshape(y.shape))) \
            .sum().backward()
        results.append([tx.grad, tw.grad, tb.grad])
    for ours, plain in zip(*results):
        np.testing.assert_allclose(ours, plain, rtol=1e-5, atol=1e-5 * np.abs(plain).max())


def test_empty_batch():
    x = np.zeros((0, 6, 6, 2), np.float32)
    w = rand(3, 3, 2, 3, seed=1)
    tx, tw = ds.tensor(x, requires_grad=True), ds.tensor(w, requires_grad=True)
    y = conv2d_max_pool2d(tx, tw, padding="same")
    assert y.shape == (0, 3, 3, 3)
    y.sum().backward()
    assert tx.grad.shape == x.shape and not tw.grad.any()


def _cnn(seed):
    ds.manual_seed(seed)
    model = ds.Sequential([
        layers.Conv2D(4, 3, padding="same", activation="relu", input_shape=(9, 9, 1)),
        layers.MaxPooling2D(2),
        layers.Conv2D(5, 3, activation=None),
        layers.MaxPooling2D(2),
        layers.Conv2D(3, 1, strides=1, activation="relu"),   # not followed by a pooling
        layers.Flatten(),
        layers.Dense(3),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def test_sequential_fuses_conv_and_pooling_with_the_same_training(monkeypatch):
    monkeypatch.setattr(_kernels, "CHUNK_BYTES", 5000)
    monkeypatch.setattr(conv_pool, "MIN_CHUNK_FLOPS", 0)
    monkeypatch.setattr(conv_pool, "FORWARD_CHUNK_FLOPS", 0)
    rng = np.random.default_rng(0)
    x = rng.random((40, 9, 9, 1), np.float32)
    y = rng.integers(0, 3, 40)
    seen = []
    real = Conv2dMaxPool2dOp.forward
    monkeypatch.setattr(Conv2dMaxPool2dOp, "forward",
                        lambda self, *a: seen.append(1) or real(self, *a))
    weights = []
    for fused in (True, False):
        monkeypatch.setattr(conv_pool, "FUSE", fused)
        model = _cnn(0)
        model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
        weights.append(model.get_weights() + [model.predict(x, verbose=0)])
        if fused:
            assert len(seen) >= 2 * 3 * 2  # both pairs fused on every training step
    # The fused node's batch chunks end tapered (conv_pool.tapered_spans), so its weight
    # gradients add the chunks' partial sums in another grouping: float32 rounding only.
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_a_subclassed_conv_or_pooling_layer_is_not_fused(monkeypatch):
    class MyConv(layers.Conv2D):
        def call(self, inputs, training=False):
            return super().call(inputs) * 2.0

    class MyPool(layers.MaxPooling2D):
        pass
    x = ds.tensor(np.ones((2, 6, 6, 1), np.float32))
    for conv, pool in ((MyConv(2, 3, activation="relu"), layers.MaxPooling2D()),
                       (layers.Conv2D(2, 3, activation="relu"), MyPool())):
        model = ds.Sequential([conv, pool])
        model(x)  # builds, checks the input size
        assert conv._call_pooled(x, pool) is None
    conv, pool = layers.Conv2D(2, 3, activation="tanh"), layers.MaxPooling2D()
    ds.Sequential([conv, pool])(x)
    assert conv._call_pooled(x, pool) is None
    conv, pool = layers.Conv2D(2, 3, activation="relu"), layers.MaxPooling2D()
    ds.Sequential([conv, pool])(x)
    np.testing.assert_array_equal(conv._call_pooled(x, pool).numpy(), pool(conv(x)).numpy())
