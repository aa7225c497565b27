"""Recurrent networks as ONE graph node per sequence: ``simple_rnn``, ``lstm``, ``gru``.

Each function runs the whole sequence forward with the input projections of all time steps
in one matrix product and one fused gate product per step, and its backward is a
hand-written backpropagation through time over the whole sequence: the per-step gate
gradients are collected in one (T, N, k·H) array, so the weight gradients are again one
matrix product each. No per-step graph nodes exist.

Weights keep Keras's layouts: ``kernel`` (F, k·H), ``recurrent_kernel`` (H, k·H), ``bias``
(k·H,) — GRU with ``reset_after=True``: (2, 3·H), input bias row then recurrent bias row.
Gate order: LSTM i, f, c, o; GRU z, r, h.

Masks follow Keras: ``mask`` (N, T) is True where a step is real; at a masked step the state
is carried through unchanged (h_t = h_{t-1}, c_t = c_{t-1}), so a padded batch gives each
sequence exactly the result of its unpadded run. The returned sequence holds the state at
every step (a masked step repeats the previous one, Keras's ``zero_output_for_mask=False``).
"""
from __future__ import annotations

import numpy as np

from ..backend import array_module
from ..tensor import Tensor
from ._recurrent_kernels import FUSED_ACTIVATIONS, GRUKernel, LSTMKernel, SimpleRNNKernel

__all__ = ["simple_rnn", "lstm", "gru", "FUSED_ACTIVATIONS"]


# ------------------------------------------------------------------ argument checks
def _check_mask(mask, x, where):
    if mask is None:
        return None
    m = mask.data if isinstance(mask, Tensor) else mask
    xp = array_module(m) if hasattr(m, "shape") else np
    m = xp.asarray(m)
    if m.shape != tuple(x.shape[:2]):
        raise ValueError(f"{where}: mask must have shape (batch, time) = {tuple(x.shape[:2])}, "
                         f"got {tuple(m.shape)}")
    return m.astype(bool)


def _check_args(where, x, states, sizes):
    if x.ndim != 3:
        raise ValueError(f"{where}: expected inputs of shape (batch, time, features), got shape "
                         f"{tuple(x.shape)}; reshape sequences to 3-D (Reshape) or embed token ids "
                         "first (Embedding)")
    for s, name in zip(states, sizes):
        if tuple(s.shape) != (x.shape[0], sizes[name]):
            raise ValueError(f"{where}: initial state {name} must have shape "
                             f"(batch, units) = {(x.shape[0], sizes[name])}, got {tuple(s.shape)}")


def _zeros_like_state(x, units):
    xp = array_module(x.data if isinstance(x, Tensor) else x)
    dtype = x.dtype
    return xp.zeros((x.shape[0], units), dtype=dtype)


def _rmask_array(recurrent_mask):
    if recurrent_mask is None:
        return None
    return recurrent_mask.data if isinstance(recurrent_mask, Tensor) else recurrent_mask


# ------------------------------------------------------------------ the three recurrences
def simple_rnn(x, kernel, recurrent_kernel, bias=None, initial_state=None, mask=None,
               activation="tanh", go_backwards=False, recurrent_mask=None,
               return_sequences=True):
    """Fully connected recurrence over a whole sequence, as one graph node.

    Formula::

        h_t = g(x_t · W + h_{t-1} · U + b)                      (g = tanh by default)

        backward through time, from dL/dh_T and each step's dL/dh_t:
        δ_t = (dL/dh_t + δ_{t+1}·Uᵀ carried back) ⊙ g'(·)       (g' from h_t: 1 - h_t²)
        dL/dU = Σ_t h_{t-1}ᵀ δ_t,  dL/dW = Σ_t x_tᵀ δ_t,  dL/db = Σ_t δ_t,  dL/dx_t = δ_t Wᵀ

    The product δ·Uᵀ repeated T times is where gradients vanish (‖U‖·max g' < 1) or explode.

    Shape
    -----
    x (N, T, F), kernel (F, H), recurrent_kernel (H, H), bias (H,), initial_state (N, H),
    mask (N, T) boolean -> (sequence (N, T, H), last state (N, H)). With ``go_backwards`` the
    sequence is read from its end and returned in that (reversed) order, as Keras does.

    Parameters
    ----------
    activation : {"tanh", "relu", "sigmoid", "linear"}
    recurrent_mask : array (N, H), optional
        Recurrent dropout: multiplies h_{t-1} inside the recurrent product (already scaled).
    return_sequences : bool
        False: the first output is the last state itself, (N, H), as a Keras layer's output
        without ``return_sequences``. ``lstm`` and ``gru`` then never assemble the sequence
        (on several threads that saves a copy of every step's state).

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> x = np.ones((2, 5, 3), np.float32)
    >>> seq, h = ds.functional.simple_rnn(x, np.ones((3, 4), np.float32) * 0.1,
    ...                                   np.eye(4, dtype=np.float32) * 0.5)
    >>> seq.shape, h.shape
    ((2, 5, 4), (2, 4))
    """
    units = recurrent_kernel.shape[0]
    if initial_state is None:
        initial_state = _zeros_like_state(x, units)
    _check_args("simple_rnn", x, [initial_state], {"h": units})
    seq, h = SimpleRNNKernel.apply(x, initial_state, kernel, recurrent_kernel, bias,
                                   mask=_check_mask(mask, x, "simple_rnn"),
                                   activation=activation or "linear",
                                   go_backwards=bool(go_backwards),
                                   rmask=_rmask_array(recurrent_mask))
    return (seq, h) if return_sequences else (h, h)


