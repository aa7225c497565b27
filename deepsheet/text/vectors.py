"""Word vectors: nearest neighbours, analogies, the plain-text vector files, Embedding init.

The text format is the one word2vec's C tool writes (a "count dim" header line, then one
"word v1 v2 ... vd" line per word) and GloVe's (the same without the header). Reading
checks every line and never evaluates anything.
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["KeyedVectors", "load_word2vec_format", "embedding_matrix", "embedding_from_vectors"]


class KeyedVectors:
    """Words and their vectors, with cosine nearest neighbours (gensim's ``KeyedVectors``).

    Formula::

        cos(a, b) = a·b / (‖a‖ ‖b‖)
        analogy a : b :: c : ?  =  argmax_w cos(w, b − a + c), w ∉ {a, b, c}   (3CosAdd)

    Examples
    --------
    >>> import numpy as np
    >>> from deepsheet.text import KeyedVectors
    >>> kv = KeyedVectors(["x", "y", "z"], np.array([[1, 0], [0.9, 0.1], [0, 1]], np.float32))
    >>> kv.most_similar("x", topn=1)[0][0]
    'y'
    """

    def __init__(self, words, vectors):
        vectors = np.asarray(vectors, np.float32)
        words = [str(w) for w in words]
        if vectors.ndim != 2 or len(words) != len(vectors):
            raise ValueError(f"KeyedVectors: {len(words)} words need a (words, dim) array, got "
                             f"shape {vectors.shape}")
        self.index_to_key = words
        self.key_to_index = {w: i for i, w in enumerate(words)}
        if len(self.key_to_index) != len(words):
            raise ValueError("KeyedVectors: repeated words")
        self.vectors = vectors
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self._unit = vectors / np.maximum(norms, 1e-12)

    @property
    def vector_size(self):
        return self.vectors.shape[1]

    def __len__(self):
        return len(self.index_to_key)

    def __contains__(self, word):
        return word in self.key_to_index

    def _index(self, word):
        try:
            return self.key_to_index[word]
        except KeyError:
            raise KeyError(f"word {word!r} is not in the vocabulary ({len(self)} words)") from None

    def __getitem__(self, word):
        return self.vectors[self._index(word)]

    def similarity(self, a, b):
        """Cosine similarity of two words."""
        return float(self._unit[self._index(a)] @ self._unit[self._index(b)])

    def most_similar(self, positive=(), negative=(), topn=10):
        """The ``topn`` words nearest (cosine) to Σ positive − Σ negative unit vectors.

        ``positive`` may be one word. The query words themselves are excluded.
        Returns a list of (word, cosine similarity).
        """
        if isinstance(positive, str):
            positive = [positive]
        if isinstance(negative, str):
            negative = [negative]
        if not positive and not negative:
            raise ValueError("most_similar: give at least one positive or negative word")
        q = sum(self._unit[self._index(w)] for w in positive) - \
            sum((self._unit[self._index(w)] for w in negative), np.zeros(self.vector_size))
        q = q / max(np.linalg.norm(q), 1e-12)
        sims = self._unit @ q.astype(np.float32)
        exclude = {self._index(w) for w in list(positive) + list(negative)}
        order = np.argsort(-sims)
        out = []
        for i in order:
            if int(i) in exclude:
                continue
            out.append((self.index_to_key[int(i)], float(sims[i])))
            if len(out) == topn:
                break
        return out

    def analogy(self, a, b, c, topn=1):
        """a is to b as c is to ?: ``most_similar(positive=[b, c], negative=[a])``."""
        return self.most_similar(positive=[b, c], negative=[a], topn=topn)

    def save_word2vec_format(self, path, header=True):
        """Write the plain-text vector file atomically (``header=False``: GloVe's layout)."""
        from ..saving import atomic_write
        lines = []
        if header:
            lines.append(f"{len(self)} {self.vector_size}")
        for w, v in zip(self.index_to_key, self.vectors):
            if any(ch.isspace() for ch in w) or not w:
                raise ValueError(f"save_word2vec_format: word {w!r} is empty or has whitespace, "
                                 "which the text format cannot hold")
            lines.append(w + " " + " ".join(f"{x:.6g}" for x in v))
        data = ("\n".join(lines) + "\n").encode("utf-8")
        atomic_write(path, lambda f: f.write(data))

    load_word2vec_format = None  # set below as a staticmethod


def load_word2vec_format(path, limit=None, max_bytes=2 ** 31):
    """Read a word2vec or GloVe text vector file (header line optional).

    Every line must hold a word and the same number of floats; errors name the line.
    ``limit`` keeps the first words only (files are usually sorted by frequency).
    """
    path = os.fspath(path)
    size = os.path.getsize(path)
    if size > max_bytes:
        raise ValueError(f"{path}: {size} bytes is more than max_bytes={max_bytes}")
    words, rows, dim = [], [], None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            parts = line.rstrip("\n").rstrip().split(" ")
            if n == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                dim = int(parts[1])
                continue
            if not parts or parts == [""]:
                continue
            if dim is None:
                dim = len(parts) - 1
            if len(parts) != dim + 1:
                raise ValueError(f"{path}, line {n}: expected a word and {dim} numbers, got "
                                 f"{len(parts)} fields")
            try:
                rows.append(np.array(parts[1:], np.float32))
            except ValueError:
                raise ValueError(f"{path}, line {n}: the values after {parts[0]!r} are not all "
                                 "numbers") from None
            words.append(parts[0])
            if limit is not None and len(words) >= limit:
                break
    if not words:
        raise ValueError(f"{path}: no vectors found")
    return KeyedVectors(words, np.stack(rows))


KeyedVectors.load_word2vec_format = staticmethod(load_word2vec_format)


def embedding_matrix(vectors, vocabulary, oov="random", seed=0):
    """A (len(vocabulary), dim) matrix whose row i is the vector of ``vocabulary[i]``.

    For a TextVectorization vocabulary: row 0 (padding "") is zeros; words without a vector
    get small random rows (``oov="random"``, uniform ±0.05 like Keras's Embedding) or zeros.
    Returns (matrix, number of words found).
    """
    rng = np.random.default_rng(seed)
    d = vectors.vector_size
    mat = rng.uniform(-0.05, 0.05, (len(vocabulary), d)).astype(np.float32) \
        if oov == "random" else np.zeros((len(vocabulary), d), np.float32)
    found = 0
    for i, w in enumerate(vocabulary):
        if w == "":
            mat[i] = 0.0
        elif w in vectors:
            mat[i] = vectors[w]
            found += 1
    return mat, found


def embedding_from_vectors(vectors, vocabulary, trainable=False, mask_zero=True, **kwargs):
    """An ``Embedding`` layer initialised from word vectors, frozen or fine-tuned.

    Formula::

        E[i] = vector(vocabulary[i])   (row 0, the padding, is zeros; unknown words random)
        y_t = E[token_t];   trainable=False: E stays fixed, only the layers after it learn

    ``trainable=False`` keeps the pretrained vectors fixed (transfer learning);
    ``trainable=True`` fine-tunes them with the rest of the model.
    """
    from ..layers import Embedding
    mat, _ = embedding_matrix(vectors, vocabulary)
    layer = Embedding(len(vocabulary), vectors.vector_size, mask_zero=mask_zero,
                      trainable=trainable, **kwargs)
    layer.build((None, None))
    layer.built = True
    layer.set_weights([mat])
    return layer
