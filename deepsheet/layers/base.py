"""The Layer base class: build on first call, the call protocol, weights and config.

A layer creates its weights in ``build(input_shape)`` the first time it is called (so a
user never states input sizes twice) and computes in ``call(inputs, training=False)``.
Called on concrete tensors it runs eagerly; called on the symbolic tensors that
``Input(shape)`` returns it records a graph node instead (see ``layers/symbolic.py``),
from which ``Model(inputs, outputs)`` is built.

Every concrete subclass is registered by class name in ``layers/registry.py`` (the one
registry that ``serialize`` / ``deserialize`` and the model loader use).
"""
from __future__ import annotations

import contextlib
import contextvars

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..tensor import Tensor
from ._call import CALL_TRAINING, CallSpec, build_shapes, check_keywords
from ._tracking import _LayerDict, _LayerList
from .registry import (_snake, deserialize, get_class, register, registered,  # noqa: F401
                       reset_names, serialize, unique_name)

# Set while load_model rebuilds an architecture whose weights the file will supply.
_DEFER_INIT = contextvars.ContextVar("deepsheet_defer_init", default=False)


def _is_array_like(x):
    return isinstance(x, (Tensor, np.ndarray)) or (
        hasattr(x, "__array__") and hasattr(x, "shape") and hasattr(x, "dtype"))


def to_tensor_input(x):
    """A layer's eager input as a Tensor: float arrays become float32 (DESIGN), ints are kept."""
    if isinstance(x, Tensor):
        if x.data.dtype == np.float64:
            out = x.astype(np.float32)
            out._keras_mask = x._keras_mask
            return out
        return x
    if isinstance(x, (str, bytes, list, np.ndarray)) and np.asarray(x).dtype.kind in "USO":
        raise TypeError("strings reached a layer that takes numbers; a model takes text "
                        "through Input(shape=(1,), dtype='string') -> TextVectorization")
    arr = backend.as_array(x)
    if arr.dtype.kind == "f" and arr.dtype != np.float32:
        arr = arr.astype(np.float32)
    return Tensor(arr)


@contextlib.contextmanager
def deferred_initializers():
    """Inside, ``add_weight`` makes zero-cost read-only placeholders instead of running
    initializers: ``load_model`` builds the architecture this way, checks every weight's
    shape against the file, and only then allocates (the file's arrays)."""
    token = _DEFER_INIT.set(True)
    try:
        yield
    finally:
        _DEFER_INIT.reset(token)


