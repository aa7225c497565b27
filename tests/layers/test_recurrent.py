"""Recurrent layers against torch.nn.RNN/LSTM/GRU with converted weights, the layer contract,
masks, states, wrappers and bad input."""
import numpy as np
import pytest
import torch

import deepsheet as ds
from deepsheet.layers import (GRU, LSTM, RNN, Bidirectional, GRUCell, LSTMCell, SimpleRNN,
                              SimpleRNNCell, TimeDistributed)
from deepsheet.layers.recurrent_convert import from_torch_state_dict, to_torch_state_dict
from layer_contract import run_layer_test
from oracle import F32, assert_close, rand

TORCH = {SimpleRNN: torch.nn.RNN, LSTM: torch.nn.LSTM, GRU: torch.nn.GRU}


def _torch_twin(layer, features, **kw):
    cls = type(layer.forward_layer if isinstance(layer, Bidirectional) else layer)
    m = TORCH[cls](features, layer.forward_layer.units if isinstance(layer, Bidirectional)
                   else layer.units, batch_first=True, **kw)
    m.load_state_dict({k: torch.from_numpy(v) for k, v in to_torch_state_dict(layer).items()})
    return m


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
@pytest.mark.parametrize("kw", [dict(), dict(return_sequences=True),
                                dict(return_sequences=True, return_state=True)])
def test_layer_contract(cls, kw):
    run_layer_test(cls, dict(units=3, **kw), input_shape=(2, 4, 5),
                   expected_num_trainable_weights=3)


@pytest.mark.parametrize("cls,kwargs", [
    (RNN, lambda: dict(cell=LSTMCell(3), return_sequences=True)),
    (RNN, lambda: dict(cell=[LSTMCell(3), GRUCell(2)], return_state=True)),
    (Bidirectional, lambda: dict(layer=GRU(3, return_sequences=True))),
    (Bidirectional, lambda: dict(layer=LSTM(3), merge_mode="sum")),
    (TimeDistributed, lambda: dict(layer=ds.layers.Dense(3))),
])
def test_wrapper_layer_contract(cls, kwargs):
    run_layer_test(cls, kwargs(), input_shape=(2, 4, 5))


def test_embedding_and_masking_contract():
    run_layer_test(ds.layers.Embedding, dict(input_dim=6, output_dim=3), input_shape=(2, 4),
                   input_dtype="int64", expected_output_shape=(2, 4, 3))
    run_layer_test(ds.layers.Masking, dict(mask_value=0.0), input_shape=(2, 4, 3))


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_layer_vs_torch_module(cls, go_backwards):
    x = rand(3, 6, 4, seed=1)
    layer = cls(5, return_sequences=True, return_state=True, go_backwards=go_backwards)
    xt = ds.tensor(x, requires_grad=True)
    outs = layer(xt)
    m = _torch_twin(layer, 4)
    xtt = torch.tensor(x[:, ::-1].copy() if go_backwards else x, requires_grad=True)
    seq, st = m(xtt)
    states = [st[0][0], st[1][0]] if cls is LSTM else [st[0]]
    for o, t in zip(outs, [seq] + states):
        assert_close(o.numpy(), t.detach().numpy(), what="output", **F32)
    g = rand(*seq.shape, seed=2)
    (outs[0] * ds.tensor(g)).sum().backward()
    (seq * torch.from_numpy(g)).sum().backward()
    grads = to_torch_state_dict(layer)  # layout only; overwritten below with gradients
    for w, name in zip(layer.cell.weights, ["kernel", "recurrent_kernel", "bias"]):
        w.data, w.grad = w.grad, None
    grads = to_torch_state_dict(layer)
    for k, v in grads.items():
        if k.startswith("bias_hh") and cls is not GRU:
            v = grads[k.replace("hh", "ih")]  # one summed bias: its gradient is each torch bias's
        assert_close(v, getattr(m, k).grad.numpy(), what=k, **F32)
    dx = xtt.grad.numpy()
    assert_close(xt.grad, dx[:, ::-1] if go_backwards else dx, what="dx", **F32)


