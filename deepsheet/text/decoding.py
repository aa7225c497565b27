"""Decoding a sequence model: greedy search and beam search with a length penalty.

Both take ``step(prefixes) -> log-probabilities``: given a batch of token prefixes
(n, t) it returns log p(next token | prefix, source) as an (n, vocab) array. A teacher-forced
decoder (LSTM or transformer) gives that by running on the prefix and reading the last
position, so the same search serves every model.
"""
from __future__ import annotations

import numpy as np

__all__ = ["greedy_decode", "beam_search", "length_penalty"]


def length_penalty(length, alpha):
    """GNMT's length normalizer: lp(L) = ((5 + L) / 6)^α (Wu et al. 2016); α = 0 gives 1."""
    return ((5.0 + np.asarray(length, np.float64)) / 6.0) ** float(alpha)


def greedy_decode(step, start, batch_size, max_length, end_token=None):
    """Pick the most probable token at each step.

    Formula::

        y_t = argmax_v log p(v | y_<t, x)

    Parameters
    ----------
    step : callable (n, t) int array -> (n, vocab) log-probabilities
    start : int or int array (batch,)
        First token of every prefix (the start-of-sequence id).
    batch_size, max_length : int
        Sequences to decode and tokens to generate after the start token.
    end_token : int, optional
        After it a sequence only repeats it (decoding stops when all have ended).

    Returns
    -------
    (batch, 1 + generated) int64 array, start token included.
    """
    seq = np.broadcast_to(np.asarray(start, np.int64), (batch_size,)).reshape(-1, 1).copy()
    done = np.zeros(batch_size, bool)
    for _ in range(int(max_length)):
        logp = np.asarray(step(seq))
        nxt = logp.argmax(axis=-1).astype(np.int64)
        if end_token is not None:
            nxt[done] = end_token
            done |= nxt == end_token
        seq = np.concatenate([seq, nxt[:, None]], axis=1)
        if end_token is not None and done.all():
            break
    return seq


def beam_search(step, start, batch_size, max_length, beam_width=4, end_token=None, alpha=0.0,
                return_scores=False):
    """Keep the ``beam_width`` best prefixes at each step; return the best finished one.

    Formula::

        score(y) = log p(y | x) / lp(|y|),   lp(L) = ((5 + L) / 6)^α

    Each step expands every live beam by every token, keeps the best ``beam_width``
    expansions (by accumulated log-probability) per source, and ranks the final candidates
    by the length-normalized score. A beam that emitted ``end_token`` is finished: it stays
    as it is (its length fixed). With ``beam_width=1`` and ``alpha=0`` this is exactly
    ``greedy_decode``.

    Returns
    -------
    (batch, 1 + generated) int64 array of the best sequences (a finished one repeats
    ``end_token`` to the common length); with ``return_scores`` also their scores.
    """
    k = int(beam_width)
    if k < 1:
        raise ValueError(f"beam_search: beam_width must be >= 1, got {beam_width!r}")
    B = int(batch_size)
    start = np.broadcast_to(np.asarray(start, np.int64), (B,))
    seq = np.repeat(start, k).reshape(B * k, 1)
    logp_sum = np.full((B, k), -np.inf)
    logp_sum[:, 0] = 0.0          # only one live beam at first: the others are copies
    lengths = np.zeros((B, k))
    done = np.zeros((B, k), bool)
    for _ in range(int(max_length)):
        logp = np.asarray(step(seq), np.float64)
        V = logp.shape[-1]
        logp = logp.reshape(B, k, V)
        if end_token is not None:
            # a finished beam may only "extend" by end_token, at no cost
            fin = np.full(V, -np.inf)
            fin[end_token] = 0.0
            logp = np.where(done[:, :, None], fin, logp)
        cand = (logp_sum[:, :, None] + logp).reshape(B, k * V)
        # stable sort: on ties the earlier beam and smaller token win, as greedy's argmax
        best = np.argsort(-cand, axis=1, kind="stable")[:, :k]
        beam, tok = best // V, best % V
        rows = (np.arange(B)[:, None] * k + beam).reshape(-1)
        logp_sum = np.take_along_axis(cand, best, axis=1)
        was_done = np.take_along_axis(done, beam, axis=1)
        lengths = np.take_along_axis(lengths, beam, axis=1) + ~was_done
        done = was_done | (tok == end_token if end_token is not None else False)
        seq = np.concatenate([seq[rows], tok.reshape(-1, 1)], axis=1)
        if done.all():
            break
    score = logp_sum / length_penalty(lengths, alpha)
    pick = np.argmax(score, axis=1)
    out = seq.reshape(B, k, -1)[np.arange(B), pick]
    if return_scores:
        return out, score[np.arange(B), pick]
    return out
