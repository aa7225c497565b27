"""Symbolic tensors and graph nodes: what ``Input(shape)`` returns and what layers record.

A ``KerasTensor`` carries only a shape (batch axis ``None``) and a dtype, plus the node
that produced it. Calling a layer on symbolic tensors builds the layer for that shape,
computes the output shape and records a ``Node(layer, inputs, outputs)``; a functional
``Model(inputs, outputs)`` walks these nodes back from its outputs to its inputs.
"""
from __future__ import annotations

import numpy as np

from .base import Layer


class KerasTensor:
    """A placeholder for a batch of data: shape (batch axis None), dtype, and its producer.

    ``node`` is the ``Node`` that created it and ``index`` its position among that node's
    outputs; for an ``Input`` the node belongs to an ``InputLayer``.
    """

    __slots__ = ("shape", "dtype", "node", "index", "name")
    __array_ufunc__ = None

    def __init__(self, shape, dtype="float32", node=None, index=0, name=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = str(np.dtype(dtype))
        self.node = node
        self.index = index
        self.name = name

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


class Node:
    """One call of ``layer`` on symbolic ``inputs`` producing symbolic ``outputs``."""

    __slots__ = ("layer", "inputs", "outputs", "kwargs", "list_input")

    def __init__(self, layer, inputs, outputs, kwargs=None, list_input=False):
        self.layer = layer
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.kwargs = dict(kwargs or {})
        self.list_input = list_input

    @property
    def parent_nodes(self):
        return [t.node for t in self.inputs if t.node is not None]


class InputLayer(Layer):
    """The layer behind ``Input``: it has no weights and passes data through."""

    def __init__(self, input_shape=None, batch_size=None, dtype="float32", name=None,
                 sparse=False, **kwargs):
        kwargs.pop("trainable", None)
        super().__init__(name=name, dtype=dtype, **kwargs)
        if input_shape is None:
            raise ValueError("InputLayer needs input_shape (the shape of one sample)")
        self._batch_input_shape = (batch_size,) + tuple(
            None if d is None else int(d) for d in input_shape)
        self.built = True
        out = KerasTensor(self._batch_input_shape, dtype, name=self.name)
        node = Node(self, [], [out])
        out.node = node
        self._inbound_nodes.append(node)

    def call(self, inputs, training=False):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {"name": self.name, "input_shape": list(self._batch_input_shape[1:]),
                "batch_size": self._batch_input_shape[0], "dtype": self.dtype}


def Input(shape, batch_size=None, name=None, dtype="float32"):  # noqa: N802 - Keras's name
    """A symbolic input of ``shape`` (one sample; the batch axis is implicit).

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


def call_symbolic(layer, inputs, **kwargs):
    """Record ``layer(inputs)`` on symbolic tensors; returns symbolic output(s)."""
    list_input = isinstance(inputs, (list, tuple))
    flat = list(inputs) if list_input else [inputs]
    for x in flat:
        if not isinstance(x, KerasTensor):
            raise TypeError(f"layer '{layer.name}' got a mix of symbolic and concrete inputs "
                            f"({type(x).__name__}); wrap constants in an Input or a layer")
    shape = [x.shape for x in flat] if list_input else flat[0].shape
    layer._maybe_build(shape)
    out_shape = layer.compute_output_shape(shape)
    multi = isinstance(out_shape, list)
    shapes = out_shape if multi else [out_shape]
    # Integer inputs (token ids) feed layers whose outputs are float.
    dtype = "float32" if flat[0].dtype.startswith(("int", "uint")) else flat[0].dtype
    outputs = [KerasTensor(s, dtype, index=i, name=layer.name) for i, s in enumerate(shapes)]
    node = Node(layer, flat, outputs, kwargs, list_input)
    for o in outputs:
        o.node = node
    layer._inbound_nodes.append(node)
    return outputs if multi else outputs[0]


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
