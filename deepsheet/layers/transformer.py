"""Transformer blocks: positional encodings, TransformerEncoder, TransformerDecoder.

Keras-Hub's names and arguments (``intermediate_dim``, ``num_heads``, ``dropout``,
``activation``, ``layer_norm_epsilon``, ``normalize_first``). Padding masks come from the
inputs' masks (``_keras_mask``, e.g. from ``Embedding(mask_zero=True)``) or are given.
``weights_from_torch`` converts ``torch.nn.TransformerEncoderLayer`` /
``TransformerDecoderLayer`` state dicts.
"""
from __future__ import annotations

import numpy as np

from .. import backend, init
from .. import functional as F
from ..functional.dropout import check_rate
from ..tensor import Tensor
from . import attention as _attention_module
from .attention import MultiHeadAttention, _KerasCall, _mask_of, _set_mask
from .base import Layer, to_tensor_input
from .core import Dense, Dropout
from .normalization import LayerNormalization

__all__ = ["sinusoidal_positional_encoding", "SinePositionEncoding", "PositionEmbedding",
           "TokenAndPositionEmbedding", "TransformerEncoder", "TransformerDecoder"]


def sinusoidal_positional_encoding(length, depth, max_wavelength=10000.0, dtype=np.float32):
    """The fixed positional encoding of Vaswani et al. 2017, as a (length, depth) array.

    Formula::

        PE[pos, 2i]   = sin(pos / max_wavelength^(2i/depth))
        PE[pos, 2i+1] = cos(pos / max_wavelength^(2i/depth))

    Each pair of features turns at its own frequency, so PE[pos + k] is a linear function
    (a rotation) of PE[pos]: relative offsets are easy to attend to.
    """
    pos = np.arange(int(length), dtype=np.float64)[:, None]
    i = np.arange(int(depth), dtype=np.float64)[None, :]
    angle = pos / np.power(float(max_wavelength), (2 * (i // 2)) / float(depth))
    pe = np.where(i % 2 == 0, np.sin(angle), np.cos(angle))
    return pe.astype(dtype)


class SinePositionEncoding(Layer):
    """The sinusoidal positional encoding of the input's (batch, time, depth) shape.

    Returns the encoding (broadcast over the batch), to be added to the embeddings:
    ``x = x + SinePositionEncoding()(x)`` (Keras-Hub's layer). No weights.

    Formula (``sinusoidal_positional_encoding``, d = depth)::

        PE[pos, 2i]   = sin(pos / max_wavelength^(2i/d))
        PE[pos, 2i+1] = cos(pos / max_wavelength^(2i/d))
    """

    def __init__(self, max_wavelength=10000.0, **kwargs):
        super().__init__(**kwargs)
        self.max_wavelength = float(max_wavelength)

    def call(self, inputs, training=False):
        if inputs.ndim != 3:
            raise ValueError(f"SinePositionEncoding '{self.name}' expects (batch, time, depth), "
                             f"got {tuple(inputs.shape)}")
        _, t, d = inputs.shape
        pe = sinusoidal_positional_encoding(t, d, self.max_wavelength, inputs.dtype)
        xp = backend.array_module(inputs.data)
        return Tensor(xp.broadcast_to(xp.asarray(pe), inputs.shape).copy())

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(max_wavelength=self.max_wavelength)
        return config


class PositionEmbedding(Layer):
    """A learned position embedding: one trainable vector per position (Keras-Hub's layer).

    Formula::

        P[t] = E_pos[t],  t = 0 .. time−1   (E_pos: (sequence_length, depth))

    Returns P broadcast to the input's shape; add it to the token embeddings. Inputs may
    be shorter than ``sequence_length`` (the first rows are used).

    Shape
    -----
    (batch, time, depth) -> (batch, time, depth)
    """

    def __init__(self, sequence_length, initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if isinstance(sequence_length, bool) or not isinstance(sequence_length, (int, np.integer)) \
                or sequence_length <= 0:
            raise ValueError(f"PositionEmbedding '{self.name}': sequence_length must be a "
                             f"positive integer, got {sequence_length!r}")
        self.sequence_length = int(sequence_length)
        self.initializer = init.get(initializer)

    def build(self, input_shape):
        self.position_embeddings = self.add_weight("embeddings",
                                                   (self.sequence_length, input_shape[-1]),
                                                   self.initializer)
        self.built = True

    def call(self, inputs, training=False):
        t = inputs.shape[-2]
        if t > self.sequence_length:
            raise ValueError(f"PositionEmbedding '{self.name}' has {self.sequence_length} "
                             f"positions, got a sequence of length {t}")
        pos = self.position_embeddings if t == self.sequence_length else \
            F.getitem(self.position_embeddings, slice(0, t))
        return F.broadcast_to(pos, tuple(inputs.shape))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(sequence_length=self.sequence_length,
                      initializer=init.serialize(self.initializer))
        return config


class TokenAndPositionEmbedding(Layer):
    """Token embedding plus a learned position embedding (Keras-Hub's layer).

    Formula::

        y[n, t] = E_tok[x[n, t]] + E_pos[t]

    With ``mask_zero=True`` id 0 is padding and the output carries the mask ``x != 0``.

    Shape
    -----
    (batch, time) ids -> (batch, time, embedding_dim); time <= sequence_length.
    """

    def __init__(self, vocabulary_size, sequence_length, embedding_dim, mask_zero=False,
                 embeddings_initializer="uniform", **kwargs):
        super().__init__(**kwargs)
        from .embedding import Embedding
        self.vocabulary_size, self.sequence_length = int(vocabulary_size), int(sequence_length)
        self.embedding_dim, self.mask_zero = int(embedding_dim), bool(mask_zero)
        self.embeddings_initializer = init.get(embeddings_initializer)
        self.token_embedding = Embedding(self.vocabulary_size, self.embedding_dim,
                                         embeddings_initializer=self.embeddings_initializer,
                                         mask_zero=self.mask_zero, name=f"{self.name}/token")
        self.position_embedding = PositionEmbedding(self.sequence_length,
                                                    initializer=self.embeddings_initializer,
                                                    name=f"{self.name}/position")

    def build(self, input_shape):
        shape = tuple(input_shape) + (self.embedding_dim,)
        self.token_embedding._maybe_build(tuple(input_shape))
        self.position_embedding._maybe_build(shape)
        self.built = True

    def call(self, inputs):
        x = self.token_embedding(inputs)
        mask = x._keras_mask
        y = x + self.position_embedding(x)
        y._keras_mask = mask
        return y

    def compute_mask(self, inputs, mask=None):
        return self.token_embedding.compute_mask(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.embedding_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(vocabulary_size=self.vocabulary_size, sequence_length=self.sequence_length,
                      embedding_dim=self.embedding_dim, mask_zero=self.mask_zero,
                      embeddings_initializer=init.serialize(self.embeddings_initializer))
        return config


def _padding(name, x, given):
    m = _mask_of(x, given)
    if m is not None and (m.ndim != 2 or m.shape != tuple(x.shape[:2])):
        raise ValueError(f"{name}: padding mask must have shape {tuple(x.shape[:2])} "
                         f"(batch, time), got {tuple(m.shape)}")
    return m


def _key_mask(padding, attention_mask, tq, causal, xp):
    """(batch, Tq, Tk) boolean mask (True = attend) from a key padding mask, an explicit
    attention mask and causality; None if nothing masks."""
    mask = None
    if padding is not None:
        mask = xp.broadcast_to(padding[:, None, :], (padding.shape[0], tq, padding.shape[1]))
    if attention_mask is not None:
        am = attention_mask.data if isinstance(attention_mask, Tensor) else xp.asarray(attention_mask)
        am = am.astype(bool)
        mask = am if mask is None else mask & am
    if causal:
        tk = mask.shape[-1] if mask is not None else tq
        c = xp.tri(tq, tk, dtype=bool)[None]
        mask = c if mask is None else mask & c
    return mask


class _Block(_KerasCall):
    """What the encoder and decoder share: arguments, the feed-forward sub-block, config."""

    def __init__(self, intermediate_dim, num_heads, dropout=0.0, activation="relu",
                 layer_norm_epsilon=1e-5, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", normalize_first=False, **kwargs):
        super().__init__(**kwargs)
        where = f"{type(self).__name__} '{self.name}'"
        for arg, val in (("intermediate_dim", intermediate_dim), ("num_heads", num_heads)):
            if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val <= 0:
                raise ValueError(f"{where}: {arg} must be a positive integer, got {val!r}")
        self.intermediate_dim = int(intermediate_dim)
        self.num_heads = int(num_heads)
        self.dropout = check_rate(dropout, f"{where}: dropout")
        self.activation = activation
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.kernel_initializer = init.get(kernel_initializer)
        self.bias_initializer = init.get(bias_initializer)
        self.normalize_first = bool(normalize_first)
        self._hidden = None

    def _check_width(self, x):
        where = f"{type(self).__name__} '{self.name}'"
        if x.ndim != 3:
            raise ValueError(f"{where} expects (batch, time, features), got {tuple(x.shape)}")
        d = x.shape[-1]
        if self._hidden is not None and d != self._hidden:
            raise ValueError(f"{where} was built for {self._hidden} features, got {tuple(x.shape)}")
        if d % self.num_heads:
            raise ValueError(f"{where}: num_heads={self.num_heads} must divide the model size "
                             f"(features) {d}")
        return d

    def _kw(self):
        return dict(kernel_initializer=init.serialize(self.kernel_initializer),
                    bias_initializer=init.serialize(self.bias_initializer))

    def _attention(self, d, name):
        return MultiHeadAttention(self.num_heads, d // self.num_heads, dropout=self.dropout,
                                  name=f"{self.name}/{name}", **self._kw())

    def _norm(self, name):
        return LayerNormalization(epsilon=self.layer_norm_epsilon, name=f"{self.name}/{name}")

    def _make_feedforward(self, d):
        self._feedforward_layer_norm = self._norm("feedforward_layer_norm")
        self._feedforward_intermediate_dense = Dense(self.intermediate_dim, self.activation,
                                                     name=f"{self.name}/intermediate", **self._kw())
        self._feedforward_output_dense = Dense(d, name=f"{self.name}/output", **self._kw())
        self._dropout_layer = Dropout(self.dropout, name=f"{self.name}/dropout")

    def _sublayer(self, x, norm, fn, training):
        """Residual around ``fn`` with the norm before (pre-norm) or after (post-norm)."""
        residual = x
        if self.normalize_first:
            x = norm(x)
        x = fn(x)
        if self.dropout and training:
            x = self._dropout_layer(x, training=True)
        if not self.normalize_first and norm.center and norm.scale:
            norm._maybe_build(tuple(x.shape))
            return F.add_layer_norm(x, residual, norm.gamma, norm.beta, norm.epsilon)
        x = x + residual
        return x if self.normalize_first else norm(x)

    def _self_attention_sublayer(self, x, mask, training):
        """The self-attention residual; post-norm without dropout: ONE node with its norm."""
        mha, norm = self._self_attention_layer, self._self_attention_layer_norm
        if self.normalize_first or not (norm.center and norm.scale) or \
                (self.dropout and training) or not _attention_module._FUSE:
            return self._sublayer(x, norm, lambda h: mha(h, h, attention_mask=mask,
                                                         training=training), training)
        norm._maybe_build(tuple(x.shape))
        return mha._self_attention_residual(x, mask, training,
                                            (norm.gamma, norm.beta, norm.epsilon))

    def _fused_feedforward(self, x):
        """The two Dense layers as one node's arguments, or None where they cannot fuse."""
        inner, outer = self._feedforward_intermediate_dense, self._feedforward_output_dense
        if inner._fused is None or outer.activation is not None or inner.bias is None \
                or outer.bias is None or (self.dropout and self._training):
            return None  # relu between and no dropout only
        inner._maybe_build(tuple(x.shape))
        outer._maybe_build(tuple(x.shape[:-1]) + (self.intermediate_dim,))
        return x, inner.kernel, inner.bias, outer.kernel, outer.bias

    def _feedforward_sublayer(self, x, training):
        """The feed-forward residual; post-norm with relu: ONE node, normalized in cache."""
        norm = self._feedforward_layer_norm
        args = None if self.normalize_first or not (norm.center and norm.scale) \
            else self._fused_feedforward(x)
        if args is None:
            return self._sublayer(x, norm, self._feedforward, training)
        norm._maybe_build(tuple(x.shape))
        return F.feed_forward(*args, norm.gamma, norm.beta, norm.epsilon)

    def _feedforward(self, x):
        args = self._fused_feedforward(x)
        if args is not None:  # both products per row block (cache)
            return F.feed_forward(*args)
        x = self._feedforward_intermediate_dense(x)
        if self.dropout and self._training:
            x = self._dropout_layer(x, training=True)
        return self._feedforward_output_dense(x)

    def compute_output_shape(self, input_shape, *args, **kwargs):
        return tuple(input_shape)

    def compute_mask(self, inputs, mask=None):
        return mask  # the (decoder) input's padding mask, unchanged

    def get_config(self):
        config = super().get_config()
        config.update(intermediate_dim=self.intermediate_dim, num_heads=self.num_heads,
                      dropout=self.dropout, activation=self.activation,
                      layer_norm_epsilon=self.layer_norm_epsilon,
                      normalize_first=self.normalize_first, **self._kw())
        return config


def _linear_from_torch(sd, prefix):
    return [sd[prefix + ".weight"].T.copy(), sd[prefix + ".bias"].copy()]


def _norm_from_torch(sd, prefix):
    return [sd[prefix + ".weight"].copy(), sd[prefix + ".bias"].copy()]


def _numpy_state(state_dict):
    return {k: np.asarray(v.detach().numpy() if hasattr(v, "detach") else v, np.float32)
            for k, v in state_dict.items()}


def _mha_from_torch(sd, prefix, heads):
    sub = {k[len(prefix) + 1:]: v for k, v in sd.items() if k.startswith(prefix + ".")}
    return MultiHeadAttention.weights_from_torch(sub, heads)


class TransformerEncoder(_Block):
    """One transformer encoder block: self-attention and a feed-forward net, each residual.

    Formula (post-norm, ``normalize_first=False``, Vaswani et al. 2017)::

        h = LayerNorm(x + Dropout(MHA(x, x, x, mask)))
        y = LayerNorm(h + Dropout(W₂ g(W₁ h + b₁) + b₂))

    Pre-norm (``normalize_first=True``): h = x + MHA(LN(x)), y = h + FFN(LN(h)).
    Each head has size features / num_heads. Padded keys (the input's mask or
    ``padding_mask``, True = real token) take no part; the output keeps the input's mask.

    Parameters
    ----------
    intermediate_dim : int
        Width of the feed-forward hidden layer.
    num_heads : int
        Must divide the model size (the input's features).
    dropout : float
        On the attention weights and after each sub-block, during training.
    activation : str
        Of the feed-forward hidden layer ("relu", "gelu", ...).
    layer_norm_epsilon : float
        1e-5 as PyTorch and Keras-Hub.
    normalize_first : bool
        Pre-norm when True.

    Call
    ----
    ``encoder(inputs, padding_mask=None, attention_mask=None, training=None)``

    Shape
    -----
    (batch, time, features) -> (batch, time, features)

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> enc = ds.layers.TransformerEncoder(intermediate_dim=16, num_heads=2)
    >>> enc(np.ones((2, 5, 8), np.float32)).shape
    (2, 5, 8)
    """

    def _make(self, d):
        self._hidden = d
        self._self_attention_layer = self._attention(d, "self_attention")
        self._self_attention_layer_norm = self._norm("self_attention_layer_norm")
        self._make_feedforward(d)

    def call(self, inputs, padding_mask=None, attention_mask=None, training=False):
        x = to_tensor_input(inputs)
        d = self._check_width(x)
        if self._hidden is None:
            self._make(d)
        self._training = bool(training)
        where = f"TransformerEncoder '{self.name}'"
        pad = _padding(where, x, padding_mask)
        xp = backend.array_module(x.data)
        mask = _key_mask(pad, attention_mask, x.shape[1], False, xp)
        y = self._self_attention_sublayer(x, mask, training)
        y = self._feedforward_sublayer(y, training)
        return _set_mask(y, pad)

    @staticmethod
    def weights_from_torch(state_dict, num_heads):
        """``get_weights()`` arrays from a ``torch.nn.TransformerEncoderLayer`` state dict."""
        sd = _numpy_state(state_dict)
        return (_mha_from_torch(sd, "self_attn", num_heads) + _norm_from_torch(sd, "norm1")
                + _norm_from_torch(sd, "norm2") + _linear_from_torch(sd, "linear1")
                + _linear_from_torch(sd, "linear2"))


class TransformerDecoder(_Block):
    """One transformer decoder block: causal self-attention, cross-attention, feed-forward.

    Formula (post-norm)::

        h = LayerNorm(y + MHA(y, y, y, causal ∧ decoder mask))
        c = LayerNorm(h + MHA(h, enc, enc, encoder mask))       (only with an encoder sequence)
        out = LayerNorm(c + FFN(c))

    Pre-norm with ``normalize_first=True``. Without ``encoder_sequence`` it is a GPT block
    (self-attention and feed-forward only). Masks: the decoder's and the encoder's padding
    (from their ``_keras_mask`` or given), ``use_causal_mask=True`` by default.

    Call
    ----
    ``decoder(decoder_sequence, encoder_sequence=None, decoder_padding_mask=None,
    decoder_attention_mask=None, encoder_padding_mask=None, encoder_attention_mask=None,
    use_causal_mask=True, training=None)``

    Shape
    -----
    (batch, T, features) [+ (batch, S, features_enc)] -> (batch, T, features)
    """

    def _make(self, d, with_cross):
        self._hidden = d
        self._self_attention_layer = self._attention(d, "self_attention")
        self._self_attention_layer_norm = self._norm("self_attention_layer_norm")
        self._cross_attention_layer = self._cross_attention_layer_norm = None
        if with_cross:
            self._cross_attention_layer = self._attention(d, "cross_attention")
            self._cross_attention_layer_norm = self._norm("cross_attention_layer_norm")
        self._make_feedforward(d)

    def call(self, decoder_sequence, encoder_sequence=None, decoder_padding_mask=None,
             decoder_attention_mask=None, encoder_padding_mask=None, encoder_attention_mask=None,
             use_causal_mask=True, training=False):
        where = f"TransformerDecoder '{self.name}'"
        x = to_tensor_input(decoder_sequence)
        d = self._check_width(x)
        enc = None if encoder_sequence is None else to_tensor_input(encoder_sequence)
        if self._hidden is None:
            self._make(d, enc is not None)
        elif (enc is not None) != (self._cross_attention_layer is not None):
            raise ValueError(f"{where} was built {'with' if enc is None else 'without'} an "
                             "encoder sequence; call it the same way every time")
        self._training = bool(training)
        xp = backend.array_module(x.data)
        pad = _padding(where, x, decoder_padding_mask)
        self_mask = _key_mask(pad, decoder_attention_mask, x.shape[1], use_causal_mask, xp)
        y = self._self_attention_sublayer(x, self_mask, training)
        if enc is not None:
            if enc.ndim != 3 or enc.shape[0] != x.shape[0]:
                raise ValueError(f"{where}: encoder_sequence must be (batch, time, features) with "
                                 f"the decoder's batch {x.shape[0]}, got {tuple(enc.shape)}")
            epad = _padding(where, enc, encoder_padding_mask)
            cross_mask = _key_mask(epad, encoder_attention_mask, x.shape[1], False, xp)
            cross = self._cross_attention_layer
            y = self._sublayer(y, self._cross_attention_layer_norm,
                               lambda h: cross(h, enc, attention_mask=cross_mask,
                                               training=training), training)
        y = self._feedforward_sublayer(y, training)
        return _set_mask(y, pad)

    @staticmethod
    def weights_from_torch(state_dict, num_heads):
        """``get_weights()`` arrays from a ``torch.nn.TransformerDecoderLayer`` state dict."""
        sd = _numpy_state(state_dict)
        return (_mha_from_torch(sd, "self_attn", num_heads) + _norm_from_torch(sd, "norm1")
                + _mha_from_torch(sd, "multihead_attn", num_heads) + _norm_from_torch(sd, "norm2")
                + _norm_from_torch(sd, "norm3") + _linear_from_torch(sd, "linear1")
                + _linear_from_torch(sd, "linear2"))
