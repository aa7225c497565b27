"""Vocabulary lookups: StringLookup and IntegerLookup (Keras's preprocessing layers).

A token becomes its index in a vocabulary learned by ``adapt`` (most frequent first) or
given; unknown tokens share the out-of-vocabulary (OOV) indices. ``invert=True`` maps indices
back to tokens. Like ``TextVectorization`` these work on host data (strings or integers),
hold no trainable weights, and keep their vocabulary in the config, so it is saved with the
model.
"""
from __future__ import annotations

import zlib
from collections import Counter

import numpy as np

from ..tensor import Tensor
from ._vocabulary import frequency_order, inverse_document_frequencies
from .base import Layer

__all__ = ["StringLookup", "IntegerLookup"]

_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def _rows(arr):
    """The samples of ``arr`` as rows (a lone token is one sample)."""
    return arr.reshape(arr.shape[0] if arr.ndim else 1, -1)


class _Lookup(Layer):
    """Shared parts: the index layout, adapt, the output modes and inversion.

    Index layout (Keras's): [mask token, if any] + OOV indices + vocabulary, so with the
    defaults (no mask, one OOV index) the OOV index is 0 and the tokens start at 1.
    """

    _OOV_DEFAULT = None

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=None,
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 pad_to_max_tokens=False, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        where = f"{type(self).__name__} '{self.name}'"
        if output_mode not in _MODES:
            raise ValueError(f"{where}: output_mode must be one of {_MODES}, got {output_mode!r}")
        if not isinstance(num_oov_indices, (int, np.integer)) or num_oov_indices < 0:
            raise ValueError(f"{where}: num_oov_indices must be an integer >= 0, got "
                             f"{num_oov_indices!r}")
        if invert and output_mode != "int":
            raise ValueError(f"{where}: invert=True needs output_mode='int'")
        if mask_token is not None and output_mode != "int":
            raise ValueError(f"{where}: a mask_token is only used with output_mode='int'")
        self.max_tokens = None if max_tokens is None else int(max_tokens)
        self.num_oov_indices = int(num_oov_indices)
        self.mask_token = None if mask_token is None else self._token(mask_token)
        self.oov_token = self._token(self._OOV_DEFAULT if oov_token is None else oov_token)
        self.invert = bool(invert)
        self.output_mode = output_mode
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        reserved = len(self._reserved())
        if self.max_tokens is not None and self.max_tokens <= reserved:
            raise ValueError(f"{where}: max_tokens={max_tokens} leaves no room after the "
                             f"{reserved} reserved indices (mask and OOV)")
        self._tokens = None
        self._idf = None
        self.built = True
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # ------------------------------------------------------------ vocabulary
    def _reserved(self):
        return ([self.mask_token] if self.mask_token is not None else []) + \
            [self.oov_token] * self.num_oov_indices

    def adapt(self, data, batch_size=None, steps=None):
        """Learn the vocabulary from ``data``: most frequent first (ties: reverse order)."""
        rows = self._values(data, keep_rows=True)
        counts = Counter(rows.reshape(-1).tolist())
        for r in set(self._reserved()):
            counts.pop(r, None)
        self._tokens = frequency_order(counts, None if self.max_tokens is None
                                       else self.max_tokens - len(self._reserved()))
        if self.output_mode == "tf_idf":
            docs = Counter(t for row in rows for t in set(row.tolist()))
            idf = inverse_document_frequencies(self._tokens, docs, len(rows))
            self._idf = np.asarray([np.mean(idf) if idf else 0.0] * len(self._reserved()) + idf,
                                   np.float32)
        self._make_index()

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Set the vocabulary (without the reserved mask/OOV entries, which are added)."""
        where = f"{type(self).__name__} '{self.name}'"
        tokens = [self._token(t) for t in np.asarray(vocabulary, dtype=object).reshape(-1)]
        reserved = self._reserved()
        if tokens[:len(reserved)] == reserved and reserved:
            tokens = tokens[len(reserved):]
        bad = [t for t in tokens if t in (self.mask_token, self.oov_token)]
        if bad:
            raise ValueError(f"{where}: the vocabulary holds the reserved token {bad[0]!r}")
        if len(set(tokens)) != len(tokens):
            raise ValueError(f"{where}: the vocabulary has repeated tokens")
        if self.max_tokens is not None and len(tokens) + len(reserved) > self.max_tokens:
            raise ValueError(f"{where}: {len(tokens)} tokens and {len(reserved)} reserved "
                             f"indices exceed max_tokens={self.max_tokens}")
        self._tokens = tokens
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError(f"{where}: output_mode='tf_idf' with a given vocabulary needs "
                                 "idf_weights")
            idf = np.asarray(idf_weights, np.float32).reshape(-1)
            if len(idf) == len(tokens):
                idf = np.concatenate([[idf.mean()] * len(reserved), idf]).astype(np.float32)
            if len(idf) != len(tokens) + len(reserved):
                raise ValueError(f"{where}: {len(idf)} idf_weights for {len(tokens)} tokens")
            self._idf = idf
        self._make_index()

    def _make_index(self):
        offset = len(self._reserved())
        self._index = {t: offset + i for i, t in enumerate(self._tokens)}

    def get_vocabulary(self, include_special_tokens=True):
        self._require_vocab()
        return (self._reserved() if include_special_tokens else []) + list(self._tokens)

    def vocabulary_size(self):
        self._require_vocab()
        return len(self._reserved()) + len(self._tokens)

    def _require_vocab(self):
        if self._tokens is None:
            raise RuntimeError(f"{type(self).__name__} '{self.name}' has no vocabulary yet: call "
                               "adapt(data) or set_vocabulary(tokens) before using it")

    # ------------------------------------------------------------ call
    def __call__(self, inputs, training=None, **kwargs):
        from .symbolic import STRING, KerasTensor, call_symbolic
        if isinstance(inputs, KerasTensor):      # inside a model (a string Input for StringLookup)
            text_in = inputs.dtype == STRING
            wants_text = isinstance(self, StringLookup) and not self.invert
            if text_in != wants_text:
                want = "text (Input(..., dtype='string'))" if wants_text else "integers"
                raise TypeError(f"{type(self).__name__} '{self.name}' takes {want}, but its "
                                f"input '{inputs.name}' has dtype {inputs.dtype}")
            return call_symbolic(self, (inputs,), {})
        return self.call(inputs)

    def compute_output_dtype(self, input_dtype):
        """int64 indices ("int"), float32 vectors (bag modes), the tokens' dtype (invert)."""
        if self.invert:
            return "string" if isinstance(self, StringLookup) else "int64"
        return "int64" if self.output_mode == "int" else "float32"

    def _oov_index(self, token):
        """The OOV index of an unknown token: a stable hash when there are several."""
        where = f"{type(self).__name__} '{self.name}'"
        if self.num_oov_indices == 0:
            raise KeyError(f"{where}: {token!r} is not in the vocabulary and num_oov_indices=0")
        start = 1 if self.mask_token is not None else 0
        if self.num_oov_indices == 1:
            return start
        return start + zlib.crc32(str(token).encode("utf-8")) % self.num_oov_indices

    def call(self, inputs, training=False):
        self._require_vocab()
        if self.invert:
            return self._invert(inputs)
        values = self._values(inputs)
        shape = np.shape(inputs.numpy() if isinstance(inputs, Tensor) else
                         (inputs if not isinstance(inputs, (str, bytes)) else [inputs]))
        index, mask = self._index, self.mask_token
        ids = np.fromiter((0 if t == mask and mask is not None else
                           index[t] if t in index else self._oov_index(t) for t in values.tolist()),
                          np.int64, count=values.size).reshape(shape)
        if self.output_mode == "int":
            out = Tensor(ids)
            if mask is not None:
                out._keras_mask = ids != 0
            return out
        return Tensor(self._encode(ids))

    def _encode(self, ids):
        where = f"{type(self).__name__} '{self.name}'"
        width = self.max_tokens if self.pad_to_max_tokens and self.max_tokens \
            else self.vocabulary_size()
        if self.output_mode == "one_hot":
            if ids.ndim > 1 and ids.shape[-1] != 1:
                raise ValueError(f"{where}: one_hot encodes one token per sample; got inputs of "
                                 f"shape {ids.shape} (use multi_hot or count for several)")
            flat = ids.reshape(-1)
            out = np.zeros((flat.size, width), np.float32)
            out[np.arange(flat.size), flat] = 1.0
            return out.reshape(ids.shape[:1] + (width,) if ids.ndim else (width,))
        # (batch,) holds one token per sample, as Keras reads a rank-1 input
        rows2d = ids.reshape(-1, 1) if ids.ndim <= 1 else ids.reshape(ids.shape[0], -1)
        out = np.zeros((rows2d.shape[0], width), np.float32)
        rows = np.repeat(np.arange(rows2d.shape[0]), rows2d.shape[1])
        if self.output_mode == "multi_hot":
            out[rows, rows2d.reshape(-1)] = 1.0
        else:
            np.add.at(out, (rows, rows2d.reshape(-1)), 1.0)
            if self.output_mode == "tf_idf":
                out[:, :len(self._idf)] *= self._idf
        return out[0] if ids.ndim == 0 else out

    def _invert(self, inputs):
        where = f"{type(self).__name__} '{self.name}'"
        ids = np.asarray(inputs.numpy() if isinstance(inputs, Tensor) else inputs)
        if ids.dtype.kind not in "iu":
            raise TypeError(f"{where} (invert=True) expects integer indices, got dtype {ids.dtype}")
        vocab = self.get_vocabulary()
        if ids.size and (ids.min() < 0 or ids.max() >= len(vocab)):
            raise ValueError(f"{where}: indices must lie in [0, {len(vocab)}), got "
                             f"[{ids.min()}, {ids.max()}]")
        table = np.asarray(vocab, dtype=self._numpy_dtype)
        return table[ids]

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        return (input_shape[0], self.max_tokens if self.pad_to_max_tokens else
                (self.vocabulary_size() if self._tokens is not None else None))

    def get_config(self):
        config = super().get_config()
        config.update(max_tokens=self.max_tokens, num_oov_indices=self.num_oov_indices,
                      mask_token=self.mask_token, oov_token=self.oov_token,
                      vocabulary=None if self._tokens is None else list(self._tokens),
                      idf_weights=None if self._idf is None else self._idf.tolist(),
                      invert=self.invert, output_mode=self.output_mode,
                      pad_to_max_tokens=self.pad_to_max_tokens)
        return config


