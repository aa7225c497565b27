"""Where sequences and masks start: ``Embedding`` (token ids -> vectors) and ``Masking``.

Both produce a boolean (batch, time) mask that later layers honour (recurrent layers carry
their states through masked steps; attention, losses and metrics skip them). The mask rides
on the output tensor as ``_keras_mask`` (see ``compute_mask``), as in Keras.
"""
from __future__ import annotations

import numpy as np

from .. import backend, init, regularizers
from .. import functional as F
from ..tensor import Tensor
from .base import Layer

__all__ = ["Embedding", "Masking"]


def _attach_mask(out, mask):
    # Layer.__call__ sets it from compute_mask; this keeps direct calls of ``call`` right too.
    try:
        out._keras_mask = mask
    except AttributeError:  # a Tensor without the mask slot
        pass
    return out


class Embedding(Layer):
    """Look up one trainable vector per token id (Keras's ``Embedding``).

    Formula::

        y[n, t] = E[x[n, t]]          E: (input_dim, output_dim)
        dL/dE[k] = Σ_{(n,t): x[n,t] = k} dL/dy[n, t]      (rows of repeated ids add up)

    The lookup is the product of a one-hot row with E, done as a gather; its backward sums
    the gradients of each id's rows.

    Parameters
    ----------
    input_dim : int
        Vocabulary size; ids must lie in [0, input_dim).
    output_dim : int
        Vector size.
    embeddings_initializer : default "uniform" (U[-0.05, 0.05], Keras's default)
    embeddings_regularizer : optional
    mask_zero : bool
        Id 0 is padding: the output carries the mask ``x != 0`` and id 0 stays reserved
        (so the vocabulary is input_dim - 1 real tokens).

    Shape
    -----
    (batch, time) integers -> (batch, time, output_dim); any input rank works.

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> emb = ds.layers.Embedding(10, 4, mask_zero=True)
    >>> x = np.array([[3, 5, 0, 0]])
    >>> emb(x).shape, emb.compute_mask(x).tolist()
    ((1, 4, 4), [[True, True, False, False]])
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, mask_zero=False, **kwargs):
        kwargs.pop("input_length", None)  # Keras 2's argument; the length comes from the data
        super().__init__(**kwargs)
        for arg, v in (("input_dim", input_dim), ("output_dim", output_dim)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"Embedding '{self.name}': {arg} must be a positive integer, "
                                 f"got {v!r}")
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = init.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.mask_zero = bool(mask_zero)
        self.embeddings = None

    def build(self, input_shape):
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer)
        self.built = True

    def _ids(self, inputs):
        ids = inputs.data if isinstance(inputs, Tensor) else inputs
        xp = backend.array_module(ids) if hasattr(ids, "dtype") else np
        ids = xp.asarray(ids)
        if ids.dtype.kind == "f":
            if ids.size and not bool(xp.all(ids == xp.round(ids))):
                raise ValueError(f"Embedding '{self.name}': expected integer token ids, got "
                                 f"non-integer values of dtype {ids.dtype}")
            ids = ids.astype(np.int64)
        elif ids.dtype.kind not in "iub":
            raise ValueError(f"Embedding '{self.name}': expected integer token ids, got dtype "
                             f"{ids.dtype}")
        if ids.size:
            lo, hi = int(ids.min()), int(ids.max())
            if lo < 0 or hi >= self.input_dim:
                bad = lo if lo < 0 else hi
                raise ValueError(f"Embedding '{self.name}': token id {bad} is out of range "
                                 f"[0, input_dim={self.input_dim}); enlarge input_dim or map "
                                 "unknown tokens to a reserved id")
        return ids

    def call(self, inputs, training=None):
        ids = self._ids(inputs)
        out = F.getitem(self.embeddings, ids)
        return _attach_mask(out, self.compute_mask(ids))

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        ids = inputs.data if isinstance(inputs, Tensor) else inputs
        return ids != 0

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(input_dim=self.input_dim, output_dim=self.output_dim,
                      embeddings_initializer=init.serialize(self.embeddings_initializer),
                      embeddings_regularizer=regularizers.serialize(
                          self.embeddings_regularizer),
                      mask_zero=self.mask_zero)
        return config


class Masking(Layer):
    """Mask the time steps whose features all equal ``mask_value`` (Keras's ``Masking``).

    Formula::

        mask[n, t] = any_f (x[n, t, f] != mask_value),   y = x ⊙ mask[..., None]

    Parameters
    ----------
    mask_value : float, default 0.0

    Shape
    -----
    (batch, time, features) -> same; the output carries the (batch, time) mask.
    """

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = float(mask_value)

    def compute_mask(self, inputs, mask=None):
        x = inputs.data if isinstance(inputs, Tensor) else inputs
        return (x != self.mask_value).any(axis=-1)

    def call(self, inputs, training=None):
        mask = self.compute_mask(inputs)
        out = inputs * mask[..., None].astype(inputs.dtype)
        return _attach_mask(out, mask)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config["mask_value"] = self.mask_value
        return config
