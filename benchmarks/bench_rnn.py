"""Recurrent networks on Fashion-MNIST rows: deepsheet ``fit`` against a PyTorch loop, same run.

Recipe (both sides): each image is a sequence of 28 rows of 28 pixels in [0, 1];
``LSTM(128)`` (or ``GRU(128)``) then ``Dense(10)`` logits, sparse categorical cross-entropy
from logits, Adam(1e-3), batch 128. PyTorch starts from deepsheet's initial weights
(converted with ``layers.recurrent_convert.to_torch_state_dict``) and sees the same data
order (each epoch's permutation from the library RNG, the draw ``fit(shuffle=True)`` makes).

Sections (all by default):

* ``speed``: training samples/s of one epoch on ``--speed-samples`` images, alternating
  ours / PyTorch (A B A B), warm-up excluded, at 1 and 2 threads each (``ds.set_num_threads``
  and ``torch.set_num_threads``); best and median and the ratio ours/torch (> 1 = faster).
* ``latency``: batch-1, one-step text-generation latency (an LSTM(256) step with its state
  passed in and out, under no_grad) against ``torch.nn.LSTM`` eager.
* ``profile``: cProfile of one ``fit`` epoch (where the time goes).
* ``accuracy``: test accuracy after ``--epochs`` (3), mean over seeds 0, 1, 2, PyTorch
  started from the same weights; both libraries at ``--threads`` (1 by default: the numbers
  do not depend on it, and PyTorch's spinning threads crawl on a busy machine).

    python benchmarks/bench_rnn.py [--sections speed,latency,profile,accuracy] [--cell lstm]
                                   [--rounds 3] [--seeds 0,1,2] [--epochs 3] [--threads 1]
                                   [--clock wall|cpu] [--threads-speed 1,2]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import deepsheet as ds  # noqa: E402
from _common import print_fit_profile, torch_accuracy, torch_epoch  # noqa: E402
from deepsheet import layers  # noqa: E402
from deepsheet.layers.recurrent_convert import to_torch_state_dict  # noqa: E402

BATCH = 128
LR = 1e-3
UNITS = 128


def load():
    from deepsheet.datasets import fashion_mnist
    (x, y), (xt, yt) = fashion_mnist.load_data()
    return (x.astype(np.float32) / 255.0, y.astype(np.int64),
            xt.astype(np.float32) / 255.0, yt.astype(np.int64))


def ours_model(seed, cell="lstm"):
    ds.manual_seed(seed)
    rnn = layers.LSTM if cell == "lstm" else layers.GRU
    model = ds.Sequential([rnn(UNITS, input_shape=(28, 28)), layers.Dense(10)])
    model.compile(optimizer=ds.optimizers.Adam(learning_rate=LR),
                  loss=ds.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def torch_twin(model, cell="lstm"):
    """A PyTorch module with ``model``'s current weights, and its Adam."""
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            rnn = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
            self.rnn = rnn(28, UNITS, batch_first=True)
            self.fc = torch.nn.Linear(UNITS, 10)

        def forward(self, x):
            return self.fc(self.rnn(x)[0][:, -1])

    net = Net()
    net.rnn.load_state_dict({k: torch.from_numpy(v)
                             for k, v in to_torch_state_dict(model.layers[0]).items()})
    kernel, bias = model.layers[1].get_weights()
    with torch.no_grad():
        net.fc.weight.copy_(torch.from_numpy(kernel.T.copy()))
        net.fc.bias.copy_(torch.from_numpy(bias))
    return net, torch.optim.Adam(net.parameters(), lr=LR)


def speed(data, rounds, samples, cell, clock="wall", thread_counts=(1, 2)):
    import torch
    x, y = data[0][:samples], data[1][:samples]
    n = len(x)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    for threads in thread_counts:
        ds.set_num_threads(threads)
        torch.set_num_threads(threads)
        model = ours_model(0, cell)
        net, opt = torch_twin(model, cell)
        # cpu: this thread's CPU time, which a busy machine's time slices do not inflate;
        # only meaningful at 1 thread (both libraries then run on the calling thread)
        now = time.thread_time if clock == "cpu" and threads == 1 else time.perf_counter

        def ours():
            t = now()
            model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
            return n / (now() - t)

        def theirs():
            order = torch.from_numpy(ds.backend.permutation(n))
            t = now()
            torch_epoch(net, opt, tx, ty, order, BATCH)
            return n / (now() - t)

        ours(), theirs()  # warm-up
        a, b = [], []
        for _ in range(rounds):
            a.append(ours())
            b.append(theirs())
        unit = "per CPU-second" if now is time.thread_time else "samples/s"
        print(f"{cell.upper()}({UNITS}) training, {threads} thread(s), {unit} over {rounds} "
              f"epochs of {n} (after 1 warm-up), load {os.getloadavg()[0]:.1f}:")
        print(f"  deepsheet fit: best {max(a):7.0f} median {statistics.median(a):7.0f}   "
              f"torch loop: best {max(b):7.0f} median {statistics.median(b):7.0f}   "
              f"ratio ours/torch: best {max(a) / max(b):.2f} "
              f"median {statistics.median(a) / statistics.median(b):.2f}", flush=True)


