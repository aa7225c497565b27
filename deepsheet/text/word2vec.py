"""Skip-gram with negative sampling (word2vec, Mikolov et al. 2013), in vectorized NumPy.

Each (center c, context o) pair inside a window, with k noise words w_1..w_k drawn from the
unigram distribution raised to 3/4, contributes

    L = −log σ(u_o · v_c) − Σ_i log σ(−u_{w_i} · v_c)

where v are the input ("center") vectors and u the output ("context") vectors. Its gradients
(σ' = σ(1 − σ) folded in) are

    ∂L/∂v_c = (σ(u_o·v_c) − 1) u_o + Σ_i σ(u_{w_i}·v_c) u_{w_i}
    ∂L/∂u_o = (σ(u_o·v_c) − 1) v_c,    ∂L/∂u_{w_i} = σ(u_{w_i}·v_c) v_c

Training runs mini-batches of pairs with sparse SGD updates (each touched row moves by the
mean of its gradients in the batch) and a learning rate decaying linearly to a floor, as the
original C tool and gensim do.
"""
from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np

from .vectors import KeyedVectors

__all__ = ["Word2Vec", "sgns_loss_and_grads", "simple_tokenize"]

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def simple_tokenize(text):
    """Lower-cased words and numbers (apostrophes inside words kept): "Don't stop" -> [don't, stop]."""
    return _TOKEN.findall(text.lower())


def _log_sigmoid(x):
    # log σ(x) = −log(1 + e^{−x}), stable for any sign
    return -np.logaddexp(0.0, -x)


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def sgns_loss_and_grads(w_in, w_out, centers, contexts, negatives):
    """Loss (summed over pairs) and dense gradients for one batch of skip-gram pairs.

    Formula::

        L = Σ_pairs [ −log σ(u_o · v_c) − Σ_i log σ(−u_{w_i} · v_c) ]
        ∂L/∂v_c = (σ(u_o·v_c) − 1) u_o + Σ_i σ(u_{w_i}·v_c) u_{w_i}
        ∂L/∂u_o = (σ(u_o·v_c) − 1) v_c,    ∂L/∂u_{w_i} = σ(u_{w_i}·v_c) v_c

    Parameters
    ----------
    w_in, w_out : arrays (vocab, dim)
        Center (input) and context (output) vectors.
    centers, contexts : int arrays (n,)
    negatives : int array (n, k)

    Returns
    -------
    loss, (grad_in_rows, grad_out_pos, grad_out_neg): the gradients with respect to
    ``w_in[centers]`` (n, dim), ``w_out[contexts]`` (n, dim) and ``w_out[negatives]``
    (n, k, dim), to be scattered back with ``np.add.at``.
    """
    v = w_in[centers]                         # (n, d)
    u_pos = w_out[contexts]                   # (n, d)
    u_neg = w_out[negatives]                  # (n, k, d)
    s_pos = np.einsum("nd,nd->n", v, u_pos)
    s_neg = np.einsum("nkd,nd->nk", u_neg, v)
    loss = -(_log_sigmoid(s_pos).sum() + _log_sigmoid(-s_neg).sum())
    g_pos = _sigmoid(s_pos) - 1.0             # dL/ds_pos
    g_neg = _sigmoid(s_neg)                   # dL/ds_neg
    grad_v = g_pos[:, None] * u_pos + np.einsum("nk,nkd->nd", g_neg, u_neg)
    grad_pos = g_pos[:, None] * v
    grad_neg = g_neg[:, :, None] * v[:, None, :]
    return float(loss), (grad_v, grad_pos, grad_neg)


def _sparse_step(w, rows, grads, lr):
    """w[r] −= lr · mean of the batch's gradients for row r, for each row r in ``rows``.

    The mean (not the sum) per row: a frequent word appears in many pairs of one batch,
    and the summed step — what one-pair-at-a-time SGD adds up to over the batch with
    stale vectors — overshoots and diverges for words that make up a large share of it.
    """
    # segment sums over the rows sorted by id (np.add.at is an unbuffered, slow loop)
    order = np.argsort(rows, kind="stable")
    r = rows[order]
    starts = np.flatnonzero(np.concatenate([[True], r[1:] != r[:-1]]))
    acc = np.add.reduceat(grads[order], starts, axis=0)
    acc /= np.diff(np.append(starts, len(r)))[:, None]
    w[r[starts]] -= (lr * acc).astype(w.dtype)


