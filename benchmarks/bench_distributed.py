"""Data-parallel training over MPI: the reference MLP and CNN at 1 and 2 processes.

Each setting is one ``mpirun -n P`` job of this script in worker mode; every rank runs one
deepsheet thread (``ds.set_num_threads(1)``; BLAS single-threaded), trains with
``DistributedOptimizer(Adam)`` on its part of every global batch (per-rank batch 128, so the
global batch is P x 128) for ``--epochs`` timed epochs after a warm-up epoch, and rank 0
reports samples/s of the whole job, the time each step spends averaging gradients
(``Allreduce``; it includes waiting for the slower rank), the bytes reduced per step and
the time of that Allreduce alone (after a barrier, median of 30).
Scaling efficiency = samples/s at P processes / (P x samples/s at 1 process). The jobs
alternate (1, 2, 1, 2, ...) for ``--rounds`` rounds; the load average is printed with each.

    python benchmarks/bench_distributed.py --model mlp --subset 30000 --rounds 2
    python benchmarks/bench_distributed.py --model cnn --subset 6400
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH = 128


def worker(args):
    sys.path.insert(0, HERE)
    import numpy as np

    import deepsheet as ds
    from deepsheet import distributed as dist
    dist.init()
    ds.set_num_threads(1)
    import bench_threads
    x, y = bench_threads._load(args.model, args.subset)
    mod = __import__("bench_cnn" if args.model == "cnn" else "bench_mlp")
    model = mod.ours_model(0)
    model.optimizer = opt = dist.DistributedOptimizer(model.optimizer)
    dist.broadcast_weights(model)
    model.fit(x[:BATCH * dist.size() * 10], y[:BATCH * dist.size() * 10], batch_size=BATCH,
              epochs=1, verbose=0)  # warm-up
    rates, per_step = [], []
    for _ in range(args.epochs):
        opt.allreduce_seconds, opt.allreduce_calls = 0.0, 0
        dist.barrier()
        t = time.perf_counter()
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
        dist.barrier()
        wall = time.perf_counter() - t
        steps = opt.data_shard.steps(len(x), BATCH)
        rates.append(len(x) / wall)
        per_step.append(opt.allreduce_seconds / steps)
    grad_bytes = sum(p.data.nbytes for p in opt.params)
    # The reduction alone, without waiting for the slower rank: a barrier before each one.
    from mpi4py import MPI
    buf = np.ones(grad_bytes // 4, np.float32)
    pure = []
    for _ in range(30):
        dist.barrier()
        t = time.perf_counter()
        dist.comm().Allreduce(MPI.IN_PLACE, buf)
        pure.append(time.perf_counter() - t)
    if dist.rank() == 0:
        print(json.dumps({"rates": rates, "allreduce_s": per_step, "bytes": grad_bytes,
                          "pure_s": statistics.median(pure),
                          "step_s": [BATCH * dist.size() / r for r in rates]}))
    del np


def run(procs, args):
    exe = shutil.which("mpirun") or shutil.which("mpiexec")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.dirname(HERE) + os.pathsep + env.get("PYTHONPATH", "")
    load = os.getloadavg()[0]
    out = subprocess.run([exe, "-n", str(procs), sys.executable, os.path.abspath(__file__),
                          "--worker", "--model", args.model, "--subset", str(args.subset),
                          "--epochs", str(args.epochs)],
                         capture_output=True, text=True, env=env, check=False)
    if out.returncode:
        raise SystemExit(f"mpirun -n {procs} failed:\n{out.stderr}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["load"] = load
    rate = statistics.median(res["rates"])
    ar = statistics.median(res["allreduce_s"])
    step = statistics.median(res["step_s"])
    print(f"  {procs} process(es): {rate:7.0f} samples/s, step {1e3 * step:.1f} ms, gradient "
          f"averaging {1e3 * ar:.2f} ms/step ({100 * ar / step:.0f}% of the step, incl. waiting "
          f"for the other rank), the {res['bytes'] / 2**20:.2f} MiB Allreduce alone "
          f"{1e3 * res['pure_s']:.2f} ms, load {load:.1f}", flush=True)
    return res


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", choices=("mlp", "cnn"), default="mlp")
    p.add_argument("--subset", type=int, default=None,
                   help="training samples per epoch (default 30,000 mlp, 6,400 cnn)")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.subset is None:
        args.subset = 30000 if args.model == "mlp" else 6400
    if args.worker:
        return worker(args)
    print(f"reference {args.model.upper()}, {args.subset} samples per epoch, batch {BATCH} per "
          f"rank, 1 thread per rank, {os.cpu_count()} CPUs; start {time.strftime('%H:%M:%S')}")
    res = {1: [], 2: []}
    for _ in range(args.rounds):
        for procs in (1, 2):
            res[procs].append(run(procs, args))
    med = {k: statistics.median(statistics.median(r["rates"]) for r in v) for k, v in res.items()}
    ar = statistics.median(statistics.median(r["allreduce_s"]) for r in res[2])
    pure = statistics.median(r["pure_s"] for r in res[2])
    loads = [r["load"] for v in res.values() for r in v]
    print(f"\n| model | 1 process samples/s | 2 processes samples/s (global batch {2 * BATCH}) "
          "| scaling efficiency | gradient averaging per step (incl. waiting) | the Allreduce "
          "alone | load |\n|---|---|---|---|---|---|---|")
    print(f"| {args.model.upper()} | {med[1]:.0f} | {med[2]:.0f} | "
          f"{med[2] / (2 * med[1]):.2f} | {1e3 * ar:.2f} ms | {1e3 * pure:.2f} ms | "
          f"{min(loads):.1f}-{max(loads):.1f} |")


if __name__ == "__main__":
    main()
