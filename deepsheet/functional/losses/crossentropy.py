"""Cross-entropy losses: binary, categorical and sparse categorical; each node above its function.

Each has a node on probabilities (clipped to [EPSILON, 1 − EPSILON], never log 0) and a
fused node on logits, used with ``from_logits=True`` or when y_pred is the output of
``sigmoid``/``softmax`` (which record their logits, see ``functional.activations.logits_of``).
"""
from __future__ import annotations

from ... import backend
from .._special import _log1p_unit
from ..activations import logits_of
from ._base import _apply, _LossNode
from ._inputs import (EPSILON, _class_axis, _col, _labels, _pred, _target, check_label_smoothing,
                      check_reduction)

__all__ = ["binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy"]


# ---------------------------------------------------------------- binary

class BinaryCE(_LossNode):
    """Binary cross-entropy node on probabilities p (clipped to [ε, 1 − ε]).

    Lᵢ = −(1/d) Σ_j [y_j log p_j + (1 − y_j) log(1 − p_j)]
    Gradient: dLᵢ/dp = (p − y) / (p(1 − p) d), 0 where the clip was active;
              dLᵢ/dy = −log(p/(1 − p)) (1 − ε_smooth) / d.
    """

    def per_sample(self, t, p):
        xp = backend.array_module(p)
        if self.label_smoothing:
            t = t * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        pc = xp.clip(p, EPSILON, 1.0 - EPSILON)
        log1mp = _log1p_unit(-pc, xp)
        lr = xp.log(pc) - log1mp  # log(p / (1 - p))
        self.p, self.pc, self.t = p, pc, t
        self.lr = lr if self.needs_input_grad[0] else None
        # -(t log p + (1 - t) log(1 - p)) = -(log(1 - p) + t log(p / (1 - p)))
        return 0.0 - (log1mp + t * lr).mean(axis=-1)  # 0 - x: no -0.0 for a perfect fit

    def per_sample_grad(self, g):
        nt, np_ = self.needs_input_grad
        pc, t = self.pc, self.t
        scale = _col(g) * (1.0 / pc.shape[-1])
        gp = gt = None
        if np_:
            # d/dp = (p - t) / (p (1 - p)), zero where the clip was active
            gp = (pc - t) / (pc * (1.0 - pc))
            gp *= scale
            gp *= (pc == self.p)
        if nt:
            gt = self.lr * (scale * -(1.0 - self.label_smoothing))
        return gt, gp


