"""Attention speed against PyTorch: a transformer encoder layer and attention alone, fwd+bwd.

Rows: scaled dot-product attention (batch 32, 4 heads, sequence 64, head size 32) and one
post-norm TransformerEncoder layer (d_model 128, 4 heads, feed-forward 512, sequence 64,
batch 32, dropout 0) against torch.nn.TransformerEncoderLayer with the same weights.
Forward + backward of sum(out * g), alternating ours/theirs, best of ``--repeats`` rounds.
``--clock cpu`` (1 thread only) times the calling thread's CPU time instead of the wall
clock: on a busy machine it leaves out the time slices other processes take, so the ratio
holds (cache sharing with them still costs both libraries).

    python benchmarks/bench_attention.py --threads 1
    python benchmarks/bench_attention.py --threads 2
    python benchmarks/bench_attention.py --threads 1 --clock cpu
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np


CLOCK = time.perf_counter


def best(fn, n, rounds):
    times = []
    for _ in range(rounds):
        t0 = CLOCK()
        for _ in range(n):
            fn()
        times.append((CLOCK() - t0) / n)
    return min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    args = ap.parse_args()
    if args.clock == "cpu":
        if args.threads != 1:
            ap.error("--clock cpu measures one thread: use it with --threads 1")
        global CLOCK
        CLOCK = time.thread_time
    import torch
    from threadpoolctl import threadpool_limits

    import deepsheet as ds
    torch.set_num_threads(args.threads)
    # deepsheet's threads are its pool's; BLAS stays single-threaded, the library's policy
    # (parallel.py: OpenBLAS threads spinning beside the pool's cost far more than they give)
    ds.set_num_threads(args.threads)
    limits = threadpool_limits(1)
    rng = np.random.default_rng(0)
    B, T, D, H, FF = 32, 64, 128, 4, 512

    # --- attention only
    q, k, v = (rng.standard_normal((B, H, T, D // H)).astype(np.float32) for _ in range(3))
    g = rng.standard_normal((B, H, T, D // H)).astype(np.float32)
    qs, ks, vs = (ds.tensor(a, requires_grad=True) for a in (q, k, v))
    qt, kt, vt = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    gt = torch.from_numpy(g)

    def ours_attn():
        out = ds.functional.scaled_dot_product_attention(qs, ks, vs, is_causal=True)
        out.backward(g)

    def theirs_attn():
        out = torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, is_causal=True)
        out.backward(gt)

    # --- encoder layer
    torch.manual_seed(0)
    tl = torch.nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, batch_first=True)
    enc = ds.layers.TransformerEncoder(FF, H)
    x = rng.standard_normal((B, T, D)).astype(np.float32)
    gx = rng.standard_normal((B, T, D)).astype(np.float32)
    enc(x)
    enc.set_weights(ds.layers.TransformerEncoder.weights_from_torch(tl.state_dict(), H))
    xs = ds.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    gxt = torch.from_numpy(gx)
    np.testing.assert_allclose(enc(x).numpy(), tl(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-3, atol=1e-4)

    def ours_enc():
        enc(xs, training=True).backward(gx)

    def theirs_enc():
        tl(xt).backward(gxt)

    load = os.getloadavg()[0]
    print(f"threads={args.threads} (torch.set_num_threads, ds.set_num_threads; NumPy's BLAS at 1), "
          f"{args.clock} clock, load average {load:.2f}")
    print(f"{'workload':54s} {'ours ms':>9s} {'torch ms':>9s} {'speed ratio ours/torch':>22s} "
          f"{'(of medians)':>12s}")
    for name, ours, theirs in (
            (f"causal SDPA ({B}x{H}x{T}x{D // H}) fwd+bwd", ours_attn, theirs_attn),
            (f"TransformerEncoder d{D} h{H} ff{FF} T{T} B{B} fwd+bwd", ours_enc, theirs_enc)):
        ours(), theirs()  # warm-up
        to, tt = [], []
        for _ in range(args.repeats):  # alternate A B A B
            to.append(best(ours, args.n, 1))
            tt.append(best(theirs, args.n, 1))
        a, b = min(to), min(tt)
        # ratio as throughput ours/theirs: > 1 means deepsheet is faster
        med = float(np.median(tt) / np.median(to))
        print(f"{name:54s} {a * 1e3:9.2f} {b * 1e3:9.2f} {b / a:22.2f} {med:12.2f}")
    limits.restore_original_limits()


if __name__ == "__main__":
    main()
