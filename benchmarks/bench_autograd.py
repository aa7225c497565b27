"""Forward + backward of elementwise chains and matrix products: deepsheet vs PyTorch.

Same inputs, same graph, same process. The two sides alternate (A B A B ...) so machine
noise hits both alike; each figure is the median (and best) time of one forward+backward
over the rounds, warm-up excluded. PyTorch runs with torch.set_num_threads(2); NumPy's BLAS
keeps its default thread count (2 on the reference machine). ``--threads N`` pins both
to N instead (1 gives steadier figures on a shared, busy machine).

    python benchmarks/bench_autograd.py [--rounds 30] [--threads N]

Workloads
    tiny chain     100 adds on a 4-element tensor: Python overhead per graph node
    elementwise    12 elementwise ops (mul, add, exp, sqrt, div, ...) on 128x256, then sum
    matmul 256     (256x256) @ (256x256), sum, gradients for both operands
    dense          (128x784) @ (784x256) + bias, gradients for weight and bias only
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
np = ds = F = None  # imported in main(), after the BLAS thread count is set


def _chain(x, exp, sqrt):
    y = x
    for _ in range(2):
        y = exp(y * 0.5 - 1.0)       # mul, sub, exp
        y = sqrt(y * y + 1.0) / 2.0  # mul, add, sqrt, div
    return y


def workloads(torch, rng):
    def arr(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    out = []

    small = arr(4)
    def tiny(lib, x):
        y = x
        for _ in range(100):
            y = y + 1.0
        return y.sum()
    out.append(("tiny chain (100 nodes)", tiny, [small], [True], 100))

    big = arr(128, 256)
    def elementwise(lib, x):
        if lib == "ds":
            return _chain(x, F.exp, F.sqrt).sum()
        return _chain(x, torch.exp, torch.sqrt).sum()
    out.append(("elementwise 128x256 (12 ops)", elementwise, [big], [True], None))

    a, b = arr(256, 256), arr(256, 256)
    def matmul(lib, x, y):
        return (x @ y).sum()
    out.append(("matmul 256x256 @ 256x256", matmul, [a, b], [True, True], 3 * 2 * 256 ** 3))

    x, w, bias = arr(128, 784), arr(784, 256) * 0.05, arr(256)
    def dense(lib, x, w, bias):
        return (x @ w + bias).sum()
    out.append(("dense 128x784 @ 784x256 + b", dense, [x, w, bias], [False, True, True],
                2 * 2 * 128 * 784 * 256))
    return out


def run_once(lib, fn, tensors):
    for t in tensors:
        t.grad = None
    start = time.perf_counter()
    fn(lib, *tensors).backward()
    return time.perf_counter() - start


def main():
    global np, ds, F
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for PyTorch and NumPy's BLAS (default: 2 / BLAS default)")
    args = parser.parse_args()
    if args.threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)

    import numpy
    import deepsheet
    import deepsheet.functional
    import torch
    np, ds, F = numpy, deepsheet, deepsheet.functional
    torch.set_num_threads(args.threads or 2)
    rng = np.random.default_rng(0)
    blas = np.__config__.CONFIG.get("Build Dependencies", {}).get("blas", {})
    blas_threads = os.environ.get("OPENBLAS_NUM_THREADS", "default") if args.threads else "default"
    print(f"deepsheet {ds.__version__} | NumPy {np.__version__} ({blas.get('name', '?')} "
          f"{blas.get('version', '')}, {blas_threads} threads) | PyTorch {torch.__version__} "
          f"({torch.get_num_threads()} threads) | {os.cpu_count()} CPUs")
    print(f"median (best) of {args.rounds} alternating rounds, one forward+backward each; "
          "ratio of medians (of bests)\n")
    print(f"{'workload':<30} {'deepsheet':>20} {'pytorch':>20} {'ours/torch':>15}")
    for name, fn, arrays, grads, flops in workloads(torch, rng):
        ours = [ds.tensor(a, requires_grad=g) for a, g in zip(arrays, grads)]
        theirs = [torch.tensor(a, requires_grad=g) for a, g in zip(arrays, grads)]
        for _ in range(args.warmup):
            run_once("ds", fn, ours)
            run_once("torch", fn, theirs)
        t_ours, t_theirs = [], []
        for _ in range(args.rounds):
            t_ours.append(run_once("ds", fn, ours))
            t_theirs.append(run_once("torch", fn, theirs))
        # Both sides must compute the same gradients, or the timing means nothing.
        for o, t in zip(ours, theirs):
            if t.grad is not None:
                np.testing.assert_allclose(o.grad, t.grad.numpy(), rtol=1e-3, atol=1e-3)
        mo, mt = statistics.median(t_ours), statistics.median(t_theirs)

        bo, bt = min(t_ours), min(t_theirs)

        def fmt(med, best):
            return f"{med * 1e6:8.1f} ({best * 1e6:7.1f}) us"
        line = (f"{name:<30} {fmt(mo, bo):>20} {fmt(mt, bt):>20} "
                f"{mo / mt:6.2f} ({bo / bt:4.2f})")
        if "tiny" in name:
            line += f"   {mo / flops * 1e6:.2f} vs {mt / flops * 1e6:.2f} us/node (fwd+bwd)"
        elif flops:
            line += f"   {flops / mo / 1e9:5.1f} vs {flops / mt / 1e9:5.1f} GFLOP/s"
        print(line)


if __name__ == "__main__":
    main()