class BinaryCEWithLogits(_LossNode):
    """Binary cross-entropy node on logits z, stable for any z.

    Lᵢ = (1/d) Σ_j [max(z_j, 0) − z_j y_j + log(1 + exp(−|z_j|))]
    Gradient: dLᵢ/dz = (σ(z) − y)/d;   dLᵢ/dy = −z (1 − ε_smooth) / d.
    """

    def per_sample(self, t, z):
        xp = backend.array_module(z)
        if self.label_smoothing:
            t = t * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        e = xp.asarray(xp.abs(z))
        xp.negative(e, out=e)
        xp.exp(e, out=e)  # in (0, 1]: never overflows
        self.z, self.t, self.e = z, t, e
        # -(t log s(z) + (1 - t) log(1 - s(z))) = max(z, 0) - z t + log(1 + exp(-|z|))
        per = _log1p_unit(e, xp)
        per += xp.maximum(z, 0)
        per -= z * t
        return per.mean(axis=-1)

    def per_sample_grad(self, g):
        nt, np_ = self.needs_input_grad
        z, e = self.z, self.e
        scale = _col(g) * (1.0 / z.shape[-1])
        gz = gt = None
        if np_:
            s = e * (z < 0)
            s += z >= 0
            s /= 1.0 + e  # sigmoid(z) in the sign-split form
            s -= self.t
            gz = s * scale
        if nt:
            gt = z * (scale * -(1.0 - self.label_smoothing))
        return gt, gz


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1, *,
                        sample_weight=None, reduction="none"):
    """Binary cross-entropy (log loss), per sample the mean over ``axis``.

    Formula
    -------
    probabilities p (clipped to [1e-7, 1 − 1e-7], never log 0):
        L = −(1/d) Σ_j [y_j log p_j + (1 − y_j) log(1 − p_j)]
        dL/dp = (p − y) / (p (1 − p) d)
    logits z (from_logits=True, or y_pred = sigmoid(z)), stable for any z:
        L = (1/d) Σ_j [max(z_j, 0) − z_j y_j + log(1 + exp(−|z_j|))]
        dL/dz = (σ(z) − y) / d
    label smoothing ε: y ← y (1 − ε) + ε/2.

    Parameters
    ----------
    y_true : array_like
        Targets in [0, 1] (0/1 labels or soft targets), the shape of y_pred.
    y_pred : array_like or Tensor
        Probabilities, or logits with ``from_logits=True``. The output of ``sigmoid`` is
        recognised and its logits used (stable and fused, as in Keras).
    label_smoothing : float in [0, 1]
    axis : int
        The axis averaged per sample (Keras's default, the last).
    sample_weight, reduction : see ``mean_squared_error``.

    Matches ``keras.losses.binary_crossentropy``; ``torch.nn.functional.binary_cross_entropy``
    (after the clip) and ``binary_cross_entropy_with_logits``.

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.functional.binary_crossentropy([[1.0], [0.0]], [[0.0], [-1e8]], from_logits=True).numpy()
    array([0.6931472, 0.       ], dtype=float32)
    """
    name = "binary_crossentropy"
    reduction = check_reduction(name, reduction)
    ls = check_label_smoothing(name, label_smoothing)
    y_pred = _pred(y_pred)
    axis = _class_axis(name, y_pred, axis) if y_pred.ndim else 0
    if not from_logits:
        z = logits_of(y_pred, "sigmoid")
        if z is not None:
            y_pred, from_logits = z, True
    y_true = _target(name, y_true, y_pred)
    cls = BinaryCEWithLogits if from_logits else BinaryCE
    return _apply(name, cls, y_true, y_pred, sample_weight, reduction, axis=axis,
                  label_smoothing=ls)


# ---------------------------------------------------------------- categorical

class CategoricalCE(_LossNode):
    """Categorical cross-entropy node on probabilities: q = p / Σ_c p_c, clipped to [ε, 1 − ε].

    Lᵢ = −Σ_c y_c log q_c
    Gradient: dLᵢ/dq = −y/q (0 where clipped), then through the rescaling
              dLᵢ/dp_j = (dLᵢ/dq_j − Σ_c dLᵢ/dq_c q_c) / Σ_c p_c;   dLᵢ/dy = −log q (1 − ε_smooth).
    """

    def per_sample(self, t, p):
        xp = backend.array_module(p)
        if self.label_smoothing:
            t = t * (1.0 - self.label_smoothing) + self.label_smoothing / t.shape[-1]
        s = p.sum(axis=-1, keepdims=True)
        q = p / s  # Keras rescales each row to sum to 1 before the log
        qc = xp.clip(q, EPSILON, 1.0 - EPSILON)
        logq = xp.log(qc)
        self.t, self.s, self.q, self.qc = t, s, q, qc
        self.logq = logq if self.needs_input_grad[0] else None
        return 0.0 - (t * logq).sum(axis=-1)

    def per_sample_grad(self, g):
        nt, np_ = self.needs_input_grad
        gc = _col(g)
        gp = gt = None
        if np_:
            q = self.q
            dq = (self.t / self.qc) * (-gc)
            dq *= (self.qc == q)
            # q = p / sum(p): dL/dp_j = (dL/dq_j - sum_c dL/dq_c q_c) / sum(p)
            dq -= (dq * q).sum(axis=-1, keepdims=True)
            dq /= self.s
            gp = dq
        if nt:
            gt = self.logq * (gc * -(1.0 - self.label_smoothing))
        return gt, gp


