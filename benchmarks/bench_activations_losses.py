"""Forward + backward of every activation and the hot losses: deepsheet vs PyTorch.

Same float32 inputs in the same process; the two sides alternate (A B A B ...) and each
figure is the best CPU time (``time.process_time``, so other users of a shared machine
count less) of one forward+backward over the rounds, warm-up excluded. Both sides run on
one thread (``--threads`` changes it).

    python benchmarks/bench_activations_losses.py [--rounds 7] [--threads 1]

glibc may hand freed NumPy temporaries of a few hundred KiB back to the OS and fault them
in again on the next call (seen as system time); MALLOC_TRIM_THRESHOLD_=1073741824
MALLOC_MMAP_THRESHOLD_=1073741824 in the environment removes that effect.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    import numpy as np
    import torch
    import torch.nn.functional as TF

    import deepsheet as ds
    F = ds.functional
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)

    def timed(fn, n):
        t0 = time.process_time()
        for _ in range(n):
            fn()
        return (time.process_time() - t0) / n * 1e6

    def compare(name, ours, theirs, n):
        ours(), theirs()
        a, b = [], []
        for _ in range(args.rounds):
            a.append(timed(ours, n))
            b.append(timed(theirs, n))
        print(f"{name:40s} ours {min(a):8.1f} us   torch {min(b):8.1f} us   ratio {min(a) / min(b):5.2f}")

    def step(x, loss):
        def run():
            x.grad = None
            loss().backward()
        return run

    for n, c in [(128, 10), (1024, 100)]:
        z = rng.normal(size=(n, c)).astype(np.float32)
        y = rng.integers(0, c, n)
        onehot = np.eye(c, dtype=np.float32)[y]
        ours = ds.tensor(z, requires_grad=True)
        theirs = torch.tensor(z, requires_grad=True)
        ty, to = torch.from_numpy(y), torch.from_numpy(onehot)
        mean = "sum_over_batch_size"
        rows = [
            ("sparse CE, logits", lambda: F.sparse_categorical_crossentropy(
                y, ours, from_logits=True, reduction=mean), lambda: TF.cross_entropy(theirs, ty)),
            ("sparse CE, softmax output", lambda: F.sparse_categorical_crossentropy(
                y, F.softmax(ours), reduction=mean), lambda: TF.cross_entropy(theirs, ty)),
            ("categorical CE, logits", lambda: F.categorical_crossentropy(
                onehot, ours, from_logits=True, reduction=mean), lambda: TF.cross_entropy(theirs, to)),
            ("binary CE, logits", lambda: F.binary_crossentropy(
                onehot, ours, from_logits=True, reduction=mean),
             lambda: TF.binary_cross_entropy_with_logits(theirs, to)),
            ("MSE", lambda: F.mse(onehot, ours, reduction=mean), lambda: TF.mse_loss(theirs, to)),
        ]
        for name, a, b in rows:
            compare(f"{name} ({n},{c})", step(ours, a), step(theirs, b), 300)

    x = rng.normal(size=(128, 1024)).astype(np.float32)
    ours = ds.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    g, tg = np.ones_like(x), torch.ones_like(theirs)
    pairs = [("relu", F.relu, torch.relu), ("sigmoid", F.sigmoid, torch.sigmoid),
             ("tanh", F.tanh, torch.tanh), ("leaky_relu", F.leaky_relu, TF.leaky_relu),
             ("elu", F.elu, TF.elu), ("softmax", F.softmax, lambda t: torch.softmax(t, -1)),
             ("log_softmax", F.log_softmax, lambda t: torch.log_softmax(t, -1)),
             ("gelu", F.gelu, TF.gelu),
             ("gelu tanh", lambda t: F.gelu(t, approximate="tanh"),
              lambda t: TF.gelu(t, approximate="tanh")),
             ("softplus", F.softplus, TF.softplus), ("swish", F.swish, TF.silu)]
    for name, ofn, tfn in pairs:
        def run_ours(ofn=ofn):
            ours.grad = None
            ofn(ours).backward(g)

        def run_theirs(tfn=tfn):
            theirs.grad = None
            tfn(theirs).backward(tg)
        compare(f"{name} (128,1024)", run_ours, run_theirs, 30)


if __name__ == "__main__":
    main()
