"""Greedy and beam search: width 1 equals greedy, beam beats greedy where it should, and a
wide beam finds the exhaustive optimum."""
import itertools

import numpy as np
import pytest

from deepsheet.text import beam_search, greedy_decode, length_penalty


def _random_model(V, seed):
    """log p(next | prefix) from a hash of the prefix: a fixed but arbitrary language model."""
    def step(prefixes):
        out = []
        for p in prefixes:
            rng = np.random.default_rng([seed] + [int(t) for t in p])
            z = rng.standard_normal(V) * 2
            out.append(z - np.log(np.exp(z).sum()))
        return np.array(out)
    return step


@pytest.mark.parametrize("end", [None, 0])
def test_beam_width_one_is_greedy(end):
    step = _random_model(5, seed=3)
    g = greedy_decode(step, start=4, batch_size=6, max_length=7, end_token=end)
    b = beam_search(step, start=np.full(6, 4), batch_size=6, max_length=7, beam_width=1,
                    end_token=end)
    np.testing.assert_array_equal(b, g)


def test_beam_finds_what_greedy_misses():
    # tokens: 0 = end, 1 = a, 2 = b. Greedy takes a (0.6) then a flat tail; b then end wins.
    table = {(3,): [1e-12, 0.6, 0.4], (3, 1): [0.34, 0.33, 0.33], (3, 2): [0.99, 0.005, 0.005]}

    def step(prefixes):
        return np.log(np.array([table.get(tuple(p), [0.98, 0.01, 0.01]) for p in prefixes]))

    g = greedy_decode(step, 3, 1, 3, end_token=0)
    b, score = beam_search(step, 3, 1, 3, beam_width=2, end_token=0, return_scores=True)
    assert g[0].tolist()[:3] == [3, 1, 0]
    assert b[0].tolist()[:3] == [3, 2, 0]
    assert score[0] == pytest.approx(np.log(0.4 * 0.99))


def test_wide_beam_equals_exhaustive_search():
    V, L = 3, 4
    step = _random_model(V, seed=7)
    best, best_lp = None, -np.inf
    for tail in itertools.product(range(V), repeat=L):
        seq = (2,) + tail
        lp = sum(step(np.array([seq[:i]]))[0, seq[i]] for i in range(1, len(seq)))
        if lp > best_lp:
            best, best_lp = seq, lp
    out, score = beam_search(step, 2, 1, L, beam_width=V ** L, return_scores=True)
    assert tuple(out[0]) == best and score[0] == pytest.approx(best_lp)


def test_length_penalty():
    assert length_penalty(1, 0.0) == 1.0
    assert length_penalty(7, 1.0) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="beam_width"):
        beam_search(lambda p: np.zeros((len(p), 2)), 0, 1, 2, beam_width=0)
