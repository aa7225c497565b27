"""Attention layers: Attention (Luong), AdditiveAttention (Bahdanau), MultiHeadAttention.

Keras 3's arguments, call signatures and weight layouts. Each ends in one fused node of
``functional.attention`` (mask, softmax, dropout and weighted sum together).

Masks follow Keras: a boolean (batch, time) mask travels on a tensor as ``_keras_mask``
(True = a real step); padded keys take no part, and the output carries the query's mask.
Where every key of a query is masked, the query gets zero weights (Keras would spread them
uniformly; PyTorch gives zeros too) — only padded queries are like that, and their outputs
are ignored downstream.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend, init, regularizers
from .. import functional as F
from ..functional.attention import (attend, attention_with_weights, causal_mask,
                                    merge_heads_projection, split_heads_projection)
from ..functional.dropout import check_rate
from ..functional.self_attention import multi_head_self_attention
from ..tensor import Tensor
from .base import Layer, to_tensor_input

__all__ = ["Attention", "AdditiveAttention", "MultiHeadAttention"]
_FUSE = True  # MultiHeadAttention(x, x) takes the fused node (tests compare both paths)


def _mask_of(x, given=None):
    """The boolean (batch, time) mask given explicitly or carried by ``x`` as ``_keras_mask``."""
    m = given if given is not None else getattr(x, "_keras_mask", None)
    if m is None:
        return None
    m = m.data if isinstance(m, Tensor) else backend_asarray(m, x)
    return m.astype(bool) if m.dtype != np.bool_ else m


def backend_asarray(m, like):
    xp = backend.array_module(like.data if isinstance(like, Tensor) else like)
    return xp.asarray(m)


def _set_mask(out, mask):
    if mask is not None:
        out._keras_mask = mask
    return out


def _combine(name, batch_shape, q_mask, v_mask, k_mask, causal, attention_mask, xp):
    """One boolean (batch, Tq, Tv) mask from the query/value/key masks, causality and an
    explicit attention mask (Keras's ``_compute_attention_mask``); None if nothing masks."""
    b, tq, tv = batch_shape
    mask = None

    def both(a, m):
        return m if a is None else a & m

    if q_mask is not None:
        mask = both(mask, q_mask[:, :, None])
    if v_mask is not None:
        mask = both(mask, v_mask[:, None, :])
    if k_mask is not None:
        mask = both(mask, k_mask[:, None, :])
    if causal:
        mask = both(mask, causal_mask(tq, tv, xp))
    if attention_mask is not None:
        am = attention_mask.data if isinstance(attention_mask, Tensor) else xp.asarray(attention_mask)
        if am.ndim != 3 or am.shape[1:] != (tq, tv) or am.shape[0] not in (1, b):
            raise ValueError(f"{name}: attention_mask must have shape (batch, {tq}, {tv}) "
                             f"(query length, key length), got {tuple(am.shape)}")
        if am.dtype.kind not in "biu":
            raise TypeError(f"{name}: attention_mask must be boolean or 0/1 integers "
                            f"(1 = attend), got dtype {am.dtype}")
        mask = both(mask, am.astype(bool))
    if mask is not None and mask.shape != (b, tq, tv):
        mask = xp.broadcast_to(mask, (b, tq, tv))
    return mask


class _KerasCall(Layer):
    """Layers called with several inputs and keywords (``mha(query, value, key=...)``).

    Weights depend on several input shapes, so they are made in ``call`` on first use.
    """

    def build(self, *shapes):
        self.built = True


class Attention(_KerasCall):
    """Dot-product (Luong-style) attention over ``[query, value]`` or ``[query, value, key]``.

    Formula
    -------
    ::

        scores = Q Kᵀ (· scale if use_scale)                        score_mode="dot"
        scores = c · Σ_d tanh(scale · (Q_i + K_j))_d                score_mode="concat"
        weights = softmax(scores) (masked keys → −∞),  out = dropout(weights) V

    K defaults to V. No projections: give projected inputs (Keras's ``Attention``).

    Parameters
    ----------
    use_scale : bool
        A trainable scalar ``scale`` (initialised 1) multiplies the scores.
    score_mode : "dot" or "concat"
    dropout : float
        Dropout on the attention weights during training.

    Shape
    -----
    query (batch, Tq, dim), value (batch, Tv, dim), key (batch, Tv, dim) -> (batch, Tq, dim);
    the scores (batch, Tq, Tv) with ``return_attention_scores=True``.

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> q, v = np.ones((2, 3, 4), np.float32), np.ones((2, 5, 4), np.float32)
    >>> ds.layers.Attention()([q, v]).shape
    (2, 3, 4)
    """

    _score_modes = ("dot", "concat")

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in self._score_modes:
            raise ValueError(f"{type(self).__name__} '{self.name}': score_mode must be one of "
                             f"{self._score_modes}, got {score_mode!r}")
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        self.dropout = check_rate(dropout, f"{type(self).__name__} '{self.name}': dropout")
        self.seed = seed
        self._gen = None if seed is None else np.random.default_rng(seed)
        self.scale = self.concat_score_weight = None

    def _make_weights(self, dim):
        if self.use_scale:
            self.scale = self.add_weight("scale", (), "ones")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight("concat_score_weight", (), "ones")

    def _scores(self, q, k):
        if self.score_mode == "dot":
            s = F.matmul(q, F.swapaxes(k, -1, -2))
            return s * self.scale if self.scale is not None else s
        x = F.expand_dims(q, -2) + F.expand_dims(k, -3)
        if self.scale is not None:
            x = x * self.scale
        return F.sum(F.tanh(x), axis=-1) * self.concat_score_weight

    def _inputs(self, inputs):
        name = f"{type(self).__name__} '{self.name}'"
        if not isinstance(inputs, (list, tuple)) or len(inputs) not in (2, 3):
            raise ValueError(f"{name} expects a list [query, value] or [query, value, key], "
                             f"got {type(inputs).__name__}")
        q, v = to_tensor_input(inputs[0]), to_tensor_input(inputs[1])
        k = to_tensor_input(inputs[2]) if len(inputs) == 3 else v
        for t, what in ((q, "query"), (v, "value"), (k, "key")):
            if t.ndim != 3:
                raise ValueError(f"{name}: {what} must have shape (batch, time, dim), got "
                                 f"{tuple(t.shape)}")
        if q.shape[-1] != k.shape[-1]:
            raise ValueError(f"{name}: query and key need the same last dimension, got query "
                             f"{tuple(q.shape)} and key {tuple(k.shape)}")
        if k.shape[1] != v.shape[1] or not (q.shape[0] == k.shape[0] == v.shape[0]):
            raise ValueError(f"{name}: key {tuple(k.shape)} and value {tuple(v.shape)} need the "
                             f"same batch and time, and query {tuple(q.shape)} the same batch")
        return q, v, k

    def call(self, inputs, mask=None, training=False, return_attention_scores=False,
             use_causal_mask=False):
        q, v, k = self._inputs(inputs)
        if not self._weights and (self.use_scale or self.score_mode == "concat"):
            self._make_weights(q.shape[-1])
        masks = list(mask) if isinstance(mask, (list, tuple)) else [None, None]
        q_mask = _mask_of(q, masks[0])
        v_mask = _mask_of(v, masks[1] if len(masks) > 1 else None)
        xp = backend.array_module(q.data)
        scores_mask = _combine(self.name, (q.shape[0], q.shape[1], v.shape[1]), None, v_mask,
                               None, use_causal_mask, None, xp)
        out, weights = attend(self._scores(q, k), v, scores_mask,
                              dropout_p=self.dropout if training else 0.0, generator=self._gen)
        if q_mask is not None:
            out = out * xp.asarray(q_mask[..., None], dtype=out.dtype)
        _set_mask(out, q_mask)
        return (out, weights) if return_attention_scores else out

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)) and mask:
            return mask[0]
        return None

    def get_config(self):
        config = super().get_config()
        config.update(use_scale=self.use_scale, score_mode=self.score_mode,
                      dropout=self.dropout, seed=self.seed)
        return config


