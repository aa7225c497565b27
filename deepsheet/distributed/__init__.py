"""Data-parallel training over MPI (Horovod's shape): every rank holds the whole model.

Each rank computes gradients on its own part of every global batch, ``DistributedOptimizer``
averages them with one ``Allreduce`` per bucket, and every rank takes the same step, so the
weights stay identical. Run a script with ``mpirun -n 4 python train.py`` or the command
line with ``mpirun -n 4 deepsheet train --distributed``; the same script runs unchanged on
one process. Needs the ``distributed`` extra (mpi4py and the mpich wheel), loaded on first
use.

    import deepsheet as ds
    from deepsheet import distributed as dist

    dist.init()
    model = build_model()                                  # the same on every rank
    model.compile(optimizer=dist.DistributedOptimizer(ds.optimizers.Adam(1e-3)), loss=...)
    callbacks = [dist.BroadcastGlobalVariablesCallback(0), dist.MetricAverageCallback()]
    if dist.rank() == 0:
        callbacks.append(ds.callbacks.ModelCheckpoint("ckpt.deepsheet"))
    model.fit(x, y, batch_size=64, epochs=5, callbacks=callbacks,
              verbose=1 if dist.rank() == 0 else 0)       # global batch: size() x 64

Also ``dist.shard(n, seed, epoch)`` for your own loops and ``allreduce`` / ``allgather`` /
``broadcast`` on arrays. An exception on one rank aborts the whole job with its message.
"""
from __future__ import annotations

from .callbacks import (BroadcastGlobalVariablesCallback, MetricAverageCallback,
                        broadcast_weights, check_same_model)
from .collectives import (abort, abort_on_error, allgather, allreduce, barrier, broadcast,
                          broadcast_object, comm, init, is_initialized, local_rank, local_size,
                          rank, size)
from .optimizer import DistributedOptimizer
from .sharding import shard

__all__ = ["init", "is_initialized", "comm", "rank", "size", "local_rank", "local_size", "barrier",
           "allreduce", "allgather", "broadcast", "broadcast_object", "abort",
           "abort_on_error", "DistributedOptimizer", "broadcast_weights", "check_same_model",
           "BroadcastGlobalVariablesCallback", "MetricAverageCallback", "shard"]
