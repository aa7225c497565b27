"""model.summary(): the table, and parameter counts equal to a hand-written PyTorch twin."""
import torch

import deepsheet as ds
from deepsheet import layers as L


def _lines(model, **kw):
    out = []
    model.summary(print_fn=out.append, **kw)
    return out


def test_counts_match_a_torch_twin():
    model = ds.Sequential([L.Dense(64, activation="relu", input_shape=(20,)),
                           L.BatchNormalization(), L.Dropout(0.2),
                           L.Dense(32, activation="relu", use_bias=False), L.Dense(5)])
    twin = torch.nn.Sequential(torch.nn.Linear(20, 64), torch.nn.ReLU(),
                               torch.nn.BatchNorm1d(64), torch.nn.Dropout(0.2),
                               torch.nn.Linear(64, 32, bias=False), torch.nn.ReLU(),
                               torch.nn.Linear(32, 5))
    trainable = sum(p.numel() for p in twin.parameters())
    buffers = sum(b.numel() for n, b in twin.named_buffers() if "running" in n)
    text = "\n".join(_lines(model))
    assert f"Trainable params: {trainable:,} " in text
    assert f"Non-trainable params: {buffers:,} " in text
    assert f"Total params: {trainable + buffers:,} " in text
    assert "dense (Dense)" in text or "(Dense)" in text
    assert "(None, 64)" in text and "(None, 5)" in text
    # freezing moves counts from trainable to non-trainable, the total stays
    model.layers[0].trainable = False
    frozen = "\n".join(_lines(model))
    assert f"Trainable params: {trainable - (20 * 64 + 64):,} " in frozen
    assert f"Total params: {trainable + buffers:,} " in frozen


def test_functional_summary_shows_connections_and_shared_layers_once():
    a, b = ds.Input((8,), name="in_a"), ds.Input((8,), name="in_b")
    shared = L.Dense(4, name="shared")
    out = L.Dense(1, name="head")(L.Concatenate(name="cat")([shared(a), shared(b)]))
    model = ds.Model([a, b], out, name="siamese")
    lines = _lines(model)
    text = "\n".join(lines)
    assert lines[0] == 'Model: "siamese"' and "Connected to" in lines[2]
    assert "shared[0][0], shared[1][0]" in text and text.count("shared (Dense)") == 1
    assert "Total params: 45 " in text  # 8*4+4 once, plus 8*1+1


def test_unbuilt_and_nested():
    model = ds.Sequential([L.Dense(3)])
    assert "has not been built" in _lines(model)[1]
    inner_in = ds.Input((2,))
    inner = ds.Model(inner_in, L.Dense(3, name="inner_dense")(inner_in), name="inner")
    x = ds.Input((2,))
    outer = ds.Model(x, L.Dense(1)(inner(x)))
    assert "inner_dense" not in "\n".join(_lines(outer))
    assert "  inner_dense (Dense)" in "\n".join(_lines(outer, expand_nested=True))
