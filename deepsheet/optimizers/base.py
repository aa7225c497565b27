"""Optimizer base: everything an optimizer does except its per-parameter update.

The base class owns the bound parameters, ``zero_grad``, the ``step`` loop, the learning
rate (a number or a schedule evaluated at the step count), gradient clipping, the
per-parameter state and its flat save/restore, and keeps subnormal numbers out of the
arithmetic. A subclass writes only ``_update`` (one parameter, in place) and names its
state buffers (tinygrad's split of ``nn/optim.py``).

Formula (every optimizer)::

    g_t     = clip(∇θ L)                 clipnorm | global_clipnorm | clipvalue, if set
    g_t     = g_t + λ θ_{t-1}            weight_decay λ as L2 in the gradient (torch.optim),
                                         except AdamW, which decays θ directly
    θ_t     = update(θ_{t-1}, g_t, state, η_t)     η_t = schedule(iterations) or a number
"""
from __future__ import annotations

import contextlib
import inspect
import math

import numpy as np

from .. import backend
from ..tensor import Tensor
from . import schedules as _schedules
from ._arguments import _is_number, check_hyper, keras_or_torch_arguments
from ._blocks import step_in_blocks
from ._subnormals import SUBNORMAL_MODES, ZERO_EVERY, zero_subnormals
from .clipping import clipped


