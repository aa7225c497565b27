"""Receptive fields: how much of the input one unit of a feature map sees.

The receptive field of a unit is the patch of input pixels that can change its value.
Along one spatial axis, a stack of windows (convolution or pooling) is described by three
numbers per layer, updated from the layer's kernel F, stride S, dilation d and padding
P_before (the zeros added before the first pixel):

    F_eff     = d·(F − 1) + 1                         (a dilated window's span)
    j_out     = j_in · S                              (jump: input pixels between two
                                                       neighbouring output units)
    r_out     = r_in + (F_eff − 1) · j_in             (receptive-field size)
    start_out = start_in + ((F_eff − 1)/2 − P_before) · j_in
                                                      (input coordinate of the centre of
                                                       the first output unit's field)
    n_out     = conv_output_size(n_in, F, P, S, d)    (feature-map size)

starting from the input itself: r = 1, j = 1, start = 0 (pixel i has its centre at
coordinate i). So r grows by (F_eff − 1) input steps of the current layer's jump, and the
jump is the product of the strides so far: late layers with big jumps grow r fastest.

Two entry points: ``receptive_field_from_specs`` on a plain list of (kernel, stride,
padding, dilation) tuples, one axis, for teaching; ``receptive_field(model)`` on a
functional or Sequential model, per spatial axis, for every layer in graph order. Where
branches meet (Add, Concatenate) the largest field is kept. A layer that removes the
spatial axes (Flatten, global pooling) sees the whole input it was given.
"""
from __future__ import annotations

import numbers

from .conv_arithmetic import conv_output_size, normalize_tuple, resolve_padding

__all__ = ["receptive_field", "receptive_field_from_specs", "ReceptiveFieldTable"]


class ReceptiveFieldTable(list):
    """A list of per-layer records (dicts) that prints as a table.

    Each record has ``name``, ``class_name``, ``kernel``, ``stride``, ``padding`` (before
    each axis), ``dilation``, ``size`` (feature-map size), ``j`` (jump), ``r`` (receptive
    field) and ``start`` (centre of the first unit's field, in input pixels). From
    ``receptive_field(model)`` the numeric fields are tuples, one entry per spatial axis
    (``None`` where the input size is unknown); from ``receptive_field_from_specs`` they
    are plain numbers. ``kernel``/``stride``/... are ``None`` for layers without a window.
    """

    _COLUMNS = (("layer", "name"), ("type", "class_name"), ("k", "kernel"), ("s", "stride"),
                ("p", "padding"), ("d", "dilation"), ("size", "size"), ("j", "j"), ("r", "r"),
                ("start", "start"))

    def __getitem__(self, key):
        if isinstance(key, str):
            for rec in self:
                if rec["name"] == key:
                    return rec
            raise KeyError(f"no layer {key!r} in this receptive-field table; layers: "
                           f"{[rec['name'] for rec in self]}")
        item = list.__getitem__(self, key)
        return ReceptiveFieldTable(item) if isinstance(key, slice) else item

    def column(self, key):
        """One field of every record, in order (e.g. ``table.column("r")``)."""
        return [rec[key] for rec in self]

    @staticmethod
    def _cell(value):
        if value is None:
            return "-"
        if isinstance(value, tuple):
            if len(set(value)) == 1:  # square: show one number
                return ReceptiveFieldTable._cell(value[0])
            return "x".join(ReceptiveFieldTable._cell(v) for v in value)
        if isinstance(value, float):
            return f"{value:g}"
        return str(value)

    def table(self):
        """The records as an aligned text table."""
        rows = [[title for title, _ in self._COLUMNS]]
        rows += [[self._cell(rec.get(key)) for _, key in self._COLUMNS] for rec in self]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) if i < 2 else cell.rjust(w)
                           for i, (cell, w) in enumerate(zip(row, widths))).rstrip()
                 for row in rows]
        lines.insert(1, "-" * len(lines[0]))
        return "\n".join(lines)

    def __str__(self):
        return self.table()

    def print(self):
        print(self.table())


