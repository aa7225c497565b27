"""Text padding: ``pad_sequences`` (Keras's ``keras.utils.pad_sequences``)."""
from __future__ import annotations

import numpy as np

__all__ = ["pad_sequences"]


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """Pad (or cut) a list of sequences to one length, giving a (n, maxlen, ...) array.

    Formula::

        out[i] = [value]·(maxlen - len_i) + s_i          padding="pre"  (Keras's default)
        out[i] = s_i + [value]·(maxlen - len_i)          padding="post"
        len_i > maxlen: keep the last maxlen items (truncating="pre") or the first ("post")

    Parameters
    ----------
    sequences : list of sequences
        Each a list or array of tokens (scalars) or of equally shaped feature vectors.
    maxlen : int, optional
        Output length; the longest sequence's length by default.
    dtype : str, default "int32"
    padding, truncating : {"pre", "post"}
    value : scalar
        The padding value (0 pairs with ``Embedding(mask_zero=True)``).

    Returns
    -------
    ndarray of shape (len(sequences), maxlen) + the items' shape.

    Examples
    --------
    >>> from deepsheet.preprocessing import pad_sequences
    >>> pad_sequences([[1, 2, 3], [4]], maxlen=2).tolist()
    [[2, 3], [0, 4]]
    >>> pad_sequences([[1, 2], [3]], padding="post").tolist()
    [[1, 2], [3, 0]]
    """
    for arg, v in (("padding", padding), ("truncating", truncating)):
        if v not in ("pre", "post"):
            raise ValueError(f"pad_sequences: {arg} must be 'pre' or 'post', got {v!r}")
    try:
        seqs = [np.asarray(s) for s in sequences]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"pad_sequences: sequences must be a list of sequences ({exc})") from None
    if any(s.ndim == 0 for s in seqs):
        raise ValueError("pad_sequences: sequences must be a list of sequences (lists or "
                         "arrays), got a scalar entry")
    lengths = [len(s) for s in seqs]
    if maxlen is None:
        maxlen = max(lengths, default=0)
    if isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 0:
        raise ValueError(f"pad_sequences: maxlen must be a non-negative integer, got {maxlen!r}")
    item_shape = next((s.shape[1:] for s in seqs if len(s)), ())
    dtype = np.dtype(dtype)
    if dtype.kind in "iu" and isinstance(value, float) and not float(value).is_integer():
        raise ValueError(f"pad_sequences: value {value!r} cannot be stored in dtype {dtype}; "
                         "pass dtype='float32' or an integer value")
    out = np.full((len(seqs), maxlen) + item_shape, value, dtype=dtype)
    for i, s in enumerate(seqs):
        if not len(s) or not maxlen:
            continue
        if s.shape[1:] != item_shape:
            raise ValueError(f"pad_sequences: sequence {i} has items of shape {s.shape[1:]}, "
                             f"others {item_shape}")
        s = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        if padding == "post":
            out[i, :len(s)] = s
        else:
            out[i, maxlen - len(s):] = s
    return out
