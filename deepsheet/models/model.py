"""The functional ``Model``: a graph of layers from symbolic inputs to outputs.

``Model(inputs, outputs)`` walks back from the output ``KerasTensor``s through the nodes
that layers recorded when called on symbolic tensors (``layers/symbolic.py``), down to the
``Input``s. The nodes are sorted once into topological order and compiled into a flat
execution plan (slot indices instead of dictionaries), so running the model on data is
one short Python loop: each node's layer applied eagerly to the values of its inputs.

A ``Model`` is itself a ``Layer``: it can be called on data, on symbolic tensors (a model
used as a layer inside another model) and frozen with ``trainable = False``. Layers shared
between several nodes own their weights once. ``get_config``/``from_config`` describe the
graph Keras-style (each layer's config plus its inbound node references) through the one
layer registry. Without ``inputs``/``outputs`` a ``Model`` subclass defines ``call``
itself (Keras's model subclassing); its sublayers are tracked as attributes.
"""
from __future__ import annotations

from ..layers.base import Layer, deserialize, serialize
from ..layers.symbolic import (STRING, InputLayer, KerasTensor, Slot, fill, map_structure,
                               topological_nodes)
from .training import Trainer


def _flatten(x, what):
    items = list(x) if isinstance(x, (list, tuple)) else [x]
    for t in items:
        if not isinstance(t, KerasTensor):
            raise TypeError(f"Model {what} must be symbolic tensors (from deepsheet.Input or "
                            f"from calling layers on them), got {type(t).__name__}")
    return items


def _node_config(layer, node, ref):
    """One inbound node as JSON: the refs of its symbolic inputs and the call's arguments,
    each symbolic one written ``{"__tensor__": i}`` (its position among the refs)."""
    def encode(v):
        if type(v) is Slot:
            return {"__tensor__": v.index}
        if v is None or isinstance(v, (str, bool, int, float)):
            return v
        raise ValueError(f"layer '{layer.name}' was called with a {type(v).__name__} argument "
                         "that a config cannot hold; pass arrays as deepsheet.Input tensors")
    return {"args": [ref(t) for t in node.inputs],
            "call": {"args": map_structure(encode, list(node.args)),
                     "kwargs": map_structure(encode, dict(node.kwargs))}}


def _node_call(node, ins):
    """``(args, kwargs)`` to replay an inbound node of a config on symbolic tensors ``ins``."""
    call = node.get("call")
    if call is None:  # files written before calls had several arguments
        first = ins if node.get("list_input") else ins[0]
        return (first,), dict(node.get("kwargs", {}))

    def decode(v):
        if isinstance(v, dict) and set(v) == {"__tensor__"}:
            i = v["__tensor__"]
            if not isinstance(i, int) or not 0 <= i < len(ins):
                raise ValueError(f"inbound node refers to symbolic input {i!r} of {len(ins)}")
            return ins[i]
        if isinstance(v, dict):
            return {k: decode(x) for k, x in v.items()}
        if isinstance(v, list):
            return [decode(x) for x in v]
        return v
    return tuple(decode(a) for a in call.get("args", [])), decode(dict(call.get("kwargs", {})))


