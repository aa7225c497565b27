"""DCGAN (and its conditional twin) on Fashion-MNIST, scored by the reference classifier.

Trains ``deepsheet.gan.GAN`` with the DCGAN builders (Radford et al. 2016, scaled to
28×28: generator Dense -> 7×7 -> ConvT(s2) -> 14×14 -> ConvT(s2) tanh -> 28×28 with batch
norm and ReLU; discriminator Conv(s2) LeakyReLU(0.2) -> Conv(s2) BN LeakyReLU -> one logit)
with Adam(2e-4, beta_1=0.5) for both players, batch 128, pixels scaled to [-1, 1]. Then it
draws 10,000 samples and reports, on the reference classifier of
``examples/fashion_classifier.py`` (trained first if its file is missing):

* the inception score (10 splits) of the samples and of the 10,000 real test images;
* the Fréchet distance on the classifier's penultimate features: samples vs test images,
  next to real vs real (10,000 training images vs the test images) and to a collapsed
  set (5 real training images per class, repeated to 10,000), which a generator that
  memorises a few images per class would look like;
* the share of samples the classifier puts in each class (mode coverage).

With ``--conditional`` it trains a ``ConditionalGAN`` instead and also reports how often
the classifier gives a sample its conditioning label.

Run (times for a shared 2-core machine are in the README):

    OPENBLAS_NUM_THREADS=1 python examples/fashion_dcgan.py --epochs 15 --filters 64
    OPENBLAS_NUM_THREADS=1 python examples/fashion_dcgan.py --epochs 5 --filters 16 --conditional

(15 epochs of ``filters=64`` reach 0.73 of the real inception score and an FID of 6.65, under
half the collapsed set's; scores and times are in the README.)

Writes ``runs/fashion_dcgan[_conditional]/``: ``results.json``, sample grids per epoch
(PNG with matplotlib), ``generator.deepsheet`` and ``backup.deepsheet`` (the whole
training state after the last epoch: ``--resume --epochs N`` continues from it bit for bit).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

import deepsheet as ds
from deepsheet import gan, optimizers, recipes
from deepsheet.callbacks import Callback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fashion_classifier import DEFAULT_PATH, load_or_train  # noqa: E402


class EpochTimer(Callback):
    """Wall-clock seconds of every epoch (``self.times``)."""

    def __init__(self):
        super().__init__()
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self._t = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self._t)


def collapsed_set(x, y, per_class=5, n=10000, seed=0):
    """``per_class`` real images of each class, repeated to ``n`` images (within-class collapse)."""
    rng = np.random.default_rng(seed)
    picks = np.concatenate([rng.choice(np.flatnonzero(y == k), per_class, replace=False)
                            for k in np.unique(y)])
    return x[np.resize(picks, n)]


def score(name, images, classifier, features, test_feats, labels=None):
    """IS, FID against the test features, coverage (and conditional accuracy) of ``images`` in [0, 1]."""
    probs = classifier.predict(images, batch_size=500, verbose=0)
    # the splits must be random subsets: class-ordered samples (conditional) would give
    # each split one class and an inception score near 1
    order = np.random.default_rng(0).permutation(len(probs))
    is_mean, is_std = gan.inception_score_from_probs(probs[order], splits=10)
    feats = features.predict(images, batch_size=500, verbose=0)
    fid = gan.frechet_distance(test_feats, feats)
    coverage = gan.class_coverage(probs, None)
    out = {"inception_score": is_mean, "inception_score_std": is_std, "fid_vs_test": fid,
           "coverage": coverage.round(4).tolist(), "min_coverage": float(coverage.min())}
    line = (f"{name:>22}: IS {is_mean:.3f} ± {is_std:.3f}   FID {fid:8.3f}   "
            f"min class share {coverage.min():.3f}")
    if labels is not None:
        out["label_accuracy"] = float((probs.argmax(1) == labels).mean())
        line += f"   classified as their label {out['label_accuracy']:.3f}"
    print(line, flush=True)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--filters", type=int, default=64)
    ap.add_argument("--latent-dim", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--limit", type=int, default=None, help="train on the first N images")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--conditional", action="store_true")
    ap.add_argument("--classifier", default=DEFAULT_PATH)
    ap.add_argument("--out", default=None)
    ap.add_argument("--score-only", action="store_true",
                    help="score OUT/generator.deepsheet without training")
    ap.add_argument("--resume", action="store_true",
                    help="continue from OUT/backup.deepsheet up to --epochs (bit for bit)")
    args = ap.parse_args(argv)
    out = args.out or os.path.join("runs", "fashion_dcgan" + ("_conditional" if args.conditional
                                                               else ""))
    os.makedirs(out, exist_ok=True)

    classifier = load_or_train(args.classifier)
    features = gan.feature_extractor(classifier)
    data = recipes.load_dataset("fashion-mnist")              # pixels in [0, 1]
    x_train = data.x_train * 2.0 - 1.0                         # the generator's tanh range
    y_train = data.y_train
    if args.limit:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]

    k = data.classes
    if args.score_only:
        return evaluate(ds.saving.load_model(os.path.join(out, "generator.deepsheet")), args,
                        classifier, features, data, out, {"args": vars(args)})
    ds.manual_seed(args.seed)
    if args.conditional:
        G = gan.conditional_dcgan_generator(args.latent_dim, k, args.filters)
        D = gan.conditional_dcgan_discriminator(k, args.filters)
        model = gan.ConditionalGAN(G, D, args.latent_dim, num_classes=k)
    else:
        G = gan.dcgan_generator(args.latent_dim, args.filters)
        D = gan.dcgan_discriminator(args.filters)
        model = gan.GAN(G, D, args.latent_dim)
    model.compile(d_optimizer=optimizers.Adam(learning_rate=2e-4, beta_1=0.5),
                  g_optimizer=optimizers.Adam(learning_rate=2e-4, beta_1=0.5))
    timer = EpochTimer()
    grids = gan.SampleGrid(os.path.join(out, "samples_{epoch:02d}.png"), n=100)
    callbacks = [timer, grids, ds.callbacks.BackupAndRestore(out, delete_checkpoint=False)]
    if not args.resume and os.path.exists(os.path.join(out, "backup.deepsheet")):
        os.remove(os.path.join(out, "backup.deepsheet"))     # a fresh run
    history = model.fit(x_train, y_train if args.conditional else None, epochs=args.epochs,
                        batch_size=args.batch_size, callbacks=callbacks, verbose=2)
    G.save(os.path.join(out, "generator.deepsheet"))

    results = {"args": vars(args), "epoch_seconds": timer.times, "history": history.history}
    return evaluate(G, args, classifier, features, data, out, results)


def generate(G, n, latent_dim, labels=None, num_classes=10, seed=1, batch=500):
    """n samples of generator ``G`` in [-1, 1] (one-hot ``labels`` for a conditional one)."""
    z = np.random.default_rng(seed).standard_normal((n, latent_dim)).astype(np.float32)
    out = []
    with ds.no_grad():
        for i in range(0, n, batch):
            inp = z[i:i + batch] if labels is None else \
                [z[i:i + batch], np.eye(num_classes, dtype=np.float32)[labels[i:i + batch]]]
            out.append(G(inp, training=False).numpy())
    return np.concatenate(out)


def evaluate(G, args, classifier, features, data, out, results):
    """Score 10,000 samples of ``G`` and the real references; writes OUT/results.json."""
    k = data.classes
    test_feats = features.predict(data.x_test, batch_size=500, verbose=0)
    results["real_test"] = score("real test images", data.x_test, classifier, features,
                                 test_feats)
    train_10k = data.x_train[np.random.default_rng(1).choice(len(data.x_train), 10000, False)]
    results["real_train"] = score("real train images", train_10k, classifier, features,
                                  test_feats)
    results["collapsed"] = score("5 per class, repeated", collapsed_set(
        data.x_train, data.y_train), classifier, features, test_feats)
    labels = np.repeat(np.arange(k), 10000 // k) if args.conditional else None
    samples = gan.unscale_images(generate(G, 10000, args.latent_dim, labels, k, args.seed + 1))
    results["generated"] = score("generated", samples, classifier, features, test_feats,
                                 labels)
    g, r = results["generated"], results["real_test"]
    results["is_ratio_to_real"] = g["inception_score"] / r["inception_score"]
    times = results.get("epoch_seconds") or [float("nan")]
    print(f"IS ratio generated/real test: {results['is_ratio_to_real']:.3f}; epoch time "
          f"{np.median(times):.1f} s (median)")
    name = "results_scored.json" if args.score_only else "results.json"
    with open(os.path.join(out, name), "w") as f:
        json.dump(results, f, indent=1)
    print(f"wrote {out}/{name}")
    return results


if __name__ == "__main__":
    main()
