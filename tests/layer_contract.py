"""The one layer-contract check every layer goes through (Keras's ``run_layer_test``).

``run_layer_test`` checks, for one layer class and constructor arguments:
eager output shape(s) and float32 dtype; symbolic output shape(s) through ``Input``; weight
counts; ``get_config``/``from_config`` and registry round trips giving the same outputs
after ``set_weights(get_weights())``; and one training step: every trainable weight gets a
finite float32 gradient of its own shape, and a small gradient step lowers a squared loss.

Calls as Keras 3 makes them are covered too: several positional inputs (``extra_inputs``),
keyword arguments (``call_kwargs``; arrays among them become keyword symbolic inputs of a
functional model whose config round trip is checked), an input mask (``input_mask``,
carried on the first input as ``_keras_mask``, with ``expected_output_mask``) and several
outputs. ``compare_with_torch`` runs a layer and its PyTorch twin on the same input and
compares outputs and input gradients with the tolerances of ``tests/oracle.py``.
"""
from __future__ import annotations

import json

import numpy as np

import deepsheet as ds
from deepsheet.layers import Input, deserialize, serialize

from oracle import F32

_UNSET = object()


def _rand_input(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind in "iu":
        return rng.integers(0, 5, size=shape).astype(dtype)
    if np.dtype(dtype).kind == "b":
        return rng.random(shape) > 0.3
    return rng.standard_normal(shape).astype(dtype)


def _as_list(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


def _with_mask(x, mask):
    if mask is None:
        return x
    t = ds.tensor(x)
    t._keras_mask = np.asarray(mask, bool)
    return t


def _call(layer, x, extra, kwargs, mask=None, **more):
    return layer(_with_mask(x, mask), *extra, **kwargs, **more)


def _symbolic(layer_cls, kwargs, x, extra, call_kwargs, input_dtype):
    """The layer on Inputs (keyword arrays become keyword Inputs); returns (model, outputs)."""
    inputs = [Input(tuple(x.shape[1:]), dtype=input_dtype)]
    sym_extra = []
    for a in extra:
        t = Input(tuple(a.shape[1:]), dtype=str(a.dtype))
        inputs.append(t)
        sym_extra.append(t)
    sym_kwargs = {}
    for k, v in call_kwargs.items():
        if isinstance(v, np.ndarray):
            sym_kwargs[k] = Input(tuple(v.shape[1:]), dtype=str(v.dtype))
            inputs.append(sym_kwargs[k])
        else:
            sym_kwargs[k] = v
    layer = layer_cls(**kwargs)
    out = layer(inputs[0], *sym_extra, **sym_kwargs)
    feeds = [x, *extra, *[v for v in call_kwargs.values() if isinstance(v, np.ndarray)]]
    model = ds.Model(inputs if len(inputs) > 1 else inputs[0], out)
    return model, feeds, out


def run_layer_test(layer_cls, kwargs=None, input_shape=(2, 3), input_dtype="float32",
                   expected_output_shape=None, expected_num_trainable_weights=None,
                   expected_num_non_trainable_weights=None, training_step=True,
                   compare_training=True, seed=0, extra_inputs=(), call_kwargs=None,
                   input_mask=None, expected_output_mask=_UNSET):
    """Check ``layer_cls(**kwargs)`` against the layer contract; returns the built layer.

    ``input_shape`` includes the batch axis. ``compare_training=False`` for layers whose
    training-mode output is random (dropout, noise) so it is not compared across copies.
    ``extra_inputs``: shapes (or arrays) of further positional inputs; ``call_kwargs``:
    keyword arguments of the call (arrays are inputs); ``input_mask``: a boolean (batch,
    time) mask on the first input; ``expected_output_mask``: True for "the input mask",
    an array, or None for "no mask" (unchecked when not given).
    ``expected_output_shape`` is one shape, or a list of shapes for several outputs.
    """
    kwargs = dict(kwargs or {})
    call_kwargs = dict(call_kwargs or {})
    x = _rand_input(input_shape, input_dtype, seed)
    extra = [a if isinstance(a, np.ndarray) else _rand_input(tuple(a), "float32", seed + 1 + i)
             for i, a in enumerate(extra_inputs)]
    layer = layer_cls(**kwargs)
    y = _call(layer, x, extra, call_kwargs, input_mask)
    ys = _as_list(y)
    for out in ys:
        assert out.dtype == np.float32, f"{layer_cls.__name__} output dtype {out.dtype}"
    if expected_output_shape is not None:
        shapes = expected_output_shape if isinstance(expected_output_shape, list) \
            else [expected_output_shape]
        assert [tuple(o.shape) for o in ys[:len(shapes)]] == [tuple(s) for s in shapes], \
            f"{layer_cls.__name__}: eager outputs {[o.shape for o in ys]}, expected {shapes}"
    if expected_output_mask is not _UNSET:
        want = input_mask if expected_output_mask is True else expected_output_mask
        got = ys[0]._keras_mask
        if want is None:
            assert got is None, f"{layer_cls.__name__}: unexpected output mask"
        else:
            assert got is not None, f"{layer_cls.__name__}: the output carries no mask"
            np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights
    if expected_num_non_trainable_weights is not None:
        assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights
    for w in layer.weights:
        assert w.dtype == np.float32, f"weight {w.name} dtype {w.dtype}"

    # symbolic path: same output shapes with the batch axis None; the functional model
    # (keyword inputs included) survives a config round trip
    model, feeds, sym_out = _symbolic(layer_cls, kwargs, x, extra, call_kwargs, input_dtype)
    for s, e in zip(_as_list(sym_out), ys):
        assert s.shape == (None,) + tuple(e.shape[1:]), \
            f"{layer_cls.__name__}: symbolic output {s.shape}, eager {e.shape}"
    clone_model = ds.Model.from_config(json.loads(json.dumps(model.get_config())))
    clone_model.set_weights(model.get_weights())
    feed = feeds if len(feeds) > 1 else feeds[0]
    for a, b in zip(_as_list(clone_model.predict(feed, verbose=0)),
                    _as_list(model.predict(feed, verbose=0))):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)

    # config round trips (direct and through the registry, via JSON)
    config = layer.get_config()
    json.dumps(config)
    clone = layer_cls.from_config(config)
    assert clone.get_config() == config
    spec = json.loads(json.dumps(serialize(layer)))
    clone2 = deserialize(spec)
    assert type(clone2) is layer_cls
    for c in (clone, clone2):
        _call(c, x, extra, call_kwargs, input_mask)
        c.set_weights(layer.get_weights())
        for a, b in zip(c.get_weights(), layer.get_weights()):
            np.testing.assert_array_equal(a, b)
        with ds.no_grad():
            yc = _call(c, x, extra, call_kwargs, input_mask)
            y0 = _call(layer, x, extra, call_kwargs, input_mask)
        for a, b in zip(_as_list(yc), _as_list(y0)):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-6)

    if not training_step or not layer.trainable_weights:
        return layer

    # one training step: gradients reach every trainable weight and a small step helps
    xt = ds.tensor(x) if np.dtype(input_dtype).kind == "f" else x
    xt = _with_mask(xt, input_mask) if input_mask is not None else xt
    ds.manual_seed(seed)
    out = _as_list(layer(xt, *extra, training=True, **call_kwargs))[0]
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
            after_out = _as_list(layer(xt, *extra, training=True, **call_kwargs))[0]
        after = float((after_out * after_out).mean().item())
        assert after <= before + 1e-6, f"{layer_cls.__name__}: a gradient step raised the loss"
    return layer


def compare_with_torch(layer, torch_module, x, weights_to_torch=None, rtol=None, atol=None):
    """``layer(x)`` against ``torch_module(x)``: outputs and the gradient of the input.

    ``weights_to_torch(layer, torch_module)`` copies the layer's weights into the module
    first (after the layer is built). Tolerances default to ``oracle.F32``.
    """
    import torch
    rtol = F32["rtol"] if rtol is None else rtol
    atol = F32["atol"] if atol is None else atol
    xs = ds.tensor(x, requires_grad=True)
    ours = layer(xs)
    if weights_to_torch is not None:
        with torch.no_grad():
            weights_to_torch(layer, torch_module)
    xt = torch.from_numpy(np.array(x)).requires_grad_(True)
    theirs = torch_module(xt)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=rtol, atol=atol)
    g = np.random.default_rng(7).standard_normal(tuple(ours.shape)).astype(np.float32)
    (ours * g).sum().backward()
    (theirs * torch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(xs.grad, xt.grad.numpy(), rtol=rtol, atol=atol)
    return ours
