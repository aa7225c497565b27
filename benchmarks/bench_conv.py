"""Each convolution and pooling of the reference CNN, forward + backward alone, vs PyTorch.

The reference CNN (Fashion-MNIST, batch 128): Conv2D(32, 3, same) on 28x28x1 -> ReLU ->
MaxPool 2 -> Conv2D(64, 3, same) on 14x14x32 -> ReLU -> MaxPool 2 -> ... . The first
convolution needs no input gradient (its input is the data), the second one does.

Both libraries run the same shapes (ours channels-last with Keras kernels, PyTorch NCHW as
its users write it), float32, PyTorch pinned to 2 threads (``torch.set_num_threads``), NumPy's
BLAS at its default. Timings alternate A B A B; we report the median and the best
per-iteration time of each and the ratio ours/torch (below 1 = faster than PyTorch), plus
the GFLOP/s of the convolution's three matrix products.

    python benchmarks/bench_conv.py [--rounds 15] [--iters 5] [--profile] [--cpu-time]

``--profile`` prints where our time goes (im2col copies, matrix products, col2im adds).
``--cpu-time`` runs both libraries on ONE thread and reports process CPU time instead of
wall time: a proxy that other processes on a shared, loaded machine disturb much less
(wall-clock ratios there mostly measure how the scheduler treats multi-threaded BLAS).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

if "--cpu-time" in sys.argv:  # must be set before NumPy loads its BLAS
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    os.environ["OMP_NUM_THREADS"] = "1"

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import deepsheet as ds  # noqa: E402
import deepsheet.functional as F  # noqa: E402

N = 128


CLOCK = time.process_time if "--cpu-time" in sys.argv else time.perf_counter


def _timed(fn, iters):
    t = CLOCK()
    for _ in range(iters):
        fn()
    return (CLOCK() - t) / iters


def ab(ours, theirs, rounds, iters):
    ours(), theirs(), ours(), theirs()  # warm-up: allocator, BLAS threads, caches
    a, b = [], []
    for _ in range(rounds):
        a.append(_timed(ours, iters))
        b.append(_timed(theirs, iters))
    return a, b


def conv_case(H, C, O, input_grad, torch):
    rng = np.random.default_rng(0)
    x = rng.random((N, H, H, C), dtype=np.float32)
    w = (rng.standard_normal((3, 3, C, O), dtype=np.float32) * 0.1)
    b = np.zeros(O, np.float32)
    gy = rng.standard_normal((N, H, H, O), dtype=np.float32)
    xt = ds.tensor(x, requires_grad=input_grad)
    wt, bt = ds.tensor(w, requires_grad=True), ds.tensor(b, requires_grad=True)

    def ours():
        xt.grad = wt.grad = bt.grad = None
        F.conv2d(xt, wt, bt, padding="same").backward(gy)

    X = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()).requires_grad_(input_grad)
    W = torch.from_numpy(w.transpose(3, 2, 0, 1).copy()).requires_grad_()
    B = torch.from_numpy(b).requires_grad_()
    GY = torch.from_numpy(gy.transpose(0, 3, 1, 2).copy())

    def theirs():
        X.grad = W.grad = B.grad = None
        torch.nn.functional.conv2d(X, W, B, padding=1).backward(GY)

    flops = 2 * N * H * H * 9 * C * O * (3 if input_grad else 2)
    return ours, theirs, flops


def pool_case(H, C, torch):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, H, H, C), dtype=np.float32)
    gy = rng.standard_normal((N, H // 2, H // 2, C), dtype=np.float32)
    xt = ds.tensor(x, requires_grad=True)

    def ours():
        xt.grad = None
        F.max_pool2d(xt, 2).backward(gy)

    X = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()).requires_grad_()
    GY = torch.from_numpy(gy.transpose(0, 3, 1, 2).copy())

    def theirs():
        X.grad = None
        torch.nn.functional.max_pool2d(X, 2).backward(GY)
    return ours, theirs


def profile(fn):
    import cProfile
    import pstats
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(10):
        fn()
    pr.disable()
    pstats.Stats(pr).sort_stats("tottime").print_stats(8)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--cpu-time", action="store_true")
    args = parser.parse_args()
    import torch
    threads = 1 if args.cpu_time else 2
    torch.set_num_threads(threads)
    clock = "CPU time, 1 thread each" if args.cpu_time else \
        f"wall time, torch {threads} threads, NumPy BLAS default"
    print(f"numpy {np.__version__}, torch {torch.__version__}, batch {N}, float32, forward + "
          f"backward, {clock}, {args.rounds} rounds x {args.iters} iterations, A/B alternating")
    print(f"{'case':44s} {'ours ms (best)':>15s} {'torch ms (best)':>16s} {'ratio':>6s} "
          f"{'ours GFLOP/s':>12s}")
    cases = [("conv 3x3 28x28x1->32 same (no input grad)", conv_case(28, 1, 32, False, torch)),
             ("conv 3x3 14x14x32->64 same", conv_case(14, 32, 64, True, torch))]
    for name, (ours, theirs, flops) in cases:
        a, b = ab(ours, theirs, args.rounds, args.iters)
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"{name:44s} {ma * 1e3:7.2f} ({min(a) * 1e3:5.2f}) {mb * 1e3:8.2f} "
              f"({min(b) * 1e3:5.2f}) {ma / mb:6.2f} {flops / ma / 1e9:12.0f}")
        if args.profile:
            profile(ours)
    for name, (ours, theirs) in [("maxpool 2x2 28x28x32", pool_case(28, 32, torch)),
                                 ("maxpool 2x2 14x14x64", pool_case(14, 64, torch))]:
        a, b = ab(ours, theirs, args.rounds, args.iters)
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"{name:44s} {ma * 1e3:7.2f} ({min(a) * 1e3:5.2f}) {mb * 1e3:8.2f} "
              f"({min(b) * 1e3:5.2f}) {ma / mb:6.2f}")
        if args.profile:
            profile(ours)


if __name__ == "__main__":
    main()
