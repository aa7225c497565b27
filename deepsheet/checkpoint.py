"""The training state: everything a resumed ``fit`` needs, as one explicit object.

A run stopped after epoch k continues bit for bit only if every source of its numbers
comes back: the weights (stored with the model), every optimizer the model owns (step
counts, moments, learning rate; a GAN has two), the library RNG (shuffling, dropout masks),
the private generators of seeded layers, the callbacks' state (``EarlyStopping``'s wait,
``ModelCheckpoint``'s best), the epoch and the history so far.

``TrainingState.capture`` collects them from a model and its callbacks; ``restore_model``
puts back what belongs to the model (layer generators, optimizers) and ``restore_run``
what belongs to the run (library RNG, callbacks). ``to_files`` / ``from_files`` turn the
state into the JSON metadata and the named arrays that ``saving.py`` writes and reads;
nothing else in the library reaches into a model's training internals.

Optimizer state is stored with the positions of the optimizer's parameters among the
model's weights (``get_weights`` order), so a fresh model binds each optimizer to the same
tensors in the same order before loading its moments.
"""
from __future__ import annotations

import warnings

import numpy as np

from . import backend

__all__ = ["TrainingState", "resume", "attach"]


def _unique_layers(model):
    out, seen = [], set()
    for layer in model._all_layers():
        if id(layer) not in seen:
            seen.add(id(layer))
            out.append(layer)
    return out


def _seeded_generators(model):
    """Private generators of seeded layers (``Dropout(seed=...)``), in layer order."""
    return [(layer.name, layer._generator) for layer in _unique_layers(model)
            if getattr(layer, "_generator", None) is not None]


def _generator_state(gen):
    s = gen.bit_generator.state
    return {"bit_generator": s["bit_generator"],
            "state": {k: int(v) for k, v in s["state"].items()},
            "has_uint32": int(s["has_uint32"]), "uinteger": int(s["uinteger"])}


def _stateful_callbacks(callbacks):
    """``[(key, callback)]`` for callbacks with get_state/set_state: keys are the class name,
    then ``Name_1``, ``Name_2`` for later instances of the same class."""
    out, counts = [], {}
    for cb in callbacks or []:
        if not (callable(getattr(cb, "get_state", None)) and
                callable(getattr(cb, "set_state", None))):
            continue
        name = type(cb).__name__
        n = counts.get(name, 0)
        counts[name] = n + 1
        out.append((name if n == 0 else f"{name}_{n}", cb))
    return out


def _owned_optimizers(model):
    optimizers = getattr(model, "optimizers", None)
    return optimizers() if callable(optimizers) else {}


