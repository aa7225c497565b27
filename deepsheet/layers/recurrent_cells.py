"""Recurrent cells (Keras's ``SimpleRNNCell``, ``LSTMCell``, ``GRUCell``): one time step.

A cell owns the weights and computes one step, ``cell(x_t, states) -> (output, new_states)``,
with ordinary graph operations (so a user's own activation or cell works). The layers in
``recurrent.py`` run a built-in cell over a whole sequence through the fused kernels of
``functional/recurrent.py`` instead (one graph node per sequence), and fall back to stepping
the cell only for what those kernels do not cover (a custom activation, a user's cell).

Weights keep Keras's names, layouts and order: ``kernel`` (features, k·units),
``recurrent_kernel`` (units, k·units), ``bias``; gates LSTM i, f, c, o and GRU z, r, h.
"""
from __future__ import annotations

import numpy as np

from .. import backend, init, regularizers
from .. import functional as F
from ..functional.dropout import check_rate
from ..functional._recurrent_kernels import FUSED_ACTIVATIONS
from .base import Layer, deserialize, serialize
from .core import _activation, _serializable_activation

__all__ = ["SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells"]


def _units(units, where):
    if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
        raise ValueError(f"{where}: units must be a positive integer, got {units!r}")
    return int(units)


class _Cell(Layer):
    """What the three cells share: activations, initializers, regularizers, dropout rates,
    the weights and their config entries."""

    _gates = 1

    def __init__(self, units, activation="tanh", recurrent_activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        where = f"{type(self).__name__} '{self.name}'"
        self.units = _units(units, where)
        self.activation, self._activation_name = _activation(activation, where)
        if recurrent_activation is not None:
            self.recurrent_activation, self._recurrent_activation_name = _activation(
                recurrent_activation, where)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = init.get(kernel_initializer)
        self.recurrent_initializer = init.get(recurrent_initializer)
        self.bias_initializer = init.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.dropout = check_rate(dropout, f"{where}: dropout")
        self.recurrent_dropout = check_rate(recurrent_dropout, f"{where}: recurrent_dropout")
        self.seed = seed
        self.kernel = self.recurrent_kernel = self.bias = None
        # Dropout masks for the current sequence, set by the RNN layer (Keras draws one mask
        # per sequence and reuses it at every step).
        self._dropout_mask = self._recurrent_dropout_mask = None

    def __call__(self, inputs, states=None, training=None, **kwargs):
        # Keras's cell call: cell(x_t, states) -> (output, new_states)
        return super().__call__(inputs, training=training, states=states, **kwargs)

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self):
        return self.units

    def _bias_shape(self):
        return (self._gates * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def build(self, input_shape):
        features = input_shape[-1]
        if features is None:
            raise ValueError(f"{type(self).__name__} '{self.name}': the feature axis of the "
                             "input must be known")
        k = self._gates * self.units
        self.kernel = self.add_weight("kernel", (features, k), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, k),
                                                self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer)
        if self.use_bias:
            self.bias = self.add_weight("bias", self._bias_shape(), self._bias_initializer(),
                                        regularizer=self.bias_regularizer)
        self.built = True

    def fused_ok(self):
        """True when the fused sequence kernel computes exactly this cell (built-in step,
        activations the kernel knows)."""
        if type(self).call not in _BUILTIN_CALLS:
            return False
        names = [self._activation_name, getattr(self, "_recurrent_activation_name", "linear")]
        return all(n in FUSED_ACTIVATIONS or n is None for n in names)

    def get_initial_state(self, batch_size):
        """Zero states, one (batch_size, size) array per entry of ``state_size``."""
        xp = backend.array_module(self.kernel.data) if self.kernel is not None else np
        sizes = self.state_size if isinstance(self.state_size, list) else [self.state_size]
        return [xp.zeros((batch_size, s), dtype=np.dtype(self.dtype)) for s in sizes]

    # ------------------------------------------------------------------ one step
    def _drop_inputs(self, x, h, training):
        if training and self._dropout_mask is not None:
            x = x * self._dropout_mask
        if training and self._recurrent_dropout_mask is not None:
            h = h * self._recurrent_dropout_mask
        return x, h

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units, activation=_serializable_activation(self, self._activation_name),
            use_bias=self.use_bias,
            kernel_initializer=init.serialize(self.kernel_initializer),
            recurrent_initializer=init.serialize(self.recurrent_initializer),
            bias_initializer=init.serialize(self.bias_initializer),
            kernel_regularizer=regularizers.serialize(self.kernel_regularizer),
            recurrent_regularizer=regularizers.serialize(self.recurrent_regularizer),
            bias_regularizer=regularizers.serialize(self.bias_regularizer),
            dropout=self.dropout, recurrent_dropout=self.recurrent_dropout, seed=self.seed)
        if hasattr(self, "_recurrent_activation_name"):
            config["recurrent_activation"] = _serializable_activation(
                self, self._recurrent_activation_name)
        return config


