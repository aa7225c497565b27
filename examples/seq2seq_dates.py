"""Sequence to sequence with attention: normalize written dates to ISO 8601, exactly.

"thursday, march 12, 1998", "12.03.1998", "12 mar 98" ... -> "1998-03-12". Every input has
one right answer, so the score is exact match over the whole output string.

Two models, both trained with teacher forcing (the decoder reads the true previous
characters) and decoded greedily and with beam search:

* ``lstm``: Embedding + LSTM encoder; LSTM decoder started from the encoder's final state;
  Luong ``Attention`` of each decoder step over the encoder steps (padding masked); the
  context and the decoder state go through Dense(tanh) to the character logits;
* ``transformer``: ``TokenAndPositionEmbedding`` + ``TransformerEncoder`` and a
  ``TransformerDecoder`` (causal self-attention, cross-attention), logits by a Dense.

    python examples/seq2seq_dates.py [--models lstm,transformer] [--epochs 12] [--plot att.png]
"""
from __future__ import annotations

import argparse
import datetime
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import deepsheet as ds  # noqa: E402
from deepsheet import layers  # noqa: E402
from deepsheet.text import beam_search, greedy_decode  # noqa: E402

MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
SRC_LEN, TGT_LEN = 32, 11          # target: 10 characters + end token
TGT_CHARS = "0123456789-"
PAD, START, END = 0, 1, 2
TGT_INDEX = {c: i + 3 for i, c in enumerate(TGT_CHARS)}
TGT_VOCAB = 3 + len(TGT_CHARS)


def written(d, rng):
    """One of several human ways to write date ``d`` (lower case)."""
    m, day, y = MONTHS[d.month - 1], d.day, d.year
    forms = [f"{day} {m} {y}", f"{m} {day}, {y}", f"{DAYS[d.weekday()]}, {m} {day}, {y}",
             f"{day:02d}.{d.month:02d}.{y}", f"{day} {m[:3]} {y % 100:02d}", f"{y} {m} {day}",
             f"{m[:3]} {day} {y}", f"{d.month}/{day}/{y}", f"the {day}th of {m} {y}"]
    return forms[rng.integers(len(forms))]


def make_data(n, seed):
    rng = np.random.default_rng(seed)
    base = datetime.date(1950, 1, 1).toordinal()
    span = datetime.date(2049, 12, 31).toordinal() - base
    days = rng.integers(0, span, n) + base
    dates = [datetime.date.fromordinal(int(d)) for d in days]
    return [written(d, rng) for d in dates], [d.isoformat() for d in dates]


def encode_targets(iso):
    y = np.array([[TGT_INDEX[c] for c in s] + [END] for s in iso], np.int64)
    dec_in = np.concatenate([np.full((len(y), 1), START), y[:, :-1]], axis=1)
    return dec_in, y


def decode_target(ids):
    inv = {i: c for c, i in TGT_INDEX.items()}
    out = []
    for t in ids:
        if t == END:
            break
        out.append(inv.get(int(t), "?"))
    return "".join(out)


def lstm_model(src_vocab, units=96):
    enc_in = layers.Input((SRC_LEN,), dtype="int64")
    dec_in = layers.Input((TGT_LEN,), dtype="int64")
    e = layers.Embedding(src_vocab, 32, mask_zero=True)(enc_in)
    enc_seq, h, c = layers.LSTM(units, return_sequences=True, return_state=True)(e)
    d = layers.Embedding(TGT_VOCAB, 32)(dec_in)
    dec_seq = layers.LSTM(units, return_sequences=True)(d, initial_state=[h, c])
    attention = layers.Attention(name="luong_attention")
    ctx = attention([dec_seq, enc_seq])
    x = layers.Dense(units, activation="tanh")(layers.Concatenate()([ctx, dec_seq]))
    out = layers.Dense(TGT_VOCAB)(x)
    return ds.Model([enc_in, dec_in], out, name="lstm_attention")


def transformer_model(src_vocab, dim=64):
    enc_in = layers.Input((SRC_LEN,), dtype="int64")
    dec_in = layers.Input((TGT_LEN,), dtype="int64")
    e = layers.TokenAndPositionEmbedding(src_vocab, SRC_LEN, dim, mask_zero=True)(enc_in)
    e = layers.TransformerEncoder(2 * dim, 4)(e)
    d = layers.TokenAndPositionEmbedding(TGT_VOCAB, TGT_LEN, dim)(dec_in)
    d = layers.TransformerDecoder(2 * dim, 4)(d, e)
    out = layers.Dense(TGT_VOCAB)(d)
    return ds.Model([enc_in, dec_in], out, name="transformer_seq2seq")