# ----------------------------------------------------------------- one axis, from specs
def _spec_fields(spec, index):
    if isinstance(spec, dict):
        unknown = set(spec) - {"kernel", "stride", "padding", "dilation", "name"}
        if unknown or "kernel" not in spec:
            raise ValueError(f"spec {index}: a dict spec needs 'kernel' and may have 'stride', "
                             f"'padding', 'dilation', 'name'; got keys {sorted(spec)}")
        return (spec["kernel"], spec.get("stride", 1), spec.get("padding", 0),
                spec.get("dilation", 1), spec.get("name"))
    if isinstance(spec, numbers.Integral):
        spec = (spec,)
    try:
        items = tuple(spec)
    except TypeError:
        raise ValueError(f"spec {index} must be (kernel, stride, padding, dilation) with the "
                         f"last three optional, got {spec!r}") from None
    if not 1 <= len(items) <= 4:
        raise ValueError(f"spec {index} must be (kernel, stride, padding, dilation) with the "
                         f"last three optional, got {spec!r}")
    kernel, stride, padding, dilation = items + (1, 0, 1)[len(items) - 1:]
    return kernel, stride, padding, dilation, None


def receptive_field_from_specs(specs, input_size=None):
    """Receptive field, jump, start and size along one axis for a stack of windows.

    Formula
    -------
        F_eff = d·(F − 1) + 1
        j_out = j_in·S,   r_out = r_in + (F_eff − 1)·j_in
        start_out = start_in + ((F_eff − 1)/2 − P_before)·j_in
        with r = 1, j = 1, start = 0 at the input.

    Parameters
    ----------
    specs : list
        One entry per layer: ``kernel`` or ``(kernel, stride, padding, dilation)`` with the
        trailing entries optional (defaults 1, 0, 1), or a dict with those keys and an
        optional ``name``. ``padding`` is an int (each side), a ``(before, after)`` pair,
        ``"valid"`` or ``"same"`` (Keras's rule; needs ``input_size`` unless stride is 1).
        A pooling layer is a window like any other: 2x2 max pooling is ``(2, 2)``.
    input_size : int, optional
        Input length along the axis; with it each record also gets the output ``size``.

    Returns
    -------
    ReceptiveFieldTable
        Row 0 is the input (r = 1, j = 1, start = 0), then one row per spec.

    Examples
    --------
    >>> t = receptive_field_from_specs([(3, 1, 1), (3, 1, 1), (2, 2)], input_size=32)
    >>> t.column("r"), t.column("j"), t.column("size")
    ([1, 3, 5, 6], [1, 1, 1, 2], [32, 32, 32, 16])
    """
    if input_size is not None and (isinstance(input_size, bool)
                                   or not isinstance(input_size, numbers.Integral)
                                   or input_size < 1):
        raise ValueError(f"input_size must be a positive integer, got {input_size!r}")
    r, j, start, size = 1, 1, 0.0, input_size
    table = ReceptiveFieldTable([dict(name="input", class_name="Input", kernel=None,
                                      stride=None, padding=None, dilation=None, size=size,
                                      j=j, r=r, start=start)])
    for i, spec in enumerate(specs):
        kernel, stride, padding, dilation, name = _spec_fields(spec, i)
        kernel, = normalize_tuple(kernel, 1, f"spec {i} kernel")
        stride, = normalize_tuple(stride, 1, f"spec {i} stride")
        dilation, = normalize_tuple(dilation, 1, f"spec {i} dilation")
        (before, after), = _padding_1d(padding, size, kernel, stride, dilation, f"spec {i}")
        r, j, start, size = _step(r, j, start, size, kernel, stride, (before, after), dilation)
        table.append(dict(name=name or f"layer_{i + 1}", class_name="Window", kernel=kernel,
                          stride=stride, padding=before, dilation=dilation, size=size,
                          j=j, r=r, start=start))
    return table