@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_bidirectional_vs_torch(cls):
    x = rand(2, 5, 3, seed=3)
    bi = Bidirectional(cls(4, return_sequences=True))
    y = bi(x)
    m = _torch_twin(bi, 3, bidirectional=True)
    assert_close(y.numpy(), m(torch.from_numpy(x))[0].detach().numpy(), what="bi", **F32)
    states = Bidirectional(cls(4, return_state=True))(x)
    assert len(states) == (5 if cls is LSTM else 3)


def test_stacked_lstms_vs_torch_two_layers():
    x = rand(2, 6, 3, seed=4)
    model = ds.Sequential([LSTM(5, return_sequences=True), LSTM(5, return_sequences=True)])
    y = model(x)
    sd = to_torch_state_dict(model.layers[0], 0)
    sd.update(to_torch_state_dict(model.layers[1], 1))
    m = torch.nn.LSTM(3, 5, num_layers=2, batch_first=True)
    m.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
    assert_close(y.numpy(), m(torch.from_numpy(x))[0].detach().numpy(), what="stack", **F32)


def test_from_torch_state_dict_round_trip():
    m = torch.nn.GRU(3, 4, batch_first=True)
    layer = GRU(4, return_sequences=True)
    layer(rand(1, 2, 3, seed=0))
    from_torch_state_dict(layer, m.state_dict())
    x = rand(2, 5, 3, seed=5)
    assert_close(layer(x).numpy(), m(torch.from_numpy(x))[0].detach().numpy(), what="gru",
                 **F32)
    for k, v in to_torch_state_dict(layer).items():
        np.testing.assert_allclose(v, m.state_dict()[k].numpy(), rtol=0, atol=0)
    with pytest.raises(ValueError, match="reset_after=False"):
        g = GRU(2, reset_after=False)
        g(rand(1, 2, 3, seed=0))
        to_torch_state_dict(g)


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
def test_embedding_mask_zero_padded_equals_unpadded(cls):
    ids = np.array([[4, 2, 5, 0, 0], [1, 3, 0, 0, 0], [2, 2, 2, 2, 1]])
    emb = ds.layers.Embedding(6, 3, mask_zero=True)
    rnn = cls(4, return_sequences=True)
    e = emb(ids)
    seq = rnn(e, mask=emb.compute_mask(ids))
    for i, n in enumerate([3, 2, 5]):
        alone = rnn(emb(ids[i:i + 1, :n]))
        np.testing.assert_allclose(seq.numpy()[i, :n], alone.numpy()[0], rtol=1e-5, atol=1e-6)
        # Keras: a masked step of the sequence repeats the last real output
        np.testing.assert_allclose(seq.numpy()[i, n:], np.repeat(alone.numpy()[:, -1:],
                                                                 5 - n, axis=1)[0])


def test_fused_and_stepped_paths_agree_with_dropout():
    x = rand(3, 5, 4, seed=6)
    fused = LSTM(4, dropout=0.3, recurrent_dropout=0.4, return_sequences=True)
    fused(x)
    stepped = RNN(LSTMCell(4, dropout=0.3, recurrent_dropout=0.4), return_sequences=True)
    stepped(x)
    stepped.set_weights(fused.get_weights())
    stepped.cell.fused_ok = lambda: False
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], bool)
    ds.manual_seed(3)
    a = fused(x, training=True, mask=mask)
    ds.manual_seed(3)
    b = stepped(x, training=True, mask=mask)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    assert not np.allclose(a.numpy(), fused(x).numpy())  # dropout acted in training only
    np.testing.assert_array_equal(fused(x).numpy(), fused(x, training=False).numpy())


