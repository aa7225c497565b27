"""A generative character-level LSTM trained on real text: Shakespeare's Hamlet and Macbeth.

The text ships with deepsheet (``datasets.shakespeare``, public domain, see its docstring
for provenance). Many-to-many: at every step the network reads one character and predicts
the next; the loss is the cross-entropy of each prediction. Sampling then feeds the network
its own output one character at a time, carrying the LSTM's states (h, c) from step to step,
and draws the next character from softmax(logits / temperature): a low temperature picks
the likeliest characters (repetitive), a high one samples more freely (more errors).

    python examples/char_rnn_shakespeare.py [--epochs 10] [--units 256] [--seq 100]
                                            [--temperatures 0.5,1.0] [--length 400]

Validation is the last 10% of the text (the end of Macbeth); a uniform guess scores
ln(65) ≈ 4.17 nats per character.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import deepsheet as ds  # noqa: E402
from deepsheet import layers as L  # noqa: E402
from deepsheet.datasets import shakespeare  # noqa: E402


def windows(ids, seq, stride):
    """Inputs ids[i:i+seq] and targets ids[i+1:i+seq+1] for every ``stride``-th start."""
    starts = np.arange(0, len(ids) - seq - 1, stride)
    idx = starts[:, None] + np.arange(seq)[None, :]
    return ids[idx], ids[idx + 1]


def build(vocab, units, embed):
    tokens = ds.Input((None,), dtype="int64")
    seq, _, _ = L.LSTM(units, return_sequences=True, return_state=True, name="lstm")(
        L.Embedding(vocab, embed, name="embedding")(tokens))
    return ds.Model(tokens, L.Dense(vocab, name="logits")(seq))


def sample(model, chars, prime, length, temperature, rng):
    """Generate ``length`` characters after ``prime``, one step at a time (batch 1)."""
    index = {c: i for i, c in enumerate(chars)}
    emb, lstm, head = (model.get_layer(n) for n in ("embedding", "lstm", "logits"))
    out = list(prime)
    with ds.no_grad():
        ids = np.array([[index[c] for c in prime]])
        _, h, c = lstm(emb(ids))          # read the prime, keep the states
        last = ids[:, -1:]
        for _ in range(length):
            seq, h, c = lstm(emb(last), initial_state=[h, c])
            logits = head(seq).numpy()[0, -1].astype(np.float64) / temperature
            p = np.exp(logits - logits.max())
            nxt = rng.choice(len(chars), p=p / p.sum())
            out.append(chars[nxt])
            last = np.array([[nxt]])
    return "".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--embed", type=int, default=32)
    parser.add_argument("--seq", type=int, default=100)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--temperatures", default="0.5,1.0")
    parser.add_argument("--length", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    text = shakespeare.load_text()
    chars = sorted(set(text))
    ids = np.array([chars.index(c) for c in chars])[np.searchsorted(chars, list(text))]
    split = int(0.9 * len(ids))
    x, y = windows(ids[:split], args.seq, args.seq // 2)
    xv, yv = windows(ids[split:], args.seq, args.seq)
    print(f"{len(text):,} characters, {len(chars)} distinct; {len(x)} training windows of "
          f"{args.seq}, {len(xv)} validation windows")

    ds.manual_seed(args.seed)
    model = build(len(chars), args.units, args.embed)
    model.compile(optimizer=ds.optimizers.Adam(learning_rate=args.lr, clipnorm=5.0),
                  loss=ds.losses.SparseCategoricalCrossentropy(from_logits=True))
    t = time.perf_counter()
    hist = model.fit(x, y, batch_size=args.batch, epochs=args.epochs, validation_data=(xv, yv),
                     verbose=2)
    elapsed = time.perf_counter() - t
    val = hist.history["val_loss"][-1]
    print(f"trained {args.epochs} epochs in {elapsed:.0f}s "
          f"({args.epochs * len(x) * args.seq / elapsed:,.0f} characters/s); validation "
          f"cross-entropy {val:.3f} nats/char (uniform guess {np.log(len(chars)):.2f})")

    rng = np.random.default_rng(args.seed)
    for temp in (float(s) for s in args.temperatures.split(",")):
        print(f"\n--- temperature {temp} ---")
        print(sample(model, chars, "HAMLET:\n", args.length, temp, rng))


if __name__ == "__main__":
    main()
