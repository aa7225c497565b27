"""Attention layers: MultiHeadAttention against torch.nn.MultiheadAttention with converted
weights; Attention/AdditiveAttention against their formulas written in torch; configs; errors."""
import json

import numpy as np
import pytest
import torch

import deepsheet as ds
from deepsheet.layers import AdditiveAttention, Attention, MultiHeadAttention, deserialize, serialize
from oracle import F32, assert_close, check_grad, rand

MHA = MultiHeadAttention


def _pair(layer_kwargs, E, H, kdim=None, vdim=None, seed=0):
    torch.manual_seed(seed)
    t = torch.nn.MultiheadAttention(E, H, batch_first=True, kdim=kdim, vdim=vdim)
    with torch.no_grad():  # PyTorch zeroes its biases; random ones test the bias layout
        for name, p in t.named_parameters():
            if "bias" in name:
                p.uniform_(-0.5, 0.5)
    m = MHA(**layer_kwargs)
    return t, m


def _run(t, m, q, v, k=None, ours_kw=None, theirs_kw=None):
    H = m.num_heads
    k = v if k is None else k
    m(q, v, key=k)  # builds
    m.set_weights(MHA.weights_from_torch(t.state_dict(), H))
    qs, vs, ks = (ds.tensor(a, requires_grad=True) for a in (q, v, k))
    out, scores = m(qs, vs, key=ks, return_attention_scores=True, **(ours_kw or {}))
    qt, vt, kt = (torch.tensor(a, requires_grad=True) for a in (q, v, k))
    tout, tscores = t(qt, kt, vt, average_attn_weights=False, **(theirs_kw or {}))
    assert_close(out.numpy(), tout.detach().numpy(), **F32, what="output")
    assert_close(scores.numpy(), tscores.detach().numpy(), **F32, what="scores")
    g = rand(*out.shape, seed=11)
    (out * g).sum().backward()
    (tout * torch.from_numpy(g)).sum().backward()
    for a, b, what in ((qs, qt, "query"), (vs, vt, "value"), (ks, kt, "key")):
        if a is not vs or k is not v:
            assert_close(a.grad, b.grad.numpy(), **F32, what=f"grad {what}")
    grads = MHA.weights_to_torch([w.grad for w in m._ordered_weights()],
                                 same_dims="in_proj_weight" in t.state_dict())
    for name, p in t.named_parameters():
        assert_close(grads[name], p.grad.numpy(), **F32, what=f"grad {name}")
    return out


def test_self_attention_matches_torch_with_weights_and_gradients():
    t, m = _pair(dict(num_heads=4, key_dim=3), 12, 4)
    x = rand(2, 5, 12, seed=1)
    _run(t, m, x, x, x)


def test_cross_attention_other_dims_matches_torch():
    t, m = _pair(dict(num_heads=2, key_dim=4), 8, 2, kdim=6, vdim=5, seed=1)
    _run(t, m, rand(3, 4, 8, seed=2), rand(3, 7, 5, seed=3), rand(3, 7, 6, seed=4))


def test_masks_match_torch():
    t, m = _pair(dict(num_heads=2, key_dim=3), 6, 2, seed=2)
    x = rand(3, 5, 6, seed=5)
    y = rand(3, 5, 6, seed=6)
    # causal
    _run(t, m, x, y, ours_kw=dict(use_causal_mask=True),
         theirs_kw=dict(attn_mask=torch.ones(5, 5, dtype=torch.bool).triu(1)))
    # padding of the values (Keras: 1 = real step; torch key_padding_mask: True = ignore)
    valid = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], bool)
    _run(t, m, x, y, ours_kw=dict(value_mask=valid),
         theirs_kw=dict(key_padding_mask=torch.from_numpy(~valid)))
    # an explicit (batch, Tq, Tv) attention mask of 0/1 integers
    am = np.random.default_rng(0).random((3, 5, 5)) > 0.3
    am[:, :, 0] = True
    _run(t, m, x, y, ours_kw=dict(attention_mask=am.astype(np.int64)),
         theirs_kw=dict(attn_mask=torch.from_numpy(~am).repeat_interleave(2, 0)))


def test_mask_carried_by_the_value_tensor():
    m = MHA(num_heads=2, key_dim=2, seed=0)
    x = rand(2, 4, 4, seed=7)
    valid = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
    explicit = m(x, x, value_mask=valid).numpy()
    v = ds.tensor(x)
    v._keras_mask = valid
    np.testing.assert_allclose(m(x, v).numpy(), explicit)


def test_fully_masked_query_rows_are_zero_weights():
    m = MHA(num_heads=1, key_dim=2)
    x = rand(1, 3, 4, seed=8)
    am = np.ones((1, 3, 3), bool)
    am[0, 1] = False
    _, s = m(x, x, attention_mask=am, return_attention_scores=True)
    assert np.all(s.numpy()[0, 0, 1] == 0) and np.all(np.isfinite(s.numpy()))


def test_dropout_only_in_training_and_config_round_trip():
    m = MHA(num_heads=2, key_dim=3, value_dim=2, dropout=0.5, output_shape=5, seed=3)
    x = rand(2, 4, 6, seed=9)
    y0 = m(x, x).numpy()
    assert y0.shape == (2, 4, 5) and y0.dtype == np.float32
    assert [w.shape for w in m.get_weights()] == [(6, 2, 3), (2, 3), (6, 2, 3), (2, 3),
                                                  (6, 2, 2), (2, 2), (2, 2, 5), (5,)]
    assert not np.allclose(m(x, x, training=True).numpy(), y0)
    clone = deserialize(json.loads(json.dumps(serialize(m))))
    assert clone.get_config() == m.get_config()
    clone(x, x)
    clone.set_weights(m.get_weights())
    np.testing.assert_allclose(clone(x, x).numpy(), y0, rtol=1e-6)
    assert MHA(num_heads=2, key_dim=3, use_bias=False)(x, x).shape == (2, 4, 6)


