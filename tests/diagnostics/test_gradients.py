"""diagnostics.gradient_norms and sequence_gradient_norms: against explicit computations."""
import numpy as np
import pytest
import torch

import deepsheet as ds
from deepsheet import diagnostics as D
from deepsheet import layers as L
from deepsheet.layers.recurrent_convert import to_torch_state_dict


def _data(n=4, t=6, f=3, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, t, f)).astype(np.float32),
            rng.standard_normal((n, 1)).astype(np.float32))


@pytest.mark.parametrize("cls", [L.SimpleRNN, L.LSTM, L.GRU])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_sequence_gradient_norms_match_torch_hidden_state_grads(cls, go_backwards):
    x, y = _data()
    ds.manual_seed(0)
    rnn = cls(5, go_backwards=go_backwards)
    model = ds.Sequential([rnn, L.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    norms = D.sequence_gradient_norms(model, x, y)
    # PyTorch: step the cell by hand, keep every h_t, and read dL/dh_t (total derivative)
    tcls = {L.SimpleRNN: torch.nn.RNNCell, L.LSTM: torch.nn.LSTMCell, L.GRU: torch.nn.GRUCell}
    cell = tcls[cls](3, 5)
    sd = {k.replace("_l0", ""): torch.from_numpy(v) for k, v in to_torch_state_dict(rnn).items()}
    cell.load_state_dict(sd)
    kernel, bias = model.layers[1].get_weights()
    xt = torch.from_numpy(x[:, ::-1].copy() if go_backwards else x)
    h = torch.zeros(4, 5)
    c = torch.zeros(4, 5)
    hs = []
    for t in range(6):
        if cls is L.LSTM:
            h, c = cell(xt[:, t], (h, c))
        else:
            h = cell(xt[:, t], h)
        h.retain_grad()
        hs.append(h)
    pred = h @ torch.from_numpy(kernel) + torch.from_numpy(bias)
    ((pred - torch.from_numpy(y)) ** 2).mean().backward()
    want = np.array([hh.grad.norm(dim=1).mean().item() for hh in hs])
    if go_backwards:
        want = want[::-1]  # reported in input order
    np.testing.assert_allclose(norms, want, rtol=1e-4, atol=1e-9)
    assert all(w.grad is None for w in model.weights)  # the measurement leaves no gradients


def test_gradient_norms_per_layer_match_manual_backward():
    x, y = _data(seed=1)
    ds.manual_seed(1)
    model = ds.Sequential([L.LSTM(4, return_sequences=True), L.GRU(3), L.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    got = D.gradient_norms(model, x, y)
    assert list(got) == [l.name for l in model.layers]
    loss = ds.losses.get("mse")(y, model(x))
    loss.backward()
    for layer in model.layers:
        want = np.sqrt(sum(float((w.grad.astype(np.float64) ** 2).sum())
                           for w in layer.trainable_weights))
        np.testing.assert_allclose(got[layer.name], want, rtol=1e-6)


def test_vanishing_shows_in_a_long_simple_rnn():
    x, y = _data(n=8, t=60, f=2, seed=2)
    ds.manual_seed(2)
    model = ds.Sequential([L.SimpleRNN(8), L.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    norms = D.sequence_gradient_norms(model, x, y)
    assert norms.shape == (60,)
    assert norms[0] < 1e-2 * norms[-1]  # orders of magnitude smaller 60 steps back


def test_errors():
    model = ds.Sequential([L.Dense(2)])
    x = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match="no built SimpleRNN"):
        D.sequence_gradient_norms(model, x, np.ones((2, 2), np.float32), loss="mse")
    with pytest.raises(ValueError, match="pass loss="):
        D.gradient_norms(model, x, np.ones((2, 2), np.float32))
