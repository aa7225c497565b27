"""Symbolic tensors and graph nodes: what ``Input(shape)`` returns and what layers record.

A ``KerasTensor`` carries only a shape (batch axis ``None``) and a dtype, plus the node
that produced it. Calling a layer on symbolic tensors builds the layer for that shape,
computes the output shape and records a ``Node(layer, inputs, outputs)``; a functional
``Model(inputs, outputs)`` walks these nodes back from its outputs to its inputs.
"""
from __future__ import annotations

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor
from ._call import check_keywords
from .base import Layer


STRING = "string"  # the dtype of a text input: Input(shape=(1,), dtype="string")


def is_string_dtype(dtype):
    """True for the names and types of text: "string", "str", str, bytes, object, U/S dtypes."""
    if dtype is str or dtype is bytes or dtype is object:
        return True
    if isinstance(dtype, str) and dtype in (STRING, "str", "object"):
        return True
    try:
        return np.dtype(dtype).kind in "USO"
    except TypeError:
        return False


def dtype_name(dtype):
    """``dtype``'s name as symbolic tensors and configs hold it ("string" for text)."""
    return STRING if is_string_dtype(dtype) else str(np.dtype(dtype))


class KerasTensor:
    """A placeholder for a batch of data: shape (batch axis None), dtype, and its producer.

    ``node`` is the ``Node`` that created it and ``index`` its position among that node's
    outputs; for an ``Input`` the node belongs to an ``InputLayer``. ``_keras_mask`` is the
    symbolic boolean (batch, time) mask of the data it stands for, or None (see ``Layer``).
    """

    __slots__ = ("shape", "dtype", "node", "index", "name", "_keras_mask")
    __array_ufunc__ = None

    def __init__(self, shape, dtype="float32", node=None, index=0, name=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = dtype_name(dtype)
        self.node = node
        self.index = index
        self.name = name
        self._keras_mask = None

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def layer(self):
        return self.node.layer if self.node is not None else None

    def __repr__(self):
        src = f", layer={self.node.layer.name!r}" if self.node is not None else ""
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}{src}>"

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other

    def __bool__(self):
        raise TypeError("a symbolic tensor has no value; build a Model and call it on data")


class Slot:
    """Where the ``index``-th symbolic input of a node sits inside the call's arguments."""

    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index

    def __repr__(self):
        return f"Slot({self.index})"


def map_structure(fn, obj):
    """``obj`` with ``fn`` applied to every leaf of its lists, tuples and dicts."""
    if isinstance(obj, (list, tuple)):
        return type(obj)(map_structure(fn, v) for v in obj)
    if isinstance(obj, dict):
        return {k: map_structure(fn, v) for k, v in obj.items()}
    return fn(obj)


def fill(template, values):
    """A call's arguments from its template: each ``Slot(i)`` becomes ``values[i]``."""
    return map_structure(lambda v: values[v.index] if type(v) is Slot else v, template)


class Node:
    """One call of ``layer`` on symbolic ``inputs`` producing symbolic ``outputs``.

    ``inputs`` are all symbolic arguments of the call, flattened in order (positional, then
    keyword); ``args`` and ``kwargs`` are the call's arguments with each of them replaced by
    a ``Slot`` (its index in ``inputs``), so the call can be replayed on data.
    """

    __slots__ = ("layer", "inputs", "outputs", "args", "kwargs")

    def __init__(self, layer, inputs, outputs, args=None, kwargs=None):
        self.layer = layer
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.args = tuple(args) if args is not None else (
            (Slot(0),) if self.inputs else ())
        self.kwargs = dict(kwargs or {})

    @property
    def simple(self):
        """True for the common call ``layer(x)`` on one symbolic tensor."""
        return (not self.kwargs and len(self.args) == 1 and type(self.args[0]) is Slot)