class StringLookup(_Lookup):
    """Strings to vocabulary indices (Keras's ``StringLookup``), and back with ``invert``.

    Formula
    -------
    index(t) = 0 for the mask token (if any); the OOV index for an unknown t (a stable
    hash of t picks among several); otherwise (#reserved + rank of t in the vocabulary).
    one_hot / multi_hot / count / tf_idf turn indices into vectors of the vocabulary size
    (tf_idf: count · log(1 + N / (1 + document frequency))).

    Parameters
    ----------
    max_tokens : int, optional — vocabulary size including the reserved indices.
    num_oov_indices : int — indices shared by unknown tokens (0: unknown tokens are an error).
    mask_token : str, optional — the padding token, index 0, masked downstream.
    oov_token : str — what ``invert`` gives for an OOV index ("[UNK]").
    vocabulary : list of str, optional — instead of ``adapt``.
    invert : bool — indices to strings.
    output_mode : "int", "one_hot", "multi_hot", "count" or "tf_idf".

    Shape
    -----
    int: any shape of strings -> the same shape of int64; one_hot: (batch,) -> (batch, V);
    multi_hot/count/tf_idf: (batch, tokens) -> (batch, V).

    Examples
    --------
    >>> from deepsheet.layers import StringLookup
    >>> lookup = StringLookup(vocabulary=["a", "b", "c"])
    >>> lookup([["a", "c"], ["d", "b"]]).numpy().tolist()
    [[1, 3], [0, 2]]
    >>> StringLookup(vocabulary=["a", "b", "c"], invert=True)([[1, 3], [0, 2]]).tolist()
    [['a', 'c'], ['[UNK]', 'b']]
    """

    _OOV_DEFAULT = "[UNK]"
    _numpy_dtype = object

    def _token(self, value):
        if isinstance(value, bytes):
            return value.decode("utf-8")
        if not isinstance(value, (str, np.str_)):
            raise TypeError(f"StringLookup '{self.name}' expects strings, got an element of "
                            f"type {type(value).__name__}: {value!r}")
        return str(value)

    def _values(self, data, keep_rows=False):
        if isinstance(data, Tensor):
            raise TypeError(f"StringLookup '{self.name}' expects strings, got a Tensor of "
                            f"dtype {data.dtype}")
        arr = np.asarray([data] if isinstance(data, (str, bytes)) else data, dtype=object)
        if arr.size and not all(isinstance(v, (str, np.str_, bytes)) for v in arr.flat):
            bad = next(v for v in arr.flat if not isinstance(v, (str, np.str_, bytes)))
            raise TypeError(f"StringLookup '{self.name}' expects strings, got an element of "
                            f"type {type(bad).__name__}: {bad!r}")
        arr = np.vectorize(self._token, otypes=[object])(arr) if arr.size else arr
        return _rows(arr) if keep_rows else arr.reshape(-1)