def step_fn(model, src):
    """log p(next | prefix, source) for prefixes of the decoder input, batched."""
    def step(prefixes):
        n, t = prefixes.shape
        reps = n // len(src)
        dec = np.zeros((n, TGT_LEN), np.int64)
        dec[:, :t] = prefixes
        logits = model.predict([np.repeat(src, reps, axis=0), dec], batch_size=2048,
                               verbose=0)[:, t - 1]
        logits = logits - logits.max(axis=1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return step


def exact_match(model, src, iso, beam_width):
    n = len(src)
    if beam_width == 1:
        ids = greedy_decode(step_fn(model, src), START, n, TGT_LEN, end_token=END)
    else:
        ids = beam_search(step_fn(model, src), START, n, TGT_LEN, beam_width=beam_width,
                          end_token=END)
    pred = [decode_target(r[1:]) for r in ids]
    return float(np.mean([p == t for p, t in zip(pred, iso)])), pred


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="lstm,transformer")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--train", type=int, default=20000)
    ap.add_argument("--test", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plot", default=None, help="save the LSTM model's attention heat map here")
    ap.add_argument("--verbose", type=int, default=0)
    args = ap.parse_args(argv)
    ds.manual_seed(args.seed)
    src_train, iso_train = make_data(args.train, args.seed)
    src_test, iso_test = make_data(args.test, args.seed + 1)
    cv = layers.CharacterVectorization(output_sequence_length=SRC_LEN)
    cv.adapt(src_train)
    xs, xs_test = cv(src_train).numpy(), cv(src_test).numpy()
    dec_in, y = encode_targets(iso_train)
    print(f"{args.train} training pairs, e.g. {src_train[0]!r} -> {iso_train[0]!r}")
    rows = []
    for name in args.models.split(","):
        ds.manual_seed(args.seed)
        model = {"lstm": lstm_model, "transformer": transformer_model}[name](cv.vocabulary_size())
        model.compile(optimizer=ds.optimizers.Adam(learning_rate=2e-3),
                      loss=ds.losses.SparseCategoricalCrossentropy(from_logits=True))
        t0 = time.perf_counter()
        hist = model.fit([xs, dec_in], y, epochs=args.epochs, batch_size=64, verbose=args.verbose)
        secs = time.perf_counter() - t0
        greedy, pred = exact_match(model, xs_test, iso_test, 1)
        beam, _ = exact_match(model, xs_test, iso_test, 4)
        rows.append((name, hist.history["loss"][-1], greedy, beam, secs))
        print(f"{name}: final loss {hist.history['loss'][-1]:.4f}, exact match greedy {greedy:.4f}, "
              f"beam(4) {beam:.4f}, {secs:.0f} s training", flush=True)
        for s, p, t in list(zip(src_test, pred, iso_test))[:3]:
            print(f"   {s!r:38s} -> {p}  (true {t})")
        if name == "lstm" and args.plot:
            plot_attention(model, cv, src_test[0], pred[0], args.plot)
    print("\n| model | exact match, greedy | exact match, beam 4 | training |\n|---|---|---|---|")
    for name, loss, g, b, secs in rows:
        print(f"| {name} | {g:.4f} | {b:.4f} | {secs:.0f} s |")


def plot_attention(model, cv, text, pred, path):
    """Heat map of the trained Luong attention: which source characters each output used."""
    import matplotlib
    matplotlib.use("Agg")
    attention = model.get_layer("luong_attention") if hasattr(model, "get_layer") else \
        next(l for l in model.layers if l.name == "luong_attention")
    src = cv([text]).numpy()
    dec_in, _ = encode_targets([pred if len(pred) == 10 else "0000-00-00"])
    captured = {}
    original = attention.call

    def spy(inputs, **kw):
        out, w = original(inputs, **{**kw, "return_attention_scores": True})
        captured["w"] = w.numpy()
        return out

    attention.call = spy
    try:
        model.predict([src, dec_in], verbose=0)
    finally:
        attention.call = original
    n = len(text)
    fig = ds.plot.attention(captured["w"][0, :len(pred) + 1, :n], x_labels=list(text),
                            y_labels=list(pred) + ["</s>"])
    fig.savefig(path, dpi=120, bbox_inches="tight")
    print(f"   attention heat map of {text!r} -> {pred!r} saved to {path}")


if __name__ == "__main__":
    main()
