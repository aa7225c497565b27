"""Recurrent layers (Keras 3): the generic ``RNN(cell)`` and ``SimpleRNN``, ``LSTM``, ``GRU``.

A recurrent layer runs its cell over the time axis of a (batch, time, features) input. For
the built-in cells with the activations the fused kernels know (tanh, sigmoid, relu, linear)
the whole sequence is ONE graph node (``functional.simple_rnn`` / ``lstm`` / ``gru``, with
their hand-written backpropagation through time); any other cell is stepped one time step at
a time with ordinary graph operations.

Keras semantics throughout: ``return_sequences``, ``return_state`` (``[output, *states]``),
``go_backwards`` (the returned sequence stays in the reversed order), ``stateful`` with
``reset_states()``, ``initial_state=`` and ``mask=`` at call time (a masked step carries the
states through unchanged), dropout masks drawn once per sequence.

PyTorch interop: ``deepsheet.layers.recurrent_convert`` turns these layers' weights into
``torch.nn.RNN/LSTM/GRU`` state dicts and back.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from .. import functional as F
from ..tensor import Tensor
from .base import Layer, deserialize, serialize
from .recurrent_cells import GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells

__all__ = ["RNN", "SimpleRNN", "LSTM", "GRU"]


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def check_sequence_input(layer, shape):
    """Refuse anything but (batch, time, features), naming the layer."""
    if len(shape) != 3:
        hint = (" (integer token ids? put an Embedding first)" if len(shape) == 2 else "")
        raise ValueError(f"{type(layer).__name__} '{layer.name}': expected inputs of shape "
                         f"(batch, time, features), got shape {tuple(shape)}{hint}; use "
                         "Reshape((time, features)) or Embedding to make a sequence")


def resolve_mask(layer, inputs, mask):
    """The boolean (batch, time) mask of a call: given, or riding on the input; checked."""
    if mask is None:
        mask = getattr(inputs, "_keras_mask", None)
    if mask is None:
        return None
    m = _data(mask)
    xp = backend.array_module(m) if hasattr(m, "dtype") else np
    m = xp.asarray(m)
    if tuple(m.shape) != tuple(inputs.shape[:2]):
        raise ValueError(f"{type(layer).__name__} '{layer.name}': mask must have shape "
                         f"(batch, time) = {tuple(inputs.shape[:2])}, got {tuple(m.shape)}")
    return m.astype(bool)


class RNN(Layer):
    """Runs a cell over the time axis (Keras's ``keras.layers.RNN``).

    Formula::

        (y_t, s_t) = cell(x_t, s_{t-1})  for t = 1..T        s_0 = initial_state or zeros
        masked step t:  s_t = s_{t-1}, y_t = y_{t-1} (or 0 with zero_output_for_mask)

    Parameters
    ----------
    cell : Layer or list of Layers
        A cell with ``call(inputs, states, training=False) -> (output, new_states)`` and a
        ``state_size`` (int or list of ints); the built-in cells are run fused. A list of
        cells is stacked (``StackedRNNCells``: each step runs them bottom to top).
    return_sequences : bool
        Return the whole output sequence (batch, time, units), else the last output.
    return_state : bool
        Return ``[output, *final_states]``.
    go_backwards : bool
        Process the sequence from its end; a returned sequence is in that reversed order.
    stateful : bool
        Keep the final states of a batch as the initial states of the next (sample i to
        sample i); the batch size must then stay fixed (``batch_size=`` or the first batch
        of more than one sample binds it). ``reset_states()`` zeroes them.
    unroll : bool
        Accepted for Keras compatibility; the fused kernels need no unrolling.
    zero_output_for_mask : bool
        Masked steps of a returned sequence are zeros instead of the previous output.

    Shape
    -----
    (batch, time, features) -> (batch, units) or (batch, time, units) [+ states (batch, size)]

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> layer = ds.layers.RNN(ds.layers.LSTMCell(4), return_sequences=True)
    >>> layer(np.ones((2, 5, 3), np.float32)).shape
    (2, 5, 4)
    """

    supports_masking = True

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(cell, dict):
            cell = deserialize(cell)
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if not callable(getattr(cell, "call", None)) or getattr(cell, "state_size", None) is None:
            raise ValueError(f"RNN '{self.name}': cell must be a layer with call(inputs, states) "
                             f"and a state_size, got {cell!r}")
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.states = None

    @property
    def state_size(self):
        s = self.cell.state_size
        return list(s) if isinstance(s, (list, tuple)) else [s]

    # ------------------------------------------------------------------ shapes
    def build(self, input_shape):
        check_sequence_input(self, input_shape)
        if not self.cell.built:
            self.cell._maybe_build((input_shape[0], input_shape[-1]))
        self.built = True

    def compute_output_shape(self, input_shape):
        check_sequence_input(self, input_shape)
        n, t = input_shape[0], input_shape[1]
        units = getattr(self.cell, "output_size", None) or self.state_size[0]
        out = (n, t, units) if self.return_sequences else (n, units)
        if self.return_state:
            return [out] + [(n, s) for s in self.state_size]
        return out

    def compute_mask(self, inputs, mask=None):
        out = mask if self.return_sequences else None
        if self.return_state:
            return [out] + [None] * len(self.state_size)
        return out

    # ------------------------------------------------------------------ states
    def _initial_states(self, x, initial_state):
        n = x.shape[0]
        where = f"{type(self).__name__} '{self.name}'"
        sizes = self.state_size
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) \
                else [initial_state]
            if len(states) != len(sizes):
                raise ValueError(f"{where}: initial_state needs {len(sizes)} tensor(s) "
                                 f"(shapes {[(n, s) for s in sizes]}), got {len(states)}")
            out = []
            for k, (s, size) in enumerate(zip(states, sizes)):
                if not isinstance(s, Tensor):
                    s = Tensor(backend.to_device(np.asarray(s, np.float32),
                                                 backend.device_of(x.data)))
                if tuple(s.shape) != (n, size):
                    raise ValueError(f"{where}: initial_state[{k}] must have shape "
                                     f"(batch, {size}) = {(n, size)}, got {tuple(s.shape)}")
                out.append(s)
            return out
        if self.stateful:
            kept = None if self.states is None else self.states[0].shape[0]
            declared = (self._batch_input_shape or (None,))[0]
            if kept is not None and kept != n and kept == 1 and declared is None:
                # A functional model's build runs the layer on a batch-of-one stand-in; the
                # states bind to the first real batch size after it.
                kept = self.states = None
            if self.states is None:
                self.states = self._zero_states(x)
            elif kept != n:
                raise ValueError(f"{where}: stateful=True keeps one state per sample, so the "
                                 f"batch size must stay {self.states[0].shape[0]}, got {n} "
                                 "(call reset_states() to start over with a new batch size)")
            return list(self.states)
        return self._zero_states(x)

    def _zero_states(self, x):
        if hasattr(self.cell, "get_initial_state"):
            return self.cell.get_initial_state(x.shape[0])
        xp = backend.array_module(x.data)
        return [xp.zeros((x.shape[0], s), dtype=x.dtype) for s in self.state_size]

    def reset_states(self, states=None):
        """Zero the kept states of a stateful layer (or set them to ``states``)."""
        if not self.stateful:
            raise AttributeError(f"{type(self).__name__} '{self.name}': reset_states() needs "
                                 "stateful=True")
        if states is None:
            self.states = None
            return
        states = states if isinstance(states, (list, tuple)) else [states]
        self.states = [np.asarray(_data(s), np.float32).copy() for s in states]

    reset_state = reset_states

    # ------------------------------------------------------------------ call
    def _dropout_masks(self, x, training):
        cell = self.cell
        rate, rrate = getattr(cell, "dropout", 0.0), getattr(cell, "recurrent_dropout", 0.0)
        if not training or (not rate and not rrate):
            return None, None
        xp = backend.array_module(x.data)
        rng = backend.rng()
        n = x.shape[0]

        def draw(shape, r):
            keep = rng.random(shape, dtype=np.float32) >= r
            return xp.asarray(np.multiply(keep, 1.0 / (1.0 - r), dtype=np.float32))
        dm = draw((n, x.shape[-1]), rate) if rate else None
        rm = draw((n, self.state_size[0]), rrate) if rrate else None
        return dm, rm

    def call(self, inputs, training=None, mask=None, initial_state=None):
        x = inputs
        check_sequence_input(self, x.shape)
        if x.dtype.kind != "f":
            x = x.astype(np.float32)
        m = resolve_mask(self, inputs, mask)
        states = self._initial_states(x, initial_state)
        dm, rm = self._dropout_masks(x, training)
        cell = self.cell
        fused = getattr(cell, "_sequence", None) is not None and cell.fused_ok()
        if fused:
            if dm is not None:
                x = x * dm[:, None, :]
            seq, states = cell._sequence(x, states, m, self.go_backwards, rm,
                                         self.return_sequences)
        else:
            seq, states = self._step_loop(x, states, m, dm, rm, training)
        if self.stateful:
            self.states = [_data(s).copy() for s in states]
        if self.return_sequences:
            out = seq
            if self.zero_output_for_mask and m is not None:
                keep = (m[:, ::-1] if self.go_backwards else m).astype(seq.dtype)
                out = seq * keep[:, :, None]
        else:
            out = states[getattr(cell, "_output_state", 0)]   # a stack: its top cell's h
        if self.return_state:
            return [out] + list(states)
        return out

    def _step_loop(self, x, states, m, dm, rm, training):
        """Step the cell through time with ordinary graph operations (any cell)."""
        cell = self.cell
        cell._dropout_mask, cell._recurrent_dropout_mask = dm, rm
        states = [s if isinstance(s, Tensor) else Tensor(s) for s in states]
        steps = range(x.shape[1] - 1, -1, -1) if self.go_backwards else range(x.shape[1])
        outputs, prev = [], None
        try:
            for t in steps:
                out, new = cell.call(x[:, t], states, training=bool(training))
                new = list(new) if isinstance(new, (list, tuple)) else [new]
                if m is not None:
                    keep = m[:, t:t + 1]
                    new = [F.where(keep, a, b) for a, b in zip(new, states)]
                    if prev is None:
                        prev = Tensor(backend.array_module(out.data).zeros(out.shape, out.dtype))
                    out = F.where(keep, out, prev)
                states, prev = new, out
                outputs.append(out)
        finally:
            cell._dropout_mask = cell._recurrent_dropout_mask = None
        return F.stack(outputs, axis=1), states

    # ------------------------------------------------------------------ config
    def _rnn_config(self):
        return dict(return_sequences=self.return_sequences, return_state=self.return_state,
                    go_backwards=self.go_backwards, stateful=self.stateful, unroll=self.unroll,
                    zero_output_for_mask=self.zero_output_for_mask)

    def get_config(self):
        config = super().get_config()
        config.update(self._rnn_config())
        config["cell"] = serialize(self.cell)
        return config


class _FixedCellRNN(RNN):
    """SimpleRNN/LSTM/GRU: the RNN of one built-in cell, configured flat as in Keras."""

    _cell_class = None

    def __init__(self, units, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, name=None,
                 trainable=True, input_shape=None, dtype=None, batch_size=None, **cell_kwargs):
        cell = self._cell_class(units, dtype=dtype, trainable=trainable, **cell_kwargs)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         zero_output_for_mask=zero_output_for_mask, name=name,
                         trainable=trainable, input_shape=input_shape, dtype=dtype,
                         batch_size=batch_size)

    def __getattr__(self, key):
        # units, activation, dropout, kernel, ...: the cell's (Keras exposes them the same way)
        if key.startswith("_") or key == "cell":
            raise AttributeError(key)
        return getattr(self.__dict__["cell"], key)

    def get_config(self):
        config = Layer.get_config(self)
        config.update(self._rnn_config())
        cell = self.cell.get_config()
        for k in ("name", "trainable", "dtype", "input_shape", "batch_size"):
            cell.pop(k, None)
        config.update(cell)
        return config


class SimpleRNN(_FixedCellRNN):
    """Fully connected recurrent layer (Keras's ``SimpleRNN``); one graph node per sequence.

    Formula::

        h_t = tanh(x_t · W + h_{t-1} · U + b)

    Parameters
    ----------
    units : int
    activation : default "tanh"
    use_bias, kernel_initializer ("glorot_uniform"), recurrent_initializer ("orthogonal"),
    bias_initializer ("zeros"), kernel/recurrent/bias_regularizer, dropout,
    recurrent_dropout, seed : as ``SimpleRNNCell``
    return_sequences, return_state, go_backwards, stateful, unroll : as ``RNN``

    Shape
    -----
    (batch, time, features) -> (batch, units) or (batch, time, units); weights kernel
    (features, units), recurrent_kernel (units, units), bias (units,).

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> ds.layers.SimpleRNN(8)(np.ones((2, 5, 3), np.float32)).shape
    (2, 8)
    """

    _cell_class = SimpleRNNCell


class LSTM(_FixedCellRNN):
    """Long short-term memory layer (Keras's ``LSTM``); one graph node per sequence.

    Formula::

        [i f c̃ o] = x_t · W + h_{t-1} · U + b
        c_t = σ(f) ⊙ c_{t-1} + σ(i) ⊙ tanh(c̃),   h_t = σ(o) ⊙ tanh(c_t)

    Parameters
    ----------
    units : int
    activation, recurrent_activation : default "tanh", "sigmoid"
    unit_forget_bias : bool, default True (forget-gate bias starts at 1)
    (others as ``SimpleRNN``)

    Shape
    -----
    (batch, time, features) -> (batch, units) or (batch, time, units), states [h, c];
    weights kernel (features, 4·units), recurrent_kernel (units, 4·units), bias (4·units,)
    in Keras's gate order i, f, c, o.

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> out, h, c = ds.layers.LSTM(8, return_state=True)(np.ones((2, 5, 3), np.float32))
    >>> out.shape, c.shape
    ((2, 8), (2, 8))
    """

    _cell_class = LSTMCell


class GRU(_FixedCellRNN):
    """Gated recurrent unit layer (Keras's ``GRU``); one graph node per sequence.

    Formula::

        z = σ(x W_z + h U_z + b_z),  r = σ(x W_r + h U_r + b_r)
        hh = tanh(x W_h + b_h + r ⊙ (h U_h + b'_h)),   h_t = z ⊙ h_{t-1} + (1 - z) ⊙ hh

    Parameters
    ----------
    units : int
    reset_after : bool, default True (PyTorch's/cuDNN's form; bias (2, 3·units))
    (others as ``LSTM``)

    Shape
    -----
    (batch, time, features) -> (batch, units) or (batch, time, units); weights kernel
    (features, 3·units), recurrent_kernel (units, 3·units), bias (2, 3·units) in Keras's
    gate order z, r, h.
    """

    _cell_class = GRUCell
