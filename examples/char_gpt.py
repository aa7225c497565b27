"""A small GPT-style causal character model, against a character LSTM, on Shakespeare.

Text: *Hamlet* and *Macbeth* (``deepsheet.datasets.shakespeare``, shipped with deepsheet,
the text of ``examples/char_rnn_shakespeare.py``), characters as tokens
(``CharacterVectorization``), the first 90% to train on and the last 10% (the end of
Macbeth) held out. Both models predict each next character of
windows of 64; the score is the held-out perplexity exp(mean cross-entropy per character).

* ``gpt``: token + learned position embeddings, 2 causal ``TransformerDecoder`` blocks
  (pre-norm, no encoder: self-attention and feed-forward only), a final LayerNormalization,
  logits by a Dense;
* ``lstm``: Embedding, one LSTM(256) over the window, logits by a Dense.

    python examples/char_gpt.py [--models gpt,lstm] [--epochs 8] [--sample 300]
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import deepsheet as ds  # noqa: E402
from deepsheet import layers  # noqa: E402
from deepsheet.datasets import shakespeare  # noqa: E402

T = 64


def windows(ids, stride):
    starts = np.arange(0, len(ids) - T - 1, stride)
    idx = starts[:, None] + np.arange(T + 1)
    w = ids[idx]
    return w[:, :-1], w[:, 1:]


def gpt(vocab, dim=128, blocks=2):
    inp = layers.Input((T,), dtype="int64")
    x = layers.TokenAndPositionEmbedding(vocab, T, dim)(inp)
    for _ in range(blocks):
        x = layers.TransformerDecoder(4 * dim, 4, dropout=0.1, normalize_first=True)(x)
    x = layers.LayerNormalization(epsilon=1e-5)(x)
    return ds.Model(inp, layers.Dense(vocab)(x), name="char_gpt")


def lstm(vocab, units=256):
    inp = layers.Input((T,), dtype="int64")
    x = layers.Embedding(vocab, 64)(inp)
    x = layers.LSTM(units, return_sequences=True)(x)
    return ds.Model(inp, layers.Dense(vocab)(x), name="char_lstm")


def sample(model, cv, prompt, n, temperature, rng):
    ids = list(cv([prompt]).numpy()[0])
    for _ in range(n):
        ctx = np.array(ids[-T:])
        x = np.zeros((1, T), np.int64)
        x[0, :len(ctx)] = ctx
        logits = model.predict(x, verbose=0)[0, len(ctx) - 1] / temperature
        p = np.exp(logits - logits.max())
        ids.append(int(rng.choice(len(p), p=p / p.sum())))
    return cv.decode(np.array(ids))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="gpt,lstm")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sample", type=int, default=300, help="characters to generate")
    ap.add_argument("--verbose", type=int, default=2)
    args = ap.parse_args(argv)
    text = shakespeare.load_text()
    cv = layers.CharacterVectorization()
    cv.adapt([text])
    ids = cv([text]).numpy()[0]
    cut = int(0.9 * len(ids))
    x, y = windows(ids[:cut], T // 2)
    xv, yv = windows(ids[cut:], T)
    print(f"{len(text)} characters, vocabulary {cv.vocabulary_size()}, {len(x)} training windows "
          f"of {T}, {len(xv)} held-out windows")
    rows = []
    for name in args.models.split(","):
        ds.manual_seed(args.seed)
        model = {"gpt": gpt, "lstm": lstm}[name](cv.vocabulary_size())
        model.compile(optimizer=ds.optimizers.Adam(learning_rate=2e-3),
                      loss=ds.losses.SparseCategoricalCrossentropy(from_logits=True))
        t0 = time.perf_counter()
        model.fit(x, y, epochs=args.epochs, batch_size=64, verbose=args.verbose,
                  validation_data=(xv, yv))
        secs = time.perf_counter() - t0
        ce_train = model.evaluate(x, y, batch_size=256, verbose=0)
        ce_val = model.evaluate(xv, yv, batch_size=256, verbose=0)
        ce_train = ce_train[0] if isinstance(ce_train, (list, tuple)) else ce_train
        ce_val = ce_val[0] if isinstance(ce_val, (list, tuple)) else ce_val
        rows.append((name, model.count_params(), math.exp(ce_train), math.exp(ce_val), secs))
        print(f"{name}: {model.count_params()} parameters, perplexity train "
              f"{math.exp(ce_train):.3f}, held out {math.exp(ce_val):.3f} ({secs:.0f} s)",
              flush=True)
        if args.sample:
            rng = np.random.default_rng(args.seed)
            print(sample(model, cv, "HAMLET:\n", args.sample, 0.8, rng))
    print("\n| model | parameters | perplexity (train) | perplexity (held out) | training |")
    print("|---|---|---|---|---|")
    for name, n, pt, pv, secs in rows:
        print(f"| {name} | {n:,} | {pt:.3f} | {pv:.3f} | {secs:.0f} s |")


if __name__ == "__main__":
    main()