class Optimizer:
    """Base of every optimizer: bind parameters, ``step()`` them in place, save the state.

    Parameters
    ----------
    params : iterable of Tensor or a number, optional
        The tensors to update (PyTorch's ``Adam(model.trainable_weights, lr=1e-3)``). Leave
        it out to bind later with ``bind(params)`` (``model.compile`` does) or on the first
        ``apply(grads, variables)``. A number here is the learning rate (Keras's
        ``Adam(1e-3)``); giving ``learning_rate=`` as well is an error.
    learning_rate : float or schedule (alias ``lr``)
        A non-negative number, or a callable ``step -> learning rate`` such as the
        classes of ``deepsheet.optimizers.schedules``, evaluated at ``iterations``
        before each update (as Keras does).
    weight_decay : float
        L2 penalty λ added to the gradient, ``g + λ θ`` (torch.optim's meaning);
        AdamW decays the weights directly instead.
    clipnorm, global_clipnorm, clipvalue : float, optional
        At most one. Clip each gradient to L2 norm ``clipnorm`` (Keras: g · c / max(‖g‖, c)),
        all gradients together to global L2 norm ``global_clipnorm`` (exactly
        ``clip_grad_norm``: g · min(1, c / (‖g‖ + 1e-6))), or every element to
        ``[-clipvalue, clipvalue]`` before the update. Clipping works on copies: ``param.grad`` keeps the
        raw gradient (as in Keras), so gradient-norm diagnostics see what backward
        produced. For in-place clipping use ``clip_grad_norm`` / ``clip_grad_value``.
    name : str, optional

    Attributes
    ----------
    iterations : int
        Number of ``step()`` calls so far (the schedule's argument).
    state : dict
        Per-parameter state keyed by the parameter tensor itself (identity hashing):
        ``{"step": int, <buffer name>: array, ...}``, created at a parameter's first update.
    subnormals : {"flush", "zero", "keep"}
        How the update avoids subnormal floats (x86 arithmetic on them is many times
        slower): "flush" sets flush-to-zero / denormals-are-zero only around ``step()``
        where the CPU allows it and otherwise zeroes state values below the dtype's
        smallest normal (at every 8th update of a parameter); "zero" always does the
        latter; "keep" does nothing (IEEE arithmetic, for benchmarks). The user's own
        floating point is never changed.
    """

    # Subclasses: hyperparameter names that get_config saves (constructor argument names).
    _config_keys = ()
    # AdamW overrides: decay the weights instead of adding λθ to the gradient.
    _decoupled_weight_decay = False
    subnormals = "flush"
    # True where _update works elementwise and in place on whatever arrays it is given: then
    # step() may update blocks of the flattened parameters on several threads (see
    # _step_in_blocks). The built-in optimizers declare it; a user's subclass opts in.
    _blockwise = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = keras_or_torch_arguments(cls.__dict__["__init__"])

    def __init__(self, params=None, learning_rate=1e-3, *, weight_decay=0.0, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, name=None):
        owner = type(self).__name__
        self.name = name if name is not None else owner.lower()
        if not isinstance(self.name, str):
            raise TypeError(f"{owner}: name must be a string, got {name!r}")
        self._params = []
        self.state = {}
        self.iterations = 0
        self._pool = {}
        self._learning_rate = None
        self.learning_rate = learning_rate
        self.weight_decay = check_hyper(owner, "weight_decay", weight_decay)
        self.clipnorm = check_hyper(owner, "clipnorm", clipnorm, optional=True)
        self.clipvalue = check_hyper(owner, "clipvalue", clipvalue, optional=True)
        self.global_clipnorm = check_hyper(owner, "global_clipnorm", global_clipnorm,
                                           optional=True)
        chosen = [k for k in ("clipnorm", "clipvalue", "global_clipnorm")
                  if getattr(self, k) is not None]
        if len(chosen) > 1:
            raise ValueError(f"{owner}: set at most one of clipnorm, clipvalue and "
                             f"global_clipnorm, got {', '.join(chosen)}")
        self.bind(params)

    # ------------------------------------------------------------ parameters
    @property
    def params(self):
        """The bound parameters (a new list; positions name the state in ``state_dict``)."""
        return list(self._params)

    def bind(self, params):
        """Attach the parameters to update; returns ``self``.

        Binding again keeps the state of parameters seen before (matched by identity, so
        an interrupted ``fit`` resumes with its moments) and forgets the state of
        parameters no longer bound: ``state_dict`` can only name bound parameters, and a
        resumed run must match an uninterrupted one exactly.
        """
        owner = type(self).__name__
        if params is None:
            new = []
        elif _is_number(params):
            raise ValueError(
                f"{owner}: the first argument is the parameters to optimize, got the number "
                f"{params!r}; write {owner}(learning_rate={params!r}) (or "
                f"{owner}(params, learning_rate={params!r}))")
        elif isinstance(params, Tensor):
            raise TypeError(f"{owner}: params must be an iterable of tensors, got a single "
                            "Tensor; wrap it in a list: [tensor]")
        elif isinstance(params, (str, bytes, dict)):
            raise TypeError(f"{owner}: params must be an iterable of tensors, got "
                            f"{type(params).__name__} (parameter groups are not supported)")
        else:
            try:
                new = list(params)
            except TypeError:
                raise TypeError(f"{owner}: params must be an iterable of tensors, got "
                                f"{type(params).__name__}") from None
        seen = set()
        for i, p in enumerate(new):
            if not isinstance(p, Tensor):
                raise TypeError(f"{owner}: params[{i}] must be a deepsheet Tensor, got "
                                f"{type(p).__name__}")
            if p.data.dtype.kind != "f":
                raise TypeError(f"{owner}: params[{i}] must be floating, got dtype "
                                f"{p.data.dtype}")
            if id(p) in seen:
                raise ValueError(f"{owner}: params[{i}] appears twice in the parameter "
                                 "list; it would be updated twice per step")
            seen.add(id(p))
        self._params = new
        self._bound = params is not None
        self.state = {p: self.state[p] for p in new if p in self.state}
        return self

    def zero_grad(self, set_to_none=True):
        """Forget the gradients of the bound parameters (``.grad = None``, as PyTorch)."""
        for p in self._params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad[...] = 0

    # ------------------------------------------------------------ learning rate
    @property
    def learning_rate(self):
        """The learning rate of the next step: the number, or the schedule at ``iterations``."""
        lr = self._learning_rate
        if callable(lr):
            return float(lr(self.iterations))
        return lr

    @learning_rate.setter
    def learning_rate(self, value):
        owner = type(self).__name__
        if callable(value) and not _is_number(value):
            self._learning_rate = value
            return
        if callable(self._learning_rate):
            raise TypeError(
                f"{owner} was created with a learning-rate schedule "
                f"({type(self._learning_rate).__name__}); its learning rate is not settable "
                "with a number (assign another schedule, or use a number from the start)")
        if not _is_number(value) or not value >= 0 or not math.isfinite(value):
            raise ValueError(f"{owner}: learning_rate must be a finite number >= 0 or a "
                             f"schedule, got {value!r}")
        self._learning_rate = float(value)

    # ------------------------------------------------------------ the step
    def step(self, closure=None):
        """Update every bound parameter whose ``.grad`` is not None, in place.

        Parameters without a gradient (frozen, or unused by the loss) are skipped and
        their per-parameter step count does not advance (as in torch.optim).
        ``closure``, if given, re-evaluates the loss (with gradients enabled) and its value
        is returned.
        """
        loss = None
        if closure is not None:
            from ..autograd import enable_grad
            with enable_grad():
                loss = closure()
        owner = type(self).__name__
        if not self._bound:
            raise RuntimeError(f"{owner}.step(): no parameters are bound; pass them to the "
                               f"constructor, {owner}(params, ...), or call bind(params)")
        self._apply_pairs([(p, p.grad) for p in self._params if p.grad is not None])
        return loss

    def apply(self, grads, trainable_variables=None):
        """Keras's update from explicit gradients: ``grads[i]`` for ``trainable_variables[i]``.

        ``.grad`` is neither read nor written. Variables not bound yet are bound on first
        use (their state starts then); without ``trainable_variables`` the bound parameters
        are meant, in order. A None gradient skips its variable; all None is an error.
        """
        owner = type(self).__name__
        grads = list(grads)
        variables = self._params if trainable_variables is None else list(trainable_variables)
        if len(grads) != len(variables):
            raise ValueError(f"{owner}.apply: {len(grads)} gradients for {len(variables)} "
                             "variables")
        known = {id(p) for p in self._params}
        new = [v for v in variables if id(v) not in known]
        if new:
            self.bind(self._params + new)
        pairs = []
        for g, v in zip(grads, variables):
            if g is None:
                continue
            g = getattr(g, "data", g)
            if not hasattr(g, "shape"):
                raise TypeError(f"{owner}.apply: gradients must be arrays or Tensors, got "
                                f"{type(g).__name__}")
            pairs.append((v, g))
        if not pairs:
            names = [getattr(v, "name", None) or f"#{i}" for i, v in enumerate(variables)]
            raise ValueError(f"{owner}.apply: no gradient was given for any of the "
                             f"{len(variables)} variables {names[:8]}; check that the loss "
                             "depends on them")
        self._apply_pairs(pairs)

    def apply_gradients(self, grads_and_vars):
        """``apply`` from ``zip(grads, variables)`` pairs (Keras's older name)."""
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def _apply_pairs(self, pairs):
        """Update each ``(parameter, gradient)`` in place; one iteration."""
        owner = type(self).__name__
        lr = self.learning_rate
        mode = self.subnormals
        if mode not in SUBNORMAL_MODES:
            raise ValueError(f"{owner}: subnormals must be one of {SUBNORMAL_MODES}, got {mode!r}")
        flushing = mode == "flush" and backend.flush_denormal.available
        ctx = backend.flush_denormal() if flushing else contextlib.nullcontext()
        zeroing = mode != "keep" and not flushing
        with ctx:
            grads = self._clip([g for _, g in pairs])
            items = []
            for (p, _), g in zip(pairs, grads):
                data = p.data
                if g.shape != data.shape:
                    raise ValueError(f"{owner}: the gradient of a parameter of shape "
                                     f"{data.shape} has shape {g.shape}")
                state = self.state.get(p)
                if state is None:
                    state = self.state[p] = {"step": 0, **self._init_state(data)}
                else:
                    self._follow(state, data)
                state["step"] += 1
                items.append((data, g, state))
            if not step_in_blocks(self, items, lr, zeroing):
                for data, g, state in items:
                    xp = np if type(data) is np.ndarray else backend.array_module(data)
                    scratch = self._scratch(data)
                    self._update(data, g, state, lr, xp, scratch)
                    if zeroing and xp is np and state["step"] % ZERO_EVERY == 1 % ZERO_EVERY:
                        zero_subnormals(state, scratch[0], *self._pooled(data, np.bool_, 2))
        self.iterations += 1

    def _clip(self, grads):
        """Clipped copies of ``grads`` (the arrays themselves where nothing changes)."""
        return clipped(grads, self.clipvalue, self.clipnorm, self.global_clipnorm)

    # ------------------------------------------------------------ for subclasses
    def _buffer_names(self):
        """Names of the per-parameter state arrays (torch.optim's names), given the hyperparameters."""
        return ()

    def _init_state(self, p):
        """State arrays for parameter data ``p`` at its first update (zeros by default)."""
        xp = backend.array_module(p)
        return {k: xp.zeros_like(p) for k in self._buffer_names()}

    def _update(self, p, g, state, lr, xp, scratch):  # pragma: no cover - abstract
        """Update array ``p`` in place from gradient ``g`` (never modified) and ``state``.

        ``xp`` is the array module of ``p``; ``scratch`` is two temporary arrays of ``p``'s
        shape and dtype, free for the update to overwrite.
        """
        raise NotImplementedError

    def _grad_with_decay(self, p, g, out):
        """``g + λ p`` into ``out`` (L2 weight decay), or ``g`` itself when λ = 0."""
        if not self.weight_decay or self._decoupled_weight_decay:
            return g
        backend.array_module(p).multiply(p, self.weight_decay, out=out)
        out += g
        return out

    def _scratch(self, like):
        """Two temporary arrays shaped like ``like``, reused across parameters and steps."""
        return self._pooled(like, like.dtype, 2)

    def _pooled(self, like, dtype, n):
        """``n`` temporary arrays of ``like``'s shape and ``dtype``.

        One flat buffer per (array type, dtype) sized for the largest parameter: in-place
        updates then allocate nothing per step.
        """
        key = (type(like), dtype, like.shape, n)
        views = self._pool.get(key)  # the views of a shape, made once (~2 us a parameter)
        if views is not None:
            return views
        size = like.size
        buf = self._pool.get(key[:2])
        if buf is None or buf.size < n * size:
            xp = backend.array_module(like)
            buf = xp.empty(max(n * size, 1), dtype=dtype)
            self._pool = {k: v for k, v in self._pool.items() if k[:2] != key[:2]}
            self._pool[key[:2]] = buf  # the old buffer's views went with it
        views = self._pool[key] = tuple(buf[k * size:(k + 1) * size].reshape(like.shape)
                                        for k in range(n))
        return views

    def _follow(self, state, data):
        """Move state arrays to the parameter's device if the parameter moved (``model.to``)."""
        for k, v in state.items():
            if k == "step":
                continue
            if type(v) is type(data):
                return  # all buffers live together: checking one is enough
            break
        device = backend.device_of(data)
        for k, v in state.items():
            if k != "step":
                state[k] = backend.to_device(v, device)

    # ------------------------------------------------------------ saving
    def state_dict(self):
        """The whole state as a flat mapping of names to host arrays (copies).

        Keys: ``"iterations"`` (0-d int64), ``"learning_rate"`` (0-d float64, only when the
        learning rate is a number, so values set by callbacks survive a restart), and for
        the parameter at position ``i`` of the bound list that has state: ``"i.step"``
        (0-d int64) and ``"i.<buffer>"`` (e.g. ``"0.exp_avg"``, ``"0.exp_avg_sq"``,
        ``"0.momentum_buffer"``), each of the parameter's shape and dtype.
        """
        out = {"iterations": np.array(self.iterations, dtype=np.int64)}
        if not callable(self._learning_rate):
            out["learning_rate"] = np.array(self._learning_rate, dtype=np.float64)
        for i, p in enumerate(self._params):
            state = self.state.get(p)
            if state is None:
                continue
            out[f"{i}.step"] = np.array(state["step"], dtype=np.int64)
            for k, v in state.items():
                if k != "step":
                    out[f"{i}.{k}"] = np.array(backend.to_numpy(v), copy=True)
        return out

    def load_state_dict(self, state_dict):
        """Restore a ``state_dict()`` exactly (names tied to positions in the bound list).

        Everything is checked before anything changes: unknown or missing names, positions
        beyond the bound list and shapes that differ from the parameter's raise ValueError.
        Arrays are copied to the parameter's device and dtype.
        """
        owner = type(self).__name__
        if not hasattr(state_dict, "items"):
            raise TypeError(f"{owner}.load_state_dict expects a mapping of names to arrays, "
                            f"got {type(state_dict).__name__}")
        if "iterations" not in state_dict:
            raise ValueError(f"{owner}.load_state_dict: missing 'iterations'")
        schedule = callable(self._learning_rate)
        if schedule and "learning_rate" in state_dict:
            raise ValueError(f"{owner}.load_state_dict: the state holds a numeric "
                             "'learning_rate' but this optimizer uses a schedule")
        names = set(self._buffer_names()) | {"step"}
        groups = {}
        for key, value in state_dict.items():
            if key in ("iterations", "learning_rate"):
                continue
            idx, _, name = str(key).partition(".")
            if not idx.isdigit() or name not in names:
                raise ValueError(f"{owner}.load_state_dict: unexpected key {key!r}; expected "
                                 f"'iterations', 'learning_rate' or '<index>.<name>' with name "
                                 f"in {sorted(names)}")
            i = int(idx)
            if i >= len(self._params):
                raise ValueError(f"{owner}.load_state_dict: key {key!r} names parameter {i}, "
                                 f"but {len(self._params)} parameters are bound")
            groups.setdefault(i, {})[name] = backend.to_numpy(value)
        new_state = {}
        for i, group in sorted(groups.items()):
            if set(group) != names:
                missing = sorted(names - set(group))
                raise ValueError(f"{owner}.load_state_dict: parameter {i} lacks "
                                 f"{', '.join(repr(f'{i}.{m}') for m in missing)}")
            p = self._params[i]
            state = {"step": int(group.pop("step"))}
            for name, arr in group.items():
                if arr.shape != p.data.shape:
                    raise ValueError(f"{owner}.load_state_dict: '{i}.{name}' has shape "
                                     f"{arr.shape}, parameter {i} has shape {p.data.shape}")
                host = np.array(arr, dtype=p.data.dtype, copy=True)
                state[name] = backend.to_device(host, backend.device_of(p.data))
            new_state[p] = state
        iterations = int(backend.to_numpy(state_dict["iterations"]))
        if "learning_rate" in state_dict:
            self.learning_rate = float(backend.to_numpy(state_dict["learning_rate"]))
        self.state = new_state
        self.iterations = iterations

    # ------------------------------------------------------------ config
    def get_config(self):
        """Hyperparameters as JSON-able data (constructor arguments; a schedule as a dict)."""
        lr = self._learning_rate
        if callable(lr):
            lr = _schedules.serialize(lr)
        config = {"name": self.name, "learning_rate": lr}
        for k in self._config_keys:
            config[k] = getattr(self, k)
        for k in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm"):
            config[k] = getattr(self, k)
        return config

    @classmethod
    def from_config(cls, config):
        """Rebuild an (unbound) optimizer from ``get_config()``; unknown keys are rejected."""
        config = dict(config)
        allowed = set(inspect.signature(cls.__init__).parameters) - {"self", "params"}
        unknown = sorted(set(config) - allowed)
        if unknown:
            raise ValueError(f"{cls.__name__}.from_config: unknown keys {unknown}; expected "
                             f"some of {sorted(allowed)}")
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = _schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self):
        lr = self._learning_rate
        lr = lr if not callable(lr) else type(lr).__name__
        extras = "".join(f", {k}={getattr(self, k)!r}" for k in self._config_keys)
        wd = f", weight_decay={self.weight_decay!r}" if self.weight_decay else ""
        return (f"{type(self).__name__}(learning_rate={lr!r}{extras}{wd}, "
                f"params={len(self._params)})")


Optimizer.__init__ = keras_or_torch_arguments(Optimizer.__init__)
