"""``Sequential``: a plain stack of layers, each feeding the next.

``Sequential([...])`` or ``.add(layer)``. When the input shape is known (``input_shape=``
on the first layer, or a ``deepsheet.Input`` first) the model is built at once and its
symbolic graph exists (``summary()``, ``model.input``, sub-models on intermediate
outputs); otherwise it builds on the first batch of data, as Keras does. Running it is a
direct loop over the layers (no graph bookkeeping on the hot path); consecutive plain
``Dense`` layers with ReLU or no activation run as one ``dense_stack`` node (the same
numbers, less Python per step).
"""
from __future__ import annotations

import numpy as np

from ..functional.dense_stack import _apply as dense_stack_node
from ..layers.base import Layer, deserialize, serialize
from ..layers.symbolic import Input, InputLayer, KerasTensor
from ..tensor import Tensor
from . import _dense_step
from ._dense_step import dense_layers_end
from .model import Model


def _dense_run(seq, i, x):
    """End of the run of plain ``Dense`` layers starting at ``seq[i]`` that ``dense_stack``
    computes exactly as the layers would (i itself when there is none; see
    ``dense_layers_end``); ``x`` a float32 Tensor without a mask."""
    if type(x) is not Tensor or x._keras_mask is not None or x.data.dtype != np.float32:
        return i
    return dense_layers_end(seq, i, x.data.shape[-1] if x.data.ndim >= 2 else None)


