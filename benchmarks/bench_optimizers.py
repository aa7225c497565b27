"""Adam.step on MLP-sized parameters whose state holds subnormal numbers, vs torch.optim.Adam.

Scenario: a 784-256-128-10 MLP late in training. Weights fed by always-black border pixels
(the outer 4-pixel frame of a 28x28 image, 384 of 784 inputs) and by dead ReLU units (20%
of each hidden layer) get zero gradients; their Adam moments have decayed into the float32
subnormal range (below 1.18e-38), where x86 arithmetic can be many times slower. Every
repetition restores that state on both sides (untimed), then times STEPS updates.

Measured: ms per step for our Adam with each ``subnormals`` mode ("flush": FTZ/DAZ around
the step, the default; "zero": portable zeroing of tiny state values; "keep": plain IEEE
arithmetic) and for torch.optim.Adam (its CPU default single-tensor path, without and with
``torch.set_flush_denormal(True)``), plus both sides on the same parameters with all-normal
state as the baseline. Ratios are ours/torch (below 1 = we are faster).

Threads: torch.set_num_threads(2) (``--torch-threads``); NumPy's BLAS at its default (not used by the update,
whose elementwise ufuncs run on one thread).

Run:  python benchmarks/bench_optimizers.py [--steps 30] [--reps 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import deepsheet as ds  # noqa: E402
from deepsheet import backend  # noqa: E402
from deepsheet.optimizers import Adam  # noqa: E402

SHAPES = [(784, 256), (256,), (256, 128), (128,), (128, 10), (10,)]


def dead_masks(rng):
    """True where a parameter's gradient is always zero."""
    img = np.ones((28, 28), bool)
    img[4:24, 4:24] = False  # the 4-pixel frame is always black in Fashion-MNIST-like data
    dead_in = img.reshape(-1)
    dead_h1 = rng.random(256) < 0.2
    dead_h2 = rng.random(128) < 0.2
    return [dead_in[:, None] | dead_h1[None, :], dead_h1,
            dead_h1[:, None] | dead_h2[None, :], dead_h2,
            dead_h2[:, None] | np.zeros((1, 10), bool), np.zeros(10, bool)]


def make_case(subnormal, seed=0):
    rng = np.random.default_rng(seed)
    masks = dead_masks(rng)
    weights = [(0.05 * rng.standard_normal(s)).astype(np.float32) for s in SHAPES]
    grads = []
    for _ in range(4):  # a few gradient sets, cycled
        gs = []
        for s, m in zip(SHAPES, masks):
            g = (1e-3 * rng.standard_normal(s)).astype(np.float32)
            if subnormal:
                g[m] = 0.0
            gs.append(g)
        grads.append(gs)
    state = {"iterations": np.array(5000, np.int64)}
    for i, (s, m) in enumerate(zip(SHAPES, masks)):
        exp_avg = (1e-4 * rng.standard_normal(s)).astype(np.float32)
        exp_avg_sq = (1e-6 * rng.random(s) + 1e-8).astype(np.float32)
        if subnormal:
            # log-uniform over the subnormal range: what decayed moments look like
            tiny = 10.0 ** rng.uniform(-44.5, -38.0, s)
            exp_avg[m] = (np.sign(rng.standard_normal(s)) * tiny).astype(np.float32)[m]
            exp_avg_sq[m] = (10.0 ** rng.uniform(-44.5, -38.0, s)).astype(np.float32)[m]
        state[f"{i}.step"] = np.array(5000, np.int64)
        state[f"{i}.exp_avg"] = exp_avg
        state[f"{i}.exp_avg_sq"] = exp_avg_sq
    return weights, grads, state


class Ours:
    def __init__(self, case, mode):
        self.weights, self.grads, self.state = case
        self.params = [ds.tensor(w.copy(), requires_grad=True) for w in self.weights]
        self.opt = Adam(self.params, learning_rate=1e-3)
        self.opt.subnormals = mode

    def reset(self):
        for p, w in zip(self.params, self.weights):
            p.data[...] = w
        self.opt.load_state_dict(self.state)

    def run(self, steps):
        params, opt, grads = self.params, self.opt, self.grads
        for k in range(steps):
            for p, g in zip(params, grads[k % len(grads)]):
                p.grad = g
            opt.step()