class SoftmaxCE(_LossNode):
    """Softmax + categorical cross-entropy node on logits z (the softmax never stored apart).

    Lᵢ = Σ_c y_c (logsumexp(z) − z_c)
    Gradient: dLᵢ/dz = softmax(z) Σ_c y_c − y  (= p − y for one-hot rows);
              dLᵢ/dy = −log softmax(z) (1 − ε_smooth).
    """

    def per_sample(self, t, z):
        xp = backend.array_module(z)
        if self.label_smoothing:
            t = t * (1.0 - self.label_smoothing) + self.label_smoothing / t.shape[-1]
        logp = z - z.max(axis=-1, keepdims=True)
        e = xp.exp(logp)
        s = e.sum(axis=-1, keepdims=True)
        logp -= xp.log(s)  # log-softmax, finite at any magnitude
        self.t, self.e, self.s = t, e, s
        self.logp = logp if self.needs_input_grad[0] else None
        return 0.0 - (t * logp).sum(axis=-1)

    def per_sample_grad(self, g):
        nt, np_ = self.needs_input_grad
        gc = _col(g)
        gz = gt = None
        if np_:
            t = self.t
            gz = self.e * (t.sum(axis=-1, keepdims=True) / self.s)
            gz -= t
            gz *= gc
        if nt:
            gt = self.logp * (gc * -(1.0 - self.label_smoothing))
        return gt, gz


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1, *,
                             sample_weight=None, reduction="none"):
    """Categorical cross-entropy on one-hot (or soft) targets, summed over the class axis.

    Formula
    -------
    probabilities p (each row rescaled to sum 1, then clipped to [1e-7, 1 − 1e-7]):
        L = −Σ_c y_c log p_c
    logits z (from_logits=True, or y_pred = softmax(z) on the same axis), one fused node:
        L = −Σ_c y_c log softmax(z)_c = Σ_c y_c (logsumexp(z) − z_c)
        dL/dz = softmax(z) Σ_c y_c − y    (= p − y for one-hot rows; the mean's 1/m on top)
    label smoothing ε: y ← y (1 − ε) + ε / C.

    Parameters
    ----------
    y_true : array_like
        One-hot or probability targets, the shape of y_pred.
    y_pred : array_like or Tensor
        Probabilities, or logits with ``from_logits=True``.
    label_smoothing : float in [0, 1]
    axis : int
        The class axis (default last).
    sample_weight, reduction : see ``mean_squared_error``.

    Matches ``keras.losses.categorical_crossentropy`` and, on logits,
    ``torch.nn.functional.cross_entropy`` with probability targets.

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.functional.categorical_crossentropy([[0.0, 1.0]], [[0.0, 0.0]], from_logits=True).numpy()
    array([0.6931472], dtype=float32)
    """
    name = "categorical_crossentropy"
    reduction = check_reduction(name, reduction)
    ls = check_label_smoothing(name, label_smoothing)
    y_pred = _pred(y_pred)
    axis = _class_axis(name, y_pred, axis)
    if not from_logits:
        z = logits_of(y_pred, "softmax", axis)
        if z is not None:
            y_pred, from_logits = z, True
    y_true = _target(name, y_true, y_pred)
    cls = SoftmaxCE if from_logits else CategoricalCE
    return _apply(name, cls, y_true, y_pred, sample_weight, reduction, axis=axis,
                  label_smoothing=ls)


# ---------------------------------------------------------------- sparse categorical

class _SparseNode(_LossNode):
    """Integer-label losses work on (rows, classes) views: one gather, one scatter, no one-hot."""

    target_axis = False

    def _rows(self, labels, pred):
        xp = backend.array_module(pred)
        self.batch_shape, self.pshape = labels.shape, pred.shape
        p2 = pred.reshape(-1, pred.shape[-1])
        self.rows, self.cols = xp.arange(p2.shape[0]), labels.reshape(-1)
        return xp, p2

    def _flat(self, xp, g):
        """Upstream gradient per row (a scalar stays a scalar)."""
        return xp.broadcast_to(g, self.batch_shape).reshape(-1) if g.ndim else g