class Layer:
    """Base of all layers (Keras's ``Layer``): build on first call, weights, training flag, config.

    Subclasses implement ``build(input_shape)`` (create weights with ``add_weight``),
    ``call(inputs, ...)`` and, where it is cheap to state, ``compute_output_shape``
    (otherwise it is found by running ``call`` on a batch of one under ``no_grad``); they add
    their constructor arguments to ``get_config()``.

    Calls, as Keras 3 makes them
        ``layer(*args, **kwargs)`` passes its positional and keyword arguments through to
        ``call(inputs, *args, training=None, mask=None, **kwargs)``. ``training`` and ``mask``
        are passed only when ``call`` declares them (``def call(self, inputs)`` is a valid
        layer); ``training`` not given comes from the enclosing layer call (False outside
        one). A keyword ``call`` does not take is a TypeError naming the layer. ``build``
        gets the first argument's shape, or one shape per argument when it declares several
        (``build(query_shape, value_shape)``). Called on symbolic tensors, every symbolic
        argument (positional or keyword, e.g. ``initial_state=``, ``attention_mask=``) is an
        edge of the functional graph and is kept by ``get_config``/save/load; ``call`` may
        return a list or tuple of outputs.

    Masks (Keras semantics)
        A mask is a boolean array of shape (batch, time), True where a step is real. It
        travels as the attribute ``_keras_mask`` of the tensor it belongs to (concrete
        ``Tensor`` or symbolic ``KerasTensor``). When ``call`` declares ``mask`` and the
        caller passes none, the base fills it from the first input's ``_keras_mask``. After
        the call, outputs that carry no mask yet get ``compute_mask(inputs, mask)``: the
        base returns None, or passes the input mask through when ``supports_masking`` is
        True. Losses and metrics in ``compile``/``fit`` skip masked steps (they count
        neither in the loss nor in metric averages).

    Parameters
    ----------
    name : str, optional
        Unique within a model; defaults to the snake-cased class name plus a counter.
    trainable : bool
        False freezes the layer's weights (no gradients; the optimizer skips them;
        BatchNormalization then also runs in inference mode).
    input_shape : tuple, optional
        Shape of one sample (batch excluded), for the first layer of a ``Sequential``.
    dtype : str
        Weight dtype, "float32" by default.
    """

    supports_masking = False
    _string_input = False  # True for layers that take raw text (TextVectorization, a text Input)
    _blas_team_ok = False  # work is only products and light elementwise passes: Loops._blas_team_ok

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._call_spec = CallSpec(cls)
        if not cls.__name__.startswith("_"):
            register(cls)

    def __init__(self, name=None, trainable=True, input_shape=None, dtype=None, batch_size=None,
                 **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected argument(s) {sorted(kwargs)}")
        object.__setattr__(self, "_layers", [])
        self.name = name or unique_name(_snake(type(self).__name__))
        self._trainable = bool(trainable)
        self.built = False
        self._weights = []
        self._regularized = []  # (weight, regularizer) pairs
        self._extra_losses = []
        self._inbound_nodes = []
        self.dtype = str(np.dtype(dtype or backend.get_default_dtype()))
        self._batch_input_shape = None
        if input_shape is not None:
            self._batch_input_shape = (batch_size,) + tuple(input_shape)
        self._build_input_shape = None

    # ------------------------------------------------------------ tracking
    def __setattr__(self, key, value):
        # Auto-track sublayers assigned as attributes, also inside lists and dicts (which
        # keep tracking what is appended later), so their weights count as ours.
        if self.__dict__.get("_layers") is not None and key != "_outer":
            if isinstance(value, Layer):
                self._track(value)
            elif not key.startswith("_") and type(value) in (list, dict):
                value = (_LayerList if type(value) is list else _LayerDict)(value)
                value._owner = self
                self._track(value)
        object.__setattr__(self, key, value)

    def _track(self, value):
        if isinstance(value, Layer):
            layers = self.__dict__["_layers"]
            if value is not self and all(value is not l for l in layers):
                layers.append(value)
        elif isinstance(value, (list, tuple)):
            for v in value:
                self._track(v)
        elif isinstance(value, dict):
            for v in value.values():
                self._track(v)

    def zero_grad(self, set_to_none=True):
        """Forget the gradients of every weight (``.grad = None``), as PyTorch's
        ``Module.zero_grad``; ``set_to_none=False`` zeroes them in place instead."""
        for w in self._ordered_weights():
            if set_to_none:
                w.grad = None
            elif w.grad is not None:
                w.grad[...] = 0

    # ------------------------------------------------------------ weights
    def add_weight(self, name, shape, initializer="zeros", trainable=True, regularizer=None,
                   dtype=None):
        """Create, register and return a weight tensor of ``shape``.

        ``initializer`` is a name or callable of ``deepsheet.init``; ``regularizer`` a name,
        callable or ``deepsheet.regularizers`` object whose penalty joins ``layer.losses``.
        """
        from .. import init
        dtype = np.dtype(dtype or self.dtype)
        shape = tuple(int(s) for s in shape)
        if _DEFER_INIT.get():
            # A read-only zero of the right shape that costs no memory: the loader checks
            # the shape against the file, then puts the file's array in its place.
            data = np.broadcast_to(np.zeros((), dtype), shape)
        else:
            data = init.get(initializer)(shape, dtype=dtype)   # C order: updates on orthogonal's
            data = backend.array_module(data).ascontiguousarray(data)  # transposed QR: 4.9x slower
        w = Tensor(data, requires_grad=bool(trainable) and self._trainable)
        w.name = f"{self.name}/{name}"
        w.trainable = bool(trainable)
        self._weights.append(w)
        if regularizer is not None:
            from .. import regularizers
            self._regularized.append((w, regularizers.get(regularizer)))
        return w

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for w in self._weights:
            w.requires_grad = self._trainable and w.trainable
        for layer in self._layers:
            layer.trainable = value

    @property
    def layers(self):
        return list(self._layers)

    def _all_layers(self):
        return [self] + [sub for layer in self._layers for sub in layer._all_layers()]

    @property
    def weights(self):
        """All weights, trainable first then non-trainable, own before sublayers'."""
        return self.trainable_weights + self.non_trainable_weights

    @property
    def trainable_weights(self):
        if not self._trainable:
            return []
        out = [w for w in self._weights if w.trainable]
        for layer in self._layers:
            out.extend(w for w in layer.trainable_weights if all(w is not o for o in out))
        return out

    @property
    def non_trainable_weights(self):
        if not self._trainable:
            out = list(self._weights)
            for layer in self._layers:
                out.extend(w for w in layer.weights if all(w is not o for o in out))
            return out
        out = [w for w in self._weights if not w.trainable]
        for layer in self._layers:
            out.extend(w for w in layer.non_trainable_weights if all(w is not o for o in out))
        return out

    # Keras 3's other names for the same lists (custom train steps use these).
    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def parameters(self):
        """PyTorch's ``module.parameters()``: an iterator over the trainable weights, for
        ``optimizers.Adam(model.parameters(), lr=1e-3)``."""
        return iter(self.trainable_weights)

    def _ordered_weights(self):
        """Weights in creation order (DESIGN's get_weights order: kernel, bias, ...)."""
        out = list(self._weights)
        for layer in self._layers:
            out.extend(w for w in layer._ordered_weights() if all(w is not o for o in out))
        return out

    def get_weights(self):
        """Weights as NumPy arrays in creation order (Dense: kernel, bias; BN: gamma, beta,
        moving_mean, moving_variance)."""
        return [w.numpy().copy() for w in self._ordered_weights()]

    def set_weights(self, weights):
        """Set weights from arrays in ``get_weights`` order; shapes must match exactly."""
        own = self._ordered_weights()
        weights = list(weights)
        if len(weights) != len(own):
            raise ValueError(f"layer '{self.name}' expects {len(own)} weight arrays "
                             f"({[tuple(w.shape) for w in own]}), got {len(weights)}")
        for w, value in zip(own, weights):
            value = backend.to_numpy(value.data if isinstance(value, Tensor) else value)
            if tuple(value.shape) != tuple(w.shape):
                raise ValueError(f"layer '{self.name}': weight '{w.name}' has shape {w.shape}, "
                                 f"got an array of shape {value.shape}")
            xp = backend.array_module(w.data)
            w.data[...] = xp.asarray(value, dtype=w.data.dtype)

    def count_params(self):
        """Number of scalars in all weights (trainable and non-trainable)."""
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    def to(self, device):
        """Move every weight to ``device`` in place; returns self."""
        for w in self._ordered_weights():
            w.data = backend.to_device(w.data, device)
            if w.grad is not None:
                w.grad = backend.to_device(w.grad, device)
        return self

    # ------------------------------------------------------------ losses
    @property
    def losses(self):
        """Regularization penalties of this layer and its sublayers, as scalar tensors
        computed from the current weights (so they are part of the current graph)."""
        out = [reg(w) for w, reg in self._regularized]
        out.extend(self._extra_losses)
        for layer in self._layers:
            out.extend(layer.losses)
        return out

    def add_loss(self, value):
        """Add a tensor to ``layer.losses`` until the next call clears it (activity penalties)."""
        self._extra_losses.append(value)

    # ------------------------------------------------------------ build / call
    def build(self, input_shape):
        """Create weights for inputs of ``input_shape`` (batch axis included, may be None)."""
        self.built = True

    def call(self, inputs, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__}.call")

    def compute_output_shape(self, input_shape):
        """Output shape for ``input_shape`` (batch axis may be None).

        The default runs ``call`` on zeros with a batch of one under ``no_grad``; layers
        override it where the shape arithmetic is simple.
        """
        def concrete(s):
            return tuple(1 if d is None else d for d in s)

        if isinstance(input_shape, list):
            dummy = [Tensor(np.zeros(concrete(s), np.float32)) for s in input_shape]
            batch = input_shape[0][0]
        else:
            dummy = Tensor(np.zeros(concrete(input_shape), np.float32))
            batch = input_shape[0]
        with no_grad():
            out = self.call(dummy, training=False) if self._call_spec.training \
                else self.call(dummy)
        if isinstance(out, (list, tuple)):
            return [(batch,) + tuple(o.shape[1:]) for o in out]
        return (batch,) + tuple(out.shape[1:])

    def _maybe_build(self, input_shape):
        if not self.built:
            self.build(input_shape)
            self.built = True
            self._build_input_shape = input_shape

    def _build_for_call(self, args, kwargs):
        """Build from the shapes of the call's arguments (one, or one per ``build`` shape)."""
        if self.built:
            return
        shapes, extra = build_shapes(self, args, kwargs)
        if len(shapes) == 1 and not extra:
            self._maybe_build(shapes[0])
            return
        self.build(*shapes, **extra)
        self.built = True
        self._build_input_shape = shapes[0]

    def compute_mask(self, inputs, mask=None):
        """The mask of this layer's output(s) for ``inputs`` whose mask is ``mask``.

        None, unless ``supports_masking`` is True: then the input mask passes through.
        Mask producers (``Embedding(mask_zero=True)``, ``Masking``) and layers that change
        the time axis override it.
        """
        return mask if self.supports_masking else None

    def __call__(self, *args, **kwargs):
        training = kwargs.pop("training", None) if kwargs else None
        mask = kwargs.pop("mask", None) if kwargs else None
        # Fast path, the usual call between layers and of a model on a batch: one float32
        # Tensor without a mask (or a float32 NumPy array while tensors live on the CPU)
        # needs no conversion, no keyword check and no mask work.
        if len(args) == 1 and not kwargs and mask is None:
            inputs = args[0]
            kind = type(inputs)
            spec = self._call_spec
            if kind is Tensor and inputs._keras_mask is None and spec.base_mask:
                if inputs.data.dtype == np.float64:
                    inputs = inputs.astype(np.float32)
            elif kind is np.ndarray and inputs.dtype == np.float32 and spec.base_mask \
                    and backend.get_default_device() == "cpu":
                inputs = Tensor._wrap(inputs)
            else:
                return self._call_other(args, kwargs, training, mask)
            if not self.built:
                self._maybe_build(tuple(inputs.data.shape))
            if self._extra_losses:
                self._extra_losses = []
            if training is None:
                training = CALL_TRAINING[0]
            if self._layers:  # sublayers called without training= inherit ours
                outer = CALL_TRAINING[0]
                CALL_TRAINING[0] = training
                try:
                    if spec.training:
                        return self.call(inputs, training=bool(training))
                    return self.call(inputs)
                finally:
                    CALL_TRAINING[0] = outer
            if spec.training:
                return self.call(inputs, training=bool(training))
            return self.call(inputs)
        return self._call_other(args, kwargs, training, mask)

    def _call_other(self, args, kwargs, training, mask):
        """``__call__`` on symbolic tensors, several arguments, keywords, masks and arrays
        to convert."""
        if not args:  # Keras 3: the inputs may come by the name of call's first parameter
            first = self._call_spec.first or "inputs"
            if first not in kwargs:
                raise TypeError(f"layer '{self.name}' ({type(self).__name__}) was called "
                                f"without inputs (give them positionally or as {first}=)")
            args = (kwargs.pop(first),)
        from .symbolic import _is_text_list, call_symbolic, is_symbolic, text_or_tensor
        if is_symbolic(args, kwargs):
            return call_symbolic(self, args, kwargs, training, mask)
        spec = self._call_spec
        check_keywords(self, kwargs)
        first = args[0]
        conv = text_or_tensor if self._string_input else to_tensor_input  # raw text stays
        first = conv(first) if self._string_input and _is_text_list(first) else \
            [conv(x) for x in first] if isinstance(first, (list, tuple)) else conv(first)
        args = (first,) + tuple(to_tensor_input(a) if _is_array_like(a) else a
                                for a in args[1:])
        self._build_for_call(args, kwargs)
        self._extra_losses = []
        if mask is None:
            lead = first[0] if isinstance(first, list) and first else first
            mask = getattr(lead, "_keras_mask", None)
        if training is None:
            training = CALL_TRAINING[0]
        if spec.training:
            kwargs["training"] = bool(training)
        if spec.mask:
            kwargs["mask"] = mask
        outer = CALL_TRAINING[0]
        CALL_TRAINING[0] = training
        try:
            out = self.call(*args, **kwargs)
        finally:
            CALL_TRAINING[0] = outer
        self._set_output_masks(first, mask, out)
        return out

    def _set_output_masks(self, inputs, mask, out):
        """Keras's mask bookkeeping: outputs that carry no mask yet get ``compute_mask``'s."""
        outs = out if isinstance(out, (list, tuple)) else [out]
        if all(getattr(o, "_keras_mask", None) is not None for o in outs):
            return  # call (or an inner layer) set them already
        if mask is None and type(self)._call_spec.base_mask:
            return
        masks = self.compute_mask(inputs, mask)
        if masks is None:
            return
        if not isinstance(masks, (list, tuple)):
            masks = [masks] * len(outs)
        for o, m in zip(outs, masks):
            if isinstance(o, Tensor) and o._keras_mask is None and m is not None:
                o._keras_mask = m.data if isinstance(m, Tensor) else m

    # ------------------------------------------------------------ symbolic graph
    @property
    def output(self):
        """The symbolic output of this layer's first call on symbolic tensors."""
        if not self._inbound_nodes:
            raise AttributeError(f"layer '{self.name}' has not been called on symbolic inputs, "
                                 "so it has no .output (use it in a functional Model first)")
        outs = self._inbound_nodes[0].outputs
        return outs[0] if len(outs) == 1 else outs

    @property
    def input(self):
        if not self._inbound_nodes:
            raise AttributeError(f"layer '{self.name}' has not been called on symbolic inputs")
        ins = self._inbound_nodes[0].inputs
        return ins[0] if len(ins) == 1 else ins

    @property
    def output_shape(self):
        out = self.output
        return [o.shape for o in out] if isinstance(out, list) else out.shape

    # ------------------------------------------------------------ config
    def get_config(self):
        """Constructor arguments as JSON-able data; ``from_config`` inverts it."""
        config = {"name": self.name, "trainable": self._trainable, "dtype": self.dtype}
        if self._batch_input_shape is not None:
            config["input_shape"] = list(self._batch_input_shape[1:])
            if self._batch_input_shape[0] is not None:
                config["batch_size"] = self._batch_input_shape[0]
        return config

    @classmethod
    def from_config(cls, config):
        try:
            return cls(**config)
        except TypeError as exc:
            raise ValueError(f"cannot rebuild {cls.__name__} from config {config}: {exc}") from None

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}, built={self.built}>"


Layer._call_spec = CallSpec(Layer)
