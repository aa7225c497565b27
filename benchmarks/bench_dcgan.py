"""DCGAN: deepsheet against its PyTorch twin (same architecture, initialisation and recipe).

The twin: generator Linear(latent, 7·7·2f, no bias) - BatchNorm1d - ReLU - view(2f, 7, 7)
- ConvTranspose2d(2f, f, 4, 2, 1, no bias) - BatchNorm2d - ReLU - ConvTranspose2d(f, 1, 4,
2, 1) - tanh; discriminator Conv2d(1, f, 4, 2, 1) - LeakyReLU(0.2) - Conv2d(f, 2f, 4, 2, 1,
no bias) - BatchNorm2d - LeakyReLU(0.2) - Linear(7·7·2f, 1). Glorot-uniform weights and zero
biases (Keras's defaults, which deepsheet's builders use), batch norm momentum 0.1 (= 0.9
in Keras's convention) and ε = 1e-5, Adam(2e-4, betas (0.5, 0.999)) for both players, BCE
from logits, batch 128, pixels in [-1, 1], the same alternating step as ``GAN.train_step``
(D on the real and the generated batch separately, then G with the non-saturating loss
on the same generated batch scored by the updated D).

Two modes:

    # training-step time, A/B alternated, at 1 and 2 threads (ratio deepsheet / PyTorch)
    python benchmarks/bench_dcgan.py time --filters 16 --steps 20 --rounds 3
    # train the twin for E epochs and score it on the reference classifier, like
    # examples/fashion_dcgan.py scores deepsheet's DCGAN
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_dcgan.py train --epochs 5 --filters 16
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def torch_twin(latent, f):
    import torch
    from torch import nn

    class G(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(latent, 7 * 7 * 2 * f, bias=False)
            self.bn0 = nn.BatchNorm1d(7 * 7 * 2 * f, eps=1e-5, momentum=0.1)
            self.up1 = nn.ConvTranspose2d(2 * f, f, 4, 2, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(f, eps=1e-5, momentum=0.1)
            self.up2 = nn.ConvTranspose2d(f, 1, 4, 2, 1)

        def forward(self, z):
            h = torch.relu(self.bn0(self.fc(z))).view(-1, 2 * f, 7, 7)
            return torch.tanh(self.up2(torch.relu(self.bn1(self.up1(h)))))

    g = G()
    d = nn.Sequential(nn.Conv2d(1, f, 4, 2, 1), nn.LeakyReLU(0.2),
                      nn.Conv2d(f, 2 * f, 4, 2, 1, bias=False),
                      nn.BatchNorm2d(2 * f, eps=1e-5, momentum=0.1), nn.LeakyReLU(0.2),
                      nn.Flatten(), nn.Linear(7 * 7 * 2 * f, 1))
    for m in list(g.modules()) + list(d.modules()):
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            # Keras's glorot_uniform: fan_in/fan_out over the receptive field, as torch's xavier
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return g, d


class TorchGAN:
    """The twin's training step, written as in PyTorch's DCGAN tutorial."""

    def __init__(self, latent, f, lr=2e-4):
        import torch
        self.torch = torch
        self.latent = latent
        self.G, self.D = torch_twin(latent, f)
        self.og = torch.optim.Adam(self.G.parameters(), lr=lr, betas=(0.5, 0.999))
        self.od = torch.optim.Adam(self.D.parameters(), lr=lr, betas=(0.5, 0.999))
        self.bce = torch.nn.functional.binary_cross_entropy_with_logits

    def step(self, real, z=None):
        torch = self.torch
        n = real.shape[0]
        ones, zeros = torch.ones(n, 1), torch.zeros(n, 1)
        fake = self.G(torch.randn(n, self.latent) if z is None else z)
        self.od.zero_grad()
        d_loss = self.bce(self.D(real), ones) + self.bce(self.D(fake.detach()), zeros)
        d_loss.backward()
        self.od.step()
        self.og.zero_grad()
        g_loss = self.bce(self.D(fake), ones)
        g_loss.backward()
        self.og.step()
        return float(d_loss.detach()), float(g_loss.detach())

    def generate(self, n, batch=1000):
        torch = self.torch
        self.G.eval()
        out = []
        with torch.no_grad():
            for i in range(0, n, batch):
                out.append(self.G(torch.randn(min(batch, n - i), self.latent)).numpy())
        self.G.train()
        return np.concatenate(out).transpose(0, 2, 3, 1)        # NCHW -> NHWC


def ours(latent, f):
    from deepsheet import gan, optimizers
    model = gan.GAN(gan.dcgan_generator(latent, f), gan.dcgan_discriminator(f), latent)
    model.compile(d_optimizer=optimizers.Adam(learning_rate=2e-4, beta_1=0.5),
                  g_optimizer=optimizers.Adam(learning_rate=2e-4, beta_1=0.5))
    return model


def load_images():
    from deepsheet import recipes
    data = recipes.load_dataset("fashion-mnist")
    return data, data.x_train * 2.0 - 1.0


def time_mode(args):
    import torch
    import deepsheet as ds
    _, x = load_images()
    x = x[:args.batch * (args.steps + 2)]
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    b = args.batch
    print(f"DCGAN f={args.filters} latent={args.latent_dim} batch {b}: {args.steps} steps a "
          f"round, best of {args.rounds} alternated rounds; load {os.getloadavg()[0]:.1f}")
    for threads in (1, 2):
        # Each library at `threads` threads its own way: deepsheet's pool with BLAS at 1
        # inside it, PyTorch's intra-op threads. (A threadpool_limits(threads) context here
        # gave OpenBLAS 2 threads inside each of deepsheet's 2 pool threads, behind its back:
        # 4 spinning threads on 2 cores made the 2-thread step slower than the 1-thread one.)
        ds.set_num_threads(threads)
        torch.set_num_threads(threads)
        ds.manual_seed(0)
        torch.manual_seed(0)
        mine, twin = ours(args.latent_dim, args.filters), TorchGAN(args.latent_dim, args.filters)
        best = {"deepsheet": np.inf, "pytorch": np.inf}
        mine.train_step(x[:b])
        twin.step(xt[:b])
        for _ in range(args.rounds):
            t = time.perf_counter()
            for i in range(args.steps):
                mine.train_step(x[i * b:(i + 1) * b])
            best["deepsheet"] = min(best["deepsheet"], (time.perf_counter() - t) / args.steps)
            t = time.perf_counter()
            for i in range(args.steps):
                twin.step(xt[i * b:(i + 1) * b])
            best["pytorch"] = min(best["pytorch"], (time.perf_counter() - t) / args.steps)
        ratio = best["deepsheet"] / best["pytorch"]
        print(f"  {threads} thread(s): deepsheet {best['deepsheet'] * 1e3:7.1f} ms/step, "
              f"PyTorch {best['pytorch'] * 1e3:7.1f} ms/step, time ratio ours/theirs "
              f"{ratio:.2f} (epoch of 60,000: {best['deepsheet'] * 60000 / b:.0f} s vs "
              f"{best['pytorch'] * 60000 / b:.0f} s)", flush=True)


def train_mode(args):
    import torch
    sys.path.insert(0, os.path.join(HERE, "..", "examples"))
    from fashion_classifier import load_or_train
    from fashion_dcgan import collapsed_set, score  # noqa: F401
    from deepsheet import gan
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    data, x = load_images()
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    twin = TorchGAN(args.latent_dim, args.filters)
    rng = np.random.default_rng(args.seed)
    times, hist = [], []
    for epoch in range(args.epochs):
        t = time.perf_counter()
        order = torch.from_numpy(rng.permutation(len(xt)))
        sums = np.zeros(2)
        steps = 0
        for i in range(0, len(order), args.batch):
            sums += twin.step(xt[order[i:i + args.batch]])
            steps += 1
        times.append(time.perf_counter() - t)
        hist.append((sums / steps).tolist())
        print(f"Epoch {epoch + 1}/{args.epochs} - {times[-1]:.1f}s - d_loss {hist[-1][0]:.4f} "
              f"- g_loss {hist[-1][1]:.4f}", flush=True)
    classifier = load_or_train()
    features = gan.feature_extractor(classifier)
    test_feats = features.predict(data.x_test, batch_size=500, verbose=0)
    real = score("real test images", data.x_test, classifier, features, test_feats)
    torch.manual_seed(args.seed + 1)
    samples = gan.unscale_images(twin.generate(10000))
    fake = score("PyTorch twin generated", samples, classifier, features, test_feats)
    out = {"args": vars(args), "epoch_seconds": times, "history": hist, "real_test": real,
           "generated": fake, "is_ratio_to_real": fake["inception_score"] / real["inception_score"]}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    print(f"wrote {args.out}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["time", "train"])
    ap.add_argument("--filters", type=int, default=16)
    ap.add_argument("--latent-dim", type=int, default=64)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join("runs", "fashion_dcgan_torch", "results.json"))
    args = ap.parse_args()
    (time_mode if args.mode == "time" else train_mode)(args)


if __name__ == "__main__":
    main()