class SparseCE(_SparseNode):
    """Cross-entropy node on integer labels y and probabilities: q = p_y / Σ_c p_c, clipped.

    Lᵢ = −log q
    Gradient: dLᵢ/dp_j = 1/Σ_c p_c − [j = y]/p_y  (0 where the clip was active).
    """

    def per_sample(self, labels, p):
        xp, p2 = self._rows(labels, p)
        s = p2.sum(axis=1)
        q = p2[self.rows, self.cols] / s  # Keras rescales each row to sum to 1
        qc = xp.clip(q, EPSILON, 1.0 - EPSILON)
        self.s, self.q, self.qc = s, q, qc
        return (0.0 - xp.log(qc)).reshape(self.batch_shape)

    def per_sample_grad(self, g):
        if not self.needs_input_grad[1]:
            return None, None
        xp = backend.array_module(self.s)
        # q = p_y / sum(p), L = -log q: dL/dp_j = 1/sum(p) - [j = y] / p_y (zero where clipped)
        a = (self._flat(xp, g) * (self.qc == self.q)) / self.s
        gp = xp.empty((self.rows.shape[0], self.pshape[-1]), dtype=self.s.dtype)
        gp[...] = a[:, None]
        gp[self.rows, self.cols] -= a / self.qc
        return None, gp.reshape(self.pshape)


class SparseSoftmaxCE(_SparseNode):
    """Softmax + cross-entropy node on integer labels y and logits z (no one-hot is built).

    Lᵢ = logsumexp(z) − z_y
    Gradient: dLᵢ/dz = softmax(z) − onehot(y), one gather forward and one scatter backward.
    """

    def per_sample(self, labels, z):
        xp, z2 = self._rows(labels, z)
        e = z2 - z2.max(axis=1, keepdims=True)
        picked = e[self.rows, self.cols]
        xp.exp(e, out=e)
        s = e.sum(axis=1)
        self.e, self.s = e, s
        # -log softmax(z)_y = log sum exp(z - max) - (z_y - max)
        return (xp.log(s) - picked).reshape(self.batch_shape)

    def per_sample_grad(self, g):
        if not self.needs_input_grad[1]:
            return None, None
        xp = backend.array_module(self.e)
        g = self._flat(xp, g)
        gz = self.e * (g / self.s)[:, None]
        gz[self.rows, self.cols] -= g
        return None, gz.reshape(self.pshape)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1,
                                    *, sample_weight=None, reduction="none"):
    """Categorical cross-entropy on integer class labels (no one-hot is ever built).

    Formula
    -------
    probabilities p (each row rescaled to sum 1, then clipped):   L = −log p_y
    logits z (from_logits=True, or y_pred = softmax(z)), one fused node:
        L = logsumexp(z) − z_y                 dL/dz = softmax(z) − onehot(y)
    With ``ignore_class`` = k, entries labelled k get no loss and no gradient and are not
    counted in the mean (Keras's masking of a padding label; PyTorch's ``ignore_index``).

    Parameters
    ----------
    y_true : array_like of int
        Labels in [0, C), the shape of y_pred without the class axis (a trailing 1 is
        accepted). Integer arrays are used as given; whole-number floats are accepted.
    y_pred : array_like or Tensor
        Probabilities, or logits with ``from_logits=True``; the softmax's output is recognised.
    ignore_class : int, optional
    axis : int
        The class axis of y_pred (default last).
    sample_weight, reduction : see ``mean_squared_error``.

    Raises
    ------
    ValueError
        A label outside [0, C) (naming the range and the value), or mismatched shapes.

    Matches ``keras.losses.sparse_categorical_crossentropy`` and
    ``torch.nn.functional.cross_entropy`` on class indices.

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.functional.sparse_categorical_crossentropy([1], [[0.0, 0.0]], from_logits=True).numpy()
    array([0.6931472], dtype=float32)
    """
    name = "sparse_categorical_crossentropy"
    reduction = check_reduction(name, reduction)
    y_pred = _pred(y_pred)
    axis = _class_axis(name, y_pred, axis)
    labels, mask = _labels(name, y_true, y_pred, axis, ignore_class)
    if not from_logits:
        z = logits_of(y_pred, "softmax", axis)
        if z is not None:
            y_pred, from_logits = z, True
    cls = SparseSoftmaxCE if from_logits else SparseCE
    return _apply(name, cls, labels, y_pred, sample_weight, reduction, axis=axis, mask=mask)
