"""Start every rank from the same weights; report metrics of the whole job."""
from __future__ import annotations

import numpy as np

from ..callbacks.base import Callback
from . import collectives as _c

__all__ = ["broadcast_weights", "check_same_model", "BroadcastGlobalVariablesCallback",
           "MetricAverageCallback"]


def _signature(model):
    return [(getattr(w, "name", f"weight {i}"), tuple(w.shape), str(w.data.dtype))
            for i, w in enumerate(model._ordered_weights())]


def check_same_model(model, root=0):
    """Raise on every rank, naming the first difference, unless all ranks hold models with
    the same weights (count, shapes, dtypes) as rank ``root``."""
    mine = _signature(model)
    every = _c.comm().allgather(mine) if _c.size() > 1 else [mine]
    ref = every[root]
    for r, sig in enumerate(every):
        if sig == ref:
            continue
        if len(sig) != len(ref):
            detail = f"{len(sig)} weight arrays on rank {r}, {len(ref)} on rank {root}"
        else:
            i = next(i for i, (a, b) in enumerate(zip(sig, ref)) if a != b)
            detail = (f"weight {i} is {sig[i][0]} {sig[i][1]} {sig[i][2]} on rank {r} and "
                      f"{ref[i][0]} {ref[i][1]} {ref[i][2]} on rank {root}")
        raise ValueError(f"the ranks hold different models ({detail}); every rank must build "
                         "the same model before training")


def broadcast_weights(model, root=0, optimizer=True):
    """Give every rank rank ``root``'s weights (and optimizer state), in place.

    Checks first that the models match (``check_same_model``). Use it once before training
    so that all ranks start from the same point (``BroadcastGlobalVariablesCallback`` does
    it inside ``fit``); a model without weights yet (not built) is an error.
    """
    weights = model._ordered_weights()
    if not weights:
        raise ValueError(f"broadcast_weights: model '{model.name}' has no weights yet; build "
                         "it first (give the first layer input_shape, or call it on data)")
    check_same_model(model, root)
    if _c.size() == 1:
        return
    MPI = _c._mpi()
    comm = _c.comm()
    for w in weights:
        buf = np.ascontiguousarray(w.data)
        comm.Bcast(buf, root=root)
        if buf is not w.data:
            w.data[...] = buf
    opt = getattr(model, "optimizer", None) if optimizer else None
    if opt is not None and getattr(opt, "state", None):
        state = opt.state_dict() if _c.rank() == root else None
        keys = _c.broadcast_object(None if state is None else
                                   {k: (np.shape(v), np.asarray(v).dtype.str)
                                    for k, v in state.items()}, root)
        arrays = {}
        for k, (shape, dt) in keys.items():
            a = (np.ascontiguousarray(state[k]) if state is not None
                 else np.empty(shape, np.dtype(dt)))
            comm.Bcast(a, root=root)
            arrays[k] = a
        if _c.rank() != root:
            opt.load_state_dict(arrays)
    del MPI


class BroadcastGlobalVariablesCallback(Callback):
    """Horovod's callback: rank ``root_rank``'s weights and optimizer state to every rank
    when training begins (or after the first batch, for a model built by it)."""

    def __init__(self, root_rank=0):
        super().__init__()
        self.root_rank = root_rank
        self._done = False

    def on_train_begin(self, logs=None):
        self._done = False
        if self.model._ordered_weights():
            broadcast_weights(self.model, self.root_rank)
            self._done = True

    def on_train_batch_end(self, batch, logs=None):
        if not self._done:
            broadcast_weights(self.model, self.root_rank)
            self._done = True


class MetricAverageCallback(Callback):
    """Replace each epoch's logged metrics by their average over the ranks, weighted by the
    samples each rank trained on, so that every rank (and rank 0's progress bar, history
    and checkpoints) reports the whole job's numbers. Put it before callbacks that read
    metrics (EarlyStopping, ModelCheckpoint, ReduceLROnPlateau)."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or _c.size() == 1:
            return
        keys = sorted(k for k, v in logs.items() if isinstance(v, (int, float, np.floating)))
        seen = float(getattr(self.model, "_last_epoch_seen", 1) or 0)
        vals = np.array([seen] + [float(logs[k]) * seen for k in keys], np.float64)
        tot = _c.allreduce(vals, op="sum")
        for k, v in zip(keys, tot[1:]):
            logs[k] = float(v / tot[0]) if tot[0] else float("nan")
