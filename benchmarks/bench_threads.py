"""Threads and busy machines: deepsheet ``fit`` against PyTorch, each library in its own process.

For every setting asked for, the script starts one fresh Python process per library (so
neither library's threads, allocator or BLAS state disturbs the other, and PyTorch does
not train slower after deepsheet has run), alternating ours / theirs (A B A B) for
``--rounds`` rounds, and prints samples/s (median and best over the rounds) and the ratio
ours/torch. Both sides train the same recipe on the same samples in the same order: epoch
e uses the permutation ``numpy.random.default_rng(e).permutation(n)``, applied to the data
before the clock starts (deepsheet fits it with ``shuffle=False``). One warm-up epoch of
``--warmup`` steps runs first in each process.

Settings (``--settings``, comma separated):

* ``1``, ``2``, ...: both libraries pinned to that many threads (``ds.set_num_threads`` /
  ``torch.set_num_threads``), on the machine as it is.
* ``busy-default``: one competing busy process (``python -c "while True: pass"``) is
  started before each pair and stopped after it; both libraries keep their defaults.
* ``busy-1``, ``busy-2``: the busy process and both libraries pinned to 1 or 2 threads.
* ``overhead``: (in this process) the cost of one ``parallel_for`` and the work size where
  two threads start to pay (the basis of ``parallel.MIN_PARALLEL_WORK``).
* ``profile``: (in this process) per graph op, the CPU time of a ``fit`` step in chunks
  that the pool's threads share and on one core (the remaining single-threaded time).

The load average (``os.getloadavg``) is printed with every measurement: the machine this
was written on is shared, so alternate, repeat and compare only rows measured together.

    python benchmarks/bench_threads.py --model cnn --settings 1,2,busy-default --rounds 3
    python benchmarks/bench_threads.py --model mlp --settings 2 --subset 60000

Worker mode (used by the script itself): ``--worker ours|torch --threads N|default``.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH = 128


# ------------------------------------------------------------------ worker (one library)
def _load(model, subset):
    import numpy as np
    from deepsheet.datasets import fashion_mnist
    (x, y), _ = fashion_mnist.load_data()
    x, y = x[:subset], y[:subset].astype(np.int64)
    x = x.astype(np.float32) / 255.0
    x = x.reshape(len(x), 28, 28, 1) if model == "cnn" else x.reshape(len(x), -1)
    return x, y


def _epochs(model, subset, epochs, warmup):
    """(permuted x, y) per epoch: warm-up epoch first (``warmup`` steps), then ``epochs``."""
    import numpy as np
    x, y = _load(model, subset)
    out = []
    for e in range(epochs + 1):
        p = np.random.default_rng(e).permutation(len(x))
        if e == 0:
            p = p[:warmup * BATCH]
        out.append((np.ascontiguousarray(x[p]), y[p]))
    return out


def worker(args):
    sys.path.insert(0, HERE)
    sys.path.insert(0, os.path.dirname(HERE))
    import deepsheet as ds
    if args.threads != "default":
        ds.set_num_threads(int(args.threads))
    data = _epochs(args.model, args.subset, args.epochs, args.warmup)
    if args.worker == "ours":
        import bench_cnn
        import bench_mlp
        model = (bench_cnn if args.model == "cnn" else bench_mlp).ours_model(0)

        def epoch(x, y):
            model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
        threads = (f"up to {ds.get_num_threads()}, dynamic" if ds.parallel.get_dynamic()
                   else ds.get_num_threads())
    else:
        import torch
        if args.threads != "default":
            torch.set_num_threads(int(args.threads))
        import bench_cnn
        import bench_mlp
        from _common import torch_epoch
        net, opt = (bench_cnn if args.model == "cnn" else bench_mlp).torch_model(0)

        def epoch(x, y):
            tx = bench_cnn.to_nchw(x) if args.model == "cnn" else torch.from_numpy(x)
            ty = torch.from_numpy(y)
            torch_epoch(net, opt, tx, ty, torch.arange(len(x)), BATCH)
        threads = torch.get_num_threads()
    rates, cpus = [], []
    for i, (x, y) in enumerate(data):
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        epoch(x, y)
        wall = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        if i:
            rates.append(len(x) / wall)
            cpus.append((r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) / wall)
    print(json.dumps({"rates": rates, "cores": cpus, "threads": threads}))


# ------------------------------------------------------------------ in-process sections
def overhead(args):
    """parallel_for's dispatch cost and the size where two threads start to pay (pinned 2)."""
    import numpy as np

    import deepsheet as ds
    from deepsheet import parallel
    ds.set_num_threads(2)

    def best(fn, reps):
        fn()
        times = []
        for _ in range(7):
            t = time.perf_counter()
            for _ in range(reps):
                fn()
            times.append((time.perf_counter() - t) / reps)
        return min(times)
    noop = best(lambda: parallel.parallel_for(2, lambda i: None), 500)
    print(f"parallel_for of 2 empty chunks on 2 threads: {1e6 * noop:.1f} us "
          f"(load {os.getloadavg()[0]:.1f})")
    print("| bytes touched (x*x -> out, 4 chunks) | 1 thread us | 2 threads us | speed-up |")
    print("|---|---|---|---|")
    for n in (1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20):
        x = np.random.rand(n).astype(np.float32)
        out = np.empty_like(x)
        sp = parallel.spans(n, -(-n // 4))

        def fn(i, sp=sp, x=x, out=out):
            a, b = sp[i]
            np.multiply(x[a:b], x[a:b], out=out[a:b])
        t1 = best(lambda: [fn(i) for i in range(len(sp))], max(1, (1 << 22) // n))
        t2 = best(lambda: parallel.parallel_for(len(sp), fn), max(1, (1 << 22) // n))
        print(f"| {3 * 4 * n:,} | {1e6 * t1:.1f} | {1e6 * t2:.1f} | {t1 / t2:.2f} |")
    gil_handover()


def gil_handover():
    """Two Python threads each making 20 NumPy calls in a row (x * y -> out) against one thread
    making all 40: how long a call must be before a second thread pays. Every call releases
    Python's lock and takes it back; when the other thread waits for it, the hand-over wakes
    a sleeping thread, which on a virtual CPU that halts when idle takes tens of µs."""
    import statistics
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    print("| elements per call | 1 thread, µs a call | 2 threads, µs a call | speed-up |")
    print("|---|---|---|---|")
    ex = ThreadPoolExecutor(1)
    for n in (20_000, 100_000, 400_000):
        arrs = [tuple(np.random.rand(n).astype(np.float32) for _ in range(3)) for _ in range(2)]

        def work(i, arrs=arrs):
            a, b, o = arrs[i]
            for _ in range(20):
                np.multiply(a, b, out=o)

        def two():
            f = ex.submit(work, 1)
            work(0)
            f.result()

        def one():
            work(0)
            work(1)
        rates = {}
        for name, fn in (("one", one), ("two", two)) * 2:
            times = []
            for _ in range(30):
                t = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t)
            rates.setdefault(name, []).append(statistics.median(times) / 40)
        t1, t2 = min(rates["one"]), min(rates["two"])
        print(f"| {n:,} | {1e6 * t1:.1f} | {1e6 * t2:.1f} | {t1 / t2:.2f} |")
    ex.shutdown()


def profile(args):
    """Where a step's CPU time goes: per graph op, the part in chunks that the pool's threads
    share and the part that runs on one core (the rest of the step), at 1 thread, CPU time.

    Measured on one thread with thread CPU time, so the split does not depend on how busy the
    machine is: a chunk counts as shared when its ``parallel_for`` would spread it (more than
    one chunk, above ``MIN_PARALLEL_WORK``). A model of dense layers only runs its steps in a
    ``parallel.blas_team`` instead (the pool stays idle): there its products count as shared
    (BLAS's threads split them) and everything else runs on one core.
    """
    import collections

    import deepsheet as ds
    from deepsheet import autograd, parallel
    from deepsheet.functional import _kernels
    sys.path.insert(0, HERE)
    import bench_cnn
    import bench_mlp
    ds.set_num_threads(1)
    x, y = _load(args.model, args.subset)
    model = (bench_cnn if args.model == "cnn" else bench_mlp).ours_model(0)
    model.fit(x[:BATCH * 5], y[:BATCH * 5], batch_size=BATCH, epochs=1, verbose=0)
    shared = [0.0]
    plain = parallel.parallel_for

    def timed(n, fn, work=None):
        if n <= 1 or (work is not None and work < parallel.MIN_PARALLEL_WORK):
            return plain(n, fn, work)
        t = time.thread_time()
        try:
            return plain(n, fn, work)
        finally:
            shared[0] += time.thread_time() - t
    team_product = _kernels._team_product

    def timed_product(*a):
        t = time.thread_time()
        try:
            return team_product(*a)
        finally:
            shared[0] += time.thread_time() - t
    ops = collections.defaultdict(lambda: [0.0, 0.0])
    wrapped = []

    def wrap(cls, name):
        f = cls.__dict__[name]

        def w(self, *a, **k):
            t, s0 = time.thread_time(), shared[0]
            try:
                return f(self, *a, **k)
            finally:
                row = ops[f"{cls.__name__}.{name}"]
                par = shared[0] - s0
                row[0] += time.thread_time() - t - par
                row[1] += par
        wrapped.append((cls, name, f))
        setattr(cls, name, w)

    def subclasses(c):
        for s in c.__subclasses__():
            yield s
            yield from subclasses(s)
    for cls in set(subclasses(autograd.Function)):
        for name in ("forward", "backward"):
            if name in cls.__dict__:
                wrap(cls, name)
    from deepsheet.optimizers.base import Optimizer
    wrap(Optimizer, "_apply_pairs")  # one core here; blocks on the pool from 2 threads on
    parallel.parallel_for = timed
    _kernels._team_product = timed_product
    steps = len(x) // BATCH
    t = time.thread_time()
    try:
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
    finally:
        parallel.parallel_for = plain
        _kernels._team_product = team_product
        for cls, name, f in wrapped:
            setattr(cls, name, f)
    cpu = (time.thread_time() - t) / steps * 1e3
    par = shared[0] / steps * 1e3
    print(f"{args.model.upper()} fit, {steps} steps, CPU time per step on 1 thread: {cpu:.2f} ms, "
          f"{par:.2f} ms ({100 * par / cpu:.0f}%) in work that several threads share, "
          f"{cpu - par:.2f} ms ({100 * (cpu - par) / cpu:.0f}%) on one core (load "
          f"{os.getloadavg()[0]:.1f}; " + ("steps in a BLAS team: its products are shared, "
                                           "the rest on one core)" if model._blas_team_ok() else
                                           "the optimizer's update is shared from 2 threads on)"))
    print("| op | one core, ms/step | shared, ms/step |\n|---|---|---|")
    alone = 0.0
    for name, (one, sh) in sorted(ops.items(), key=lambda kv: -sum(kv[1])):
        alone += one
        if one + sh > 0.02e-3 * steps:
            print(f"| {name} | {1e3 * one / steps:.2f} | {1e3 * sh / steps:.2f} |")
    print(f"| everything else (loop, loss glue, metrics, graph bookkeeping) | "
          f"{cpu - par - 1e3 * alone / steps:.2f} | - |")


# ------------------------------------------------------------------ driver
def _run(lib, setting, args):
    threads = setting.split("-")[-1]
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", lib, "--threads", threads,
           "--model", args.model, "--subset", str(args.subset), "--epochs", str(args.epochs),
           "--warmup", str(args.warmup)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.dirname(HERE) + os.pathsep + env.get("PYTHONPATH", "")
    load = os.getloadavg()[0]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode:
        raise SystemExit(f"{lib} worker failed:\n{out.stderr}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["load"] = load
    return res


def measure(setting, args):
    busy = setting.startswith("busy")
    results = {"ours": [], "torch": []}
    for _ in range(args.rounds):
        for lib in ("ours", "torch"):
            hog = (subprocess.Popen([sys.executable, "-c", "while True: pass"])
                   if busy else None)
            try:
                time.sleep(0.2 if busy else 0)
                results[lib].append(_run(lib, setting, args))
            finally:
                if hog is not None:
                    hog.kill()
                    hog.wait()
            r = results[lib][-1]
            print(f"    {setting:>12s} {lib:5s} ({r['threads']} threads): "
                  f"{statistics.median(r['rates']):7.0f} samples/s, "
                  f"{statistics.median(r['cores']):.2f} cores busy, load {r['load']:.1f}",
                  flush=True)
    return results


def summary(setting, results, flops, peak):
    med = {k: statistics.median(statistics.median(r["rates"]) for r in v)
           for k, v in results.items()}
    frac = {k: 100 * flops * v / 1e9 / peak for k, v in med.items()}
    best = {k: max(max(r["rates"]) for r in v) for k, v in results.items()}
    loads = [r["load"] for v in results.values() for r in v]
    # Samples per CPU-second (all threads): what a library gets out of the CPU time it was
    # given, whatever share of the cores a busy machine left it.
    per_cpu = {k: max(rate / core for r in v for rate, core in zip(r["rates"], r["cores"]))
               for k, v in results.items()}
    return (f"| {setting} | {med['ours']:.0f} ({best['ours']:.0f}) | {med['torch']:.0f} "
            f"({best['torch']:.0f}) | {med['ours'] / med['torch']:.2f} "
            f"({best['ours'] / best['torch']:.2f}) | {per_cpu['ours'] / per_cpu['torch']:.2f} | "
            f"{frac['ours']:.1f}% / {frac['torch']:.1f}% | {min(loads):.1f}-{max(loads):.1f} |")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", choices=("mlp", "cnn"), default="cnn")
    p.add_argument("--settings", default="1,2,busy-default")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--subset", type=int, default=None,
                   help="training samples per epoch (default: 12,800 for cnn, 60,000 for mlp)")
    p.add_argument("--epochs", type=int, default=2, help="timed epochs per process")
    p.add_argument("--warmup", type=int, default=20, help="steps of the warm-up epoch")
    p.add_argument("--peak", type=float, default=210.0,
                   help="float32 matmul peak of this machine in GFLOP/s (NumPy's, 2048^2)")
    p.add_argument("--worker", choices=("ours", "torch"), help=argparse.SUPPRESS)
    p.add_argument("--threads", default="default", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.subset is None:
        args.subset = 12800 if args.model == "cnn" else 60000
    if args.worker:
        return worker(args)
    print(f"reference {args.model.upper()}, {args.subset} samples per epoch, batch {BATCH}, "
          f"{args.epochs} timed epochs per process, {args.rounds} rounds (A B A B); "
          f"{os.cpu_count()} CPUs; start {time.strftime('%H:%M:%S')}, load {os.getloadavg()}")
    sys.path.insert(0, os.path.dirname(HERE))  # the in-process sections import deepsheet
    rows = []
    settings = args.settings.split(",")
    for name, fn in (("overhead", overhead), ("profile", profile)):
        if name in settings:
            settings.remove(name)
            fn(args)
    sys.path.insert(0, HERE)
    flops = __import__("bench_cnn" if args.model == "cnn" else "bench_mlp").FLOPS_PER_SAMPLE
    for setting in settings:
        rows.append(summary(setting, measure(setting, args), flops, args.peak))
    if rows:
        print("\n| setting | deepsheet samples/s median (best) | torch | ratio ours/torch "
              "median (best) | ratio per CPU-second (best) | % of the "
              f"{args.peak:.0f} GFLOP/s matmul peak, ours / torch | load |\n"
              "|---|---|---|---|---|---|---|")
        print("\n".join(rows))
    print(f"end {time.strftime('%H:%M:%S')}, load {os.getloadavg()}")


if __name__ == "__main__":
    main()
