"""The reference MLP, CNN and LSTM on a GPU: deepsheet on CuPy against PyTorch on CUDA.

Not yet run on a GPU (none was available while it was written); ``--device cpu`` runs the
same code on the CPU (deepsheet on NumPy, PyTorch on the CPU), which is how the script itself
is checked. On a CUDA machine with ``pip install -e ".[test,gpu]"``:

    python benchmarks/bench_gpu.py --device gpu [--models mlp,cnn,lstm] [--rounds 3]

Recipes as in bench_mlp.py, bench_cnn.py and bench_rnn.py (batch 128, Adam 1e-3, float32).
Both sides see the same samples in the same order (epoch e uses
``numpy.random.default_rng(e).permutation``, applied before the clock starts); one warm-up
epoch each (CuPy compiles its kernels, cuDNN picks its algorithms), then ``--rounds``
alternating epochs (A B A B), each ended by a device synchronization; samples/s median and
best, and the ratio ours/torch.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH = 128


def _sync(device):
    if device == "gpu":
        import cupy
        import torch
        cupy.cuda.Device().synchronize()
        torch.cuda.synchronize()


def _data(name, subset):
    import numpy as np
    from deepsheet.datasets import fashion_mnist
    (x, y), _ = fashion_mnist.load_data()
    x = x[:subset].astype(np.float32) / 255.0
    y = y[:subset].astype(np.int64)
    shape = {"mlp": (-1, 784), "cnn": (-1, 28, 28, 1), "lstm": (-1, 28, 28)}[name]
    return x.reshape(shape), y


def _models(name, device):
    """(deepsheet model on ``device``, torch net, torch optimizer, input converter)."""
    import torch
    import deepsheet as ds
    import bench_cnn
    import bench_mlp
    import bench_rnn
    ds.set_default_device(device)
    tdev = "cuda" if device == "gpu" else "cpu"
    if name == "lstm":
        model = bench_rnn.ours_model(0)
        net, opt = bench_rnn.torch_twin(model)
        net.to(tdev)
        opt = torch.optim.Adam(net.parameters(), lr=bench_rnn.LR)
        return model, net, opt, lambda a: torch.from_numpy(a).to(tdev)
    mod = bench_cnn if name == "cnn" else bench_mlp
    model = mod.ours_model(0)
    net, _ = mod.torch_model(0)
    net.to(tdev)
    opt = torch.optim.Adam(net.parameters(), lr=mod.LR)
    if name == "cnn":
        return model, net, opt, lambda a: bench_cnn.to_nchw(a).to(tdev)
    return model, net, opt, lambda a: torch.from_numpy(a).to(tdev)


def measure(name, args):
    import numpy as np
    import torch
    sys.path.insert(0, HERE)
    from _common import torch_epoch
    x, y = _data(name, args.subset)
    model, net, opt, to_torch = _models(name, args.device)
    epochs = []
    for e in range(args.rounds + 1):
        p = np.random.default_rng(e).permutation(len(x))
        epochs.append((np.ascontiguousarray(x[p]), y[p]))
    tdev = "cuda" if args.device == "gpu" else "cpu"
    tys = [torch.from_numpy(yy).to(tdev) for _, yy in epochs]
    txs = [to_torch(xx) for xx, _ in epochs]

    def ours(i):
        xx, yy = epochs[i]
        _sync(args.device)
        t = time.perf_counter()
        model.fit(xx, yy, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
        _sync(args.device)
        return len(xx) / (time.perf_counter() - t)

    def theirs(i):
        _sync(args.device)
        t = time.perf_counter()
        torch_epoch(net, opt, txs[i], tys[i], torch.arange(len(txs[i]), device=tdev), BATCH)
        _sync(args.device)
        return len(txs[i]) / (time.perf_counter() - t)

    ours(0), theirs(0)  # warm-up
    a, b = [], []
    for i in range(1, args.rounds + 1):
        a.append(ours(i))
        b.append(theirs(i))
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"| {name.upper()} | {ma:.0f} ({max(a):.0f}) | {mb:.0f} ({max(b):.0f}) | "
          f"{ma / mb:.2f} ({max(a) / max(b):.2f}) |", flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", choices=("gpu", "cpu"), default="gpu")
    p.add_argument("--models", default="mlp,cnn,lstm")
    p.add_argument("--subset", type=int, default=12800, help="training samples per epoch")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    sys.path.insert(0, HERE)
    sys.path.insert(0, os.path.dirname(HERE))
    import torch
    import deepsheet as ds
    if args.device == "gpu" and not (ds.backend.gpu_available() and torch.cuda.is_available()):
        raise SystemExit("--device gpu needs CuPy with a GPU and a CUDA build of PyTorch")
    where = (torch.cuda.get_device_name(0) if args.device == "gpu"
             else f"CPU, {ds.get_num_threads()} deepsheet / {torch.get_num_threads()} torch threads")
    print(f"{args.subset} samples per epoch, batch {BATCH}, {args.rounds} rounds; {where}\n")
    print("| model | deepsheet samples/s median (best) | torch | ratio ours/torch median (best) |")
    print("|---|---|---|---|")
    for name in args.models.split(","):
        measure(name, args)


if __name__ == "__main__":
    main()