def test_custom_cell_through_rnn():
    class MinimalCell(ds.layers.Layer):
        state_size = 3

        def build(self, input_shape):
            self.w = self.add_weight("w", (input_shape[-1], 3), "glorot_uniform")

        def call(self, inputs, states, training=False):
            h = ds.functional.matmul(inputs, self.w) + states[0] * 0.5
            return h, [h]

    x = rand(2, 4, 5, seed=7)
    layer = RNN(MinimalCell(), return_sequences=True)
    y = layer(x).numpy()
    w = layer.cell.w.numpy()
    h = np.zeros((2, 3), np.float32)
    for t in range(4):
        h = x[:, t] @ w + 0.5 * h
        np.testing.assert_allclose(y[:, t], h, rtol=1e-5, atol=1e-6)


def test_stateful_and_reset_states():
    x = rand(2, 3, 4, seed=8)
    layer = GRU(3, stateful=True)
    a = layer(x).numpy()
    b = layer(x).numpy()  # starts from the state the first call left
    assert not np.allclose(a, b)
    full = GRU(3)
    full(x)
    full.set_weights(layer.get_weights())
    np.testing.assert_allclose(b, full(np.concatenate([x, x], axis=1)).numpy(), rtol=1e-5,
                               atol=1e-6)
    layer.reset_states()
    np.testing.assert_allclose(layer(x).numpy(), a, rtol=1e-6)
    with pytest.raises(ValueError, match="batch size must stay 2"):
        layer(rand(3, 3, 4, seed=1))


def test_initial_state_and_states_out():
    x = rand(2, 3, 4, seed=9)
    layer = LSTM(3, return_state=True)
    out, h, c = layer(x, initial_state=[np.ones((2, 3), np.float32)] * 2)
    out0, h0, _ = layer(x)
    np.testing.assert_array_equal(out.numpy(), h.numpy())
    assert not np.allclose(out.numpy(), out0.numpy())