def _states(states, n, where):
    states = list(states) if isinstance(states, (list, tuple)) else [states]
    if len(states) != n:
        raise ValueError(f"{where}: expected {n} state tensor(s), got {len(states)}")
    return states


class SimpleRNNCell(_Cell):
    """One step of a fully connected recurrence.

    Formula::

        h_t = g(x_t · W + h_{t-1} · U + b)          g = tanh by default

    Shape
    -----
    x_t (N, F), states [h (N, units)] -> (h_t, [h_t])

    Parameters
    ----------
    units : int
    activation : str or callable, default "tanh"
    use_bias : bool
    kernel_initializer, recurrent_initializer, bias_initializer
        Keras's defaults "glorot_uniform", "orthogonal", "zeros".
    kernel_regularizer, recurrent_regularizer, bias_regularizer : optional
    dropout, recurrent_dropout : float
        Fractions of the inputs and of h_{t-1} dropped (one mask per sequence).
    """

    def __init__(self, units, activation="tanh", **kwargs):
        super().__init__(units, activation=activation, **kwargs)

    def call(self, inputs, states, training=False):
        (h,) = _states(states, 1, f"SimpleRNNCell '{self.name}'")
        x, hd = self._drop_inputs(inputs, h, training)
        z = F.dense(x, self.kernel, self.bias) + F.matmul(hd, self.recurrent_kernel)
        out = self.activation(z)
        return out, [out]

    def _sequence(self, x, states, mask, go_backwards, rmask, sequences=True):
        seq, h = F.simple_rnn(x, self.kernel, self.recurrent_kernel, self.bias,
                              initial_state=states[0], mask=mask,
                              activation=self._activation_name, go_backwards=go_backwards,
                              recurrent_mask=rmask, return_sequences=sequences)
        return seq, [h]


