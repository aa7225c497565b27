"""Layer wrappers for sequences: ``Bidirectional`` and ``TimeDistributed`` (Keras 3)."""
from __future__ import annotations

from .. import functional as F
from .base import Layer, deserialize, serialize
from .recurrent import check_sequence_input

__all__ = ["Bidirectional", "TimeDistributed"]

_MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def _clone(layer, name, **changes):
    spec = serialize(layer)
    spec["config"].update(name=name, **changes)
    return deserialize(spec)


class Bidirectional(Layer):
    """Run a recurrent layer forwards and a copy of it backwards, then merge (Keras's
    ``Bidirectional``).

    Formula::

        y_t = merge(→h_t, ←h_t)      →h reads x_1..x_T,  ←h reads x_T..x_1 (re-reversed)
        merge: concat [→h; ←h] | sum | mul | ave (mean) | None (both returned)

    Parameters
    ----------
    layer : RNN
        The forward layer (its clone with ``go_backwards`` flipped is the backward one,
        unless ``backward_layer`` is given).
    merge_mode : {"concat", "sum", "mul", "ave", None}
    backward_layer : RNN, optional

    Shape
    -----
    (batch, time, features) -> (batch, [time,] 2·units) for concat; with ``return_state``
    the output is followed by the forward states, then the backward states (Keras's order).
    Weights: the forward layer's, then the backward layer's.

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> bi = ds.layers.Bidirectional(ds.layers.LSTM(4, return_sequences=True))
    >>> bi(np.ones((2, 5, 3), np.float32)).shape
    (2, 5, 8)
    """

    supports_masking = True

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None,
                 **kwargs):
        super().__init__(**kwargs)
        if isinstance(layer, dict):
            layer = deserialize(layer)
        if isinstance(backward_layer, dict):
            backward_layer = deserialize(backward_layer)
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Bidirectional '{self.name}': merge_mode must be one of "
                             f"{list(_MERGE_MODES)}, got {merge_mode!r}")
        if not hasattr(layer, "go_backwards") or not hasattr(layer, "return_sequences"):
            raise ValueError(f"Bidirectional '{self.name}': layer must be a recurrent layer "
                             f"(RNN, LSTM, GRU, SimpleRNN), got {type(layer).__name__}")
        base = layer.name[len("forward_"):] if layer.name.startswith("forward_") else layer.name
        self.forward_layer = _clone(layer, "forward_" + base)
        if backward_layer is None:
            self.backward_layer = _clone(layer, "backward_" + base,
                                         go_backwards=not layer.go_backwards)
        else:
            if backward_layer.return_sequences != layer.return_sequences or \
                    backward_layer.return_state != layer.return_state:
                raise ValueError(f"Bidirectional '{self.name}': backward_layer must have the "
                                 "same return_sequences and return_state as layer")
            self.backward_layer = backward_layer
        self._layer_spec = serialize(layer)
        self._backward_spec = None if backward_layer is None else serialize(backward_layer)
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        for sub in (self.forward_layer, self.backward_layer):
            # Keras: a masked step of a returned sequence is 0 in both directions.
            if hasattr(sub, "zero_output_for_mask"):
                sub.zero_output_for_mask = sub.return_sequences
        if weights is not None:
            self._initial_weights = weights

    def build(self, input_shape):
        check_sequence_input(self, input_shape)
        self.forward_layer._maybe_build(input_shape)
        self.backward_layer._maybe_build(input_shape)
        if getattr(self, "_initial_weights", None) is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None
        self.built = True

    def _merge(self, yf, yb):
        if self.merge_mode == "concat":
            return F.concatenate([yf, yb], axis=-1)
        if self.merge_mode == "sum":
            return yf + yb
        if self.merge_mode == "mul":
            return yf * yb
        if self.merge_mode == "ave":
            return (yf + yb) * 0.5
        return [yf, yb]

    def call(self, inputs, training=None, mask=None, initial_state=None):
        fs = bs = None
        if initial_state is not None:
            states = list(initial_state)
            half = len(states) // 2
            if len(states) % 2 or not states:
                raise ValueError(f"Bidirectional '{self.name}': initial_state needs the forward "
                                 f"states then the backward states, got {len(states)} tensor(s)")
            fs, bs = states[:half], states[half:]
        yf = self.forward_layer(inputs, training=training, mask=mask, initial_state=fs)
        yb = self.backward_layer(inputs, training=training, mask=mask, initial_state=bs)
        states = []
        if self.return_state:
            yf, sf = yf[0], list(yf[1:])
            yb, sb = yb[0], list(yb[1:])
            states = sf + sb
        if self.return_sequences:
            yb = yb[:, ::-1]
        out = self._merge(yf, yb)
        if self.return_state:
            return (out if isinstance(out, list) else [out]) + states
        return out

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            shape, states = shape[0], list(shape[1:])
            states = states + states
        if self.merge_mode == "concat":
            out = [tuple(shape[:-1]) + (shape[-1] * 2,)]
        elif self.merge_mode is None:
            out = [tuple(shape), tuple(shape)]
        else:
            out = [tuple(shape)]
        out = out + states
        return out[0] if len(out) == 1 else out

    def compute_mask(self, inputs, mask=None):
        out = mask if self.return_sequences else None
        outs = [out, out] if self.merge_mode is None else [out]
        if self.return_state:
            outs = outs + [None] * (2 * len(self.forward_layer.state_size))
        return outs[0] if len(outs) == 1 else outs

    def get_config(self):
        config = super().get_config()
        config.update(layer=self._layer_spec, merge_mode=self.merge_mode)
        if self._backward_spec is not None:
            config["backward_layer"] = self._backward_spec
        return config


class TimeDistributed(Layer):
    """Apply one layer to every time step (Keras's ``TimeDistributed``).

    Formula::

        y[:, t] = layer(x[:, t])  for every t, with the same weights (time folded into batch)

    Shape
    -----
    (batch, time, ...) -> (batch, time, ...layer's output); the mask passes through.

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> ds.layers.TimeDistributed(ds.layers.Dense(3))(np.ones((2, 5, 4), np.float32)).shape
    (2, 5, 3)
    """

    supports_masking = True

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        if isinstance(layer, dict):
            layer = deserialize(layer)
        if not isinstance(layer, Layer):
            raise ValueError(f"TimeDistributed '{self.name}': layer must be a Layer, got "
                             f"{type(layer).__name__}")
        self.layer = layer

    def _check(self, shape):
        if len(shape) < 3:
            raise ValueError(f"TimeDistributed '{self.name}': expected inputs of shape "
                             f"(batch, time, ...), got shape {tuple(shape)}")

    def build(self, input_shape):
        self._check(input_shape)
        inner = (None,) + tuple(input_shape[2:])
        if not self.layer.built:
            self.layer._maybe_build(inner)
        self.built = True

    def call(self, inputs, training=None, mask=None):
        self._check(inputs.shape)
        n, t = inputs.shape[:2]
        y = self.layer(inputs.reshape((n * t,) + tuple(inputs.shape[2:])), training=training)
        return y.reshape((n, t) + tuple(y.shape[1:]))

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        inner = self.layer.compute_output_shape((None,) + tuple(input_shape[2:]))
        return tuple(input_shape[:2]) + tuple(inner[1:])

    def compute_mask(self, inputs, mask=None):
        return mask

    def get_config(self):
        config = super().get_config()
        config["layer"] = serialize(self.layer)
        return config
