"""Recurrent layers inside models: masks through fit, seq2seq with symbolic initial states,
save/load of a model holding every recurrent layer."""
import numpy as np
import pytest

import deepsheet as ds
from deepsheet import layers as L


def _padded_ids(seed=0, n=24, t=7, vocab=9):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, t + 1, size=n)
    ids = [rng.integers(1, vocab, size=k) for k in lengths]
    return ds.preprocessing.pad_sequences(ids, maxlen=t, padding="post"), lengths


def test_sequential_fit_with_embedding_mask_learns_and_ignores_padding():
    x, lengths = _padded_ids()
    y = (x[:, 0] > 4).astype(np.int64)  # the first token decides the class
    ds.manual_seed(0)
    model = ds.Sequential([L.Embedding(9, 8, mask_zero=True), L.LSTM(8), L.Dense(2)])
    model.compile(optimizer=ds.optimizers.Adam(learning_rate=0.05),
                  loss=ds.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    hist = model.fit(x, y, epochs=15, batch_size=8, verbose=0)
    assert hist.history["loss"][-1] < 0.5 * hist.history["loss"][0]
    # padding tokens other than 0 would change the result; extra trailing zeros must not
    longer = np.concatenate([x, np.zeros((len(x), 3), x.dtype)], axis=1)
    with ds.no_grad():
        np.testing.assert_allclose(model(longer).numpy(), model(x).numpy(), rtol=1e-5,
                                   atol=1e-6)


def test_seq2seq_encoder_states_feed_decoder_and_save_load(tmp_path):
    enc_in, dec_in = ds.Input((None,), dtype="int64"), ds.Input((None,), dtype="int64")
    emb = L.Embedding(12, 6, mask_zero=True)
    _, h, c = L.LSTM(5, return_state=True)(emb(enc_in))
    seq = L.LSTM(5, return_sequences=True)(L.Embedding(12, 6)(dec_in), initial_state=[h, c])
    out = L.TimeDistributed(L.Dense(12))(seq)
    model = ds.Model([enc_in, dec_in], out)
    xe, _ = _padded_ids(1, n=4, t=6, vocab=12)
    xd, _ = _padded_ids(2, n=4, t=5, vocab=12)
    y = model.predict([xe, xd], verbose=0)
    assert y.shape == (4, 5, 12)
    path = str(tmp_path / "s2s.zip")
    model.save(path)
    back = ds.saving.load_model(path)
    np.testing.assert_allclose(back.predict([xe, xd], verbose=0), y, rtol=1e-6, atol=1e-6)


def test_save_load_every_recurrent_layer(tmp_path):
    inp = ds.Input((6, 4))
    x = L.Masking()(inp)
    x = L.Bidirectional(L.GRU(3, return_sequences=True), merge_mode="ave")(x)
    x = L.RNN(L.SimpleRNNCell(3), return_sequences=True, go_backwards=True)(x)
    x = L.GRU(3, reset_after=False, return_sequences=True)(x)
    x = L.LSTM(3, dropout=0.1, recurrent_dropout=0.1)(x)
    model = ds.Model(inp, L.Dense(2)(x))
    data = np.random.default_rng(0).standard_normal((3, 6, 4)).astype(np.float32)
    data[0, 4:] = 0.0
    y = model.predict(data, verbose=0)
    path = str(tmp_path / "all.zip")
    model.save(path)
    back = ds.saving.load_model(path)
    np.testing.assert_allclose(back.predict(data, verbose=0), y, rtol=1e-6, atol=1e-6)
    assert model.count_params() == back.count_params()


def test_stateful_needs_fixed_batch_in_a_model():
    model = ds.Sequential([L.SimpleRNN(3, stateful=True, input_shape=(4, 2)), L.Dense(1)])
    x = np.ones((2, 4, 2), np.float32)
    model.predict(x, batch_size=2, verbose=0)
    with pytest.raises(ValueError, match="batch size must stay 2"):
        model(np.ones((3, 4, 2), np.float32))