def _padding_1d(padding, size, kernel, stride, dilation, where):
    if isinstance(padding, str) and padding.lower() == "same" and size is None:
        if stride != 1:
            raise ValueError(f"{where}: 'same' padding with stride {stride} depends on the input "
                             f"size; pass input_size=")
        size = 1  # with stride 1 the total padding is F_eff − 1 whatever the size
    if isinstance(padding, (list, tuple)) and len(padding) == 2:
        padding = (tuple(padding),)
    return resolve_padding(padding, (size or 1,), kernel, stride, dilation, name=where)


def _step(r, j, start, size, kernel, stride, pad, dilation):
    """One window layer along one axis (the recurrences in the module docstring)."""
    before, after = pad
    f_eff = dilation * (kernel - 1) + 1
    new_size = None if size is None else conv_output_size(size, kernel, (before, after), stride,
                                                          dilation)
    start = start + ((f_eff - 1) / 2 - before) * j
    return r + (f_eff - 1) * j, j * stride, float(start), new_size


# ----------------------------------------------------------------- a model, per axis
def _topological_nodes(model):
    """Nodes of a graph model from its inputs to its outputs."""
    from ..layers.symbolic import topological_nodes
    outputs = model.outputs
    if not outputs:
        raise ValueError(f"receptive_field needs a functional or built Sequential model; "
                         f"'{getattr(model, 'name', model)}' has no symbolic graph (give the "
                         f"first layer input_shape= or start from deepsheet.Input)")
    return topological_nodes(outputs)


def _field(state, key):
    return tuple(s[key] for s in state["axes"])


def _record(name, layer, state, window=None):
    kernel = stride = padding = dilation = None
    if window is not None:
        kernel, stride, padding, dilation = window
    return dict(name=name, class_name=type(layer).__name__, kernel=kernel, stride=stride,
                padding=padding, dilation=dilation, size=_field(state, "size"),
                j=_field(state, "j"), r=_field(state, "r"), start=_field(state, "start"))


def _collapse(state):
    """A layer that mixes every position (Flatten, global pooling): the field is the whole
    extent the previous feature map covered."""
    axes = []
    for a in state["axes"]:
        if a["size"] is None:
            axes.append(dict(r=None, j=a["j"], start=None, size=1))
        elif a["r"] is None:
            axes.append(dict(a, size=1))
        else:
            axes.append(dict(r=a["r"] + (a["size"] - 1) * a["j"], j=a["j"],
                             start=a["start"] + (a["size"] - 1) / 2 * a["j"], size=1))
    return dict(axes=axes, spatial=False)


def _merge(states, layer):
    """Branches meeting: keep, per axis, the branch with the largest field."""
    axes = []
    for per_axis in zip(*[s["axes"] for s in states]):
        known = [a for a in per_axis if a["r"] is not None]
        if len(known) < len(per_axis):
            axes.append(dict(per_axis[0], r=None, start=None))
            continue
        best = max(known, key=lambda a: (a["r"], a["j"]))
        axes.append(dict(best))
    return dict(axes=axes, spatial=all(s["spatial"] for s in states))


def _window_of(layer):
    kernel = getattr(layer, "kernel_size", None)
    if kernel is None:
        kernel = getattr(layer, "pool_size", None)
    return kernel


def _spatial(shape):
    return tuple(shape[1:-1])