class InputLayer(Layer):
    """The layer behind ``Input``: it has no weights and passes data through."""

    _blas_team_ok = True  # computes nothing

    def __init__(self, input_shape=None, batch_size=None, dtype="float32", name=None,
                 sparse=False, **kwargs):
        kwargs.pop("trainable", None)
        text = is_string_dtype(dtype)
        super().__init__(name=name, dtype=None if text else dtype, **kwargs)
        if text:  # raw text flows through to a TextVectorization (no weights here)
            self.dtype, self._string_input = STRING, True
        if input_shape is None:
            raise ValueError("InputLayer needs input_shape (the shape of one sample)")
        self._batch_input_shape = (batch_size,) + tuple(
            None if d is None else int(d) for d in input_shape)
        self.built = True
        out = KerasTensor(self._batch_input_shape, self.dtype, name=self.name)
        node = Node(self, [], [out])
        out.node = node
        self._inbound_nodes.append(node)

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {"name": self.name, "input_shape": list(self._batch_input_shape[1:]),
                "batch_size": self._batch_input_shape[0], "dtype": self.dtype}


def Input(shape, batch_size=None, name=None, dtype="float32"):  # noqa: N802 - Keras's name
    """A symbolic input of ``shape`` (one sample; the batch axis is implicit).

    ``dtype="string"`` makes a text input (Keras's way): ``shape=(1,)`` or ``()``, one
    string per sample, fed to a ``TextVectorization`` layer, so the model takes raw text
    (``model.predict(["a great film"])``) and saves its vocabulary with it.

    Examples
    --------
    >>> import deepsheet as ds
    >>> x = ds.Input((784,))
    >>> x.shape
    (None, 784)
    """
    if isinstance(shape, int):
        shape = (shape,)
    layer = InputLayer(input_shape=tuple(shape), batch_size=batch_size, dtype=dtype, name=name)
    return layer._inbound_nodes[0].outputs[0]


def _is_text_list(x):
    """A Python list/tuple of strings: one text input's batch, not a list of inputs."""
    return isinstance(x, (list, tuple)) and bool(x) and all(isinstance(v, (str, bytes)) for v in x)