def _torch_attention(q, v, k, scores_fn, valid=None, causal=False):
    s = scores_fn(q, k)
    if valid is not None:
        s = s.masked_fill(~torch.from_numpy(valid)[:, None, :], float("-inf"))
    if causal:
        s = s.masked_fill(torch.ones(s.shape[-2:], dtype=torch.bool).triu(1), float("-inf"))
    w = torch.softmax(s, -1)
    return w @ v, w


@pytest.mark.parametrize("mode", ["dot", "scaled", "concat", "additive"])
def test_attention_layers_against_their_formulas(mode):
    q, v, k = rand(2, 3, 4, seed=1), rand(2, 5, 4, seed=2), rand(2, 5, 4, seed=3)
    valid = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    if mode == "additive":
        layer = AdditiveAttention()
    else:
        layer = Attention(use_scale=mode != "dot", score_mode="concat" if mode == "concat" else "dot")
    layer([q, v, k])
    weights = [rand(*w.shape, seed=5) for w in layer.get_weights()]
    layer.set_weights(weights)
    tw = [torch.tensor(w, requires_grad=True) for w in weights]

    def scores(qq, kk):
        if mode == "dot":
            return qq @ kk.transpose(-1, -2)
        if mode == "scaled":
            return (qq @ kk.transpose(-1, -2)) * tw[0]
        x = qq[:, :, None] + kk[:, None]
        if mode == "concat":
            return tw[1] * torch.tanh(tw[0] * x).sum(-1)
        return (tw[0] * torch.tanh(x)).sum(-1)

    for causal in (False, True):
        ins = [ds.tensor(a, requires_grad=True) for a in (q, v, k)]
        out, w = layer(ins, mask=[None, valid], return_attention_scores=True,
                       use_causal_mask=causal)
        tins = [torch.tensor(a, requires_grad=True) for a in (q, v, k)]
        tout, tw_ = _torch_attention(tins[0], tins[1], tins[2], scores, valid, causal)
        assert_close(out.numpy(), tout.detach().numpy(), **F32, what="output")
        assert_close(w.numpy(), tw_.detach().numpy(), **F32, what="weights")
        g = rand(*out.shape, seed=4)
        for p in list(layer.trainable_weights) + ins:
            p.grad = None
        for p in tw:
            p.grad = None
        (out * g).sum().backward()
        (tout * torch.from_numpy(g)).sum().backward()
        for a, b in zip(ins, tins):
            assert_close(a.grad, b.grad.numpy(), **F32, what="input grad")
        for a, b in zip(layer.trainable_weights, tw):
            assert_close(a.grad, b.grad.numpy(), **F32, what="weight grad")


def test_attention_query_mask_zeroes_outputs_and_finite_differences():
    q, v = rand(2, 3, 4, seed=1), rand(2, 4, 4, seed=2)
    qmask = np.array([[1, 1, 0], [1, 0, 0]], bool)
    out = Attention()([q, v], mask=[qmask, None]).numpy()
    assert np.all(out[~qmask] == 0)
    # layers compute in float32, so finite differences go through the float64 node they end in
    from deepsheet.functional.attention import attend
    mask = np.tril(np.ones((3, 4), bool))
    check_grad(lambda s, vv: attend(s, vv, mask)[0], rand(2, 3, 4, seed=3), v)
    check_grad(lambda s, vv: attend(s, vv, mask, dropout_p=0.3,
                                    generator=np.random.default_rng(0))[0], rand(2, 3, 4, seed=3), v)


def test_bad_inputs_name_the_layer():
    x = rand(2, 3, 4)
    with pytest.raises(ValueError, match="score_mode"):
        Attention(score_mode="cosine")
    with pytest.raises(ValueError, match=r"Attention '.*' expects a list"):
        Attention()(x)
    with pytest.raises(ValueError, match="same last dimension"):
        Attention()([x, rand(2, 3, 5)])
    with pytest.raises(ValueError, match="num_heads must be a positive integer"):
        MHA(num_heads=0, key_dim=2)
    with pytest.raises(ValueError, match="need the same batch and time"):
        MHA(num_heads=1, key_dim=2)(x, rand(2, 5, 4), key=rand(2, 4, 4))
    with pytest.raises(ValueError, match="attention_mask must have shape"):
        MHA(num_heads=1, key_dim=2)(x, x, attention_mask=np.ones((2, 3, 2), bool))
    with pytest.raises(TypeError, match="attention_mask must be boolean"):
        MHA(num_heads=1, key_dim=2)(x, x, attention_mask=np.ones((2, 3, 3), np.float32))
    m = MHA(num_heads=1, key_dim=2)
    m(x, x)
    with pytest.raises(ValueError, match="was built for"):
        m(rand(2, 3, 5), rand(2, 3, 5))
    with pytest.raises(ValueError, match="shape \\(batch, time, features\\)"):
        MHA(num_heads=1, key_dim=2)(rand(3, 4), rand(3, 4))
