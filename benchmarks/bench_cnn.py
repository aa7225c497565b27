"""The reference CNN on Fashion-MNIST: deepsheet ``fit`` against a PyTorch loop, same run.

Recipe (both sides): inputs scaled to [0, 1], Conv2D(32, 3, same, ReLU) - MaxPool 2 -
Conv2D(64, 3, same, ReLU) - MaxPool 2 - Flatten - Dense 128 ReLU - Dropout 0.25 - Dense 10
logits, sparse categorical cross-entropy from logits, Adam(1e-3), batch 128, training
accuracy tracked as a metric. Ours is channels-last (N, 28, 28, 1) with Keras kernels;
PyTorch's is NCHW, as its users write it. Same data order on both sides: each epoch's
permutation comes from the library RNG (the one ``fit(shuffle=True)`` draws), replayed for
PyTorch. PyTorch is pinned to 2 threads; NumPy's BLAS runs at its default (2 here).

Sections (all by default):

* ``speed``: samples/s of one training epoch, alternating ours / PyTorch (A B A B), warm-up
  excluded; best and median of each and the ratio ours/torch (> 1 = faster than PyTorch),
  by wall clock and by process CPU time (user + sys of all threads: what a loaded, shared
  machine disturbs least), the minor page faults per epoch, and the fraction of the float32
  matrix-multiply peak (``--peak`` GFLOP/s, 210 for NumPy here) that training reaches.
* ``profile``: cProfile of part of a ``fit`` epoch (where the time goes).
* ``accuracy``: test accuracy after 3 epochs, mean over 3 seeds, each library with its own
  default initializers (Keras's glorot_uniform / zeros for us, PyTorch's defaults).

``--threads 1`` runs both libraries on one thread (OpenBLAS and torch), the comparison to
use for optimization work on a loaded machine. ``--train-subset N`` trains on the first N
samples only (quick runs).

    python benchmarks/bench_cnn.py [--sections speed,profile,accuracy] [--rounds 3]
                                   [--seeds 0,1,2] [--epochs 3] [--train-subset N]
                                   [--threads 2]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time


def _threads_from_argv(argv):
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return None


if _threads_from_argv(sys.argv) is not None:  # must be set before NumPy loads its BLAS
    os.environ["OPENBLAS_NUM_THREADS"] = _threads_from_argv(sys.argv)
    os.environ["OMP_NUM_THREADS"] = _threads_from_argv(sys.argv)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import deepsheet as ds  # noqa: E402
from deepsheet import layers  # noqa: E402
from _common import accuracy_over_seeds, print_fit_profile, torch_epoch  # noqa: E402

BATCH = 128
LR = 1e-3
# Multiply-adds per sample of each product: conv1 (28·28 cells, 9·1 -> 32), conv2
# (14·14 cells, 9·32 -> 64), dense 3136 -> 128, dense 128 -> 10.
MACS = {"conv1": 28 * 28 * 9 * 1 * 32, "conv2": 14 * 14 * 9 * 32 * 64,
        "dense1": 7 * 7 * 64 * 128, "dense2": 128 * 10}
# Forward + weight gradient for every layer, input gradient for all but the first (its
# input is the data, no gradient needed).
FLOPS_PER_SAMPLE = 2 * (2 * sum(MACS.values()) + sum(MACS.values()) - MACS["conv1"])


def load(subset=None):
    from deepsheet.datasets import fashion_mnist
    (x, y), (xt, yt) = fashion_mnist.load_data()
    if subset:
        x, y = x[:subset], y[:subset]
    x = x.reshape(len(x), 28, 28, 1).astype(np.float32) / 255.0
    xt = xt.reshape(len(xt), 28, 28, 1).astype(np.float32) / 255.0
    return x, y.astype(np.int64), xt, yt.astype(np.int64)


# ------------------------------------------------------------------ the two models
def ours_model(seed):
    ds.manual_seed(seed)
    model = ds.Sequential([
        layers.Conv2D(32, 3, padding="same", activation="relu", input_shape=(28, 28, 1)),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.25),
        layers.Dense(10),
    ])
    model.compile(optimizer=ds.optimizers.Adam(learning_rate=LR),
                  loss=ds.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def torch_model(seed):
    import torch
    nn = torch.nn
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(7 * 7 * 64, 128), nn.ReLU(), nn.Dropout(0.25),
                        nn.Linear(128, 10))
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    return net, opt


def to_nchw(x):
    import torch
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


# ------------------------------------------------------------------ sections
def _measured(fn, n):
    """(samples/s by wall clock, samples/s by process CPU time, minor faults) of fn()."""
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    fn()
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return n / wall, n / cpu, r1.ru_minflt - r0.ru_minflt, (r1.ru_stime - r0.ru_stime) / cpu


def speed(data, rounds, peak, threads):
    import torch
    x, y, _, _ = data
    n = len(x)
    tx, ty = to_nchw(x), torch.from_numpy(y)
    model = ours_model(0)
    net, opt = torch_model(0)

    def ours():
        return _measured(lambda: model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0), n)

    def theirs():
        order = torch.from_numpy(ds.backend.permutation(n))
        return _measured(lambda: torch_epoch(net, opt, tx, ty, order, BATCH), n)

    ours(), theirs()  # warm-up epoch each (allocator, BLAS threads, Adam state)
    a, b = [], []
    for _ in range(rounds):
        a.append(ours())
        b.append(theirs())
    print(f"training throughput, samples/s over {rounds} epochs of {n} samples each "
          f"(after 1 warm-up epoch), {threads} thread(s) each:")
    for what, k in (("wall clock", 0), ("CPU time ", 1)):
        wa, wb = [r[k] for r in a], [r[k] for r in b]
        ma, mb = statistics.median(wa), statistics.median(wb)
        print(f"  {what}: deepsheet best {max(wa):7.0f} median {ma:7.0f} | torch best "
              f"{max(wb):7.0f} median {mb:7.0f} | ratio ours/torch best "
              f"{max(wa) / max(wb):.2f} median {ma / mb:.2f}")
    for name, rs in (("deepsheet", a), ("torch", b)):
        print(f"  {name}: {statistics.median([r[2] for r in rs]) / (n / BATCH):.0f} minor page "
              f"faults per step, system time {100 * statistics.median([r[3] for r in rs]):.0f}% "
              "of its CPU time")
    med_a, med_b = statistics.median([r[0] for r in a]), statistics.median([r[0] for r in b])
    gflops = FLOPS_PER_SAMPLE * med_a / 1e9
    print(f"  {FLOPS_PER_SAMPLE / 1e6:.1f} MFLOP per sample -> {gflops:.1f} GFLOP/s = "
          f"{100 * gflops / peak:.0f}% of the {peak:.0f} GFLOP/s float32 matmul peak "
          f"(torch: {100 * FLOPS_PER_SAMPLE * med_b / 1e9 / peak:.0f}%)")
    cpu_a = statistics.median([r[1] for r in a])
    print(f"  per core of CPU time: deepsheet {FLOPS_PER_SAMPLE * cpu_a / 1e9:.1f} GFLOP/s, "
          f"torch {FLOPS_PER_SAMPLE * statistics.median([r[1] for r in b]) / 1e9:.1f} GFLOP/s")


def profile(data, steps):
    x, y, _, _ = data
    model = ours_model(0)
    model.fit(x[:BATCH * 20], y[:BATCH * 20], batch_size=BATCH, epochs=1, verbose=0)  # warm-up
    print_fit_profile(model, x[:BATCH * steps], y[:BATCH * steps], BATCH, 22)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sections", default="speed,profile,accuracy")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-subset", type=int, default=None,
                        help="train on the first N training samples only")
    parser.add_argument("--profile-steps", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2,
                        help="threads for both libraries (1: OpenBLAS and torch on one)")
    parser.add_argument("--peak", type=float, default=210.0,
                        help="float32 matmul peak of this machine in GFLOP/s")
    args = parser.parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    data = load(args.train_subset)
    print(f"deepsheet {ds.__version__}, NumPy {np.__version__}, torch {torch.__version__} "
          f"({args.threads} threads); Fashion-MNIST {data[0].shape[0]} train / "
          f"{data[2].shape[0]} test; load average {os.getloadavg()[0]:.1f}", flush=True)
    sections = args.sections.split(",")
    if "speed" in sections:
        speed(data, args.rounds, args.peak, args.threads)
    if "profile" in sections:
        profile(data, args.profile_steps)
    if "accuracy" in sections:
        accuracy_over_seeds(data, [int(s) for s in args.seeds.split(",")], args.epochs,
                            ours_model, torch_model, to_nchw, BATCH)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