def _apply_layer(layer, node, states, records, prefix):
    """Propagate the per-axis state through one node; append records; return output states."""
    name = prefix + layer.name
    if _is_graph_model(layer):
        inner = _propagate(layer, states, records, prefix=name + "/")
        return inner
    state = states[0] if len(states) == 1 else _merge(states, layer)
    out_shape = node.outputs[0].shape
    in_shape = node.inputs[0].shape
    n = len(state["axes"])
    cls = type(layer).__name__

    if not state["spatial"]:
        records.append(_record(name, layer, state))
        return [state] * len(node.outputs)
    if len(out_shape) - 2 < n or (len(out_shape) - 2 == n and cls.startswith("Global")):
        new = _collapse(state)
        records.append(_record(name, layer, new))
        return [new] * len(node.outputs)

    # Sizes carried along (they know input_size=), else those of the symbolic shape.
    sizes = tuple(a["size"] if a["size"] is not None else d
                  for a, d in zip(state["axes"], _spatial(in_shape)))
    kernel = _window_of(layer)
    if getattr(layer, "data_format", None) == "channels_first":
        raise ValueError(f"receptive_field: layer '{name}' ({cls}) is channels_first; only "
                         f"channels-last models (N, H, W, C) are supported")
    if "Transpose" in cls or cls.startswith("UpSampling"):
        raise ValueError(f"receptive_field: layer '{name}' ({cls}) upsamples; fractional jumps "
                         f"are not supported (use it on the encoder part of the model)")
    if kernel is not None:
        kernel = normalize_tuple(kernel, n, f"layer '{name}' kernel")
        strides = getattr(layer, "strides", None) or kernel
        strides = normalize_tuple(strides, n, f"layer '{name}' strides")
        dilation = normalize_tuple(getattr(layer, "dilation_rate", 1) or 1, n,
                                   f"layer '{name}' dilation_rate")
        pads = _model_padding(getattr(layer, "padding", "valid"), sizes, kernel, strides,
                              dilation, name)
        axes = []
        for a, k, s, p, d in zip(state["axes"], kernel, strides, pads, dilation):
            if a["r"] is None:
                r = j = start = None
                size = None if a["size"] is None else conv_output_size(a["size"], k, p, s, d)
            else:
                r, j, start, size = _step(a["r"], a["j"], a["start"], a["size"], k, s, p, d)
            axes.append(dict(r=r, j=j, start=start, size=size))
        new = dict(axes=axes, spatial=True)
        window = (kernel, strides, tuple(p[0] for p in pads), dilation)
    elif cls.endswith(("Padding1D", "Padding2D")) or cls.startswith("Cropping"):
        spec = getattr(layer, "cropping" if cls.startswith("Cropping") else "padding")
        pads = resolve_padding(spec, tuple(s or 1 for s in sizes), 1, 1, 1, name=name)
        sign = -1 if cls.startswith("Cropping") else 1
        axes = []
        for a, (before, after) in zip(state["axes"], pads):
            size = None if a["size"] is None else a["size"] + sign * (before + after)
            start = None if a["start"] is None else a["start"] - sign * before * a["j"]
            axes.append(dict(a, size=size, start=start))
        new = dict(axes=axes, spatial=True)
        window = (None, None, tuple(sign * p[0] for p in pads), None)
    else:
        new, window = state, None
    expected = _spatial(out_shape)
    got = tuple(a["size"] for a in new["axes"])
    if any(e is not None and g is not None and e != g for e, g in zip(expected, got)) \
            or len(expected) != n:
        raise ValueError(f"receptive_field: layer '{name}' ({cls}) maps spatial size {sizes} to "
                         f"{expected}, which the window arithmetic cannot explain (computed "
                         f"{got}); this kind of layer is not supported")
    records.append(_record(name, layer, new, window))
    return [new] * len(node.outputs)


def _model_padding(padding, sizes, kernel, strides, dilation, name):
    if isinstance(padding, str) and padding.lower() == "causal":
        # Conv1D's causal padding: all F_eff − 1 zeros before, so no unit sees the future.
        return tuple((d * (k - 1), 0) for k, d in zip(kernel, dilation))
    if isinstance(padding, str) and padding.lower() == "same" and any(s is None for s in sizes):
        if any(s != 1 for s in strides):
            raise ValueError(f"receptive_field: layer '{name}' uses 'same' padding with stride "
                             f"{strides} on an input of unknown size {sizes}; pass input_size=")
    return resolve_padding(padding, tuple(s or 1 for s in sizes), kernel, strides, dilation,
                           name=f"layer '{name}' padding")


