"""functional.scaled_dot_product_attention against torch's (masks, causal, batch dims, grads)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import deepsheet as ds
import deepsheet.functional as F
from deepsheet.functional.attention import attention_with_weights
from oracle import check_grad, check_op, check_torch, rand


def _qkv(batch, L, S, E, Ev, seed=0):
    return rand(*batch, L, E, seed=seed), rand(*batch, S, E, seed=seed + 1), \
        rand(*batch, S, Ev, seed=seed + 2)


def _ours(**kw):
    return lambda q, k, v, *m: F.scaled_dot_product_attention(q, k, v, *m, **kw)


def _theirs(**kw):
    return lambda q, k, v, *m: TF.scaled_dot_product_attention(q, k, v, *m, **kw)


@pytest.mark.parametrize("batch,L,S", [((), 4, 4), ((3,), 5, 6), ((2, 3), 4, 7), ((2, 1), 1, 3)])
def test_plain_against_torch_and_finite_differences(batch, L, S):
    q, k, v = _qkv(batch, L, S, 4, 3)
    check_op(_ours(), _theirs(), q, k, v)


def test_causal_and_scale():
    q, k, v = _qkv((2, 2), 5, 5, 4, 3, seed=3)
    check_op(_ours(is_causal=True), _theirs(is_causal=True), q, k, v)
    check_op(_ours(scale=0.3), _theirs(scale=0.3), q, k, v)
    # S > L: PyTorch's causal mask is top-left aligned (tril of an L x S matrix)
    q, k, v = _qkv((2,), 3, 5, 4, 3, seed=4)
    check_torch(_ours(is_causal=True), _theirs(is_causal=True), q, k, v)


def test_boolean_mask_broadcast_and_fully_masked_rows():
    q, k, v = _qkv((2, 3), 4, 6, 4, 5, seed=5)
    mask = np.random.default_rng(0).random((2, 1, 4, 6)) > 0.4
    mask[0, 0, 2] = False  # a query that sees no key: zero weights and output, not NaN
    check_op(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
             lambda q, k, v: TF.scaled_dot_product_attention(q, k, v,
                                                             attn_mask=torch.from_numpy(mask)),
             q, k, v)
    out = F.scaled_dot_product_attention(ds.tensor(q), ds.tensor(k), ds.tensor(v), attn_mask=mask)
    assert np.all(out.numpy()[0, :, 2] == 0.0)
    # a (L, S) mask broadcast over all batch dims
    m2 = mask[1, 0]
    check_torch(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=m2),
                lambda q, k, v: TF.scaled_dot_product_attention(q, k, v,
                                                                attn_mask=torch.from_numpy(m2)),
                q, k, v)


def test_float_mask_is_added_and_gets_a_gradient():
    q, k, v = _qkv((2, 3), 4, 5, 4, 3, seed=6)
    m = rand(3, 4, 5, seed=9)
    m[0, 1, 2] = -np.inf
    check_torch(_ours(), _theirs(), q, k, v, m)
    check_grad(_ours(), q, k, v, rand(1, 4, 5, seed=10))


def test_weights_are_the_softmax_and_carry_gradient():
    q, k, v = _qkv((2,), 3, 4, 5, 2, seed=7)
    mask = np.tril(np.ones((3, 4), bool))

    def ours(q, k, v):
        out, w = attention_with_weights(q, k, v, attn_mask=mask)
        return out, w

    def theirs(q, k, v):
        s = q @ k.transpose(-1, -2) / np.sqrt(5)
        w = torch.softmax(s.masked_fill(~torch.from_numpy(mask), float("-inf")), -1)
        return w @ v, w

    check_torch(ours, theirs, q, k, v)
    check_grad(ours, q, k, v)


def test_dropout_on_weights_matches_its_mask():
    q, k, v = _qkv((2,), 6, 6, 4, 3, seed=8)
    gen = np.random.default_rng(5)
    out, w = attention_with_weights(ds.tensor(q), ds.tensor(k), ds.tensor(v), dropout_p=0.5,
                                    generator=gen)
    keep = np.random.default_rng(5).random((2, 6, 6), dtype=np.float32) >= 0.5
    np.testing.assert_allclose(out.numpy(), (w.numpy() * keep * 2.0) @ v, rtol=1e-5, atol=1e-6)
    # gradients through the dropped weights by finite differences (same mask each call)
    check_grad(lambda q, k, v: attention_with_weights(
        q, k, v, dropout_p=0.5, generator=np.random.default_rng(5))[0], q, k, v)
    # no dropout at inference
    o2, _ = attention_with_weights(ds.tensor(q), ds.tensor(k), ds.tensor(v), dropout_p=0.5,
                                   training=False)
    np.testing.assert_allclose(o2.numpy(), F.scaled_dot_product_attention(q, k, v).numpy())


def test_bad_inputs_name_the_argument():
    q, k, v = _qkv((2,), 3, 4, 5, 2)
    with pytest.raises(ValueError, match="same feature size"):
        F.scaled_dot_product_attention(q, k[..., :4], v)
    with pytest.raises(ValueError, match="same length"):
        F.scaled_dot_product_attention(q, k, v[:, :3])
    with pytest.raises(ValueError, match="attn_mask of shape"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 3), bool))
    with pytest.raises(TypeError, match="attn_mask must be boolean"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 4), np.int64))
    with pytest.raises(TypeError, match="query must be a float"):
        F.scaled_dot_product_attention(q.astype(np.int32), k, v)
    with pytest.raises(ValueError, match="not both"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 4), bool), is_causal=True)
    with pytest.raises(ValueError, match="dropout_p"):
        F.scaled_dot_product_attention(q, k, v, dropout_p=1.5)


def test_pool_chunks_are_bit_identical_across_thread_counts_and_match_torch():
    q, k, v = _qkv((16, 2), 64, 64, 16, 8, seed=12)   # scores of 512 KiB: chunked on the pool
    mask = np.random.default_rng(1).random((16, 1, 64, 64)) > 0.2
    results = []
    before = ds.get_num_threads()
    try:
        for n in (1, 2, 3):
            ds.set_num_threads(n)
            ts = [ds.tensor(a, requires_grad=True) for a in (q, k, v)]
            out = F.scaled_dot_product_attention(*ts, attn_mask=mask, dropout_p=0.1,
                                                 generator=np.random.default_rng(3))
            out.backward(np.ones(out.shape, np.float32))
            results.append([out.numpy()] + [t.grad for t in ts])
    finally:
        ds.set_num_threads(before)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)
    check_torch(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
                lambda q, k, v: TF.scaled_dot_product_attention(q, k, v,
                                                                attn_mask=torch.from_numpy(mask)),
                q, k, v)


@pytest.mark.parametrize("heads,kv_heads", [(4, 2), (6, 1), (3, 3)])
def test_grouped_query_attention_against_torch(heads, kv_heads):
    q = rand(2, heads, 5, 4, seed=31)
    k = rand(2, kv_heads, 6, 4, seed=32)
    v = rand(2, kv_heads, 6, 3, seed=33)

    def ours(a, b, c):
        return F.scaled_dot_product_attention(a, b, c, is_causal=True, enable_gqa=True)

    def theirs(a, b, c):
        return TF.scaled_dot_product_attention(a, b, c, is_causal=True, enable_gqa=True)
    check_op(ours, theirs, q, k, v)


def test_grouped_query_attention_refuses_heads_that_do_not_divide():
    q, k = rand(1, 4, 2, 3, seed=34), rand(1, 3, 2, 3, seed=35)
    with pytest.raises(ValueError, match="heads dividing the query's 4.*key 3"):
        F.scaled_dot_product_attention(q, k, k, enable_gqa=True)
