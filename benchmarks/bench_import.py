"""How long ``import deepsheet`` takes, next to ``import numpy`` and ``import torch``.

Each figure is the median over fresh interpreters (the modules are imported for the first
time in each), timed inside the child from just before the import statement to just after
it, so interpreter start-up is excluded. The three imports are run in turn (A B C A B C ...)
so machine noise spreads evenly. Bytecode is cached in a temporary folder first, as an
installed package would have it (this also works where PYTHONDONTWRITEBYTECODE is set).

    python benchmarks/bench_import.py [--runs 15] [--limit 0.2]

Exits with status 1 if the median for deepsheet is above ``--limit`` seconds.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHILD = ("import sys, time; t = time.perf_counter(); import {mod}; d = time.perf_counter() - t; "
         "heavy = sorted(m for m in {heavy!r} if m in sys.modules); print(d, ','.join(heavy))")
# Optional or heavy modules that must not be imported by `import deepsheet`.
HEAVY = ("torch", "cupy", "matplotlib", "gymnasium", "scipy", "sklearn", "pandas", "safetensors",
         "tqdm")


def time_import(mod, env):
    out = subprocess.run([sys.executable, "-c", CHILD.format(mod=mod, heavy=HEAVY)], env=env,
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout.split()
    return float(out[0]), (out[1] if len(out) > 1 else "")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--limit", type=float, default=0.2)
    args = parser.parse_args()

    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="deepsheet-bench-pyc-")
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")

    mods = ["deepsheet", "numpy"]
    try:
        import importlib.util
        if importlib.util.find_spec("torch") is not None:
            mods.append("torch")
    except ImportError:  # pragma: no cover
        pass
    for mod in mods:  # warm-up: write the bytecode cache, fill the OS file cache
        time_import(mod, env)
    times = {m: [] for m in mods}
    heavy_seen = ""
    for _ in range(args.runs):
        for mod in mods:
            t, heavy = time_import(mod, env)
            times[mod].append(t)
            if mod == "deepsheet":
                heavy_seen = heavy_seen or heavy

    version = sys.version.split()[0]
    print(f"import times over {args.runs} fresh interpreters (seconds; Python {version})")
    print(f"{'module':<10} {'median':>8} {'min':>8} {'max':>8}")
    for mod in mods:
        ts = times[mod]
        print(f"{mod:<10} {statistics.median(ts):8.3f} {min(ts):8.3f} {max(ts):8.3f}")
    extra = statistics.median(a - b for a, b in zip(times["deepsheet"], times["numpy"]))
    print(f"deepsheet on top of numpy (median of paired differences): {extra * 1000:.1f} ms")
    print(f"heavy modules loaded by `import deepsheet`: {heavy_seen or 'none'}")
    median = statistics.median(times["deepsheet"])
    if median > args.limit:
        print(f"FAIL: median {median:.3f} s is above the {args.limit} s limit")
        return 1
    print(f"OK: median {median:.3f} s is under the {args.limit} s limit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
