"""Many-to-many tagging and stacked recurrent layers: find the speaker names in Shakespeare.

Every character of the text (``datasets.shakespeare``) gets a tag: 1 if it belongs to a
speaker line such as ``HAMLET:``, else 0. Whether a capital letter starts a speaker name is
only certain when the colon and the line break arrive a few characters LATER, so a tagger
that reads in one direction must guess, while a ``Bidirectional`` one sees what follows.

Three taggers, each a many-to-many network (one output per input step):

* ``LSTM``: Embedding -> LSTM(64, return_sequences=True) -> Dense(2)
* stacked: Embedding -> LSTM(64) -> LSTM(64) (both return_sequences) -> Dense(2)
* ``Bidirectional``: Embedding -> Bidirectional(LSTM(64)) -> Dense(2)

    python examples/rnn_tagging.py [--epochs 3] [--seq 64]

Reported: per-character accuracy and recall on the speaker characters, on the last 10% of
the text (the end of Macbeth).
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import deepsheet as ds  # noqa: E402
from deepsheet import layers as L  # noqa: E402
from deepsheet.datasets import shakespeare  # noqa: E402


def tags_of(text):
    tags = np.zeros(len(text), np.int64)
    for m in re.finditer(r"^[A-Z][A-Z .']*:$", text, flags=re.M):
        tags[m.start():m.end()] = 1
    return tags


def windows(a, seq):
    n = len(a) // seq
    return a[:n * seq].reshape(n, seq)


def build(kind, vocab, units=64):
    layers = [L.Embedding(vocab, 16)]
    if kind == "LSTM":
        layers.append(L.LSTM(units, return_sequences=True))
    elif kind == "stacked LSTM":
        layers += [L.LSTM(units, return_sequences=True), L.LSTM(units, return_sequences=True)]
    else:
        layers.append(L.Bidirectional(L.LSTM(units, return_sequences=True)))
    model = ds.Sequential(layers + [L.Dense(2)])
    model.compile(optimizer=ds.optimizers.Adam(learning_rate=3e-3),
                  loss=ds.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seq", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    text = shakespeare.load_text()
    chars = sorted(set(text))
    ids = np.searchsorted(chars, list(text)).astype(np.int64)
    tags = tags_of(text)
    split = int(0.9 * len(ids))
    x, y = windows(ids[:split], args.seq), windows(tags[:split], args.seq)
    xv, yv = windows(ids[split:], args.seq), windows(tags[split:], args.seq)
    print(f"{len(x)} training windows of {args.seq} characters; {100 * tags.mean():.1f}% of "
          "the characters are in speaker lines")
    for kind in ("LSTM", "stacked LSTM", "Bidirectional LSTM"):
        ds.manual_seed(args.seed)
        model = build(kind, len(chars))
        t = time.perf_counter()
        model.fit(x, y, batch_size=64, epochs=args.epochs, verbose=0)
        pred = model.predict(xv, verbose=0).argmax(-1)
        acc = float((pred == yv).mean())
        recall = float(pred[yv == 1].mean())
        print(f"  {kind:19s} accuracy {acc:.4f}, speaker-character recall {recall:.4f} "
              f"({time.perf_counter() - t:.0f}s, {model.count_params():,} parameters)")


if __name__ == "__main__":
    main()