class IntegerLookup(_Lookup):
    """Integers (e.g. raw category codes) to contiguous indices (Keras's ``IntegerLookup``).

    The same index layout, modes and inversion as ``StringLookup``; the OOV token is -1.

    Examples
    --------
    >>> from deepsheet.layers import IntegerLookup
    >>> lookup = IntegerLookup()
    >>> lookup.adapt([12, 36, 36, 1138])
    >>> lookup.get_vocabulary(), lookup([36, 7]).numpy().tolist()
    ([-1, 36, 1138, 12], [1, 0])
    """

    _OOV_DEFAULT = -1
    _numpy_dtype = np.int64

    def _token(self, value):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"IntegerLookup '{self.name}' expects integers, got "
                            f"{type(value).__name__}: {value!r}")
        return int(value)

    def _values(self, data, keep_rows=False):
        arr = np.asarray(data.numpy() if isinstance(data, Tensor) else data)
        if arr.dtype.kind not in "iu":
            if arr.dtype.kind == "f" and arr.size and np.all(arr == np.round(arr)):
                arr = arr.astype(np.int64)      # whole numbers stored as floats
            else:
                raise TypeError(f"IntegerLookup '{self.name}' expects integers, got dtype "
                                f"{arr.dtype}")
        arr = arr.astype(np.int64)
        return _rows(arr) if keep_rows else arr.reshape(-1)
