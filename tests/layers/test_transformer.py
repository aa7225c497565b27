"""Transformer blocks against torch.nn.TransformerEncoderLayer/DecoderLayer (both norm
placements, dropout 0, converted weights, gradients), positional encodings, errors."""
import json

import numpy as np
import pytest
import torch

import deepsheet as ds
from deepsheet.layers import (PositionEmbedding, SinePositionEncoding, TransformerDecoder,
                              TransformerEncoder, deserialize, serialize,
                              sinusoidal_positional_encoding)
from oracle import F32, assert_close, rand

# A block is ~10 float32 nodes deep (two layer norms, softmax): a few ulps more than one op.
TOL = dict(rtol=2e-4, atol=2e-5)


def _grads_vs_torch(layer, t, ours_out, torch_out, ours_in, torch_in, valid=None):
    g = rand(*ours_out.shape, seed=3)
    if valid is not None:  # outputs at padded positions differ by design; exclude them
        g = g * valid[..., None]
    (ours_out * g).sum().backward()
    (torch_out * torch.from_numpy(g)).sum().backward()
    for a, b in zip(ours_in, torch_in):
        assert_close(a.grad, b.grad.numpy(), **TOL, what="input grad")
    # weight gradients: convert ours into PyTorch's layout through the weight converter
    ref = type(layer).weights_from_torch({n: p.grad for n, p in t.named_parameters()},
                                         t.self_attn.num_heads)
    for a, b in zip([w.grad for w in layer._ordered_weights()], ref):
        assert_close(a, b, **TOL, what="weight grad")