class Word2Vec:
    """Skip-gram word vectors trained with negative sampling (gensim's argument names).

    Parameters
    ----------
    sentences : iterable of token lists, optional
        As in gensim: given here, training runs at once (else call ``fit``).
    vector_size : int
    window : int
        Maximum distance between center and context; each center draws its window size
        uniformly from 1..window (nearer words are sampled more, as in word2vec).
    negative : int
        Noise words per pair (k).
    min_count : int
        Words seen fewer times are dropped.
    sample : float
        Sub-sampling of frequent words: a word of frequency f is kept with probability
        min(1, sqrt(sample/f) + sample/f) (the C tool's rule); 0 disables.
    epochs : int
    learning_rate : float
        Start of the linear decay to ``min_learning_rate``.
    batch_size : int
        Pairs per vectorized SGD step.
    seed : int
    sg : int
        1, skip-gram, the only architecture here (gensim's default 0 is CBOW, which is not
        implemented: asking for it is an error rather than a silent skip-gram).

    Examples
    --------
    >>> from deepsheet.text import Word2Vec
    >>> w2v = Word2Vec(vector_size=8, min_count=1, epochs=2, seed=0)
    >>> w2v.fit([["a", "b", "c", "a", "b"]]).wv.vector_size
    8
    """

    def __init__(self, sentences=None, vector_size=100, window=5, negative=5, min_count=5,
                 sample=1e-3, epochs=5, learning_rate=0.025, min_learning_rate=1e-4,
                 batch_size=1024, seed=0, max_vocab_size=None, sg=1):
        if sg != 1:
            raise ValueError(f"Word2Vec: sg={sg!r}; only skip-gram (sg=1) is implemented, "
                             "not CBOW (gensim's sg=0)")
        for name, val in (("vector_size", vector_size), ("window", window),
                          ("negative", negative), ("min_count", min_count),
                          ("epochs", epochs), ("batch_size", batch_size)):
            if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
                raise ValueError(f"Word2Vec: {name} must be a positive integer, got {val!r}")
        self.vector_size, self.window, self.negative = int(vector_size), int(window), int(negative)
        self.min_count, self.sample, self.epochs = int(min_count), float(sample), int(epochs)
        self.learning_rate, self.min_learning_rate = float(learning_rate), float(min_learning_rate)
        self.batch_size, self.seed = int(batch_size), seed
        self.max_vocab_size = max_vocab_size
        self.wv = None
        self.loss_history = []
        if sentences is not None:
            self.fit(sentences)

    # ------------------------------------------------------------ vocabulary
    def _vocab(self, sentences):
        counts = Counter(w for s in sentences for w in s)
        words = sorted((w for w, c in counts.items() if c >= self.min_count),
                       key=lambda w: (-counts[w], w))
        if self.max_vocab_size:
            words = words[:self.max_vocab_size]
        if not words:
            raise ValueError(f"Word2Vec: no word occurs min_count={self.min_count} times")
        self.index = {w: i for i, w in enumerate(words)}
        self.words = words
        self.counts = np.array([counts[w] for w in words], np.float64)

    def _pairs(self, ids_per_sentence, rng):
        """All (center, context) pairs of one epoch, after sub-sampling, with random windows."""
        total = self.counts.sum()
        keep_p = np.ones_like(self.counts)
        if self.sample > 0:
            f = self.counts / total
            keep_p = np.minimum(1.0, np.sqrt(self.sample / f) + self.sample / f)
        centers, contexts = [], []
        for ids in ids_per_sentence:
            ids = ids[rng.random(len(ids)) < keep_p[ids]]
            n = len(ids)
            if n < 2:
                continue
            reach = rng.integers(1, self.window + 1, size=n)
            for off in range(1, min(self.window, n - 1) + 1):
                ok = np.nonzero(reach[:n - off] >= off)[0]   # center i sees i + off
                centers.append(ids[ok])
                contexts.append(ids[ok + off])
                ok = np.nonzero(reach[off:] >= off)[0] + off  # center i sees i - off
                centers.append(ids[ok])
                contexts.append(ids[ok - off])
        if not centers:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(centers), np.concatenate(contexts)

    # ------------------------------------------------------------ training
    def fit(self, sentences, verbose=0):
        """Train on ``sentences`` (lists of tokens); returns self, vectors in ``self.wv``."""
        sentences = list(sentences)
        if sentences and isinstance(sentences[0], str):
            raise TypeError("Word2Vec.fit expects a list of token lists, got strings "
                            "(tokenize first, e.g. deepsheet.text.simple_tokenize)")
        sentences = [list(s) for s in sentences]
        self._vocab(sentences)
        rng = np.random.default_rng(self.seed)
        V, d = len(self.words), self.vector_size
        # the C tool's init: centers uniform in ±0.5/d, contexts zero
        w_in = ((rng.random((V, d)) - 0.5) / d).astype(np.float32)
        w_out = np.zeros((V, d), np.float32)
        noise = self.counts ** 0.75
        noise_cdf = np.cumsum(noise / noise.sum())
        ids = [np.array([self.index[w] for w in s if w in self.index], np.int64)
               for s in sentences]
        epoch_pairs = [self._pairs(ids, rng) for _ in range(self.epochs)]
        total_steps = sum(-(-len(c) // self.batch_size) for c, _ in epoch_pairs)
        step = 0
        for epoch, (c_all, o_all) in enumerate(epoch_pairs):
            order = rng.permutation(len(c_all))
            loss_sum = 0.0
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                c, o = c_all[idx], o_all[idx]
                neg = np.searchsorted(noise_cdf, rng.random((len(idx), self.negative)))
                neg = np.minimum(neg, V - 1)
                lr = self.learning_rate - (self.learning_rate - self.min_learning_rate) * \
                    step / max(total_steps, 1)
                loss, (gv, gp, gn) = sgns_loss_and_grads(w_in, w_out, c, o, neg)
                _sparse_step(w_in, c, gv, lr)
                _sparse_step(w_out, np.concatenate([o, neg.reshape(-1)]),
                             np.concatenate([gp, gn.reshape(-1, d)]), lr)
                loss_sum += loss
                step += 1
            mean = loss_sum / max(len(order), 1)
            self.loss_history.append(mean)
            if verbose:
                print(f"epoch {epoch + 1}/{self.epochs}: {len(order)} pairs, loss {mean:.4f}")
        self.wv = KeyedVectors(self.words, w_in)
        self.context_vectors = w_out
        return self
