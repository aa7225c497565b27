"""The reference CNN's convolution stages, deepsheet against PyTorch, CPU time at one thread.

Each convolution + ReLU + 2x2 max pooling stage of a training step, forward and backward,
is timed in isolation on the batch the reference model sees (128 samples, float32):
deepsheet's fused node (``functional/conv_pool.py``; with ``--unfused`` also its separate
convolution and pooling nodes) on channels-last arrays, PyTorch's ATen ops on
channels-first tensors (``convolution_backward``, ``threshold_backward``,
``max_pool2d_with_indices_backward``: what its autograd runs). Isolated stages keep their
arrays in the last-level cache, so they run faster than inside a training step (the
whole-step numbers are ``bench_threads.py``'s).
Clock: the calling thread's CPU time (``time.thread_time``), so other processes on the
machine change the numbers little; each stage alternates ours / PyTorch (A B A B) and the
best of ``--rounds`` rounds of ``--iters`` calls is printed.

    python benchmarks/bench_cnn_layers.py --rounds 5 --iters 10 --unfused
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import deepsheet as ds  # noqa: E402
from deepsheet.functional.conv import Conv2dOp  # noqa: E402
from deepsheet.functional.conv_pool import Conv2dMaxPool2dOp  # noqa: E402
from deepsheet.functional.pooling import MaxPool2d  # noqa: E402

N = 128


def _op(cls, needs, **params):
    op = cls.__new__(cls)
    op.__dict__.update(params)
    op.needs_input_grad = needs
    return op


def data(rng):
    """Real inputs (Fashion-MNIST) pushed through the layers, so that pooling sees what it
    sees in training (PyTorch's max pooling branches on every comparison: random inputs
    make it several times slower than real ones), and random output gradients."""
    from deepsheet.datasets import fashion_mnist
    (x, _), _ = fashion_mnist.load_data()
    f32 = np.float32
    d = {"x1": (x[:N].reshape(N, 28, 28, 1) / f32(255)).astype(f32)}
    d["w1"] = (rng.uniform(-1, 1, (3, 3, 1, 32)) * np.sqrt(6 / (9 + 288))).astype(f32)
    d["b1"] = (rng.standard_normal(32) * 0.01).astype(f32)
    d["w2"] = (rng.uniform(-1, 1, (3, 3, 32, 64)) * np.sqrt(6 / (288 + 576))).astype(f32)
    d["b2"] = (rng.standard_normal(64) * 0.01).astype(f32)
    y1 = np.maximum(ds.functional.conv2d(d["x1"], d["w1"], d["b1"], padding="same").numpy(), 0)
    d["x2"] = ds.functional.max_pool2d(y1).numpy()
    for name, shape in (("gp1", (N, 14, 14, 32)), ("gp2", (N, 7, 7, 64))):
        d[name] = rng.standard_normal(shape).astype(f32)
    return d


def ours_stages(d, fused=True):
    """name -> callable, on deepsheet's graph ops (arrays in, arrays out): the fused
    convolution + ReLU + pooling node ``Sequential`` runs, or (``fused=False``) the two
    nodes one after the other."""
    g1, g2 = d["gp1"], d["gp2"]
    stages = {}
    for k, needs in ((1, (False, True, True)), (2, (True, True, True))):
        x, w, b, g = d[f"x{k}"], d[f"w{k}"], d[f"b{k}"], d[f"gp{k}"]
        if fused:
            op = _op(Conv2dMaxPool2dOp, needs, padding="same", dilation_rate=1, pool=(2, 2),
                     relu=True)
            op.forward(x, w, b)
            fwd = (lambda op, x, w, b: lambda: op.forward(x, w, b))(op, x, w, b)
            bwd = (lambda op, g: lambda: op.backward(g))(op, g)
        else:
            conv = _op(Conv2dOp, needs, strides=1, padding="same", dilation_rate=1, groups=1,
                       fname="conv2d", relu=True)
            pool = _op(MaxPool2d, (True,), pool_size=2, strides=None, padding="valid",
                       fname="max_pool2d")
            pool.forward(conv.forward(x, w, b))
            fwd = (lambda c, p, x, w, b: lambda: p.forward(c.forward(x, w, b)))(
                conv, pool, x, w, b)
            bwd = (lambda c, p, g: lambda: c.backward(p.backward(g)))(conv, pool, g)
        grads = "dW, db" if k == 1 else "dx, dW, db"
        stages[f"conv{k}+relu+pool{k} forward"] = fwd
        stages[f"conv{k}+relu+pool{k} backward ({grads})"] = bwd
    del g1, g2
    return stages


def torch_stages(d):
    import torch
    F, aten = torch.nn.functional, torch.ops.aten

    def t(a, perm=(0, 3, 1, 2)):
        return torch.from_numpy(np.ascontiguousarray(a.transpose(perm)))
    stages = {}
    for k, mask in ((1, [False, True, True]), (2, [True, True, True])):
        x, w = t(d[f"x{k}"]), t(d[f"w{k}"], (3, 2, 0, 1))
        b, g = torch.from_numpy(d[f"b{k}"]), t(d[f"gp{k}"])
        y = F.relu(F.conv2d(x, w, b, padding=1))
        _, idx = F.max_pool2d_with_indices(y, 2)

        def fwd(x=x, w=w, b=b):
            return F.max_pool2d_with_indices(F.relu(F.conv2d(x, w, b, padding=1)), 2)

        def bwd(g=g, y=y, idx=idx, x=x, w=w, mask=mask):
            gy = aten.max_pool2d_with_indices_backward(g, y, [2, 2], [2, 2], [0, 0], [1, 1],
                                                       False, idx)
            gz = aten.threshold_backward(gy, y, 0)
            return aten.convolution_backward(gz, x, w, [w.shape[0]], [1, 1], [1, 1], [1, 1],
                                             False, [0, 0], 1, mask)
        grads = "dW, db" if k == 1 else "dx, dW, db"
        stages[f"conv{k}+relu+pool{k} forward"] = fwd
        stages[f"conv{k}+relu+pool{k} backward ({grads})"] = bwd
    return stages


def _cpu_ms(fn, iters):
    fn()
    t = time.thread_time()
    for _ in range(iters):
        fn()
    return (time.thread_time() - t) / iters * 1e3


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--only", default="", help="comma-separated substrings of stage names")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--unfused", action="store_true",
                   help="also time deepsheet's separate convolution and pooling nodes")
    args = p.parse_args(argv)
    ds.set_num_threads(1)
    d = data(np.random.default_rng(0))
    ours = ours_stages(d)
    plain = ours_stages(d, fused=False) if args.unfused else {}
    theirs = {} if args.no_torch else torch_stages(d)
    if theirs:
        import torch
        torch.set_num_threads(1)
    print(f"CPU ms per call, best of {args.rounds} rounds of {args.iters} (thread CPU time, "
          f"1 thread, batch {N}); load {os.getloadavg()[0]:.1f}")
    print("| stage | deepsheet | deepsheet unfused | PyTorch | ratio ours/torch |\n"
          "|---|---|---|---|---|")
    tot = [0.0, 0.0, 0.0]
    for name, fn in ours.items():
        if args.only and not any(s in name for s in args.only.split(",")):
            continue
        times = [[], [], []]
        for _ in range(args.rounds):  # A B C A B C ...
            for k, f in enumerate((fn, plain.get(name), theirs.get(name))):
                if f is not None:
                    times[k].append(_cpu_ms(f, args.iters))
        best = [min(t) if t else float("nan") for t in times]
        tot = [a + b for a, b in zip(tot, best)]
        print(f"| {name} | {best[0]:.2f} | {best[1]:.2f} | {best[2]:.2f} | "
              f"{best[0] / best[2]:.2f} |", flush=True)
    print(f"| total | {tot[0]:.2f} | {tot[1]:.2f} | {tot[2]:.2f} | {tot[0] / tot[2]:.2f} |")
    print(f"load {os.getloadavg()[0]:.1f}")

if __name__ == "__main__":
    main()
