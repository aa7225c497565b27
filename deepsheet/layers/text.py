"""Text in: TextVectorization (Keras's layer) and a character-level variant.

Strings become token ids (``output_mode="int"``) or bag-of-words vectors (multi_hot, count,
tf_idf). The vocabulary is learned by ``adapt(texts)`` or set, and it is part of the
layer's config, so it is saved with the model and restored on load.
"""
from __future__ import annotations

import re
from collections import Counter

import numpy as np

from ..tensor import Tensor
from ._vocabulary import frequency_order, inverse_document_frequencies
from .base import Layer

__all__ = ["TextVectorization", "CharacterVectorization"]

# Keras's punctuation set for "strip_punctuation"
_PUNCT = re.compile(r"[!\"#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~']")
_MODES = ("int", "multi_hot", "count", "tf_idf")
_STANDARDIZE = (None, "lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = (None, "whitespace", "character")


class TextVectorization(Layer):
    """Map strings to token ids or bag-of-words vectors (Keras's ``TextVectorization``).

    Pipeline: standardize (lower-case, strip punctuation) → split (whitespace or
    characters) → n-grams → look up in the vocabulary → pad/truncate or count.

    Formula (``output_mode``)::

        int        ids t_1..t_T, 0 = padding, 1 = out-of-vocabulary ("[UNK]")
        multi_hot  x_j = 1 if token j occurs                       (index 0 = OOV)
        count      x_j = number of occurrences of token j
        tf_idf     x_j = count_j · idf_j,  idf_j = log(1 + N / (1 + df_j))
                   (N documents seen by adapt, df_j how many contain token j; the OOV
                   entry gets the mean idf, as Keras)

    ``adapt`` orders the vocabulary by frequency (ties: Keras's order, reverse lexical),
    keeping ``max_tokens`` entries including the reserved ones.

    Parameters
    ----------
    max_tokens : int, optional
        Vocabulary size including padding ("" in int mode) and "[UNK]".
    standardize : None, "lower_and_strip_punctuation", "lower", "strip_punctuation" or callable
    split : None, "whitespace", "character" or callable
    ngrams : None, int or tuple of ints
        n=2 adds all bigrams to the unigrams; a tuple lists the n's.
    output_mode : "int", "multi_hot", "count" or "tf_idf"
    output_sequence_length : int, optional
        int mode: pad with 0 / truncate to this length (else to the longest in the batch).
    pad_to_max_tokens : bool
        Bag modes: width ``max_tokens`` even if the vocabulary is smaller.
    vocabulary : list of str, optional
        Set instead of adapting (without the reserved tokens, or starting with them).
    idf_weights : list of float, optional
        tf_idf with a given vocabulary.

    Shape
    -----
    (batch,) strings -> (batch, T) int64 ids, or (batch, vocabulary_size) float32.

    Examples
    --------
    >>> from deepsheet.layers import TextVectorization
    >>> tv = TextVectorization(output_sequence_length=4)
    >>> tv.adapt(["the cat sat", "the dog"])
    >>> tv.get_vocabulary()
    ['', '[UNK]', 'the', 'sat', 'dog', 'cat']
    >>> tv(["the bird sat"]).numpy().tolist()
    [[2, 1, 3, 0]]
    """

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation",
                 split="whitespace", ngrams=None, output_mode="int", output_sequence_length=None,
                 pad_to_max_tokens=False, vocabulary=None, idf_weights=None, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        where = f"{type(self).__name__} '{self.name}'"
        if output_mode not in _MODES:
            raise ValueError(f"{where}: output_mode must be one of {_MODES}, got {output_mode!r}")
        if not callable(standardize) and standardize not in _STANDARDIZE:
            raise ValueError(f"{where}: standardize must be one of {_STANDARDIZE} or a callable, "
                             f"got {standardize!r}")
        if not callable(split) and split not in _SPLIT:
            raise ValueError(f"{where}: split must be one of {_SPLIT} or a callable, got {split!r}")
        if max_tokens is not None and (not isinstance(max_tokens, (int, np.integer))
                                       or max_tokens < (3 if output_mode == "int" else 2)):
            raise ValueError(f"{where}: max_tokens must be an integer > the reserved tokens "
                             f"('' and '[UNK]'), got {max_tokens!r}")
        if output_sequence_length is not None and output_mode != "int":
            raise ValueError(f"{where}: output_sequence_length only applies to output_mode='int'")
        if isinstance(ngrams, (int, np.integer)):
            ngrams = tuple(range(1, int(ngrams) + 1))
        self.ngrams = None if ngrams is None else tuple(int(n) for n in ngrams)
        self.max_tokens = None if max_tokens is None else int(max_tokens)
        self.standardize = standardize
        self.split = split
        self.output_mode = output_mode
        self.output_sequence_length = None if output_sequence_length is None \
            else int(output_sequence_length)
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self._vocab = None
        self._idf = None
        self.built = True
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # ------------------------------------------------------------ tokens
    def _reserved(self):
        return ["", "[UNK]"] if self.output_mode == "int" else ["[UNK]"]

    def _strings(self, data):
        where = f"{type(self).__name__} '{self.name}'"
        if isinstance(data, str):
            data = [data]
        arr = np.asarray(data, dtype=object).reshape(-1) if not isinstance(data, np.ndarray) \
            else data.reshape(-1)
        if arr.size and not all(isinstance(s, (str, np.str_, bytes)) for s in arr):
            bad = next(s for s in arr if not isinstance(s, (str, np.str_, bytes)))
            raise TypeError(f"{where} expects strings, got an element of type "
                            f"{type(bad).__name__}: {bad!r}")
        return [s.decode("utf-8") if isinstance(s, bytes) else str(s) for s in arr]

    def tokenize(self, text):
        """Standardize and split one string, then add n-grams: the tokens looked up."""
        if callable(self.standardize):
            text = self.standardize(text)
        elif self.standardize is not None:
            if "lower" in self.standardize:
                text = text.lower()
            if "strip" in self.standardize:
                text = _PUNCT.sub("", text)
        if callable(self.split):
            toks = list(self.split(text))
        elif self.split == "whitespace":
            toks = text.split()
        elif self.split == "character":
            toks = list(text)
        else:
            toks = [text]
        if self.ngrams:
            toks = [" ".join(toks[i:i + n]) for n in self.ngrams for i in range(len(toks) - n + 1)]
        return toks

    # ------------------------------------------------------------ vocabulary
    def adapt(self, data, batch_size=None, steps=None):
        """Learn the vocabulary (and document frequencies for tf_idf) from ``data``."""
        texts = self._strings(data)
        counts, docs = Counter(), Counter()
        for t in texts:
            toks = self.tokenize(t)
            counts.update(toks)
            if self.output_mode == "tf_idf":
                docs.update(set(toks))
        reserved = self._reserved()
        for r in reserved:
            counts.pop(r, None)
        ordered = frequency_order(counts, None if self.max_tokens is None
                                  else self.max_tokens - len(reserved))
        self._vocab = reserved + ordered
        self._n_docs = len(texts)
        if self.output_mode == "tf_idf":
            idf = inverse_document_frequencies(ordered, docs, len(texts))
            self._idf = np.asarray([np.mean(idf) if idf else 0.0] + idf, np.float32)
        self._index = {w: i for i, w in enumerate(self._vocab)}

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Set the vocabulary (reserved tokens added unless already first)."""
        vocab = [str(v) for v in vocabulary]
        reserved = self._reserved()
        if vocab[:len(reserved)] != reserved:
            vocab = reserved + [v for v in vocab if v not in reserved]
        if len(set(vocab)) != len(vocab):
            raise ValueError(f"{type(self).__name__} '{self.name}': the vocabulary has repeated "
                             "tokens")
        if self.max_tokens is not None and len(vocab) > self.max_tokens:
            raise ValueError(f"{type(self).__name__} '{self.name}': vocabulary of {len(vocab)} "
                             f"tokens exceeds max_tokens={self.max_tokens}")
        self._vocab = vocab
        self._index = {w: i for i, w in enumerate(vocab)}
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError(f"{type(self).__name__} '{self.name}': output_mode='tf_idf' "
                                 "with a given vocabulary needs idf_weights")
            idf = np.asarray(idf_weights, np.float32).reshape(-1)
            if len(idf) == len(vocab) - 1:
                idf = np.concatenate([[idf.mean()], idf]).astype(np.float32)
            if len(idf) != len(vocab):
                raise ValueError(f"{type(self).__name__} '{self.name}': {len(idf)} idf_weights "
                                 f"for {len(vocab)} tokens")
            self._idf = idf

    def get_vocabulary(self, include_special_tokens=True):
        self._require_vocab()
        return list(self._vocab if include_special_tokens else self._vocab[len(self._reserved()):])

    def vocabulary_size(self):
        self._require_vocab()
        return len(self._vocab)

    def _require_vocab(self):
        if self._vocab is None:
            raise RuntimeError(f"{type(self).__name__} '{self.name}' has no vocabulary yet: call "
                               "adapt(texts) or set_vocabulary(tokens) before using it")

    # ------------------------------------------------------------ call
    _string_input = True  # a model's text Input feeds it raw strings

    def __call__(self, inputs, training=None, **kwargs):
        from .symbolic import STRING, KerasTensor, call_symbolic
        if isinstance(inputs, KerasTensor):  # inside a model: Input(shape=(1,), dtype="string")
            if inputs.dtype != STRING:
                raise TypeError(f"{type(self).__name__} '{self.name}' takes text, but its input "
                                f"'{inputs.name}' has dtype {inputs.dtype}; give the model "
                                "Input(shape=(1,), dtype='string')")
            return call_symbolic(self, (inputs,), {})
        return self.call(inputs)

    def compute_output_dtype(self, input_dtype):
        """Token ids (int64) in "int" mode, float32 counts/weights otherwise."""
        return "int64" if self.output_mode == "int" else "float32"

    def call(self, inputs, training=False):
        self._require_vocab()
        if isinstance(inputs, Tensor):
            raise TypeError(f"{type(self).__name__} '{self.name}' expects strings, got a Tensor "
                            f"of dtype {inputs.dtype}")
        texts = self._strings(inputs)
        oov = 1 if self.output_mode == "int" else 0
        index = self._index
        ids = [[index.get(t, oov) for t in self.tokenize(s)] for s in texts]
        if self.output_mode == "int":
            length = self.output_sequence_length
            if length is None:
                length = max((len(r) for r in ids), default=0)
            out = np.zeros((len(ids), length), np.int64)
            for i, r in enumerate(ids):
                r = r[:length]
                out[i, :len(r)] = r
            return Tensor(out)
        width = self.max_tokens if self.pad_to_max_tokens and self.max_tokens else len(self._vocab)
        out = np.zeros((len(ids), width), np.float32)
        rows = np.repeat(np.arange(len(ids)), [len(r) for r in ids])
        cols = np.fromiter((j for r in ids for j in r), np.int64, count=len(rows))
        if self.output_mode == "multi_hot":
            out[rows, cols] = 1.0
        else:
            np.add.at(out, (rows, cols), 1.0)
            if self.output_mode == "tf_idf":
                out[:, :len(self._idf)] *= self._idf
        return Tensor(out)

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return (input_shape[0], self.output_sequence_length)
        return (input_shape[0], self.max_tokens if self.pad_to_max_tokens else
                (len(self._vocab) if self._vocab else None))

    def decode(self, ids):
        """Token ids back to strings (int mode): tokens joined by a space (by nothing for
        characters); padding dropped."""
        sep = "" if self.split == "character" else " "
        arr = np.asarray(ids.numpy() if isinstance(ids, Tensor) else ids)
        rows = arr.reshape(-1, arr.shape[-1]) if arr.ndim > 1 else arr[None]
        out = [sep.join(self._vocab[int(i)] for i in r if int(i) != 0) for r in rows]
        return out if arr.ndim > 1 else out[0]

    def get_config(self):
        where = f"{type(self).__name__} '{self.name}'"
        for arg in ("standardize", "split"):
            if callable(getattr(self, arg)):
                raise ValueError(f"{where}: a callable {arg} cannot be saved in a config; use one "
                                 "of the named options")
        config = super().get_config()
        config.update(max_tokens=self.max_tokens, standardize=self.standardize, split=self.split,
                      ngrams=None if self.ngrams is None else list(self.ngrams),
                      output_mode=self.output_mode,
                      output_sequence_length=self.output_sequence_length,
                      pad_to_max_tokens=self.pad_to_max_tokens,
                      vocabulary=None if self._vocab is None else list(self._vocab),
                      idf_weights=None if self._idf is None else self._idf.tolist())
        return config


class CharacterVectorization(TextVectorization):
    """TextVectorization for character models: one token per character, case kept.

    Same as ``TextVectorization(standardize=None, split="character")``; ``decode`` joins
    characters without spaces.

    Examples
    --------
    >>> from deepsheet.layers import CharacterVectorization
    >>> cv = CharacterVectorization()
    >>> cv.adapt(["abba"])
    >>> cv(["abc"]).numpy().tolist(), cv.decode([[3, 2]])
    ([[3, 2, 1]], ['ab'])
    """

    def __init__(self, max_tokens=None, standardize=None, split="character", **kwargs):
        super().__init__(max_tokens=max_tokens, standardize=standardize, split=split, **kwargs)
