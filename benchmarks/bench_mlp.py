"""The reference MLP on Fashion-MNIST: deepsheet ``fit`` against a PyTorch loop, same run.

Recipe (both sides): inputs scaled to [0, 1] and flattened, Dense 784-256-128-10 with ReLU,
logits out, sparse categorical cross-entropy from logits, Adam(1e-3), batch 128, 5 epochs,
training accuracy tracked as a metric. Same data order on both sides: each epoch's
permutation comes from the library RNG (the one ``fit(shuffle=True)`` draws), replayed for
PyTorch. PyTorch is pinned to 2 threads; NumPy's BLAS runs at its default (2 here).

Sections (all by default):

* ``speed``: samples/s of one training epoch, alternating ours / PyTorch (A B A B), warm-up
  excluded; best and median of each and the ratio ours/torch (> 1 = faster than PyTorch);
  the fraction of the float32 matrix-multiply peak (``--peak`` GFLOP/s, 210 for NumPy here)
  that training reaches; batch-1 ``model(x)`` latency under no_grad vs PyTorch eager.
* ``profile``: cProfile of one ``fit`` epoch (where the time goes).
* ``accuracy``: test accuracy after 5 epochs, mean over 3 seeds, each library with its own
  default initializers (Keras's glorot_uniform / zeros for us, PyTorch's Linear default).

    python benchmarks/bench_mlp.py [--sections speed,profile,accuracy] [--rounds 3]
                                   [--seeds 0,1,2] [--epochs 5]
"""
from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import deepsheet as ds  # noqa: E402
from _common import accuracy_over_seeds, print_fit_profile, torch_epoch  # noqa: E402
from deepsheet import layers  # noqa: E402

BATCH = 128
LR = 1e-3
# Multiply-adds per sample: forward x@W for each layer; backward dW for each layer and dX
# for all but the first (its input is the data, no gradient needed).
MACS_FWD = 784 * 256 + 256 * 128 + 128 * 10
FLOPS_PER_SAMPLE = 2 * (2 * MACS_FWD + 256 * 128 + 128 * 10)


def load():
    from deepsheet.datasets import fashion_mnist
    (x, y), (xt, yt) = fashion_mnist.load_data()
    x = (x.reshape(len(x), -1).astype(np.float32) / 255.0)
    xt = (xt.reshape(len(xt), -1).astype(np.float32) / 255.0)
    return x, y.astype(np.int64), xt, yt.astype(np.int64)


# ------------------------------------------------------------------ the two models
def ours_model(seed):
    ds.manual_seed(seed)
    model = ds.Sequential([
        layers.Dense(256, activation="relu", input_shape=(784,)),
        layers.Dense(128, activation="relu"),
        layers.Dense(10),
    ])
    model.compile(optimizer=ds.optimizers.Adam(learning_rate=LR),
                  loss=ds.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def torch_model(seed):
    import torch
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, 128), torch.nn.ReLU(),
                              torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    return net, opt


def torch_epoch_bare(net, opt, x, y, order):
    """torch_epoch's loop with nothing tracked (PyTorch's fastest form of this loop)."""
    import torch
    loss_fn = torch.nn.CrossEntropyLoss()
    for i in range(0, len(order), BATCH):
        idx = order[i:i + BATCH]
        loss = loss_fn(net(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()


# ------------------------------------------------------------------ sections
def speed(data, rounds, peak):
    import torch
    x, y, _, _ = data
    n = len(x)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    model = ours_model(0)
    net, opt = torch_model(0)

    def ours():
        t = time.perf_counter()
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
        return n / (time.perf_counter() - t)

    def theirs(epoch_fn):
        order = torch.from_numpy(ds.backend.permutation(n))
        t = time.perf_counter()
        epoch_fn(net, opt, tx, ty, order)
        return n / (time.perf_counter() - t)

    tracked = functools.partial(torch_epoch, batch=BATCH)
    ours(), theirs(tracked), theirs(torch_epoch_bare)  # warm-up epochs
    a, b, c = [], [], []
    for _ in range(rounds):  # alternate A B C A B C
        a.append(ours())
        b.append(theirs(tracked))
        c.append(theirs(torch_epoch_bare))
    print(f"training throughput, samples/s over {rounds} epochs each (after 1 warm-up epoch):")
    rows = [("deepsheet fit (loss + accuracy)", a), ("torch loop (loss + accuracy)", b),
            ("torch loop (nothing tracked)", c)]
    for name, v in rows:
        print(f"  {name:32s}: best {max(v):8.0f}  median {statistics.median(v):8.0f}")
    for name, v in rows[1:]:
        print(f"  ratio ours / {name:19s}: best {max(a) / max(v):.2f}  "
              f"median {statistics.median(a) / statistics.median(v):.2f}")
    med_a, med_b = statistics.median(a), statistics.median(b)
    gflops = FLOPS_PER_SAMPLE * med_a / 1e9
    print(f"  {FLOPS_PER_SAMPLE / 1e6:.2f} MFLOP per sample -> {gflops:.1f} GFLOP/s = "
          f"{100 * gflops / peak:.0f}% of the {peak:.0f} GFLOP/s float32 matmul peak "
          f"(torch: {100 * FLOPS_PER_SAMPLE * med_b / 1e9 / peak:.0f}%)")

    # batch-1 inference latency
    x1 = x[:1]
    tx1 = tx[:1]
    reps = 3000

    def lat_ours():
        with ds.no_grad():
            t = time.perf_counter()
            for _ in range(reps):
                model(x1)
            return (time.perf_counter() - t) / reps

    def lat_theirs():
        with torch.no_grad():
            t = time.perf_counter()
            for _ in range(reps):
                net(tx1)
            return (time.perf_counter() - t) / reps

    lat_ours(), lat_theirs()
    la, lb = [], []
    for _ in range(5):
        la.append(lat_ours())
        lb.append(lat_theirs())
    print(f"batch-1 model(x) latency under no_grad: deepsheet {min(la) * 1e6:.1f} us "
          f"(median {statistics.median(la) * 1e6:.1f}), torch eager {min(lb) * 1e6:.1f} us "
          f"(median {statistics.median(lb) * 1e6:.1f}); ratio {min(la) / min(lb):.2f}")


def profile(data):
    x, y, _, _ = data
    model = ours_model(0)
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)  # warm-up
    print_fit_profile(model, x, y, BATCH, 18)


def accuracy(data, seeds, epochs):
    import torch
    accuracy_over_seeds(data, seeds, epochs, ours_model, torch_model, torch.from_numpy, BATCH,
                        eval_batch=1024)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sections", default="speed,profile,accuracy")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--peak", type=float, default=210.0,
                        help="float32 matmul peak of this machine in GFLOP/s")
    args = parser.parse_args(argv)
    import numpy  # noqa: F401
    import torch
    torch.set_num_threads(2)
    data = load()
    print(f"deepsheet {ds.__version__}, NumPy {np.__version__}, torch {torch.__version__} "
          f"(2 threads); Fashion-MNIST {data[0].shape[0]} train / {data[2].shape[0]} test")
    sections = args.sections.split(",")
    if "speed" in sections:
        speed(data, args.rounds, args.peak)
    if "profile" in sections:
        profile(data)
    if "accuracy" in sections:
        accuracy(data, [int(s) for s in args.seeds.split(",")], args.epochs)


if __name__ == "__main__":
    main()