class AdditiveAttention(Attention):
    """Additive (Bahdanau-style) attention over ``[query, value]`` or ``[query, value, key]``.

    Formula
    -------
    ::

        scores_ij = Σ_d w_d · tanh(Q_i + K_j)_d        (w: the trainable ``scale``, (dim,))
        weights = softmax(scores) (masked keys → −∞),  out = dropout(weights) V

    Bahdanau et al. 2015 with the projections left to the caller (Keras's
    ``AdditiveAttention``); ``use_scale=False`` drops w (a plain sum).

    Shape
    -----
    query (batch, Tq, dim), value (batch, Tv, dim) -> (batch, Tq, dim).
    """

    _score_modes = ("dot",)  # the argument exists only for the config's symmetry

    def __init__(self, use_scale=True, dropout=0.0, seed=None, **kwargs):
        super().__init__(use_scale=use_scale, score_mode="dot", dropout=dropout, seed=seed,
                         **kwargs)

    def _make_weights(self, dim):
        self.scale = self.add_weight("scale", (dim,), "glorot_uniform")

    def _scores(self, q, k):
        x = F.tanh(F.expand_dims(q, -2) + F.expand_dims(k, -3))
        if self.scale is not None:
            x = x * self.scale
        return F.sum(x, axis=-1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config


class MultiHeadAttention(_KerasCall):
    """Multi-head attention (Vaswani et al. 2017) with Keras 3's arguments and weight layout.

    Formula
    -------
    ::

        head_h = softmax(Q W_h^Q (K W_h^K)ᵀ / √key_dim) V W_h^V
        out = Σ_h head_h W_h^O + b^O

    Weights, in ``get_weights()`` order: query kernel (dim_q, heads, key_dim) and bias
    (heads, key_dim); key kernel (dim_k, heads, key_dim) and bias; value kernel
    (dim_v, heads, value_dim) and bias (heads, value_dim); output kernel
    (heads, value_dim, out) and bias (out,). ``weights_from_torch`` / ``weights_to_torch``
    convert from/to ``torch.nn.MultiheadAttention``'s state dict.

    Parameters
    ----------
    num_heads : int
    key_dim : int
        Size of each head for query and key.
    value_dim : int, optional
        Size of each head for value (default key_dim).
    dropout : float
        Dropout on the attention weights during training.
    use_bias : bool
    output_shape : int, optional
        Output features (default: the query's last dimension).
    attention_axes : None
        Only attention over the time axis (-2) is supported.
    kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer
        As ``Dense``.

    Call
    ----
    ``mha(query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
    attention_mask=None, return_attention_scores=False, training=None,
    use_causal_mask=False)``; ``attention_mask`` is (batch, Tq, Tv) with 1/True = attend.
    Masks carried by query/value/key (``_keras_mask``) are used when not given.

    Shape
    -----
    query (batch, Tq, dim_q), value (batch, Tv, dim_v) -> (batch, Tq, out); scores
    (batch, heads, Tq, Tv).

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> mha = ds.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    >>> x = np.ones((3, 5, 8), np.float32)
    >>> mha(x, x).shape
    (3, 5, 8)
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        where = f"MultiHeadAttention '{self.name}'"
        for arg, val in (("num_heads", num_heads), ("key_dim", key_dim),
                         ("value_dim", key_dim if value_dim is None else value_dim)):
            if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val <= 0:
                raise ValueError(f"{where}: {arg} must be a positive integer, got {val!r}")
        if attention_axes not in (None, -2, (1,), [1], (-2,), [-2]):
            raise ValueError(f"{where}: attention_axes {attention_axes!r} is not supported "
                             "(attention runs over the time axis of (batch, time, features))")
        if isinstance(output_shape, (list, tuple)):
            if len(output_shape) != 1:
                raise ValueError(f"{where}: output_shape must be an int (features), got "
                                 f"{output_shape!r}")
            output_shape = output_shape[0]
        self.num_heads = int(num_heads)
        self.key_dim = int(key_dim)
        self.value_dim = int(key_dim if value_dim is None else value_dim)
        self.dropout = check_rate(dropout, f"{where}: dropout")
        self.use_bias = bool(use_bias)
        self.output_shape_ = None if output_shape is None else int(output_shape)
        self.kernel_initializer = init.get(kernel_initializer)
        self.bias_initializer = init.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.seed = seed
        self._gen = None if seed is None else np.random.default_rng(seed)
        self._dims = None

    # ------------------------------------------------------------ weights
    def build(self, query_shape, value_shape=None, key_shape=None):
        if value_shape is not None:
            self._make_weights(query_shape, value_shape, key_shape or value_shape)
        self.built = True

    def _make_weights(self, qs, vs, ks):
        h, dk, dv = self.num_heads, self.key_dim, self.value_dim
        out = self.output_shape_ or qs[-1]
        self._dims = (qs[-1], ks[-1], vs[-1])
        for name, fan, d in (("query", qs[-1], dk), ("key", ks[-1], dk), ("value", vs[-1], dv)):
            kern = self.add_weight(f"{name}/kernel", (fan, h, d), self.kernel_initializer,
                                   regularizer=self.kernel_regularizer)
            bias = self.add_weight(f"{name}/bias", (h, d), self.bias_initializer,
                                   regularizer=self.bias_regularizer) if self.use_bias else None
            setattr(self, f"_{name}_kernel", kern)
            setattr(self, f"_{name}_bias", bias)
        self._output_kernel = self.add_weight("attention_output/kernel", (h, dv, out),
                                              self.kernel_initializer,
                                              regularizer=self.kernel_regularizer)
        self._output_bias = self.add_weight("attention_output/bias", (out,), self.bias_initializer,
                                            regularizer=self.bias_regularizer) \
            if self.use_bias else None

    # ------------------------------------------------------------ call
    def _check(self, query, value, key):
        where = f"MultiHeadAttention '{self.name}'"
        for t, what in ((query, "query"), (value, "value"), (key, "key")):
            if t.ndim != 3:
                raise ValueError(f"{where}: {what} must have shape (batch, time, features), got "
                                 f"{tuple(t.shape)}")
        if key.shape[:2] != value.shape[:2] or query.shape[0] != value.shape[0]:
            raise ValueError(f"{where}: key {tuple(key.shape)} and value {tuple(value.shape)} "
                             f"need the same batch and time, and query {tuple(query.shape)} the "
                             "same batch")
        if self._dims is not None:
            got = (query.shape[-1], key.shape[-1], value.shape[-1])
            if got != self._dims:
                raise ValueError(f"{where} was built for query/key/value features {self._dims}, "
                                 f"got {got}")

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=False,
             use_causal_mask=False):
        query, value = to_tensor_input(query), to_tensor_input(value)
        key = value if key is None else to_tensor_input(key)
        self._check(query, value, key)
        if self._dims is None:
            self._make_weights(query.shape, value.shape, key.shape)
        xp = backend.array_module(query.data)
        q_mask = _mask_of(query, query_mask)
        mask = _combine(f"MultiHeadAttention '{self.name}'",
                        (query.shape[0], query.shape[1], value.shape[1]), q_mask,
                        _mask_of(value, value_mask), _mask_of(key, key_mask) if key is not value
                        else None, use_causal_mask, attention_mask, xp)
        if _FUSE and query is value and key is value and query.dtype == self._query_kernel.dtype:
            # self-attention: one fused node (one QKV GEMM, no head transposes)
            out, scores = self._self_attend(query, mask, q_mask, training)
            return (out, scores) if return_attention_scores else out
        q = split_heads_projection(query, self._query_kernel, self._query_bias)
        k = split_heads_projection(key, self._key_kernel, self._key_bias)
        v = split_heads_projection(value, self._value_kernel, self._value_bias)
        o, scores = attention_with_weights(
            q, k, v, attn_mask=None if mask is None else mask[:, None],
            dropout_p=self.dropout, training=bool(training), scale=1.0 / math.sqrt(self.key_dim),
            generator=self._gen)
        out = merge_heads_projection(o, self._output_kernel, self._output_bias)
        _set_mask(out, q_mask)
        return (out, scores) if return_attention_scores else out

    def _self_attend(self, x, mask, q_mask, training, norm=None):
        """Self-attention of ``x`` (built) as the fused node; ``norm`` = (γ, β, ε) adds the
        post-norm residual LayerNorm(x + attention) to the node (transformer blocks)."""
        out, scores = multi_head_self_attention(
            x, self._query_kernel, self._key_kernel, self._value_kernel, self._output_kernel,
            self._query_bias, self._key_bias, self._value_bias, self._output_bias,
            mask=None if mask is None else mask[:, None], scale=1.0 / math.sqrt(self.key_dim),
            dropout_p=self.dropout, training=bool(training), generator=self._gen, norm=norm)
        _set_mask(out, q_mask)
        return out, scores

    def _self_attention_residual(self, x, attention_mask, training, norm):
        """LayerNorm(x + self-attention(x)) in one node for a post-norm block; masks as call."""
        if self._dims is None:
            self._make_weights(x.shape, x.shape, x.shape)
            self.built = True
        self._check(x, x, x)
        q_mask = _mask_of(x, None)
        mask = _combine(f"MultiHeadAttention '{self.name}'", (x.shape[0], x.shape[1], x.shape[1]),
                        q_mask, q_mask, None, False, attention_mask,
                        backend.array_module(x.data))
        return self._self_attend(x, mask, q_mask, training, norm)[0]

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        return tuple(query_shape[:-1]) + (self.output_shape_ or query_shape[-1],)

    def compute_mask(self, query, value=None, *args, **kwargs):
        return getattr(query, "_keras_mask", None)

    # ------------------------------------------------------------ PyTorch conversion
    @staticmethod
    def weights_from_torch(state_dict, num_heads):
        """``get_weights()`` arrays from a ``torch.nn.MultiheadAttention`` state dict.

        PyTorch computes y = x Wᵀ + b with W (out, in) and splits features head-major, so
        kernel = Wᵀ reshaped to (in, heads, head_dim). Accepts tensors or arrays;
        ``in_proj_weight`` (shared embed_dim) or ``q/k/v_proj_weight`` (kdim/vdim).
        """
        sd = {k: np.asarray(v.detach().numpy() if hasattr(v, "detach") else v, np.float32)
              for k, v in state_dict.items()}
        if "in_proj_weight" in sd:
            wq, wk, wv = np.split(sd["in_proj_weight"], 3)
        else:
            wq, wk, wv = sd["q_proj_weight"], sd["k_proj_weight"], sd["v_proj_weight"]
        bias = sd.get("in_proj_bias")
        bq, bk, bv = np.split(bias, 3) if bias is not None else (None, None, None)
        wo, bo = sd["out_proj.weight"], sd.get("out_proj.bias")
        h = int(num_heads)
        out = []
        for w, b in ((wq, bq), (wk, bk), (wv, bv)):
            out.append(w.T.reshape(w.shape[1], h, w.shape[0] // h).copy())
            if b is not None:
                out.append(b.reshape(h, -1).copy())
        out.append(wo.T.reshape(h, wo.shape[1] // h, wo.shape[0]).copy())
        if bo is not None:
            out.append(bo.copy())
        return out

    @staticmethod
    def weights_to_torch(weights, same_dims=True):
        """The inverse of ``weights_from_torch``: a dict of NumPy arrays keyed as PyTorch's."""
        ws = list(weights)
        with_bias = len(ws) == 8
        if with_bias:
            (wq, bq, wk, bk, wv, bv, wo, bo) = ws
        else:
            (wq, wk, wv, wo), bq = ws, None
        mats = [w.reshape(w.shape[0], -1).T for w in (wq, wk, wv)]
        sd = {}
        if same_dims:
            sd["in_proj_weight"] = np.concatenate(mats)
        else:
            sd["q_proj_weight"], sd["k_proj_weight"], sd["v_proj_weight"] = mats
        if with_bias:
            sd["in_proj_bias"] = np.concatenate([b.reshape(-1) for b in (bq, bk, bv)])
        sd["out_proj.weight"] = wo.reshape(-1, wo.shape[-1]).T.copy()
        if with_bias:
            sd["out_proj.bias"] = bo.copy()
        return sd

    def get_config(self):
        config = super().get_config()
        config.update(num_heads=self.num_heads, key_dim=self.key_dim, value_dim=self.value_dim,
                      dropout=self.dropout, use_bias=self.use_bias,
                      output_shape=self.output_shape_,
                      kernel_initializer=init.serialize(self.kernel_initializer),
                      bias_initializer=init.serialize(self.bias_initializer),
                      kernel_regularizer=regularizers.serialize(self.kernel_regularizer),
                      bias_regularizer=regularizers.serialize(self.bias_regularizer),
                      seed=self.seed)
        return config