class Sequential(Model):
    """A linear stack of layers (Keras's ``Sequential``).

    Formula::

        y = f_L(… f_2(f_1(x)))   (layer l: a^{[l]} = f_l(a^{[l−1]}), a^{[0]} = x)

    Parameters
    ----------
    layers : list of Layer, optional
        The first may be a ``deepsheet.Input(shape)``, or a layer given ``input_shape=``.
    name : str, optional
    trainable : bool

    Examples
    --------
    >>> import deepsheet as ds
    >>> from deepsheet import layers
    >>> model = ds.Sequential([
    ...     layers.Dense(256, activation="relu", input_shape=(784,)),
    ...     layers.Dense(10, activation="softmax"),
    ... ])
    >>> model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    >>> model.output.shape
    (None, 10)
    """

    def __init__(self, layers=None, name=None, trainable=True, **kwargs):
        Model.__init__(self, name=name, trainable=trainable, **kwargs)
        self._seq = []
        self._input_tensor = None
        for layer in layers or []:
            self.add(layer)

    def __setattr__(self, key, value):
        # The stack is tracked through add(); attribute assignment of layers is not a stack.
        object.__setattr__(self, key, value)

    # ------------------------------------------------------------ building the stack
    def add(self, layer):
        """Append ``layer`` (or start with an ``Input``); builds the graph when shapes are known."""
        if isinstance(layer, KerasTensor):
            if layer.node is None or not isinstance(layer.node.layer, InputLayer):
                raise TypeError("Sequential.add takes layers or a deepsheet.Input(...) tensor")
            layer = layer.node.layer
        if isinstance(layer, InputLayer):
            if self._seq or self._input_tensor is not None:
                raise ValueError(f"Sequential '{self.name}': an Input can only come first")
            self._input_tensor = layer._inbound_nodes[0].outputs[0]
            self._input_layer = layer
            self._rebuild()
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential '{self.name}'.add expects a Layer, got "
                            f"{type(layer).__name__}")
        if any(layer.name == l.name for l in self._seq):
            raise ValueError(f"Sequential '{self.name}' already has a layer named "
                             f"'{layer.name}'; layer names must be unique")
        if not self._seq and self._input_tensor is None and layer._batch_input_shape is not None:
            shape = layer._batch_input_shape
            self._input_tensor = Input(shape[1:], batch_size=shape[0])
            self._input_layer = self._input_tensor.node.layer
        self._seq.append(layer)
        self._layers.append(layer)
        if self._input_tensor is not None:
            if self._graph:
                self._extend_graph(layer)
            else:
                self._rebuild()
        elif self.built:
            self.built = False

    def pop(self):
        """Remove and return the last layer."""
        if not self._seq:
            raise IndexError(f"Sequential '{self.name}' has no layers to pop")
        layer = self._seq.pop()
        self._layers.remove(layer)
        if self._input_tensor is not None:
            self._rebuild(reuse=True)
        return layer

    def _extend_graph(self, layer):
        out = layer(self._outputs[0])
        if isinstance(out, list):
            raise ValueError(f"layer '{layer.name}' has several outputs; a Sequential model "
                             "needs one output per layer (use the functional Model)")
        self._set_graph(out)

    def _rebuild(self, reuse=False):
        """Connect every layer on the symbolic input (or reuse their existing nodes)."""
        x = self._input_tensor
        for layer in self._seq:
            if reuse:
                node = next((n for n in layer._inbound_nodes if n.inputs and n.inputs[0] is x),
                            None)
                if node is not None:
                    x = node.outputs[0]
                    continue
            x = layer(x)
        self._set_graph(x)

    def _set_graph(self, output):
        seq, layers_list = self._seq, self._layers
        self._init_graph(self._input_tensor, output)
        # _init_graph takes the layers from the graph; keep the stack order and tracking.
        object.__setattr__(self, "_layers", layers_list)
        self._seq = seq

    def build(self, input_shape=None):
        """Build for inputs of ``input_shape`` (batch axis included, e.g. ``(None, 784)``)."""
        if self._graph:
            return
        if input_shape is None:
            raise ValueError(f"Sequential '{self.name}'.build needs input_shape")
        shape = tuple(input_shape)
        text = bool(self._seq) and self._seq[0]._string_input
        self._input_tensor = Input(shape[1:], dtype="string" if text else "float32")
        self._input_layer = self._input_tensor.node.layer
        self._rebuild()

    # ------------------------------------------------------------ running
    def call(self, inputs, training=None):
        x, seq, i = inputs, self._seq, 0
        while i < len(seq):
            end = _dense_run(seq, i, x)
            if end - i >= 2:  # a run of plain Dense layers: one graph node, same numbers
                run = seq[i:end]
                x = dense_stack_node(x, [l.kernel for l in run], [l.bias for l in run],
                                     [l._fused is not None for l in run])
                i = end
                continue
            layer = seq[i]
            # A layer may run with the next one as one fused node (Conv2D + MaxPooling2D:
            # ``Conv2D._call_pooled``); it answers None where it does not.
            fuse = getattr(layer, "_call_pooled", None)
            if fuse is not None and i + 1 < len(seq) and type(x) is Tensor \
                    and x._keras_mask is None:
                y = fuse(x, seq[i + 1])
                if y is not None:
                    x, i = y, i + 2
                    continue
            x = layer(x, training=training)
            i += 1
        return x

    def __call__(self, *args, **kwargs):
        return Layer.__call__(self, *args, **kwargs)

    def _dense_step(self, xs):
        """The forward pass of ``fit``'s step without graph nodes for the layers where the
        whole model is one run of plain Dense layers (``models._dense_step``), else None."""
        cls = type(self)
        if cls.call is not Sequential.call or cls.__call__ is not Sequential.__call__:
            return None
        return _dense_step.begin(self, xs)

    def compute_output_shape(self, input_shape):
        if self._graph:
            return Model.compute_output_shape(self, input_shape)
        shape = tuple(input_shape)
        for layer in self._seq:
            layer._maybe_build(shape)
            shape = layer.compute_output_shape(shape)
        return shape

    @property
    def layers(self):
        """The stacked layers (the Input is not one of them, as in Keras)."""
        return list(self._seq)

    # ------------------------------------------------------------ config
    def get_config(self):
        layers = []
        if self._input_tensor is not None:
            layers.append(serialize(self._input_layer))
        layers.extend(serialize(layer) for layer in self._seq)
        return {"name": self.name, "trainable": self._trainable, "layers": layers}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        unknown = set(config) - {"name", "trainable", "layers"}
        if unknown:
            raise ValueError(f"Sequential config: unknown keys {sorted(unknown)}")
        model = cls(name=config.get("name"))
        for spec in config.get("layers", []):
            model.add(deserialize(spec))
        if not config.get("trainable", True):
            model.trainable = False
        return model
