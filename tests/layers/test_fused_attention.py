"""The fused fast paths of attention against PyTorch and against the unfused path.

multi_head_self_attention (MultiHeadAttention(x, x): one QKV GEMM, strided heads) against
torch.nn.MultiheadAttention with converted weights, at edge shapes (batch 1, T = 1, a batch
that is not a multiple of the pool blocks) and masks; options torch cannot express (no
bias, value_dim != key_dim, output_shape, dropout, gradients through the returned scores)
against the unfused path; add_layer_norm against torch's layer_norm(x + r); the fast
softmax's fallback; bit-identical results for any thread count.
"""
import numpy as np
import pytest
import torch

import deepsheet as ds
import deepsheet.layers.attention as LA
from deepsheet.layers import MultiHeadAttention as MHA
from oracle import F32, assert_close, rand

F = ds.functional


def _torch_pair(E, H, seed=0):
    torch.manual_seed(seed)
    t = torch.nn.MultiheadAttention(E, H, batch_first=True)
    with torch.no_grad():
        for name, p in t.named_parameters():
            if "bias" in name:
                p.uniform_(-0.5, 0.5)
    m = MHA(num_heads=H, key_dim=E // H)
    m(np.zeros((1, 1, E), np.float32), np.zeros((1, 1, E), np.float32))
    m.set_weights(MHA.weights_from_torch(t.state_dict(), H))
    return t, m


@pytest.mark.parametrize("B,T,E,H", [(1, 1, 8, 2), (1, 7, 8, 2), (3, 5, 12, 4), (17, 9, 8, 1)])
@pytest.mark.parametrize("masking", ["none", "causal", "padding", "explicit"])
def test_fused_self_attention_matches_torch(B, T, E, H, masking):
    t, m = _torch_pair(E, H, seed=B + T)
    x = rand(B, T, E, seed=T)
    ours_kw, theirs_kw = {}, {}
    rng = np.random.default_rng(B)
    if masking == "causal":
        ours_kw = dict(use_causal_mask=True)
        theirs_kw = dict(attn_mask=torch.ones(T, T, dtype=torch.bool).triu(1))
    elif masking == "padding":
        valid = rng.random((B, T)) > 0.4
        valid[:, 0] = True
        ours_kw = dict(value_mask=valid)
        theirs_kw = dict(key_padding_mask=torch.from_numpy(~valid))
    elif masking == "explicit":
        am = rng.random((B, T, T)) > 0.3
        am[:, :, 0] = True
        ours_kw = dict(attention_mask=am)
        theirs_kw = dict(attn_mask=torch.from_numpy(~am).repeat_interleave(H, 0))
    xs = ds.tensor(x, requires_grad=True)
    out, scores = m(xs, xs, return_attention_scores=True, **ours_kw)
    xt = torch.tensor(x, requires_grad=True)
    tout, tscores = t(xt, xt, xt, average_attn_weights=False, **theirs_kw)
    assert_close(out.numpy(), tout.detach().numpy(), **F32, what="output")
    assert_close(scores.numpy(), tscores.detach().numpy(), **F32, what="scores")
    g = rand(*out.shape, seed=11)
    (out * g).sum().backward()
    (tout * torch.from_numpy(g)).sum().backward()
    assert_close(xs.grad, xt.grad.numpy(), **F32, what="grad x")
    grads = MHA.weights_to_torch([w.grad for w in m._ordered_weights()])
    for name, p in t.named_parameters():
        assert_close(grads[name], p.grad.numpy(), **F32, what=f"grad {name}")


def _both_paths(make, x, call_kw, grad_scores=False):
    """Output, scores and every gradient with the fused and the unfused path."""
    res = []
    m = make()
    for fuse in (True, False):
        LA._FUSE = fuse
        try:
            for w in m.weights:
                w.grad = None
            if fuse is False and m.dropout:
                m._gen = np.random.default_rng(m.seed)  # the same dropout masks again
            xs = ds.tensor(x, requires_grad=True)
            out, scores = m(xs, xs, return_attention_scores=True, **call_kw)
            loss = (out * rand(*out.shape, seed=3)).sum()
            if grad_scores:
                loss = loss + (scores * rand(*scores.shape, seed=4)).sum()
            loss.backward()
            res.append([out.numpy(), scores.numpy(), xs.grad]
                       + [w.grad for w in m._ordered_weights()])
        finally:
            LA._FUSE = True
    return res


@pytest.mark.parametrize("kw", [dict(use_bias=False), dict(value_dim=3, output_shape=5),
                                dict(dropout=0.3, seed=7)])
def test_fused_options_match_the_unfused_path(kw):
    x = rand(5, 6, 8, seed=2)
    fused, plain = _both_paths(lambda: MHA(num_heads=2, key_dim=4, **kw), x,
                               dict(training=True, use_causal_mask=True))
    assert len(fused) == len(plain)
    for a, b in zip(fused, plain):
        assert_close(a, b, **F32, what=str(kw))


def test_padded_queries_and_keys_match_the_unfused_path():
    # padded query rows have every key masked: zero weights, the exact softmax's case
    x = rand(4, 6, 8, seed=6)
    valid = np.array([[1] * 6, [1] * 3 + [0] * 3, [1] + [0] * 5, [1] * 5 + [0]], bool)
    fused, plain = _both_paths(lambda: MHA(num_heads=2, key_dim=4), x,
                               dict(query_mask=valid, value_mask=valid))
    assert np.all(fused[1][2, :, 1:] == 0) and np.all(np.isfinite(fused[1]))
    for a, b in zip(fused, plain):
        assert_close(a, b, **F32, what="padding")


def test_functional_mask_shapes_broadcast_and_bad_masks_are_refused():
    m = MHA(num_heads=2, key_dim=4)
    x = rand(3, 5, 8, seed=8)
    m(x, x)
    ws = [m._query_kernel, m._key_kernel, m._value_kernel, m._output_kernel, m._query_bias,
          m._key_bias, m._value_bias, m._output_bias]
    causal = np.tri(5, dtype=bool)
    full, _ = F.multi_head_self_attention(ds.tensor(x), *ws,
                                          mask=np.broadcast_to(causal, (3, 2, 5, 5)))
    for mask in (causal, causal[None], causal[None, None], np.broadcast_to(causal, (3, 5, 5))):
        out, _ = F.multi_head_self_attention(ds.tensor(x), *ws, mask=mask)
        np.testing.assert_array_equal(out.numpy(), full.numpy())
    with pytest.raises(ValueError, match="multi_head_self_attention: mask of shape"):
        F.multi_head_self_attention(ds.tensor(x), *ws, mask=np.ones((2, 5, 5), bool))
    with pytest.raises(TypeError, match="mask must be boolean"):
        F.multi_head_self_attention(ds.tensor(x), *ws, mask=causal.astype(np.float32))


def test_gradient_through_the_returned_scores_matches_the_unfused_path():
    x = rand(3, 4, 6, seed=5)
    fused, plain = _both_paths(lambda: MHA(num_heads=3, key_dim=2, seed=1), x, {},
                               grad_scores=True)
    for a, b in zip(fused, plain):
        assert_close(a, b, **F32, what="with score gradient")


def test_fused_encoder_is_bit_identical_across_thread_counts():
    x = rand(24, 16, 32, seed=9)
    enc = ds.layers.TransformerEncoder(64, 4)
    enc(x)
    results = []
    before = ds.get_num_threads()
    try:
        for n in (1, 2, 3):
            ds.set_num_threads(n)
            xs = ds.tensor(x, requires_grad=True)
            out = enc(xs, training=True)
            out.backward(np.ones(out.shape, np.float32))
            results.append([out.numpy(), xs.grad] + [w.grad.copy() for w in enc.weights])
            for w in enc.weights:
                w.grad = None
    finally:
        ds.set_num_threads(before)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("shape", [(1, 1, 8), (3, 5, 16), (700, 16)])
def test_add_layer_norm_matches_torch(shape):
    x, r = rand(*shape, seed=1), rand(*shape, seed=2)
    gamma, beta = rand(shape[-1], seed=3), rand(shape[-1], seed=4)
    ts = [ds.tensor(a, requires_grad=True) for a in (x, r, gamma, beta)]
    tt = [torch.tensor(a, requires_grad=True) for a in (x, r, gamma, beta)]
    out = F.add_layer_norm(*ts, epsilon=1e-5)
    tout = torch.nn.functional.layer_norm(tt[0] + tt[1], shape[-1:], tt[2], tt[3], eps=1e-5)
    assert_close(out.numpy(), tout.detach().numpy(), **F32, what="output")
    g = rand(*shape, seed=5)
    out.backward(g)
    tout.backward(torch.from_numpy(g))
    for a, b, what in zip(ts, tt, ("x", "residual", "gamma", "beta")):
        assert_close(a.grad, b.grad.numpy(), rtol=1e-4, atol=1e-4, what=f"grad {what}")


def test_add_layer_norm_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="add_layer_norm"):
        F.add_layer_norm(rand(2, 3, 4), rand(2, 3, 5), rand(4), rand(4))


