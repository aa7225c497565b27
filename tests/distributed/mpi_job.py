"""Run under ``mpirun -n 2`` by test_distributed.py: ``python mpi_job.py SCENARIO OUT_DIR``.

Scenarios: ``train`` (DistributedOptimizer(SGD) and Adam runs, a checkpoint and its resume,
the array collectives and shard; rank 0 writes results.npz), ``raise`` (rank 1 fails while
rank 0 waits in a collective), ``mismatch`` (rank 1 builds another model).
"""
import os
import sys

import numpy as np

import deepsheet as ds
from deepsheet import distributed as dist
from deepsheet import layers as L

N, FEATURES, CLASSES, BATCH = 37, 6, 3, 5   # 37 samples: global batches 10, 10, 10, 7


def data():
    rs = np.random.RandomState(1)
    x = rs.rand(N, FEATURES).astype(np.float32)
    y = (x[:, 0] * 3).astype(np.int64) % CLASSES
    return x, y


def model(optimizer, seed=0, hidden=8):
    ds.manual_seed(seed)
    m = ds.Sequential([L.Dense(hidden, activation="relu", input_shape=(FEATURES,)),
                       L.Dense(CLASSES)])
    m.compile(optimizer, ds.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
    return m


def optimizer(name):
    if name == "sgd":
        return ds.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    return ds.optimizers.Adam(learning_rate=0.01)


def fit(m, epochs, initial_epoch=0, callbacks=()):
    x, y = data()
    return m.fit(x, y, batch_size=BATCH, epochs=epochs, initial_epoch=initial_epoch,
                 shuffle=True, verbose=0,
                 callbacks=[dist.BroadcastGlobalVariablesCallback(0),
                            dist.MetricAverageCallback(), *callbacks])


def train(out):
    results = {}
    for name in ("sgd", "adam"):
        m = model(dist.DistributedOptimizer(optimizer(name)))
        h = fit(m, 3)
        for i, w in enumerate(m.get_weights()):
            results[f"{name}_w{i}"] = w
        results[f"{name}_loss"] = np.array(h.history["loss"])
    # checkpoint on rank 0 after 2 epochs, every rank resumes from it
    path = os.path.join(out, "ckpt.deepsheet")
    m = model(dist.DistributedOptimizer(optimizer("adam")))
    cbs = [ds.callbacks.ModelCheckpoint(path)] if dist.rank() == 0 else []
    fit(m, 2, callbacks=cbs)
    dist.barrier()
    ds.manual_seed(999)  # a fresh process would start from another RNG state
    resumed = ds.load_model(path)
    resumed.optimizer = dist.DistributedOptimizer(resumed.optimizer)
    fit(resumed, 3, initial_epoch=2)
    for i, w in enumerate(resumed.get_weights()):
        results[f"resumed_w{i}"] = w
    # a NaN loss on one rank: that rank's batch is skipped, the ranks stay in step
    m = model(dist.DistributedOptimizer(optimizer("sgd")))
    x, y = data()
    x[3, 0] = np.nan
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    results["nan_weights"] = dist.allgather(np.concatenate(
        [w.reshape(1, -1) for w in m.get_weights()], axis=1))
    # collectives on arrays
    r = dist.rank()
    results["allreduce_mean"] = dist.allreduce(np.array([1.0, 2.0], np.float32) * (r + 1))
    results["allreduce_max"] = dist.allreduce(np.array([r, -r]), op="max")
    results["allgather"] = dist.allgather(np.full((r + 1, 2), r, np.float32))
    results["broadcast"] = dist.broadcast(np.arange(3.0) + 10 * r, root=1)
    results["shard"] = dist.allgather(dist.shard(11, seed=4, epoch=2))
    results["local"] = np.array([dist.local_rank(), dist.local_size(), dist.size()])
    if r == 0:
        np.savez(os.path.join(out, "results.npz"), **results)


def fail():
    dist.init()
    if dist.rank() == 1:
        raise RuntimeError("boom on rank 1")
    dist.allreduce(np.ones(4, np.float32))   # rank 0 would wait here forever without the abort


def mismatch():
    m = model(dist.DistributedOptimizer(optimizer("sgd")), hidden=8 + dist.rank())
    dist.broadcast_weights(m)


if __name__ == "__main__":
    dist.init()
    ds.set_num_threads(1)
    {"train": lambda: train(sys.argv[2]), "raise": fail, "mismatch": mismatch}[sys.argv[1]]()