class LSTMCell(_Cell):
    """One step of a long short-term memory cell (Hochreiter & Schmidhuber 1997).

    Formula::

        [i f c̃ o] = x_t · W + h_{t-1} · U + b       (Keras's gate order i, f, c, o)
        i = σ(·) write, f = σ(·) erase, g = tanh(c̃) what to write, o = σ(·) reveal
        c_t = f ⊙ c_{t-1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)

    Shape
    -----
    x_t (N, F), states [h, c] each (N, units) -> (h_t, [h_t, c_t])

    Parameters
    ----------
    units : int
    activation, recurrent_activation : default "tanh" and "sigmoid"
    unit_forget_bias : bool, default True
        Start the forget gate's bias at 1 (Jozefowicz et al. 2015), the rest at
        ``bias_initializer``.
    (others as ``SimpleRNNCell``)
    """

    _gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 unit_forget_bias=True, **kwargs):
        super().__init__(units, activation=activation,
                         recurrent_activation=recurrent_activation, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_size(self):
        return [self.units, self.units]

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, units = self.bias_initializer, self.units

        def forget_ones(shape, dtype=None):
            b = base(shape, dtype=dtype)
            b[units:2 * units] = 1
            return b
        return forget_ones

    def call(self, inputs, states, training=False):
        h, c = _states(states, 2, f"LSTMCell '{self.name}'")
        x, hd = self._drop_inputs(inputs, h, training)
        u = self.units
        z = F.dense(x, self.kernel, self.bias) + F.matmul(hd, self.recurrent_kernel)
        ract = self.recurrent_activation
        i, f, o = ract(z[:, :u]), ract(z[:, u:2 * u]), ract(z[:, 3 * u:])
        g = self.activation(z[:, 2 * u:3 * u])
        c = f * c + i * g
        h = o * self.activation(c)
        return h, [h, c]

    def _sequence(self, x, states, mask, go_backwards, rmask, sequences=True):
        seq, h, c = F.lstm(x, self.kernel, self.recurrent_kernel, self.bias,
                           initial_state=states, mask=mask, activation=self._activation_name,
                           recurrent_activation=self._recurrent_activation_name,
                           go_backwards=go_backwards, recurrent_mask=rmask,
                           return_sequences=sequences)
        return seq, [h, c]

    def get_config(self):
        config = super().get_config()
        config["unit_forget_bias"] = self.unit_forget_bias
        return config


class GRUCell(_Cell):
    """One step of a gated recurrent unit (Cho et al. 2014).

    Formula::

        z = σ(x_t W_z + h_{t-1} U_z + b_z)   r = σ(x_t W_r + h_{t-1} U_r + b_r)
        hh = tanh(x_t W_h + b_h + r ⊙ (h_{t-1} U_h + b'_h))      reset_after=True
        hh = tanh(x_t W_h + b_h + (r ⊙ h_{t-1}) U_h)             reset_after=False
        h_t = z ⊙ h_{t-1} + (1 - z) ⊙ hh

    Shape
    -----
    x_t (N, F), states [h (N, units)] -> (h_t, [h_t]); bias (2, 3·units) with
    ``reset_after`` (input row, recurrent row), else (3·units,).

    Parameters
    ----------
    reset_after : bool, default True
        Apply the reset gate after the recurrent product (PyTorch's and cuDNN's form).
    (others as ``LSTMCell``)
    """

    _gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 reset_after=True, **kwargs):
        super().__init__(units, activation=activation,
                         recurrent_activation=recurrent_activation, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def call(self, inputs, states, training=False):
        (h,) = _states(states, 1, f"GRUCell '{self.name}'")
        x, hd = self._drop_inputs(inputs, h, training)
        u, w, uk, b = self.units, self.kernel, self.recurrent_kernel, self.bias
        b_in = b_rec = None
        if b is not None:
            b_in, b_rec = (b[0], b[1]) if self.reset_after else (b, None)
        xz = F.dense(x, w, b_in)
        ract = self.recurrent_activation
        if self.reset_after:
            hz = F.dense(hd, uk, b_rec)
            z = ract(xz[:, :u] + hz[:, :u])
            r = ract(xz[:, u:2 * u] + hz[:, u:2 * u])
            hh = self.activation(xz[:, 2 * u:] + r * hz[:, 2 * u:])
        else:
            hz = F.matmul(hd, uk[:, :2 * u])
            z = ract(xz[:, :u] + hz[:, :u])
            r = ract(xz[:, u:2 * u] + hz[:, u:])
            hh = self.activation(xz[:, 2 * u:] + F.matmul(r * hd, uk[:, 2 * u:]))
        out = z * h + (1 - z) * hh
        return out, [out]

    def _sequence(self, x, states, mask, go_backwards, rmask, sequences=True):
        seq, h = F.gru(x, self.kernel, self.recurrent_kernel, self.bias, initial_state=states[0],
                       mask=mask, activation=self._activation_name,
                       recurrent_activation=self._recurrent_activation_name,
                       reset_after=self.reset_after, go_backwards=go_backwards,
                       recurrent_mask=rmask, return_sequences=sequences)
        return seq, [h]

    def get_config(self):
        config = super().get_config()
        config["reset_after"] = self.reset_after
        return config


_BUILTIN_CALLS = (SimpleRNNCell.call, LSTMCell.call, GRUCell.call)


def _sizes(cell):
    s = cell.state_size
    return list(s) if isinstance(s, (list, tuple)) else [s]


class StackedRNNCells(Layer):
    """Cells stacked into one cell (Keras's ``StackedRNNCells``; ``RNN([cell1, cell2])``).

    Formula::

        (y¹_t, s¹_t) = cell₁(x_t, s¹_{t-1}),  (y²_t, s²_t) = cell₂(y¹_t, s²_{t-1}),  ...
        output y_t = y^L_t (the last cell's)

    States are one flat list in cell order (two LSTM cells: ``[h₁, c₁, h₂, c₂]``; Keras nests
    them per cell). When every cell is a built-in one the kernels know, the stack runs fused,
    each cell over the whole sequence in turn (the same numbers: a cell sees only the outputs
    of the cells below it). Dropout inside stacked cells is not supported (stack recurrent
    layers with ``return_sequences=True`` for that).

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> rnn = ds.layers.RNN([ds.layers.LSTMCell(4), ds.layers.GRUCell(3)], return_state=True)
    >>> [tuple(a.shape) for a in rnn(np.ones((2, 5, 6), np.float32))]
    [(2, 3), (2, 4), (2, 4), (2, 3)]
    """

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        where = f"StackedRNNCells '{self.name}'"
        cells = [deserialize(c) if isinstance(c, dict) else c for c in cells]
        if not cells:
            raise ValueError(f"{where}: needs at least one cell")
        for c in cells:
            if not callable(getattr(c, "call", None)) or getattr(c, "state_size", None) is None:
                raise ValueError(f"{where}: every cell must be a layer with call(inputs, states) "
                                 f"and a state_size, got {c!r}")
            if getattr(c, "dropout", 0) or getattr(c, "recurrent_dropout", 0):
                raise ValueError(f"{where}: dropout inside stacked cells is not supported; stack "
                                 "recurrent layers with return_sequences=True instead")
        self.cells = cells

    @property
    def state_size(self):
        return [s for c in self.cells for s in _sizes(c)]

    @property
    def output_size(self):
        return getattr(self.cells[-1], "output_size", None) or _sizes(self.cells[-1])[0]

    @property
    def _output_state(self):
        """Index in the flat states of the top cell's first state (its output)."""
        return len(self.state_size) - len(_sizes(self.cells[-1]))

    def build(self, input_shape):
        n, f = input_shape[0], input_shape[-1]
        for c in self.cells:
            if not c.built:
                c._maybe_build((n, f))
            f = getattr(c, "output_size", None) or _sizes(c)[0]
        self.built = True

    def get_initial_state(self, batch_size):
        out = []
        for c in self.cells:
            if hasattr(c, "get_initial_state"):
                out.extend(c.get_initial_state(batch_size))
            else:
                out.extend(np.zeros((batch_size, s), np.float32) for s in _sizes(c))
        return out

    def _split(self, states):
        out, i = [], 0
        for c in self.cells:
            k = len(_sizes(c))
            out.append(list(states[i:i + k]))
            i += k
        return out

    def call(self, inputs, states, training=False):
        new = []
        for c, st in zip(self.cells, self._split(states)):
            inputs, s = c.call(inputs, st, training=training)
            new.extend(s if isinstance(s, (list, tuple)) else [s])
        return inputs, new

    def fused_ok(self):
        return all(getattr(c, "_sequence", None) is not None and c.fused_ok() for c in self.cells)

    def _sequence(self, x, states, mask, go_backwards, rmask, sequences=True):
        # The first cell reads the input from its end if asked and returns its sequence in that
        # processing order, which the cells above then read forwards (with the mask reversed).
        # Only the top cell may skip its sequence: the cells above read the others'.
        out = []
        last = len(self.cells) - 1
        for i, (c, st) in enumerate(zip(self.cells, self._split(states))):
            m = mask[:, ::-1] if (i and go_backwards and mask is not None) else mask
            x, st = c._sequence(x, st, m, go_backwards and not i, None,
                                sequences or i < last)
            out.extend(st)
        return x, out

    def get_config(self):
        config = super().get_config()
        config["cells"] = [serialize(c) for c in self.cells]
        return config