def test_fast_softmax_falls_back_when_rows_differ_by_far_more_than_float_range():
    # Rows whose scores sit ~200 apart: one shift for the whole block would underflow the
    # low rows; they must come out exactly as torch's per-row softmax.
    q, k, v = (rand(16, 2, 8, 4, seed=s) for s in (1, 2, 3))
    q[::2] *= 40.0
    ts = [ds.tensor(a, requires_grad=True) for a in (q, k, v)]
    tt = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*ts, is_causal=True)
    tout = torch.nn.functional.scaled_dot_product_attention(*tt, is_causal=True)
    assert np.all(np.isfinite(out.numpy()))
    assert_close(out.numpy(), tout.detach().numpy(), **F32, what="output")
    g = rand(*out.shape, seed=4)
    out.backward(g)
    tout.backward(torch.from_numpy(g))
    for a, b, what in zip(ts, tt, "qkv"):
        assert_close(a.grad, b.grad.numpy(), rtol=1e-3, atol=1e-3, what=f"grad {what}")


@pytest.mark.parametrize("shape", [(1, 1, 8), (3, 5, 8), (700, 8)])
@pytest.mark.parametrize("post_norm", [False, True])
def test_feed_forward_matches_torch(shape, post_norm):
    d, hdim = shape[-1], 12
    arrays = [rand(*shape, seed=1), rand(d, hdim, seed=2), rand(hdim, seed=3),
              rand(hdim, d, seed=4), rand(d, seed=5), rand(d, seed=6), rand(d, seed=7)]
    if not post_norm:
        arrays = arrays[:5]
    ts = [ds.tensor(a, requires_grad=True) for a in arrays]
    tt = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = F.feed_forward(*ts, epsilon=1e-5)
    tout = torch.relu(tt[0] @ tt[1] + tt[2]) @ tt[3] + tt[4]
    if post_norm:
        tout = torch.nn.functional.layer_norm(tt[0] + tout, (d,), tt[5], tt[6], eps=1e-5)
    assert_close(out.numpy(), tout.detach().numpy(), **F32, what="output")
    g = rand(*shape, seed=8)
    out.backward(g)
    tout.backward(torch.from_numpy(g))
    for i, (a, b) in enumerate(zip(ts, tt)):
        assert_close(a.grad, b.grad.numpy(), rtol=1e-4, atol=1e-4, what=f"grad of input {i}")