def lstm(x, kernel, recurrent_kernel, bias=None, initial_state=None, mask=None,
         activation="tanh", recurrent_activation="sigmoid", go_backwards=False,
         recurrent_mask=None, return_sequences=True):
    """Long short-term memory over a whole sequence, as one graph node (Hochreiter 1997).

    Formula::

        [i f c̃ o] = x_t · W + h_{t-1} · U + b        (Keras's gate order i, f, c, o)
        i = σ(·)  input gate: how much to write      f = σ(·)  forget gate: how much to erase
        g = tanh(c̃) the candidate: what to write     o = σ(·)  output gate: how much to reveal
        c_t = f ⊙ c_{t-1} + i ⊙ g                    h_t = o ⊙ tanh(c_t)

        backward through time (δ = dL/d·, carried from t = T down to 1):
        δh_t = dL/dh_t + δz_{t+1} · Uᵀ
        δo = δh_t ⊙ tanh(c_t)          δc_t = δc_{t+1} ⊙ f_{t+1} + δh_t ⊙ o ⊙ (1 - tanh²c_t)
        δi = δc_t ⊙ g   δf = δc_t ⊙ c_{t-1}   δg = δc_t ⊙ i
        δz_t = [δi·i(1-i), δf·f(1-f), δg·(1-g²), δo·o(1-o)]
        dL/dU = Σ h_{t-1}ᵀ δz_t,  dL/dW = Σ x_tᵀ δz_t,  dL/db = Σ δz_t

    The cell path c_{t-1} → c_t is multiplied only by f (no weight matrix), which is why the
    LSTM's gradient survives hundreds of steps where a SimpleRNN's vanishes.

    Shape
    -----
    x (N, T, F), kernel (F, 4H), recurrent_kernel (H, 4H), bias (4H,),
    initial_state [h0, c0] each (N, H), mask (N, T) -> (sequence (N, T, H), h_T, c_T).

    Parameters
    ----------
    activation, recurrent_activation : {"tanh", "sigmoid", "relu", "linear"}
    go_backwards : bool
        Read the sequence from its end; the sequence is returned in that order (Keras).
    recurrent_mask : array (N, H), optional
        Recurrent dropout multiplying h_{t-1} inside the recurrent product.
    return_sequences : bool
        False: (h_T, h_T, c_T), the sequence never assembled (see ``simple_rnn``).
    """
    units = recurrent_kernel.shape[0]
    if initial_state is None:
        initial_state = [_zeros_like_state(x, units), _zeros_like_state(x, units)]
    if len(initial_state) != 2:
        raise ValueError(f"lstm: initial_state must be [h0, c0], got {len(initial_state)} "
                         "state(s)")
    _check_args("lstm", x, initial_state, {"h": units, "c": units})
    seq, h, c = LSTMKernel.apply(
        x, initial_state[0], initial_state[1], kernel, recurrent_kernel, bias,
        mask=_check_mask(mask, x, "lstm"), activation=activation or "linear",
        recurrent_activation=recurrent_activation or "linear", go_backwards=bool(go_backwards),
        rmask=_rmask_array(recurrent_mask), sequences=bool(return_sequences))
    return (seq, h, c) if return_sequences else (h, h, c)



def gru(x, kernel, recurrent_kernel, bias=None, initial_state=None, mask=None,
        activation="tanh", recurrent_activation="sigmoid", reset_after=True, go_backwards=False,
        recurrent_mask=None, return_sequences=True):
    """Gated recurrent unit over a whole sequence, as one graph node (Cho et al. 2014).

    Formula::

        z = σ(x_t W_z + h_{t-1} U_z + b_z)          update gate: how much of the past to keep
        r = σ(x_t W_r + h_{t-1} U_r + b_r)          reset gate: how much past feeds the candidate
        reset_after=True  (PyTorch's and cuDNN's form, Keras's default):
            hh = tanh(x_t W_h + b_h + r ⊙ (h_{t-1} U_h + b'_h))
        reset_after=False:
            hh = tanh(x_t W_h + b_h + (r ⊙ h_{t-1}) U_h)
        h_t = z ⊙ h_{t-1} + (1 - z) ⊙ hh

        backward through time: δhh = δh_t ⊙ (1 - z) ⊙ (1 - hh²),  δz = δh_t ⊙ (h_{t-1} - hh) ⊙ z(1-z),
        δr = δhh ⊙ (h_{t-1} U_h + b'_h) ⊙ r(1-r)  (reset_after);  δh_{t-1} = δh_t ⊙ z + [δz δr r⊙δhh]·Uᵀ

    Shape
    -----
    x (N, T, F), kernel (F, 3H), recurrent_kernel (H, 3H), bias (2, 3H) with reset_after
    (input row, recurrent row) else (3H,); initial_state (N, H); mask (N, T)
    -> (sequence (N, T, H), h_T); with ``return_sequences=False`` (h_T, h_T), the sequence
    never assembled (see ``simple_rnn``).
    """
    units = recurrent_kernel.shape[0]
    if initial_state is None:
        initial_state = _zeros_like_state(x, units)
    _check_args("gru", x, [initial_state], {"h": units})
    seq, h = GRUKernel.apply(x, initial_state, kernel, recurrent_kernel, bias,
                             mask=_check_mask(mask, x, "gru"), activation=activation or "linear",
                             recurrent_activation=recurrent_activation or "linear",
                             reset_after=bool(reset_after), go_backwards=bool(go_backwards),
                             rmask=_rmask_array(recurrent_mask),
                             sequences=bool(return_sequences))
    return (seq, h) if return_sequences else (h, h)