@pytest.mark.parametrize("normalize_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_matches_torch(normalize_first, activation):
    torch.manual_seed(0)
    t = torch.nn.TransformerEncoderLayer(16, 4, 24, dropout=0.0, activation=activation,
                                         batch_first=True, norm_first=normalize_first)
    enc = TransformerEncoder(24, 4, activation=activation, normalize_first=normalize_first)
    x = rand(3, 6, 16, seed=1)
    enc(x)
    enc.set_weights(TransformerEncoder.weights_from_torch(t.state_dict(), 4))
    valid = np.array([[1] * 6, [1] * 4 + [0] * 2, [1] * 2 + [0] * 4], bool)
    xs = ds.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out = enc(xs, padding_mask=valid)
    tout = t(xt, src_key_padding_mask=torch.from_numpy(~valid))
    assert_close(out.numpy()[valid], tout.detach().numpy()[valid], **TOL, what="output")
    _grads_vs_torch(enc, t, out, tout, [xs], [xt], valid)


@pytest.mark.parametrize("normalize_first", [False, True])
def test_decoder_matches_torch(normalize_first):
    torch.manual_seed(1)
    t = torch.nn.TransformerDecoderLayer(8, 2, 12, dropout=0.0, batch_first=True,
                                         norm_first=normalize_first)
    dec = TransformerDecoder(12, 2, normalize_first=normalize_first)
    y, x = rand(2, 5, 8, seed=2), rand(2, 7, 8, seed=3)
    dec(y, x)
    dec.set_weights(TransformerDecoder.weights_from_torch(t.state_dict(), 2))
    epad = np.array([[1] * 7, [1] * 3 + [0] * 4], bool)
    ys, xs = ds.tensor(y, requires_grad=True), ds.tensor(x, requires_grad=True)
    yt, xt = torch.tensor(y, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = dec(ys, xs, encoder_padding_mask=epad)
    tout = t(yt, xt, tgt_mask=torch.ones(5, 5, dtype=torch.bool).triu(1),
             memory_key_padding_mask=torch.from_numpy(~epad))
    assert_close(out.numpy(), tout.detach().numpy(), **TOL, what="output")
    _grads_vs_torch(dec, t, out, tout, [ys, xs], [yt, xt])


def test_decoder_is_causal_and_gpt_block_without_encoder():
    dec = TransformerDecoder(16, 2)
    x = rand(1, 6, 8, seed=4)
    y1 = dec(x).numpy()
    x2 = x.copy()
    x2[0, 4:] += 5.0  # changing the future must not change the past
    np.testing.assert_allclose(dec(x2).numpy()[0, :4], y1[0, :4], rtol=1e-5, atol=1e-6)
    assert not np.allclose(dec(x2).numpy()[0, 4:], y1[0, 4:])
    with pytest.raises(ValueError, match="call it the same way"):
        dec(x, x)


def test_positional_encodings():
    pe = sinusoidal_positional_encoding(50, 6)
    pos, i = 7, 2
    assert pe.dtype == np.float32 and pe.shape == (50, 6)
    np.testing.assert_allclose(pe[pos, 2 * i], np.sin(pos / 10000 ** (2 * i / 6)), rtol=1e-6)
    np.testing.assert_allclose(pe[pos, 2 * i + 1], np.cos(pos / 10000 ** (2 * i / 6)), rtol=1e-6)
    x = rand(2, 5, 6)
    np.testing.assert_array_equal(SinePositionEncoding()(x).numpy()[1], pe[:5])
    layer = PositionEmbedding(sequence_length=8)
    xs = ds.tensor(x)
    out = layer(xs)
    assert out.shape == (2, 5, 6)
    np.testing.assert_array_equal(out.numpy()[0], layer.get_weights()[0][:5])
    out.sum().backward()
    g = layer.position_embeddings.grad
    np.testing.assert_array_equal(g[:5], 2.0)
    np.testing.assert_array_equal(g[5:], 0.0)
    with pytest.raises(ValueError, match="has 8 positions"):
        layer(rand(1, 9, 6))
    tpe = ds.layers.TokenAndPositionEmbedding(10, 8, 6, mask_zero=True)
    ids = np.array([[3, 4, 0], [1, 0, 0]])
    y = tpe(ids)
    tok, pos = tpe.get_weights()
    np.testing.assert_allclose(y.numpy(), tok[ids] + pos[:3], rtol=1e-6)
    assert y._keras_mask.tolist() == [[True, True, False], [True, False, False]]


def test_configs_and_bad_inputs():
    for layer in (TransformerEncoder(8, 2, dropout=0.1, normalize_first=True),
                  TransformerDecoder(8, 2, activation="gelu"), PositionEmbedding(5),
                  SinePositionEncoding(max_wavelength=100.0)):
        clone = deserialize(json.loads(json.dumps(serialize(layer))))
        assert clone.get_config() == layer.get_config()
    enc = TransformerEncoder(8, 3)
    with pytest.raises(ValueError, match="num_heads=3 must divide the model size"):
        enc(rand(2, 4, 8))
    with pytest.raises(ValueError, match="intermediate_dim must be a positive integer"):
        TransformerEncoder(0, 2)
    with pytest.raises(ValueError, match="padding mask must have shape"):
        TransformerEncoder(8, 2)(rand(2, 4, 8), padding_mask=np.ones((2, 5), bool))
    with pytest.raises(ValueError, match="expects \\(batch, time, features\\)"):
        TransformerEncoder(8, 2)(rand(4, 8))


def test_dropout_trains_differently_and_is_off_at_inference():
    enc = TransformerEncoder(8, 2, dropout=0.5)
    x = rand(2, 4, 8, seed=5)
    y0 = enc(x).numpy()
    np.testing.assert_array_equal(enc(x).numpy(), y0)
    assert not np.allclose(enc(x, training=True).numpy(), y0)


def test_in_a_functional_model_with_masks_saved_and_loaded(tmp_path):
    L = ds.layers
    inp = L.Input((6,), dtype="int64")
    x = L.Embedding(30, 8, mask_zero=True)(inp)
    x = L.TransformerEncoder(16, 2)(x)
    x = L.TransformerDecoder(16, 2)(x)
    out = L.Dense(3)(L.GlobalAveragePooling1D()(x))
    model = ds.Model(inp, out)
    ids = np.array([[3, 4, 5, 0, 0, 0], [7, 1, 2, 9, 4, 0]])
    y0 = model(ids).numpy()
    # padding (mask from Embedding(mask_zero=True)) must not change the real tokens' outputs
    emb, enc = model.layers[1], model.layers[2]
    padded = enc(emb(np.array([[3, 4, 5, 0, 0, 0]]))).numpy()
    short = enc(emb(np.array([[3, 4, 5]]))).numpy()
    np.testing.assert_allclose(padded[0, :3], short[0], rtol=1e-5, atol=1e-6)
    path = tmp_path / "m.zip"
    model.save(path)
    again = ds.models.load_model(path)
    np.testing.assert_allclose(again(ids).numpy(), y0, rtol=1e-6)
