"""``model.summary()``: a table of layers, output shapes and parameter counts (Keras-like).

Counts follow DESIGN: trainable parameters equal PyTorch's ``parameters()`` of the same
network; non-trainable ones include BatchNormalization's moving statistics (as Keras
reports them) and every weight of a frozen layer. A shared layer is counted once.
"""
from __future__ import annotations

import numpy as np

from ..layers.symbolic import InputLayer


def _size(weights):
    return int(sum(int(np.prod(w.shape)) for w in weights))


def _bytes(weights):
    return int(sum(int(np.prod(w.shape)) * w.data.dtype.itemsize for w in weights))


def _human(nbytes):
    for unit in ("B", "KB", "MB", "GB"):
        if nbytes < 1024 or unit == "GB":
            return f"{nbytes:.2f} {unit}" if unit != "B" else f"{nbytes} B"
        nbytes /= 1024
    return f"{nbytes:.2f} GB"  # pragma: no cover


def _shape_text(shape):
    if isinstance(shape, list):
        return ", ".join(_shape_text(s) for s in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def _model_nodes(model):
    return {id(n) for n in getattr(model, "_nodes", [])}


def _rows(model, expand_nested, prefix=""):
    """(name (type), output shape, params, connected to) for each layer of ``model``."""
    from .model import Model
    from .sequential import Sequential
    rows = []
    nodes = _model_nodes(model)
    is_seq = isinstance(model, Sequential)
    # Keras's "layer[node][tensor]": node positions count only this model's nodes.
    node_index = {}
    for layer in model.layers:
        for i, n in enumerate(n for n in layer._inbound_nodes if id(n) in nodes):
            node_index[id(n)] = i
    for layer in model.layers:
        own = [n for n in layer._inbound_nodes if id(n) in nodes]
        if own:
            outs = [t.shape for n in own[:1] for t in n.outputs]
            shape = _shape_text(outs[0] if len(outs) == 1 else outs)
        elif isinstance(layer, InputLayer):
            shape = _shape_text(layer._batch_input_shape)
        else:
            shape = "?"
        connected = []
        if not is_seq:
            for n in own:
                connected.extend(f"{t.node.layer.name}[{node_index.get(id(t.node), 0)}]"
                                 f"[{t.index}]" for t in n.inputs)
        rows.append((f"{prefix}{layer.name} ({type(layer).__name__})", shape,
                     f"{layer.count_params():,}" if layer.built else "0 (unbuilt)",
                     ", ".join(connected)))
        if expand_nested and isinstance(layer, Model):
            rows.extend(_rows(layer, True, prefix + "  "))
    return rows


def summary_text(model, line_length=None, expand_nested=False):
    """The summary as a string (``print_summary`` prints it)."""
    from .sequential import Sequential
    name = f'Model: "{model.name}"'
    if not model.built:
        return (f"{name}\nThis model has not been built yet, so its shapes and parameter "
                "counts are unknown. Build it by giving the first layer input_shape=(...), "
                "starting it with deepsheet.Input(shape), calling model.build((None, ...)), "
                "or calling it on a batch of data (fit does).")
    functional = model._graph and not isinstance(model, Sequential)
    header = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if functional else [])
    rows = _rows(model, expand_nested)
    table = [header] + [list(r[:len(header)]) for r in rows]
    widths = [max(len(r[i]) for r in table) + 2 for i in range(len(header))]
    if line_length is not None:
        widths[0] = max(widths[0], line_length - sum(widths[1:]))
    total = sum(widths)
    right = {2}  # parameter counts are right-aligned

    def fmt(row):
        return "".join(cell.rjust(w - 2) + "  " if i in right else cell.ljust(w)
                       for i, (cell, w) in enumerate(zip(row, widths))).rstrip()

    lines = [name, "=" * total, fmt(header), "=" * total]
    for i, row in enumerate(table[1:]):
        lines.append(fmt(row))
        lines.append("-" * total if i < len(rows) - 1 else "=" * total)
    if not rows:
        lines.append("=" * total)
    trainable = model.trainable_weights
    non_trainable = model.non_trainable_weights
    everything = trainable + non_trainable
    lines += [f"Total params: {_size(everything):,} ({_human(_bytes(everything))})",
              f"Trainable params: {_size(trainable):,} ({_human(_bytes(trainable))})",
              f"Non-trainable params: {_size(non_trainable):,} "
              f"({_human(_bytes(non_trainable))})"]
    return "\n".join(lines)


def print_summary(model, line_length=None, print_fn=None, expand_nested=False):
    """Print ``summary_text(model)`` line by line through ``print_fn`` (default ``print``)."""
    text = summary_text(model, line_length=line_length, expand_nested=expand_nested)
    emit = print_fn or print
    for line in text.split("\n"):
        emit(line)