@pytest.mark.parametrize("B,T", [(1, 1), (3, 5), (17, 4)])
@pytest.mark.parametrize("causal", [False, True])
def test_self_attention_with_its_post_norm_matches_the_separate_nodes(B, T, causal):
    m = MHA(num_heads=2, key_dim=4)
    x = rand(B, T, 8, seed=B + T)
    m(x, x)
    gamma, beta = rand(8, seed=1), rand(8, seed=2)
    mask = np.broadcast_to(np.tri(T, dtype=bool), (B, T, T)) if causal else None
    res = []
    for fused in (True, False):
        xs = ds.tensor(x, requires_grad=True)
        ws = [ds.tensor(w.numpy(), requires_grad=True) for w in m._ordered_weights()]
        gb = [ds.tensor(a, requires_grad=True) for a in (gamma, beta)]
        m_mask = None if mask is None else mask[:, None]
        if fused:
            out, _ = F.multi_head_self_attention(xs, *ws[0::2], *ws[1::2], mask=m_mask,
                                                 norm=(gb[0], gb[1], 1e-5))
        else:
            att, _ = F.multi_head_self_attention(xs, *ws[0::2], *ws[1::2], mask=m_mask)
            out = F.add_layer_norm(att, xs, gb[0], gb[1], 1e-5)
        out.backward(rand(*out.shape, seed=3))
        res.append([out.numpy(), xs.grad] + [t.grad for t in ws + gb])
    for a, b in zip(*res):
        assert_close(a, b, **F32, what="fused post-norm")
