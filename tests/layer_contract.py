"""The one layer-contract check every layer goes through (Keras's ``run_layer_test``).

``run_layer_test`` checks, for one layer class and constructor arguments:
eager output shape and float32 dtype; symbolic output shape through ``Input``; weight
counts; ``get_config``/``from_config`` and registry round trips giving the same outputs
after ``set_weights(get_weights())``; and one training step: every trainable weight gets a
finite float32 gradient of its own shape, and a small gradient step lowers a squared loss.
"""
from __future__ import annotations

import json

import numpy as np

import deepsheet as ds
from deepsheet.layers import Input, deserialize, serialize


def _rand_input(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind in "iu":
        return rng.integers(0, 5, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def run_layer_test(layer_cls, kwargs=None, input_shape=(2, 3), input_dtype="float32",
                   expected_output_shape=None, expected_num_trainable_weights=None,
                   expected_num_non_trainable_weights=None, training_step=True,
                   compare_training=True, seed=0):
    """Check ``layer_cls(**kwargs)`` against the layer contract; returns the built layer.

    ``input_shape`` includes the batch axis. ``compare_training=False`` for layers whose
    training-mode output is random (dropout, noise) so it is not compared across copies.
    """
    kwargs = dict(kwargs or {})
    x = _rand_input(input_shape, input_dtype, seed)
    layer = layer_cls(**kwargs)
    y = layer(x)
    ys = y if isinstance(y, (list, tuple)) else [y]
    for out in ys:
        assert out.dtype == np.float32, f"{layer_cls.__name__} output dtype {out.dtype}"
    if expected_output_shape is not None:
        assert tuple(ys[0].shape) == tuple(expected_output_shape), \
            f"{layer_cls.__name__}: eager output {ys[0].shape}, expected {expected_output_shape}"
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights
    if expected_num_non_trainable_weights is not None:
        assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights
    for w in layer.weights:
        assert w.dtype == np.float32, f"weight {w.name} dtype {w.dtype}"

    # symbolic path: same output shape with the batch axis None
    sym_layer = layer_cls(**kwargs)
    sym_out = sym_layer(Input(tuple(input_shape[1:]), dtype=input_dtype))
    sym_outs = sym_out if isinstance(sym_out, list) else [sym_out]
    for s, e in zip(sym_outs, ys):
        assert s.shape == (None,) + tuple(e.shape[1:]), \
            f"{layer_cls.__name__}: symbolic output {s.shape}, eager {e.shape}"

    # config round trips (direct and through the registry, via JSON)
    config = layer.get_config()
    json.dumps(config)
    clone = layer_cls.from_config(config)
    assert clone.get_config() == config
    spec = json.loads(json.dumps(serialize(layer)))
    clone2 = deserialize(spec)
    assert type(clone2) is layer_cls
    for c in (clone, clone2):
        c(x)
        c.set_weights(layer.get_weights())
        for a, b in zip(c.get_weights(), layer.get_weights()):
            np.testing.assert_array_equal(a, b)
        with ds.no_grad():
            yc = c(x)
            y0 = layer(x)
        for a, b in zip(yc if isinstance(yc, (list, tuple)) else [yc],
                        y0 if isinstance(y0, (list, tuple)) else [y0]):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-6)

    if not training_step or not layer.trainable_weights:
        return layer

    # one training step: gradients reach every trainable weight and a small step helps
    xt = ds.tensor(x) if np.dtype(input_dtype).kind == "f" else x
    ds.manual_seed(seed)
    out = layer(xt, training=True)
    out = out[0] if isinstance(out, (list, tuple)) else out
    loss = (out * out).mean()
    loss.backward()
    for w in layer.trainable_weights:
        assert w.grad is not None, f"{layer_cls.__name__}: no gradient for {w.name}"
        assert w.grad.shape == w.shape and w.grad.dtype == np.float32
        assert np.all(np.isfinite(w.grad)), f"non-finite gradient for {w.name}"
    grads_norm = sum(float((w.grad ** 2).sum()) for w in layer.trainable_weights)
    if grads_norm > 0 and compare_training:
        before = float(loss.item())
        step = 1e-3 / max(np.sqrt(grads_norm), 1e-12)
        for w in layer.trainable_weights:
            w.data -= step * w.grad
            w.grad = None
        ds.manual_seed(seed)
        with ds.no_grad():
            after_out = layer(xt, training=True)
        after_out = after_out[0] if isinstance(after_out, (list, tuple)) else after_out
        after = float((after_out * after_out).mean().item())
        assert after <= before + 1e-6, f"{layer_cls.__name__}: a gradient step raised the loss"
    return layer