class TrainingState:
    """Everything a resumed ``fit`` needs (see the module docstring).

    Attributes
    ----------
    epoch : int or None
        Epochs completed (None for a plain ``model.save`` outside training).
    batch : int or None
        Batches completed in the next epoch, for checkpoints written mid-epoch.
    rng_state : dict
        The library RNG (``backend.get_rng_state``).
    layer_rng_states : list of [layer name, generator state]
    optimizers : dict
        ``{name: {"class_name", "params": [weight positions], "state": {key: array}}}``.
    callbacks : dict
        ``{key: callback.get_state()}``; ``callback_arrays`` their arrays (best weights).
    history, logs : dict or None
        The ``History`` so far and the last epoch's logs.
    """

    def __init__(self, epoch=None, batch=None, rng_state=None, layer_rng_states=(),
                 optimizers=None, callbacks=None, callback_arrays=None, history=None,
                 logs=None):
        self.epoch = epoch
        self.batch = batch
        self.rng_state = rng_state
        self.layer_rng_states = list(layer_rng_states)
        self.optimizers = dict(optimizers or {})
        self.callbacks = dict(callbacks or {})
        self.callback_arrays = dict(callback_arrays or {})
        self.history = history
        self.logs = logs

    # ------------------------------------------------------------ collecting
    @classmethod
    def capture(cls, model, callbacks=None, epoch=None, batch=None, logs=None,
                include_optimizers=True):
        """The state of ``model`` and its ``callbacks`` now, after ``epoch`` epochs."""
        from .callbacks import History
        weights = {id(w): i for i, w in enumerate(model._ordered_weights())}
        optimizers = {}
        for name, opt in (_owned_optimizers(model).items() if include_optimizers else ()):
            params = []
            for p in opt.params:
                if id(p) not in weights:
                    raise ValueError(f"model '{model.name}': optimizer '{name}' updates a "
                                     f"tensor ({p.name or tuple(p.shape)}) that is not one of "
                                     "the model's weights, so a checkpoint cannot restore it")
                params.append(weights[id(p)])
            optimizers[name] = {"class_name": type(opt).__name__, "params": params,
                                "state": opt.state_dict()}
        states, arrays, history = {}, {}, None
        for cb in callbacks or []:
            if isinstance(cb, History) and cb.history is not None:
                history = {"epoch": list(cb.epoch), "history": cb.history}
        for key, cb in _stateful_callbacks(callbacks):
            states[key] = cb.get_state()
            best = getattr(cb, "best_weights", None)
            if isinstance(best, (list, tuple)):
                for i, a in enumerate(best):
                    arrays[f"{key}.best_weights.{i:05d}"] = a
        logs = {k: float(v) for k, v in (logs or {}).items()
                if isinstance(v, (int, float, np.floating))}
        return cls(epoch=epoch, batch=batch, rng_state=backend.get_rng_state(),
                   layer_rng_states=[[n, _generator_state(g)]
                                     for n, g in _seeded_generators(model)],
                   optimizers=optimizers, callbacks=states, callback_arrays=arrays,
                   history=history, logs=logs)

    # ------------------------------------------------------------ restoring
    def restore_model(self, model):
        """Put back the seeded layers' generators and every optimizer's state."""
        gens = _seeded_generators(model)
        if len(self.layer_rng_states) != len(gens):
            raise ValueError(f"the checkpoint holds {len(self.layer_rng_states)} seeded-layer "
                             f"generator states, model '{model.name}' has {len(gens)}")
        for (name, gen), entry in zip(gens, self.layer_rng_states):
            try:
                state = entry[1]
                gen.bit_generator.state = {
                    "bit_generator": state["bit_generator"],
                    "state": {k: int(v) for k, v in state["state"].items()},
                    "has_uint32": int(state["has_uint32"]), "uinteger": int(state["uinteger"])}
            except (KeyError, TypeError, ValueError, IndexError) as exc:
                raise ValueError(f"bad generator state for layer '{name}' ({exc})") from None
        owned = _owned_optimizers(model)
        weights = model._ordered_weights()
        for name, saved in self.optimizers.items():
            opt = owned.get(name)
            if opt is None:
                raise ValueError(f"the checkpoint holds the state of optimizer '{name}', which "
                                 f"model '{model.name}' does not have (it has "
                                 f"{sorted(owned) or 'none'}); compile it the same way first")
            params = saved.get("params")
            if params is None:  # files from before several optimizers: fit's own binding
                bound = [w for w in weights if w.trainable]
            else:
                if any(not isinstance(i, int) or not 0 <= i < len(weights) for i in params):
                    raise ValueError(f"optimizer '{name}': parameter positions {params} do not "
                                     f"fit a model with {len(weights)} weights")
                bound = [weights[i] for i in params]
            opt.bind(bound)
            opt.load_state_dict(saved["state"])

    def restore_run(self, callbacks):
        """Put back the library RNG and the state of the matching callbacks."""
        if self.rng_state is not None:
            backend.set_rng_state(self.rng_state)
        for key, cb in _stateful_callbacks(callbacks):
            if key not in self.callbacks:
                continue
            cb.set_state(self.callbacks[key])
            prefix = f"{key}.best_weights."
            best = sorted(k for k in self.callback_arrays if k.startswith(prefix))
            if best:
                cb.best_weights = [np.array(self.callback_arrays[k]) for k in best]

    # ------------------------------------------------------------ files
    def to_files(self):
        """``(metadata, arrays)``: JSON-able entries for metadata.json, and
        ``{"optimizer": {...}, "callbacks": {...}}`` name -> array maps. The optimizer
        called ``optimizer`` keeps plain keys; others are prefixed ``"<name>/"``."""
        meta = {"rng_state": self.rng_state, "layer_rng_states": self.layer_rng_states,
                "optimizers": {n: {"class_name": o["class_name"], "params": o["params"]}
                               for n, o in self.optimizers.items()}}
        if self.epoch is not None:
            meta.update({"epoch": int(self.epoch), "callbacks": self.callbacks,
                         "history": self.history, "logs": self.logs or {}})
            if self.batch is not None:
                meta["batch"] = int(self.batch)
        opt_arrays = {}
        for name, o in self.optimizers.items():
            prefix = "" if name == "optimizer" else f"{name}/"
            opt_arrays.update({prefix + k: v for k, v in o["state"].items()})
        return meta, {"optimizer": opt_arrays, "callbacks": dict(self.callback_arrays)}

    @classmethod
    def from_files(cls, metadata, arrays):
        """The state written by ``to_files`` (also files from before ``optimizers`` was
        recorded: their one optimizer state is ``optimizer``'s)."""
        opt_arrays = arrays.get("optimizer") or {}
        described = metadata.get("optimizers")
        if not isinstance(described, dict):
            described = {"optimizer": {"params": None}} if opt_arrays else {}
        optimizers = {}
        for name, info in described.items():
            prefix = "" if name == "optimizer" else f"{name}/"
            if prefix:
                state = {k[len(prefix):]: v for k, v in opt_arrays.items() if k.startswith(prefix)}
            else:
                state = {k: v for k, v in opt_arrays.items() if "/" not in k}
            if not state:
                continue  # saved without the optimizer (include_optimizer=False)
            optimizers[name] = {"class_name": info.get("class_name"),
                                "params": info.get("params"), "state": state}
        return cls(epoch=metadata.get("epoch"), batch=metadata.get("batch"),
                   rng_state=metadata.get("rng_state"),
                   layer_rng_states=metadata.get("layer_rng_states") or [],
                   optimizers=optimizers, callbacks=metadata.get("callbacks") or {},
                   callback_arrays=arrays.get("callbacks") or {},
                   history=metadata.get("history"), logs=metadata.get("logs"))