def text_or_tensor(x):
    """A layer's eager input where text may come: string arrays stay arrays, others Tensors."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (str, bytes)):
        return np.asarray([x], dtype=object)  # one text: a batch of one
    arr = np.asarray(x, dtype=object) if _is_text_list(x) else \
        np.asarray(x) if isinstance(x, (list, tuple)) else x
    if isinstance(arr, np.ndarray) and arr.dtype.kind in "USO":
        return arr
    from .base import to_tensor_input
    return to_tensor_input(x)


def is_symbolic(args, kwargs):
    """True when any argument of a layer call (at any depth) is a ``KerasTensor``."""
    found = []

    def look(v):
        if isinstance(v, KerasTensor):
            found.append(v)
        return v
    map_structure(look, (args, kwargs))
    return bool(found)


def _concrete(t, unknown=1):
    """A stand-in for the symbolic tensor ``t``: an unknown batch becomes 1, other unknown
    sizes ``unknown``."""
    def sizes(shape):
        return tuple((1 if i == 0 else unknown) if d is None else d for i, d in enumerate(shape))

    if t.dtype == STRING:
        return np.full(sizes(t.shape), "", dtype=object)
    out = Tensor(np.zeros(sizes(t.shape), dtype=t.dtype))
    if t._keras_mask is not None:
        out._keras_mask = np.ones(sizes(t._keras_mask.shape), dtype=bool)
    return out


def _unknown_dims(shape, other):
    """``shape`` with None wherever a run on other unknown sizes gave ``other`` a different
    size (a time axis of length None stays None instead of the stand-in's length)."""
    if other is None or len(other) != len(shape):
        return tuple(shape)
    return tuple(None if a != b else a for a, b in zip(shape, other))


def _symbolic_mask(mask, other=None):
    if mask is None:
        return None
    mask = mask.data if isinstance(mask, Tensor) else mask
    shape = (None,) + tuple(mask.shape[1:])
    if other is not None:
        other = other.data if isinstance(other, Tensor) else other
        shape = _unknown_dims(shape, (None,) + tuple(other.shape[1:]))
    return KerasTensor(shape, "bool")


def call_symbolic(layer, args, kwargs, training=None, mask=None):
    """Record ``layer(*args, **kwargs)`` on symbolic tensors; returns symbolic output(s).

    Every symbolic argument becomes an input edge of the node. Output shapes come from
    ``compute_output_shape`` for the common one-tensor call, otherwise (several symbolic
    arguments, keywords, masks) from running the layer once on a batch of zeros.
    """
    first = args[0]
    lead = list(first) if isinstance(first, (list, tuple)) else [first]
    for x in lead:
        if not isinstance(x, KerasTensor):
            raise TypeError(f"layer '{layer.name}' got a mix of symbolic and concrete inputs "
                            f"({type(x).__name__}); wrap constants in an Input or a layer")
    check_keywords(layer, kwargs)
    kwargs = dict(kwargs)
    if training is not None:
        kwargs["training"] = training
    if mask is not None:
        kwargs["mask"] = mask
    flat = []

    def slot(v):
        if isinstance(v, KerasTensor):
            flat.append(v)
            return Slot(len(flat) - 1)
        return v
    t_args = map_structure(slot, tuple(args))
    t_kwargs = map_structure(slot, kwargs)
    layer._build_for_call(args, {k: v for k, v in kwargs.items()
                                 if k not in ("training", "mask")})

    own_shape = type(layer).compute_output_shape is not Layer.compute_output_shape
    lead_mask = lead[0]._keras_mask
    if len(flat) == len(lead) and len(args) == 1 and not kwargs and own_shape and \
            type(layer)._call_spec.base_mask:
        # The common call: shapes by arithmetic, masks passed through or not.
        shape = [x.shape for x in lead] if isinstance(first, (list, tuple)) else first.shape
        out_shape = layer.compute_output_shape(shape)
        multi = isinstance(out_shape, (list, tuple)) and bool(out_shape) and \
            isinstance(out_shape[0], (list, tuple))
        shapes = list(out_shape) if multi else [out_shape]
        # Integer inputs (token ids) feed layers whose outputs are float; text layers say.
        dtype = lead[0].dtype
        if hasattr(layer, "compute_output_dtype"):
            dtype = layer.compute_output_dtype(dtype)
        elif dtype.startswith(("int", "uint")):
            dtype = "float32"
        dtypes = [dtype] * len(shapes)
        masks = [lead_mask if layer.supports_masking else None] * len(shapes)
        kind = list
    else:
        concrete = [_concrete(t) for t in flat]
        with no_grad():
            result = layer(*fill(t_args, concrete), **fill(t_kwargs, concrete))
        multi = isinstance(result, (list, tuple))
        outs = list(result) if multi else [result]
        kind = type(result) if multi else list
        batch = lead[0].shape[0]
        shapes = [(batch,) + tuple(o.shape[1:]) for o in outs]
        dtypes = [str(o.data.dtype) for o in outs]
        others = [None] * len(outs)
        if any(d is None for t in flat for d in t.shape[1:]):
            # Unknown sizes besides the batch (a time axis of None): a second run on
            # other stand-in sizes tells which output sizes follow them.
            with no_grad():
                again = layer(*fill(t_args, [_concrete(t, 2) for t in flat]),
                              **fill(t_kwargs, [_concrete(t, 2) for t in flat]))
            again = list(again) if multi else [again]
            shapes = [_unknown_dims(s, (batch,) + tuple(o.shape[1:]))
                      for s, o in zip(shapes, again)]
            others = [o._keras_mask for o in again]
        masks = [_symbolic_mask(o._keras_mask, m) for o, m in zip(outs, others)]
    outputs = [KerasTensor(s, d, index=i, name=layer.name)
               for i, (s, d) in enumerate(zip(shapes, dtypes))]
    node = Node(layer, flat, outputs, t_args, t_kwargs)
    for o, m in zip(outputs, masks):
        o.node = node
        o._keras_mask = m
    layer._inbound_nodes.append(node)
    return kind(outputs) if multi else outputs[0]


def topological_nodes(outputs):
    """Nodes from the inputs to ``outputs`` (symbolic tensors), each after the nodes that feed it.

    An iterative depth-first post-order, so deep graphs do not hit the recursion limit;
    nodes reached along several paths appear once.
    """
    order, seen = [], set()
    stack = [(t.node, False) for t in reversed(outputs)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for t in reversed(node.inputs):
            if t.node is not None and id(t.node) not in seen:
                stack.append((t.node, False))
    return order
