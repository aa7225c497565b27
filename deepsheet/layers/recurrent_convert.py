"""Converters between deepsheet's recurrent layers and PyTorch ``nn.RNN/LSTM/GRU`` state dicts.

Layouts::

    deepsheet / Keras                          PyTorch (layer l, suffix "_reverse" if backward)
    kernel (F, k·H)                            weight_ih_l{l}  (k·H, F)  = kernelᵀ
    recurrent_kernel (H, k·H)                  weight_hh_l{l}  (k·H, H)  = recurrent_kernelᵀ
    bias (k·H,)  LSTM / SimpleRNN              bias_ih_l{l} + bias_hh_l{l}  (PyTorch has two)
    bias (2, 3H) GRU reset_after=True          bias_ih_l{l} = bias[0],  bias_hh_l{l} = bias[1]
    LSTM gates i, f, c, o                      i, f, g, o  (same order)
    GRU gates  z, r, h                         r, z, n     (first two blocks swapped)

Going to PyTorch, the summed LSTM/SimpleRNN bias goes to ``bias_ih`` and ``bias_hh`` is zero;
coming from PyTorch the two are added. GRU with ``reset_after=False`` has no PyTorch twin.

Check deepsheet against PyTorch in two lines::

    m = torch.nn.LSTM(F, H, batch_first=True)
    m.load_state_dict({k: torch.from_numpy(v) for k, v in to_torch_state_dict(layer).items()})

Arrays are NumPy; PyTorch is never imported here (tensors passed in are read through
``.detach().cpu().numpy()``).
"""
from __future__ import annotations

import numpy as np

from .recurrent import RNN
from .recurrent_cells import GRUCell, LSTMCell, SimpleRNNCell
from .recurrent_wrappers import Bidirectional

__all__ = ["to_torch_state_dict", "from_torch_state_dict"]


def _cell(layer):
    cell = layer.cell if isinstance(layer, RNN) else layer
    if not isinstance(cell, (SimpleRNNCell, LSTMCell, GRUCell)):
        raise ValueError(f"{type(layer).__name__} '{layer.name}': only SimpleRNN, LSTM and GRU "
                         "(and their cells, or Bidirectional of them) have PyTorch twins")
    if not cell.built:
        raise ValueError(f"{type(layer).__name__} '{layer.name}' is not built yet: call it on "
                         "data (or build it) before converting its weights")
    if isinstance(cell, GRUCell) and not cell.reset_after:
        raise ValueError(f"GRU '{layer.name}': reset_after=False has no PyTorch equivalent "
                         "(torch.nn.GRU applies the reset gate after the recurrent product)")
    if isinstance(cell, SimpleRNNCell) and cell._activation_name not in ("tanh", "relu"):
        raise ValueError(f"SimpleRNN '{layer.name}': torch.nn.RNN supports the tanh and relu "
                         f"activations, not {cell._activation_name!r}")
    if isinstance(cell, (LSTMCell, GRUCell)) and (
            cell._activation_name != "tanh" or cell._recurrent_activation_name != "sigmoid"):
        raise ValueError(f"{type(layer).__name__} '{layer.name}': PyTorch's cells use tanh "
                         "and sigmoid only")
    return cell


def _gru_swap(a, h, axis):
    """Swap the first two gate blocks (z, r <-> r, z) along ``axis``; an involution."""
    idx = np.r_[h:2 * h, 0:h, 2 * h:3 * h]
    return np.take(a, idx, axis=axis)


def _one(layer, index, suffix):
    cell = _cell(layer)
    w, u = cell.kernel.numpy(), cell.recurrent_kernel.numpy()
    h = cell.units
    b = cell.bias.numpy() if cell.bias is not None else None
    if isinstance(cell, GRUCell):
        w, u = _gru_swap(w, h, 1), _gru_swap(u, h, 1)
        if b is not None:
            b_ih, b_hh = _gru_swap(b[0], h, 0), _gru_swap(b[1], h, 0)
    elif b is not None:
        b_ih, b_hh = b, np.zeros_like(b)
    key = f"_l{index}{suffix}"
    out = {"weight_ih" + key: np.ascontiguousarray(w.T), "weight_hh" + key:
           np.ascontiguousarray(u.T)}
    if b is not None:
        out["bias_ih" + key] = np.ascontiguousarray(b_ih)
        out["bias_hh" + key] = np.ascontiguousarray(b_hh)
    return out


def to_torch_state_dict(layer, layer_index=0):
    """The ``torch.nn.RNN/LSTM/GRU`` state dict (NumPy arrays) holding ``layer``'s weights.

    Parameters
    ----------
    layer : SimpleRNN, LSTM, GRU, their cells, or Bidirectional of one
        A Bidirectional gives the ``*_reverse`` entries too (``bidirectional=True``).
    layer_index : int
        The ``l{index}`` of the keys, to assemble stacked layers (``num_layers > 1``) by
        merging the dicts of consecutive layers.
    """
    if isinstance(layer, Bidirectional):
        out = _one(layer.forward_layer, layer_index, "")
        out.update(_one(layer.backward_layer, layer_index, "_reverse"))
        return out
    return _one(layer, layer_index, "")


def _arr(v):
    if hasattr(v, "detach"):
        v = v.detach().cpu().numpy()
    return np.asarray(v, dtype=np.float32)


def _load_one(layer, sd, index, suffix):
    cell = _cell(layer)
    key = f"_l{index}{suffix}"
    try:
        w, u = _arr(sd["weight_ih" + key]).T, _arr(sd["weight_hh" + key]).T
    except KeyError as exc:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': the state dict has no "
                         f"{exc.args[0]!r} (keys: {sorted(sd)})") from None
    h = cell.units
    if isinstance(cell, GRUCell):
        w, u = _gru_swap(w, h, 1), _gru_swap(u, h, 1)
    weights = [w, u]
    if cell.bias is not None:
        if "bias_ih" + key not in sd:
            raise ValueError(f"{type(layer).__name__} '{layer.name}': use_bias=True but the "
                             f"state dict has no bias{key} entries (bias=False in PyTorch?)")
        b_ih, b_hh = _arr(sd["bias_ih" + key]), _arr(sd["bias_hh" + key])
        if isinstance(cell, GRUCell):
            weights.append(np.stack([_gru_swap(b_ih, h, 0), _gru_swap(b_hh, h, 0)]))
        else:
            weights.append(b_ih + b_hh)
    cell.set_weights(weights)


def from_torch_state_dict(layer, state_dict, layer_index=0):
    """Set ``layer``'s weights from a ``torch.nn.RNN/LSTM/GRU`` state dict (tensors or arrays).

    The layer must be built (call it once on data). Shapes are checked by ``set_weights``.
    """
    sd = dict(state_dict)
    if isinstance(layer, Bidirectional):
        _load_one(layer.forward_layer, sd, layer_index, "")
        _load_one(layer.backward_layer, sd, layer_index, "_reverse")
        return layer
    _load_one(layer, sd, layer_index, "")
    return layer