def attach(model, state, metadata):
    """Remember a loaded checkpoint on ``model``: the file's ``metadata`` as
    ``model.checkpoint_metadata`` and ``state`` for the first ``fit`` to resume from."""
    # Straight into __dict__: a subclassed model's attribute tracking would store a dict as a
    # tracked copy, and resume() recognises the checkpoint by identity.
    model.__dict__["checkpoint_metadata"] = metadata
    model.__dict__["_checkpoint_state"] = (state, metadata)


def resume(model, callbacks, initial_epoch):
    """Called by ``fit`` before training; returns the epoch to start from.

    A ``BackupAndRestore`` among ``callbacks`` that finds a backup restores everything
    (weights included) and training continues after the backup's epoch. Otherwise, if
    ``model`` came from a checkpoint written after ``initial_epoch`` epochs (and its
    ``checkpoint_metadata`` is still that file's), the library RNG and the callbacks'
    states are restored, once.
    """
    for cb in callbacks or []:
        load = getattr(cb, "load_backup", None)
        if callable(load):
            state = load()
            if state is not None:
                state.restore_model(model)
                state.restore_run(callbacks)
                return int(state.epoch)
    pending = model.__dict__.get("_checkpoint_state")
    if not initial_epoch or pending is None:
        return initial_epoch
    state, metadata = pending
    if getattr(model, "checkpoint_metadata", None) is not metadata or state.epoch != initial_epoch:
        return initial_epoch
    model.__dict__["_checkpoint_state"] = None  # once
    if state.batch:
        warnings.warn(f"the checkpoint was written after batch {state.batch} of epoch "
                      f"{initial_epoch + 1}, not at an epoch's end; fit restarts that epoch "
                      "and cannot replay the uninterrupted run exactly", stacklevel=3)
        return initial_epoch
    state.restore_run(callbacks)
    return initial_epoch