def latency(rounds, units=256, features=64):
    """One generation step at batch 1: (x_t, h, c) -> (h', c') under no_grad."""
    import torch
    for threads in (1, 2):
        ds.set_num_threads(threads)
        torch.set_num_threads(threads)
        ds.manual_seed(0)
        layer = layers.LSTM(units, return_state=True)
        x = np.random.default_rng(0).standard_normal((1, 1, features)).astype(np.float32)
        layer(x)
        m = torch.nn.LSTM(features, units, batch_first=True)
        m.load_state_dict({k: torch.from_numpy(v) for k, v in to_torch_state_dict(layer).items()})
        st = [np.zeros((1, units), np.float32)] * 2
        tx = torch.from_numpy(x)
        tst = (torch.zeros(1, 1, units), torch.zeros(1, 1, units))
        reps = 2000

        def ours():
            s = st
            with ds.no_grad():
                t = time.perf_counter()
                for _ in range(reps):
                    _, h, c = layer(x, initial_state=s)
                    s = [h, c]
                return (time.perf_counter() - t) / reps

        def theirs():
            s = tst
            with torch.no_grad():
                t = time.perf_counter()
                for _ in range(reps):
                    _, s = m(tx, s)
                return (time.perf_counter() - t) / reps

        ours(), theirs()
        a, b = [], []
        for _ in range(rounds + 2):
            a.append(ours())
            b.append(theirs())
        print(f"batch-1 LSTM({units}) step latency, {threads} thread(s): deepsheet "
              f"{min(a) * 1e6:.1f} us (median {statistics.median(a) * 1e6:.1f}), torch "
              f"{min(b) * 1e6:.1f} us (median {statistics.median(b) * 1e6:.1f}); "
              f"ratio ours/torch {min(a) / min(b):.2f}", flush=True)


def profile(data, cell):
    x, y = data[0][:12800], data[1][:12800]
    model = ours_model(0, cell)
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    print_fit_profile(model, x, y, BATCH, 16)


def accuracy(data, seeds, epochs, cell):
    import torch
    x, y, xt, yt = data
    tx, ty, txt, tyt = (torch.from_numpy(a) for a in (x, y, xt, yt))
    ours_acc, torch_acc = [], []
    for seed in seeds:
        model = ours_model(seed, cell)
        net, opt = torch_twin(model, cell)  # the same initial weights
        state = ds.backend.get_rng_state()
        t = time.perf_counter()
        model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0)
        t_ours = time.perf_counter() - t
        ours_acc.append(model.evaluate(xt, yt, batch_size=1000, verbose=0,
                                       return_dict=True)["accuracy"])
        ds.backend.set_rng_state(state)
        t = time.perf_counter()
        for _ in range(epochs):
            torch_epoch(net, opt, tx, ty, torch.from_numpy(ds.backend.permutation(len(x))),
                        BATCH)
        t_torch = time.perf_counter() - t
        torch_acc.append(torch_accuracy(net, txt, tyt, 1000))
        print(f"  seed {seed}: deepsheet {ours_acc[-1]:.4f} ({t_ours:.0f}s)   "
              f"torch {torch_acc[-1]:.4f} ({t_torch:.0f}s)", flush=True)
    mo, mt = float(np.mean(ours_acc)), float(np.mean(torch_acc))
    print(f"{cell.upper()}({UNITS}) test accuracy after {epochs} epochs, mean over seeds "
          f"{list(seeds)}: deepsheet {mo:.4f}, torch {mt:.4f}, difference "
          f"{100 * (mo - mt):+.2f} points")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sections", default="speed,latency,profile,accuracy")
    parser.add_argument("--cell", default="lstm", choices=["lstm", "gru"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--speed-samples", type=int, default=12800)
    parser.add_argument("--clock", default="wall", choices=["wall", "cpu"],
                        help="cpu: time the 1-thread rows by the thread's CPU time (robust to "
                             "other processes; the 2-thread rows stay wall time)")
    parser.add_argument("--threads-speed", default="1,2",
                        help="thread counts of the speed section, e.g. 1")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1,
                        help="threads of each library for the accuracy runs (results do not "
                             "depend on it; 1 avoids PyTorch's spinning threads on a busy machine)")
    args = parser.parse_args(argv)
    import torch
    data = load()
    print(f"deepsheet {ds.__version__}, NumPy {np.__version__}, torch {torch.__version__}; "
          f"Fashion-MNIST rows as sequences, {data[0].shape[0]} train / {data[2].shape[0]} test")
    sections = args.sections.split(",")
    if "speed" in sections:
        speed(data, args.rounds, args.speed_samples, args.cell, args.clock,
              [int(t) for t in args.threads_speed.split(",")])
    if "latency" in sections:
        latency(args.rounds)
    if "profile" in sections:
        ds.set_num_threads(1)
        profile(data, args.cell)
    if "accuracy" in sections:
        ds.set_num_threads(args.threads)
        torch.set_num_threads(args.threads)
        accuracy(data, [int(s) for s in args.seeds.split(",")], args.epochs, args.cell)


if __name__ == "__main__":
    main()
