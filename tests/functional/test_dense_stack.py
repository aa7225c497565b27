"""functional.dense_stack (a run of dense layers as one node, what Sequential runs for an
MLP's Dense layers) against PyTorch, finite differences and a chain of dense nodes (bit for bit)."""
import numpy as np
import pytest
import torch

import deepsheet as ds
import deepsheet.functional as F
from deepsheet import layers
from deepsheet.models import sequential
from oracle import check_op, rand


def _torch_stack(x, params, has_bias, acts):
    k = 0
    for hb, act in zip(has_bias, acts):
        w, b = params[k], params[k + 1] if hb else None
        k += 2 if hb else 1
        x = torch.nn.functional.linear(x, w.T, b)
        if act == "relu":
            x = torch.relu(x)
    return x


def _case(xshape, sizes, has_bias, acts, seed=0):
    arrays = [rand(*xshape, seed=seed)]
    n_in = xshape[-1]
    for i, (n_out, hb) in enumerate(zip(sizes, has_bias)):
        arrays.append(rand(n_in, n_out, seed=seed + 2 * i + 1))
        if hb:
            arrays.append(rand(n_out, seed=seed + 2 * i + 2))
        n_in = n_out
    return arrays


def _ours(has_bias, acts):
    def fn(x, *params):
        ws, bs, k = [], [], 0
        for hb in has_bias:
            ws.append(params[k])
            bs.append(params[k + 1] if hb else None)
            k += 2 if hb else 1
        return F.dense_stack(x, ws, bs, acts)
    return fn


@pytest.mark.parametrize("xshape", [(4, 3), (1, 3), (2, 5, 3), (0, 3)])
@pytest.mark.parametrize("has_bias,acts", [
    ((True, True, True), ("relu", "relu", None)),
    ((False, True, False), (None, "relu", "linear")),
    ((True,), ("relu",)),
])
def test_dense_stack_vs_torch_and_finite_differences(xshape, has_bias, acts):
    sizes = (5, 4, 2)[:len(has_bias)]
    arrays = _case(xshape, sizes, has_bias, acts)
    check_op(_ours(has_bias, acts),
             lambda x, *p: _torch_stack(x, p, has_bias, acts), *arrays)


def test_dense_stack_equals_a_chain_of_dense_nodes_bit_for_bit():
    """Large enough for the products' blocks (> 4 MFLOP): the same blocks either way."""
    rng = np.random.default_rng(0)
    x = rng.random((128, 784), dtype=np.float32)
    ws = [rng.standard_normal(s).astype(np.float32) * 0.05
          for s in ((784, 256), (256, 128), (128, 10))]
    bs = [rng.standard_normal(s).astype(np.float32) for s in (256, 128, 10)]

    def run(fused):
        wt = [ds.tensor(w, requires_grad=True) for w in ws]
        bt = [ds.tensor(b, requires_grad=True) for b in bs]
        xt = ds.tensor(x, requires_grad=True)
        acts = ["relu", "relu", None]
        if fused:
            y = F.dense_stack(xt, wt, bt, acts)
        else:
            y = xt
            for w, b, a in zip(wt, bt, acts):
                y = F.dense(y, w, b, activation=a)
        (y * y).sum().backward()
        return [y.data, xt.grad] + [t.grad for t in wt + bt]
    for a, b in zip(run(True), run(False)):
        np.testing.assert_array_equal(a, b)


def test_frozen_layers_and_data_get_no_gradient_work():
    arrays = _case((3, 4), (5, 2), (True, True), ("relu", None))
    x, w1, b1, w2, b2 = [ds.tensor(a, requires_grad=i > 2) for i, a in enumerate(arrays)]
    F.dense_stack(x, [w1, w2], [b1, b2], ["relu", None]).sum().backward()
    assert x.grad is None and w1.grad is None and b1.grad is None
    assert w2.grad is not None and b2.grad is not None


def test_dense_stack_checks_its_arguments():
    x = ds.tensor(rand(2, 3))
    w = ds.tensor(rand(3, 4))
    with pytest.raises(ValueError, match="kernel 1 of shape"):
        F.dense_stack(x, [w, w])
    with pytest.raises(ValueError, match="activation 0"):
        F.dense_stack(x, [w], activations=["tanh"])
    with pytest.raises(ValueError, match="bias 0"):
        F.dense_stack(x, [w], [ds.tensor(rand(3))])


def _mlp_grads(fuse, monkeypatch):
    if not fuse:
        monkeypatch.setattr(sequential, "_dense_run", lambda seq, i, x: i)
    ds.manual_seed(1)
    model = ds.Sequential([layers.Dense(16, activation="relu", input_shape=(12,)),
                           layers.Dense(8, activation="relu"),
                           layers.Dense(8),
                           layers.Dense(4, activation="tanh"),  # not fused: ends the run
                           layers.Dense(3, activation="relu", use_bias=False),
                           layers.Dropout(0.5),
                           layers.Dense(2)])
    model.layers[1].trainable = False
    x = ds.tensor(rand(7, 12, seed=4))
    y = model(x, training=True)
    (y * y).sum().backward()
    monkeypatch.undo()
    return [y.data] + [w.grad for w in model.trainable_weights]


def test_sequential_runs_dense_layers_as_one_node_with_the_same_numbers(monkeypatch):
    calls = []
    real = sequential.dense_stack_node
    monkeypatch.setattr(sequential, "dense_stack_node",
                        lambda x, k, b, r: calls.append(len(k)) or real(x, k, b, r))
    ds.manual_seed(3)
    fused = _mlp_grads(True, monkeypatch)
    assert calls == [3]  # Dense(16), Dense(8) frozen, Dense(8); tanh and Dropout end runs
    unfused = _mlp_grads(False, monkeypatch)
    for a, b in zip(fused, unfused):
        np.testing.assert_array_equal(a, b)


def test_sequential_keeps_layer_calls_where_a_layer_needs_them():
    class MyDense(layers.Dense):
        pass
    model = ds.Sequential([MyDense(4, input_shape=(3,)), layers.Dense(2)])
    assert sequential._dense_run(model.layers, 0, ds.tensor(rand(2, 3))) == 0
    model = ds.Sequential([layers.Dense(4, input_shape=(3,)), layers.Dense(2)])
    assert sequential._dense_run(model.layers, 0, ds.tensor(rand(2, 3))) == 2
    assert sequential._dense_run(model.layers, 0, ds.tensor(rand(2, 3).astype(np.float64))) == 0
    masked = ds.tensor(rand(2, 3))
    masked._keras_mask = np.ones(2, bool)
    assert sequential._dense_run(model.layers, 0, masked) == 0
    with pytest.raises(ValueError, match="last dimension 3"):
        model(rand(2, 5))  # the layer's own explanatory error
