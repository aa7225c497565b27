"""Helpers shared by the reference-model benchmarks (bench_mlp.py, bench_cnn.py).

Both sides see the same data order: each epoch's permutation is drawn from the library RNG,
the draw ``fit(shuffle=True)`` makes, and replayed for the PyTorch loop.
"""
from __future__ import annotations

import cProfile
import io
import pstats
import time

import numpy as np

import deepsheet as ds


def torch_epoch(net, opt, x, y, order, batch):
    """One epoch in the idiomatic PyTorch loop, tracking loss and accuracy as ``fit`` does."""
    import torch
    net.train()
    loss_fn = torch.nn.CrossEntropyLoss()
    loss_sum, hits = 0.0, 0
    for i in range(0, len(order), batch):
        idx = order[i:i + batch]
        xb, yb = x[idx], y[idx]
        out = net(xb)
        loss = loss_fn(out, yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss_sum += loss.item() * len(idx)
        hits += int((out.argmax(1) == yb).sum())
    return loss_sum / len(order), hits / len(order)


def torch_accuracy(net, x, y, chunk=1000):
    """Accuracy of ``net`` on (x, y) in inference mode, ``chunk`` samples at a time."""
    import torch
    net.eval()
    with torch.no_grad():
        hits = sum(int((net(x[i:i + chunk]).argmax(1) == y[i:i + chunk]).sum())
                   for i in range(0, len(x), chunk))
    return hits / len(x)


def print_fit_profile(model, x, y, batch, top):
    """cProfile of ``model.fit`` over (x, y) for one epoch: the ``top`` lines by own time."""
    prof = cProfile.Profile()
    prof.enable()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    print(f"cProfile of {-(-len(x) // batch)} fit steps, sorted by own time:")
    print("\n".join(line for line in out.getvalue().splitlines()[4:] if line.strip()))


def accuracy_over_seeds(data, seeds, epochs, ours_model, torch_model, to_torch, batch,
                        eval_batch=1000):
    """Test accuracy of both libraries after ``epochs``, one run per seed, and the mean.

    ``ours_model(seed)`` and ``torch_model(seed)`` build the two models (each library with
    its own default initializers); ``to_torch`` turns an input array into PyTorch's layout.
    """
    import torch
    x, y, xt, yt = data
    tx, ty, txt, tyt = to_torch(x), torch.from_numpy(y), to_torch(xt), torch.from_numpy(yt)
    ours_acc, torch_acc = [], []
    for seed in seeds:
        model = ours_model(seed)
        state = ds.backend.get_rng_state()  # the permutations fit will draw
        t = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0)
        t_ours = time.perf_counter() - t
        acc = model.evaluate(xt, yt, batch_size=eval_batch, verbose=0, return_dict=True)
        ours_acc.append(acc["accuracy"])

        net, opt = torch_model(seed)
        ds.backend.set_rng_state(state)
        t = time.perf_counter()
        for _ in range(epochs):
            torch_epoch(net, opt, tx, ty, torch.from_numpy(ds.backend.permutation(len(x))),
                        batch)
        t_torch = time.perf_counter() - t
        torch_acc.append(torch_accuracy(net, txt, tyt, eval_batch))
        print(f"  seed {seed}: deepsheet {ours_acc[-1]:.4f} ({t_ours:.1f}s)   "
              f"torch {torch_acc[-1]:.4f} ({t_torch:.1f}s)", flush=True)
    mo, mt = float(np.mean(ours_acc)), float(np.mean(torch_acc))
    print(f"test accuracy after {epochs} epochs, mean over seeds {list(seeds)}: "
          f"deepsheet {mo:.4f}, torch {mt:.4f}, difference {100 * (mo - mt):+.2f} points")