def _is_graph_model(layer):
    return getattr(layer, "_graph", False) and getattr(layer, "outputs", None)


def _propagate(model, input_states, records, prefix=""):
    from ..layers.symbolic import InputLayer
    states = {}
    for t, s in zip(model.inputs, input_states):
        states[id(t)] = s
    for node in _topological_nodes(model):
        layer = node.layer
        if isinstance(layer, InputLayer):
            if id(node.outputs[0]) not in states:
                raise ValueError(f"receptive_field: input '{layer.name}' is not among the "
                                 f"model's inputs")
            if not prefix:
                records.append(_record(prefix + layer.name, layer, states[id(node.outputs[0])]))
            continue
        outs = _apply_layer(layer, node, [states[id(t)] for t in node.inputs], records, prefix)
        for t, s in zip(node.outputs, outs):
            states[id(t)] = s
    return [states[id(t)] for t in model.outputs]


def receptive_field(model, input_size=None):
    """Receptive field, jump, start and feature-map size of every layer of ``model``.

    The recurrences of ``receptive_field_from_specs`` are applied per spatial axis along
    the model's graph (channels-last images (N, H, W, C) or sequences (N, T, C)); layers
    with a ``kernel_size`` or ``pool_size`` (convolutions, depthwise and separable
    convolutions, pooling) are windows, padding and cropping layers shift the start,
    layers that keep the spatial shape (activations, normalization, dropout, 1x1 Dense on
    channels) pass it through, and a layer that removes the spatial axes (Flatten, global
    pooling) covers everything its input covered. Where branches meet the largest field wins.
    The field may be larger than the image: the part outside lies on the zero padding.

    Formula
    -------
        j_out = j_in·S,  r_out = r_in + (d·(F − 1))·j_in,
        start_out = start_in + (d·(F − 1)/2 − P_before)·j_in,  n_out = conv_output_size(...)

    Parameters
    ----------
    model : Model or Sequential
        A model with a symbolic graph (built from ``deepsheet.Input`` or with a known
        ``input_shape``). Nested graph models are expanded (``outer/inner`` names).
    input_size : int or tuple of int, optional
        Spatial input size, for models whose ``Input`` leaves it ``None``.

    Returns
    -------
    ReceptiveFieldTable
        One record per layer (the input first) with per-axis tuples ``r``, ``j``,
        ``start``, ``size``; ``print(table)`` shows them aligned.

    Examples
    --------
    >>> import deepsheet as ds                                              # doctest: +SKIP
    >>> from deepsheet import layers                                        # doctest: +SKIP
    >>> x = ds.Input((32, 32, 3))                                           # doctest: +SKIP
    >>> h = layers.Conv2D(8, 3, padding="same")(x)                          # doctest: +SKIP
    >>> h = layers.MaxPooling2D(2)(layers.Conv2D(8, 3, padding="same")(h))  # doctest: +SKIP
    >>> receptive_field(ds.Model(x, h)).column("r")                         # doctest: +SKIP
    [(1, 1), (3, 3), (5, 5), (6, 6)]
    """
    inputs = getattr(model, "inputs", None)
    if not inputs:
        _topological_nodes(model)  # raises the explanatory error
    first = inputs[0].shape
    n = len(first) - 2
    if n < 1:
        raise ValueError(f"receptive_field needs image (N, H, W, C) or sequence (N, T, C) "
                         f"inputs; model '{model.name}' takes {first}")
    states = []
    for t in inputs:
        sizes = list(_spatial(t.shape))
        if input_size is not None:
            given = normalize_tuple(input_size, n, "input_size")
            sizes = [g if s is None else s for s, g in zip(sizes, given)]
            if tuple(sizes) != given:
                raise ValueError(f"input_size {given} disagrees with the model's input "
                                 f"shape {t.shape}")
        states.append(dict(axes=[dict(r=1, j=1, start=0.0, size=s) for s in sizes],
                           spatial=len(sizes) == n))
    records = ReceptiveFieldTable()
    _propagate(model, states, records)
    return records