class Model(Trainer, Layer):
    """A trainable graph of layers (Keras's functional ``Model``).

    Formula::

        outputs = G(inputs): each node computes y = layer(x_1, …, x_k) from its parents,
        evaluated in topological order; gradients flow back through the same graph

    Parameters
    ----------
    inputs : KerasTensor or list of KerasTensor
        Tensors returned by ``deepsheet.Input``.
    outputs : KerasTensor or list of KerasTensor
        Symbolic results of layers called on those inputs.
    name : str, optional
    trainable : bool

    Examples
    --------
    >>> import deepsheet as ds
    >>> from deepsheet import layers
    >>> x = ds.Input((784,))
    >>> h = layers.Dense(128, activation="relu")(x)
    >>> y = layers.Dense(10)(h)
    >>> model = ds.Model(x, y)
    >>> features = ds.Model(model.input, model.layers[1].output)
    >>> features.output.shape
    (None, 128)
    """

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True, **kwargs):
        Layer.__init__(self, name=name, trainable=trainable, **kwargs)
        Trainer.__init__(self)
        self._graph = False
        self._nodes = []
        self._plan = []
        if inputs is None and outputs is None:
            return  # subclassed model: layers come from attributes, computation from call()
        if inputs is None or outputs is None:
            raise ValueError("Model needs both inputs= and outputs= (or neither, when "
                             "subclassing with a call() method)")
        self._init_graph(inputs, outputs)
        if not trainable:
            self.trainable = False

    # ------------------------------------------------------------ graph
    def _init_graph(self, inputs, outputs):
        self._nested_inputs = isinstance(inputs, (list, tuple))
        self._nested_outputs = isinstance(outputs, (list, tuple))
        self._inputs = _flatten(inputs, "inputs")
        self._outputs = _flatten(outputs, "outputs")
        for t in self._inputs:
            if t.node is None or not isinstance(t.node.layer, InputLayer):
                raise ValueError(f"Model inputs must come straight from deepsheet.Input(...); "
                                 f"{t!r} was produced by a layer")
        if len({id(t) for t in self._inputs}) != len(self._inputs):
            raise ValueError("the same Input appears twice among the model's inputs")

        nodes = topological_nodes(self._outputs)
        input_ids = {id(t) for t in self._inputs}
        for node in nodes:
            if isinstance(node.layer, InputLayer) and id(node.outputs[0]) not in input_ids:
                raise ValueError(
                    f"graph disconnected: the outputs depend on Input '{node.layer.name}' "
                    f"{node.outputs[0].shape}, which is not among the model's inputs "
                    f"({[t.name for t in self._inputs]})")
        self._nodes = nodes

        # Inputs first (in the model's input order), then layers in execution order.
        layers = [t.node.layer for t in self._inputs]
        seen = {id(l) for l in layers}
        for node in nodes:
            if id(node.layer) not in seen:
                seen.add(id(node.layer))
                layers.append(node.layer)
        names = [layer.name for layer in layers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"layer names must be unique within a model; repeated: {dupes}")
        self._graph_layers = layers  # InputLayers included (Keras's functional model.layers)
        object.__setattr__(self, "_layers", [l for l in layers if not isinstance(l, InputLayer)])

        # Execution plan: every symbolic tensor gets a slot index.
        slot = {}
        for t in self._inputs:
            slot[id(t)] = len(slot)
        plan = []
        for node in nodes:
            if isinstance(node.layer, InputLayer):
                continue
            ins = tuple(slot[id(t)] for t in node.inputs)
            outs = []
            for t in node.outputs:
                slot[id(t)] = len(slot)
                outs.append(slot[id(t)])
            # The common call layer(x) runs without rebuilding its arguments.
            template = None if node.simple else (node.args, node.kwargs)
            plan.append((node.layer, ins, tuple(outs), template))
        self._plan = plan
        self._n_slots = len(slot)
        self._input_slots = tuple(slot[id(t)] for t in self._inputs)
        self._output_slots = tuple(slot[id(t)] for t in self._outputs)
        self._graph = True
        self.built = True
        self._build_input_shape = [t.shape for t in self._inputs] if self._nested_inputs \
            else self._inputs[0].shape

    # ------------------------------------------------------------ running
    def call(self, inputs, training=None):
        if not self._graph:
            raise NotImplementedError(
                f"{type(self).__name__} has no graph: build it as Model(inputs, outputs) or "
                "define call(self, inputs, training=False) in your subclass")
        flat = inputs if isinstance(inputs, (list, tuple)) else (inputs,)
        if len(flat) != len(self._inputs):
            raise ValueError(f"model '{self.name}' has {len(self._inputs)} inputs "
                             f"({[t.name for t in self._inputs]}), got {len(flat)}")
        values = [None] * self._n_slots
        for s, x in zip(self._input_slots, flat):
            values[s] = x
        for layer, ins, outs, template in self._plan:
            if template is None:
                y = layer(values[ins[0]], training=training)
            else:
                ins = [values[i] for i in ins]
                kwargs = fill(template[1], ins)
                kwargs.setdefault("training", training)
                y = layer(*fill(template[0], ins), **kwargs)
            if len(outs) == 1:
                values[outs[0]] = y
            else:
                for s, v in zip(outs, y):
                    values[s] = v
        if self._nested_outputs:
            return [values[s] for s in self._output_slots]
        return values[self._output_slots[0]]

    def __call__(self, *args, **kwargs):
        if self._graph and args and isinstance(args[0], dict):
            args = (self._inputs_from_dict(args[0]),) + args[1:]
        return Layer.__call__(self, *args, **kwargs)

    @property
    def _string_input(self):
        """True when the model takes raw text: a string Input, or a text layer first."""
        if self._graph:
            return any(t.dtype == STRING for t in self._inputs)
        seq = getattr(self, "_seq", None)
        return bool(seq) and seq[0]._string_input

    def _inputs_from_dict(self, data):
        names = [t.name for t in self._inputs]
        missing = [n for n in names if n not in data]
        if missing:
            raise ValueError(f"model '{self.name}' inputs {missing} are missing from the dict "
                             f"(keys: {sorted(data)})")
        return [data[n] for n in names]

    def compute_output_shape(self, input_shape):
        if not self._graph:
            return Layer.compute_output_shape(self, input_shape)
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        for t, s in zip(self._inputs, shapes):
            s = tuple(s)
            if len(s) != len(t.shape) or any(a is not None and b is not None and a != b
                                             for a, b in zip(s[1:], t.shape[1:])):
                raise ValueError(f"model '{self.name}' expects input '{t.name}' of shape "
                                 f"{t.shape}, got {s}")
        batch = shapes[0][0]
        outs = [(batch,) + tuple(t.shape[1:]) for t in self._outputs]
        return outs if self._nested_outputs else outs[0]

    def build(self, input_shape):
        """Build a subclassed model by running it once on zeros of ``input_shape``."""
        if self._graph:
            return
        Layer.compute_output_shape(self, input_shape)
        self.built = True

    # ------------------------------------------------------------ structure
    @property
    def layers(self):
        if self._graph:
            return list(self._graph_layers)
        return list(self._layers)

    def get_layer(self, name=None, index=None):
        """The layer called ``name`` (or at position ``index`` of ``model.layers``)."""
        layers = self.layers
        if index is not None:
            if name is not None:
                raise ValueError("pass name or index to get_layer, not both")
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"model '{self.name}' has {len(layers)} layers, no index {index}")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named {name!r} in model '{self.name}'; layers: "
                         f"{[l.name for l in layers]}")

    @property
    def inputs(self):
        return list(self._inputs) if self._graph else None

    @property
    def outputs(self):
        return list(self._outputs) if self._graph else None

    @property
    def input(self):
        """The model's symbolic input(s) (for sub-models: ``Model(m.input, layer.output)``)."""
        if not self._graph:
            return Layer.input.fget(self)
        return list(self._inputs) if self._nested_inputs else self._inputs[0]

    @property
    def output(self):
        if not self._graph:
            return Layer.output.fget(self)
        return list(self._outputs) if self._nested_outputs else self._outputs[0]

    @property
    def output_names(self):
        return [t.node.layer.name for t in self._outputs] if self._graph else [self.name]

    @property
    def input_shape(self):
        if not self._graph:
            raise AttributeError(f"model '{self.name}' has no known input shape yet")
        shapes = [t.shape for t in self._inputs]
        return shapes if self._nested_inputs else shapes[0]

    def summary(self, line_length=None, print_fn=None, expand_nested=False):
        """Print a table of layers (name and type, output shape, parameters) and the totals."""
        from .summary import print_summary
        print_summary(self, line_length=line_length, print_fn=print_fn,
                      expand_nested=expand_nested)

    # ------------------------------------------------------------ saving
    def save(self, filepath, overwrite=True, include_optimizer=True):
        """Write the whole model to one ``.deepsheet`` file (added when ``filepath`` has no
        extension): architecture, weights, compile config and optimizer state, atomically.
        Returns the path written; ``deepsheet.load_model`` reads it back."""
        from ..saving import save_model
        return save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer)

    def save_weights(self, filepath, overwrite=True):
        """Write only the weights (a safetensors file keyed by weight position), atomically."""
        from ..saving import save_weights
        return save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath):
        """Load weights from ``save_weights``'s file (or a whole ``.deepsheet`` model file);
        shapes and dtypes must match this model's exactly."""
        from ..saving import load_weights
        load_weights(self, filepath)

    # ------------------------------------------------------------ config
    def _model_nodes_by_layer(self):
        node_ids = {id(n) for n in self._nodes}
        per_layer = {}
        for layer in self._graph_layers:
            per_layer[id(layer)] = [n for n in layer._inbound_nodes if id(n) in node_ids]
        return per_layer

    def get_config(self):
        """Keras-style graph config: each layer's spec with its inbound node references
        ``[layer_name, node_index, tensor_index]``, plus the input and output references."""
        if not self._graph:
            raise NotImplementedError(
                f"{type(self).__name__} is a subclassed model: its computation lives in "
                "call(), which a config cannot describe; override get_config/from_config")
        per_layer = self._model_nodes_by_layer()
        index = {}
        for nodes in per_layer.values():
            for i, n in enumerate(nodes):
                index[id(n)] = i

        def ref(t):
            return [t.node.layer.name, index[id(t.node)], t.index]

        layers = []
        for layer in self._graph_layers:
            spec = serialize(layer)
            inbound = []
            if not isinstance(layer, InputLayer):
                for node in per_layer[id(layer)]:
                    inbound.append(_node_config(layer, node, ref))
            spec["name"] = layer.name
            spec["inbound_nodes"] = inbound
            layers.append(spec)
        return {"name": self.name, "trainable": self._trainable, "layers": layers,
                "input_layers": [ref(t) for t in self._inputs],
                "output_layers": [ref(t) for t in self._outputs],
                "nested_inputs": self._nested_inputs, "nested_outputs": self._nested_outputs}

    @classmethod
    def from_config(cls, config):
        """Rebuild the graph: layers through the registry, then their nodes in dependency order."""
        config = dict(config)
        allowed = {"name", "trainable", "layers", "input_layers", "output_layers",
                   "nested_inputs", "nested_outputs"}
        unknown = set(config) - allowed
        if unknown or "layers" not in config:
            raise ValueError(f"{cls.__name__} config: unknown keys {sorted(unknown)}"
                             if unknown else f"{cls.__name__} config needs 'layers'")
        created, tensors, pending = {}, {}, []
        for spec in config["layers"]:
            spec = dict(spec)
            name = spec.pop("name", None)
            inbound = spec.pop("inbound_nodes", [])
            layer = deserialize(spec)
            name = name or layer.name
            if name in created:
                raise ValueError(f"{cls.__name__} config: layer name {name!r} appears twice")
            created[name] = layer
            if isinstance(layer, InputLayer):
                tensors[(name, 0)] = list(layer._inbound_nodes[0].outputs)
            else:
                pending.extend((layer, name, i, node) for i, node in enumerate(inbound))
        made = {}
        while pending:
            rest = []
            for layer, name, i, node in pending:
                refs = node["args"]
                ready = made.get(name, 0) == i and all((r[0], r[1]) in tensors for r in refs)
                if not ready:
                    rest.append((layer, name, i, node))
                    continue
                ins = [tensors[(r[0], r[1])][r[2]] for r in refs]
                args, kwargs = _node_call(node, ins)
                out = layer(*args, **kwargs)
                tensors[(name, i)] = list(out) if isinstance(out, (list, tuple)) else [out]
                made[name] = i + 1
            if len(rest) == len(pending):
                missing = sorted({r[0] for _, _, _, n in rest for r in n["args"]
                                  if r[0] not in created})
                raise ValueError(f"{cls.__name__} config: inbound nodes cannot be resolved "
                                 f"(unknown layers {missing})" if missing else
                                 f"{cls.__name__} config: the graph has a cycle")
            pending = rest

        def lookup(r):
            try:
                return tensors[(r[0], r[1])][r[2]]
            except (KeyError, IndexError):
                raise ValueError(f"{cls.__name__} config: no tensor {r}") from None

        inputs = [lookup(r) for r in config.get("input_layers", [])]
        outputs = [lookup(r) for r in config.get("output_layers", [])]
        if not config.get("nested_inputs", len(inputs) > 1):
            inputs = inputs[0]
        if not config.get("nested_outputs", len(outputs) > 1):
            outputs = outputs[0]
        return cls(inputs=inputs, outputs=outputs, name=config.get("name"),
                   trainable=config.get("trainable", True))

    def __repr__(self):
        kind = "graph" if self._graph else "subclassed"
        return f"<{type(self).__name__} name={self.name!r}, {kind}, built={self.built}>"