class Theirs:
    def __init__(self, case, flush):
        import torch
        self.torch = torch
        self.flush = flush
        self.weights, grads, self.state = case
        self.params = [torch.tensor(w.copy(), requires_grad=True) for w in self.weights]
        self.grads = [[torch.from_numpy(g) for g in gs] for gs in grads]
        self.opt = torch.optim.Adam(self.params, lr=1e-3)

    def reset(self):
        torch = self.torch
        with torch.no_grad():
            for p, w in zip(self.params, self.weights):
                p.copy_(torch.from_numpy(w))
        for i, p in enumerate(self.params):
            self.opt.state[p] = {
                "step": torch.tensor(float(self.state[f"{i}.step"])),
                "exp_avg": torch.from_numpy(self.state[f"{i}.exp_avg"].copy()),
                "exp_avg_sq": torch.from_numpy(self.state[f"{i}.exp_avg_sq"].copy())}

    def run(self, steps):
        self.torch.set_flush_denormal(self.flush)
        try:
            params, opt, grads = self.params, self.opt, self.grads
            for k in range(steps):
                for p, g in zip(params, grads[k % len(grads)]):
                    p.grad = g
                opt.step()
        finally:
            self.torch.set_flush_denormal(False)


def time_alternating(runners, steps, reps):
    """ms per step for each runner: A B C ... repeated, state restored before each (untimed)."""
    times = {name: [] for name in runners}
    for r in range(reps + 1):
        for name, runner in runners.items():
            runner.reset()
            t0 = time.perf_counter()
            runner.run(steps)
            dt = (time.perf_counter() - t0) / steps * 1e3
            if r:  # the first round is warm-up
                times[name].append(dt)
    return times


def cpu_penalty(n=1_000_000, reps=20):
    """ms per 1M-element float32 op on subnormal vs normal inputs, without and with FTZ/DAZ.

    How much subnormals cost depends on the CPU (many Intel cores pay ~100 cycles per
    subnormal operand in add/mul; recent AMD cores mostly in sqrt and divide), which is
    what decides how much the remedy buys on a given machine.
    """
    sub = np.full(n, 1e-39, np.float32)
    normal = np.full(n, 1e-3, np.float32)
    out = np.empty_like(sub)
    ops = {"multiply": lambda a: np.multiply(a, 0.999, out=out),
           "add": lambda a: np.add(a, a, out=out),
           "sqrt": lambda a: np.sqrt(a, out=out),
           "divide": lambda a: np.divide(a, normal, out=out)}

    def best(fn, a):
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn(a)
            ts.append(time.perf_counter() - t0)
        return min(ts) * 1e3

    rows = []
    for name, fn in ops.items():
        t_normal, t_sub = best(fn, normal), best(fn, sub)
        with backend.flush_denormal():
            t_flush = best(fn, sub)
        rows.append((name, t_normal, t_sub, t_flush))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--torch-threads", type=int, default=2,
                    help="2 per PERFORMANCE.md; 1 on a loaded machine, where torch's spinning "
                         "thread pool loses far more than NumPy's single-threaded ufuncs")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(args.torch_threads)

    print(f"numpy {np.__version__}, torch {torch.__version__}, "
          f"torch threads {args.torch_threads}, load average {os.getloadavg()[0]:.1f}, "
          f"FTZ/DAZ reachable: {backend.flush_denormal.available}")
    print(f"params {sum(int(np.prod(s)) for s in SHAPES):,} in {SHAPES}; "
          f"{args.steps} steps x {args.reps} reps; ms/step (median, best)")
    print("\nCPU cost of subnormal operands (ms per 1M float32, best of 20)")
    for name, t_normal, t_sub, t_flush in cpu_penalty():
        print(f"  {name:9s} normal {t_normal:6.3f}  subnormal {t_sub:6.3f} "
              f"({t_sub / t_normal:4.1f}x)  subnormal under FTZ/DAZ {t_flush:6.3f}")
    rows = []
    for subnormal in (True, False):
        case = make_case(subnormal)
        runners = {}
        modes = ("flush", "zero", "keep") if subnormal else ("flush",)
        for mode in modes:
            runners[f"ours[{mode}]"] = Ours(case, mode)
        runners["torch"] = Theirs(case, flush=False)
        if subnormal:
            runners["torch[flush_denormal]"] = Theirs(case, flush=True)
        times = time_alternating(runners, args.steps, args.reps)
        ref = statistics.median(times["torch"])
        label = "subnormal state" if subnormal else "all-normal state"
        print(f"\n{label}")
        for name, ts in times.items():
            med = statistics.median(ts)
            ratio = f"{med / ref:5.2f}x torch" if name != "torch" else ""
            print(f"  {name:24s} {med:7.3f} ms  (best {min(ts):7.3f})  {ratio}")
            rows.append((label, name, med))
    return rows


if __name__ == "__main__":
    main()