@pytest.mark.parametrize("call,match", [
    (lambda: LSTM(3)(rand(2, 4, seed=1)), "LSTM 'lstm.*batch, time, features.*Embedding"),
    (lambda: LSTM(3)(rand(2, 4, 5, seed=1), initial_state=[np.zeros((2, 3), np.float32)]),
     "initial_state needs 2"),
    (lambda: GRU(3)(rand(2, 4, 5, seed=1), initial_state=np.zeros((2, 4), np.float32)),
     r"initial_state\[0\] must have shape"),
    (lambda: SimpleRNN(3)(rand(2, 4, 5, seed=1), mask=np.ones((2, 5), bool)),
     "mask must have shape"),
    (lambda: ds.layers.Embedding(5, 2)(np.array([[1, 5]])), "token id 5 is out of range"),
    (lambda: ds.layers.Embedding(5, 2)(np.array([[-1, 2]])), "token id -1"),
    (lambda: ds.layers.Embedding(5, 2)(np.array([[0.5, 2]])), "integer token ids"),
    (lambda: Bidirectional(ds.layers.Dense(3)), "recurrent layer"),
    (lambda: LSTM(0), "units must be a positive integer"),
])
def test_bad_input_names_the_layer(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_embedding_gradient_sums_repeated_ids():
    emb = ds.layers.Embedding(4, 2)
    ids = np.array([[1, 1, 3]])
    emb(ids).sum().backward()
    np.testing.assert_array_equal(emb.embeddings.grad, [[0, 0], [2, 2], [0, 0], [1, 1]])


def test_masking_layer_mask_and_zeroing():
    x = np.array([[[1.0, 2.0], [0.0, 0.0], [3.0, 0.0]]], np.float32)
    layer = ds.layers.Masking()
    np.testing.assert_array_equal(layer.compute_mask(x), [[True, False, True]])
    np.testing.assert_array_equal(layer(x).numpy(), x)


def test_cells_single_step_match_layers():
    x = rand(2, 1, 3, seed=10)
    for cell_cls, cls in ((SimpleRNNCell, SimpleRNN), (LSTMCell, LSTM), (GRUCell, GRU)):
        layer = cls(4)
        y = layer(x)
        cell = layer.cell
        out, _ = cell(ds.tensor(x[:, 0]), cell.get_initial_state(2))
        np.testing.assert_allclose(out.numpy(), y.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n", [2, 40])      # 40: the unmasked fast kernels (T·N >= units)
def test_stacked_cells_vs_two_torch_layers(n):
    """RNN([LSTMCell(5), GRUCell(4)]) against torch.nn.LSTM then torch.nn.GRU with the same
    weights: the sequence, the flat states [h1, c1, h2] and the gradients of x and weights."""
    x = rand(n, 6, 3, seed=4)
    rnn = RNN([LSTMCell(5), GRUCell(4)], return_sequences=True, return_state=True)
    rnn(x)
    cells = rnn.cell.cells
    l1, l2 = torch.nn.LSTM(3, 5, batch_first=True), torch.nn.GRU(5, 4, batch_first=True)
    for m, c in ((l1, cells[0]), (l2, cells[1])):
        m.load_state_dict({k: torch.from_numpy(v) for k, v in to_torch_state_dict(c).items()})
    xt = ds.tensor(x, requires_grad=True)
    seq, h1, c1, h2 = rnn(xt)
    tx = torch.from_numpy(x).requires_grad_()
    s1, (th1, tc1) = l1(tx)
    tseq, th2 = l2(s1)
    for a, b, what in ((seq, tseq, "seq"), (h1, th1[0], "h1"), (c1, tc1[0], "c1"),
                       (h2, th2[0], "h2")):
        assert_close(a.numpy(), b.detach().numpy(), what=what, **F32)
    last = RNN(rnn.cell)(x)              # return_sequences=False: the top cell's last output
    assert_close(last.numpy(), tseq[:, -1].detach().numpy(), what="last", **F32)
    w = rand(*seq.shape, seed=5)
    ((seq * w).sum() + c1.sum()).backward()
    ((tseq * torch.from_numpy(w)).sum() + tc1.sum()).backward()
    assert_close(xt.grad, tx.grad.numpy(), what="dx", **F32)
    assert_close(cells[0].kernel.grad, l1.weight_ih_l0.grad.numpy().T, what="dW1", **F32)
    swap = np.r_[np.arange(4, 8), np.arange(0, 4), np.arange(8, 12)]    # torch r,z,n -> z,r,h
    assert_close(cells[1].recurrent_kernel.grad, l2.weight_hh_l0.grad.numpy()[swap].T,
                 what="dU2", **F32)


def test_stacked_cells_fused_equals_stepped_with_mask_and_go_backwards():
    x = rand(3, 5, 4, seed=6)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], bool)
    grads = []
    for fused in (True, False):
        ds.manual_seed(1)
        rnn = RNN([GRUCell(3), LSTMCell(4), SimpleRNNCell(2)], return_sequences=True,
                  return_state=True, go_backwards=True)
        rnn(x)
        if not fused:
            rnn.cell.fused_ok = lambda: False
        out = rnn(x, mask=mask)
        (out[0].sum() + out[2].sum()).backward()
        grads.append([o.numpy() for o in out] + [w.grad for w in rnn.trainable_weights])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_stacked_cells_refuse_dropout():
    with pytest.raises(ValueError, match="dropout inside stacked cells"):
        RNN([LSTMCell(3, dropout=0.2), LSTMCell(3)])


def test_weights_are_c_contiguous():
    """The orthogonal initializer's QR yields a transposed view; add_weight stores C order,
    because in-place optimizer updates on the other order walk memory ~5x slower."""
    for layer in (LSTM(8), GRU(8), SimpleRNN(8)):
        layer.build((None, 3, 4))
        for w in layer.weights:
            assert w.numpy().flags.c_contiguous, (layer.name, w.name)
