"""Skip-gram with negative sampling: gradient by finite differences, learning on a corpus
with known structure, nearest neighbours and analogies, vector files, Embedding init."""
import numpy as np
import pytest

import deepsheet as ds
from deepsheet.text import (KeyedVectors, Word2Vec, embedding_from_vectors, embedding_matrix,
                            load_word2vec_format, sgns_loss_and_grads, simple_tokenize)


def test_gradient_by_central_differences():
    rng = np.random.default_rng(0)
    V, d = 7, 4
    w_in, w_out = rng.standard_normal((V, d)), rng.standard_normal((V, d))
    c = np.array([0, 3, 3, 5])
    o = np.array([1, 2, 6, 0])
    neg = rng.integers(0, V, (4, 3))
    _, (gv, gp, gn) = sgns_loss_and_grads(w_in, w_out, c, o, neg)
    g_in = np.zeros_like(w_in)
    g_out = np.zeros_like(w_out)
    np.add.at(g_in, c, gv)
    np.add.at(g_out, o, gp)
    np.add.at(g_out, neg.reshape(-1), gn.reshape(-1, d))
    eps = 1e-6
    for w, g in ((w_in, g_in), (w_out, g_out)):
        num = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            old = w[idx]
            w[idx] = old + eps
            lp = sgns_loss_and_grads(w_in, w_out, c, o, neg)[0]
            w[idx] = old - eps
            lm = sgns_loss_and_grads(w_in, w_out, c, o, neg)[0]
            w[idx] = old
            num[idx] = (lp - lm) / (2 * eps)
        np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-7)


def _topic_corpus(seed=0, n=400):
    """Sentences drawn from two disjoint topics: words co-occur only within their topic."""
    rng = np.random.default_rng(seed)
    topics = [[f"a{i}" for i in range(6)], [f"b{i}" for i in range(6)]]
    return [list(rng.choice(topics[k % 2], size=8)) for k in range(n)]


def test_training_learns_topics_and_lowers_the_loss():
    w2v = Word2Vec(vector_size=16, window=3, negative=4, min_count=1, sample=0, epochs=5,
                   learning_rate=0.5, batch_size=128, seed=1).fit(_topic_corpus())
    assert w2v.loss_history[-1] < w2v.loss_history[0]
    wv = w2v.wv
    assert wv.vectors.dtype == np.float32 and wv.vectors.shape == (12, 16)
    for word in ("a0", "b3"):
        top = [w for w, _ in wv.most_similar(word, topn=5)]
        assert all(w[0] == word[0] for w in top), (word, top)
    assert wv.similarity("a1", "a2") > wv.similarity("a1", "b2")


def test_most_similar_and_analogy_by_hand():
    # a 2-D world where "queen" = "king" - "man" + "woman" exactly
    words = ["king", "queen", "man", "woman", "apple"]
    vecs = np.array([[3, 1], [3, 3], [1, 0], [1, 2], [-1, 0.2]], np.float32)
    kv = KeyedVectors(words, vecs)
    assert kv.analogy("man", "king", "woman")[0][0] == "queen"
    sims = dict(kv.most_similar("king", topn=4))
    cos = vecs @ vecs[0] / np.linalg.norm(vecs, axis=1) / np.linalg.norm(vecs[0])
    for w, s in sims.items():
        assert s == pytest.approx(float(cos[words.index(w)]), rel=1e-5)
    assert "king" not in sims
    with pytest.raises(KeyError, match="not in the vocabulary"):
        kv["pear"]


def test_vector_files_round_trip_and_errors(tmp_path):
    kv = KeyedVectors(["the", "cat", "sat"], np.arange(12, dtype=np.float32).reshape(3, 4) / 7)
    p = tmp_path / "v.txt"
    kv.save_word2vec_format(p)
    assert p.read_text().splitlines()[0] == "3 4"
    back = load_word2vec_format(p)
    assert back.index_to_key == kv.index_to_key
    np.testing.assert_allclose(back.vectors, kv.vectors, rtol=1e-5)
    glove = tmp_path / "glove.txt"
    kv.save_word2vec_format(glove, header=False)
    np.testing.assert_allclose(load_word2vec_format(glove, limit=2).vectors, kv.vectors[:2],
                               rtol=1e-5)
    bad = tmp_path / "bad.txt"
    bad.write_text("a 1 2\nb 1\n")
    with pytest.raises(ValueError, match="line 2: expected a word and 2 numbers"):
        load_word2vec_format(bad)
    bad.write_text("a 1 x\n")
    with pytest.raises(ValueError, match="not all numbers"):
        load_word2vec_format(bad)


def test_embedding_from_vectors_frozen_and_fine_tuned():
    kv = KeyedVectors(["cat", "dog"], np.array([[1, 2], [3, 4]], np.float32))
    vocab = ["", "[UNK]", "dog", "cat"]
    mat, found = embedding_matrix(kv, vocab)
    assert found == 2
    np.testing.assert_array_equal(mat[0], 0)
    np.testing.assert_array_equal(mat[2:], [[3, 4], [1, 2]])
    frozen = embedding_from_vectors(kv, vocab)
    assert frozen.trainable_weights == [] and frozen.count_params() == 8
    out = frozen(np.array([[2, 3, 0]]))
    np.testing.assert_array_equal(out.numpy()[0, :2], [[3, 4], [1, 2]])
    assert out._keras_mask.tolist() == [[True, True, False]]
    tuned = embedding_from_vectors(kv, vocab, trainable=True)
    assert len(tuned.trainable_weights) == 1


def test_tokenize_and_bad_input():
    assert simple_tokenize("Don't STOP, 2 times!") == ["don't", "stop", "2", "times"]
    with pytest.raises(TypeError, match="token lists"):
        Word2Vec(min_count=1).fit(["a b c"])
    with pytest.raises(ValueError, match="vector_size must be a positive integer"):
        Word2Vec(vector_size=0)


def test_short_sentences_and_windows_longer_than_them():
    w2v = Word2Vec(vector_size=4, window=8, min_count=1, sample=0, epochs=2, seed=0)
    w2v.fit([["a", "b"], ["c"], ["a", "b", "c", "d"]] * 5)
    assert w2v.wv.vectors.shape == (4, 4) and np.all(np.isfinite(w2v.wv.vectors))


def test_gensim_style_construction_trains_at_once():
    sentences = [["a", "b", "c", "a", "b"], ["b", "c", "a"]]
    direct = Word2Vec(sentences, vector_size=4, min_count=1, sample=0, epochs=2, seed=0)
    later = Word2Vec(vector_size=4, min_count=1, sample=0, epochs=2, seed=0).fit(sentences)
    np.testing.assert_array_equal(direct.wv["a"], later.wv["a"])
    with pytest.raises(ValueError, match="sg=0.*CBOW"):
        Word2Vec(sentences, sg=0, min_count=1)
