"""Loss functions J(y, ŷ): how far the predictions are from the targets.

Every loss is called ``(y_true, y_pred)`` as in Keras and is ONE graph node: the per-sample
loss, the sample weights and the reduction are fused, so the gradient reaching the logits of
a softmax classifier is exactly (p − y)/m, computed in one pass.

Per-sample losses follow Keras: the mean over the last axis for the regression losses and
binary cross-entropy, the sum over the class axis for categorical cross-entropy. By default
the functions return these per-sample values (``reduction="none"``, Keras's functions);
``reduction="sum_over_batch_size"`` gives their weighted mean Σ wᵢ·Lᵢ / m over the m
per-sample losses (masked ones not counted) and ``"sum"`` the weighted sum. The classes in
``deepsheet.losses`` reduce with ``"sum_over_batch_size"`` by default.

Probabilities are clipped to [EPSILON, 1 − EPSILON] (Keras's 1e-7) before any log, so a
probability loss is never log(0). With ``from_logits=True`` the stable logits forms are used;
they are also used automatically when ``y_pred`` is the output of ``sigmoid`` (binary) or
``softmax`` (categorical, same axis): those record their input (see
``functional.activations.logits_of``) and the loss then runs on it, as Keras does, so the
gradient is the exact logits gradient even when the probabilities round to 0 or 1.
"""
from __future__ import annotations

from .. import backend
from ..autograd import Function
from ._loss_inputs import (EPSILON, REDUCTIONS, _array_like, _class_axis, _col,  # noqa: F401
                           _fit, _labels, _pred, _target, _weights, check_delta,
                           check_label_smoothing, check_reduction)
from ._special import _log1p_unit
from .activations import logits_of

__all__ = ["mean_squared_error", "mse", "mean_absolute_error", "mae", "huber",
           "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
           "reduce_loss"]


# ============================================================================ fused nodes
class _Reduction(Function):
    """Sample weights and the reduction of per-sample losses, shared by every loss node.

    Parameters from ``apply``: reduction, weight (array or None), count (the number of
    per-sample losses the mean divides by).
    """

    def _reduce(self, per):
        if self.weight is not None:
            per = per * self.weight
        if self.reduction == "none":
            return per
        total = per.sum()
        if self.reduction == "sum":
            return total
        return total / self.count if self.count else total * 0.0

    def _mean_grad(self, g):
        """dJ/dLᵢ before the weights: g/count for the mean, g otherwise."""
        if self.reduction == "sum_over_batch_size":
            return g * (1.0 / self.count) if self.count else g * 0.0
        return g


class _LossNode(_Reduction):
    """Per-sample loss + sample weights + reduction in one graph node.

    Subclasses write ``per_sample(y_true, y_pred)`` and ``per_sample_grad(g)`` (g: dJ/dLᵢ,
    broadcastable to the per-sample shape) on arrays whose reduced axis is last. Parameters
    from ``apply``: reduction, weight (array or None), count, axis (the reduced axis of
    y_pred), target_axis (whether y_true has that axis too).
    """

    target_axis = True

    def forward(self, y_true, y_pred):
        self.shapes = (y_true.shape, y_pred.shape)
        xp = backend.array_module(y_pred)
        last = y_pred.ndim - 1
        self.moved = y_pred.ndim > 0 and self.axis != last
        if self.moved:
            y_pred = xp.moveaxis(y_pred, self.axis, -1)
            if self.target_axis:
                y_true = xp.moveaxis(y_true, self.axis, -1)
        elif y_pred.ndim == 0:  # a single prediction is one sample with one output
            y_pred, y_true = y_pred.reshape(1), y_true.reshape(1)
        per = self.per_sample(y_true, y_pred)
        self.per_shape = per.shape
        return self._reduce(per)

    def backward(self, g):
        g = self._mean_grad(g)
        xp = backend.array_module(g)
        if self.weight is not None:
            g = _fit(xp, g * self.weight, self.per_shape)
        gt, gp = self.per_sample_grad(g)
        st, sp = self.shapes
        if self.moved:
            gp = xp.moveaxis(gp, -1, self.axis) if gp is not None else None
            if self.target_axis and gt is not None:
                gt = xp.moveaxis(gt, -1, self.axis)
        if gp is not None and gp.shape != sp:
            gp = gp.reshape(sp)
        if gt is not None and gt.shape != st:
            gt = gt.reshape(st)
        return gt, gp

    def per_sample(self, y_true, y_pred):  # pragma: no cover - abstract
        raise NotImplementedError

    def per_sample_grad(self, g):  # pragma: no cover - abstract
        raise NotImplementedError


class SquaredError(_LossNode):
    def per_sample(self, t, p):
        xp = backend.array_module(p)
        d = p - t
        self.d = d
        # einsum sums the squares without a temporary array (4x faster than (d*d).mean here)
        return xp.einsum("...i,...i->...", d, d) * ((0.5 if self.half else 1.0) / d.shape[-1])

    def per_sample_grad(self, g):
        nt, np_ = self.needs_input_grad
        d = self.d
        gp = d * (_col(g) * ((1.0 if self.half else 2.0) / d.shape[-1]))
        return (-gp if nt else None), (gp if np_ else None)


class AbsoluteError(_LossNode):
    def per_sample(self, t, p):
        d = p - t
        self.d = d
        return backend.array_module(d).abs(d).mean(axis=-1)

    def per_sample_grad(self, g):
        nt, np_ = self.needs_input_grad
        d = self.d
        gp = backend.array_module(d).sign(d) * (_col(g) * (1.0 / d.shape[-1]))
        return (-gp if nt else None), (gp if np_ else None)


class HuberError(_LossNode):
    def per_sample(self, t, p):
        xp = backend.array_module(p)
        d = p - t
        self.d = d
        a = xp.abs(d)
        delta = self.delta
        # with m = min(|d|, delta): m^2/2 + delta (|d| - m) is d^2/2 inside, delta (|d| - delta/2)
        # outside, without NumPy's slow where
        m = xp.clip(a, 0.0, delta)
        a -= m
        a *= delta
        m *= m
        m *= 0.5
        m += a
        return m.mean(axis=-1)

    def per_sample_grad(self, g):
        nt, np_ = self.needs_input_grad
        d = self.d
        # dL/dd = d inside the quadratic zone, delta * sign(d) outside: clip(d, -delta, delta)
        gp = backend.array_module(d).clip(d, -self.delta, self.delta)
        gp *= _col(g) * (1.0 / d.shape[-1])
        return (-gp if nt else None), (gp if np_ else None)


class BinaryCE(_LossNode):
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
        xp = backend.array_module(self.z)
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


class CategoricalCE(_LossNode):
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
    """Softmax + categorical cross-entropy fused: dL/dz = p Σy − y (= p − y for one-hot y)."""

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
    """Softmax + cross-entropy on integer labels fused: dL/dz = p − onehot(y), no one-hot built."""

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


class _Reduce(_Reduction):
    """Weighted reduction of per-sample losses computed elsewhere (custom loss functions)."""

    def forward(self, values):
        self.shape = values.shape
        return self._reduce(values)

    def backward(self, g):
        g = self._mean_grad(g)
        if self.weight is not None:
            g = g * self.weight
        xp = backend.array_module(g)
        return _fit(xp, xp.asarray(g), self.shape, materialize=True)


# ============================================================================ public functions
def _apply(name, cls, y_true, y_pred, sample_weight, reduction, axis=-1, mask=None, **params):
    per_shape = tuple(y_pred.shape[:axis]) + tuple(y_pred.shape[axis + 1:]) if y_pred.ndim else ()
    weight, count = _weights(name, sample_weight, per_shape, y_pred, mask)
    return cls.apply(y_true, y_pred, reduction=reduction, weight=weight, count=count,
                     axis=axis, **params)


def _regression(name, cls, y_true, y_pred, sample_weight, reduction, **params):
    reduction = check_reduction(name, reduction)
    y_pred = _pred(y_pred)
    y_true = _target(name, y_true, y_pred)
    return _apply(name, cls, y_true, y_pred, sample_weight, reduction,
                  axis=max(y_pred.ndim - 1, 0), **params)


def mean_squared_error(y_true, y_pred, *, half=False, sample_weight=None, reduction="none"):
    """Mean squared error (L2 loss), per sample the mean over the last axis.

    Formula
    -------
    L = (1/d) Σ_j (ŷ_j − y_j)²                       dL/dŷ = (2/d)(ŷ − y)
    half=True, the cheat sheet's J = 1/(2m) Σ (ŷ − y)² (with reduction="sum_over_batch_size"):
    L = (1/(2d)) Σ_j (ŷ_j − y_j)²                    dL/dŷ = (1/d)(ŷ − y)

    Parameters
    ----------
    y_true, y_pred : array_like or Tensor, same shape (..., d)
        A trailing axis of 1 on either side is matched as in Keras.
    half : bool
        Scale by 1/2 (the "1/(2m)" form whose gradient is (ŷ − y)/m).
    sample_weight : array_like, optional
        Per-sample weights (shape of the per-sample losses, or (N,), or a scalar).
    reduction : {"none", "sum_over_batch_size", "sum"}
        "none" (default, as Keras's functions): the per-sample losses;
        "sum_over_batch_size": Σ wᵢ·Lᵢ / m; "sum": Σ wᵢ·Lᵢ.

    Shape: y (..., d) -> (...) for reduction "none", () otherwise.
    Matches ``keras.losses.mean_squared_error`` and ``torch.nn.functional.mse_loss``.

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.functional.mse([[0.0, 1.0]], [[1.0, 1.0]]).numpy()
    array([0.5], dtype=float32)
    """
    return _regression("mean_squared_error", SquaredError, y_true, y_pred, sample_weight,
                       reduction, half=bool(half))


def mean_absolute_error(y_true, y_pred, *, sample_weight=None, reduction="none"):
    """Mean absolute error (L1 loss), per sample the mean over the last axis.

    Formula
    -------
    L = (1/d) Σ_j |ŷ_j − y_j|          dL/dŷ = sign(ŷ − y) / d   (0 where ŷ = y)

    Parameters as ``mean_squared_error``. Matches ``keras.losses.mean_absolute_error`` and
    ``torch.nn.functional.l1_loss``.

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.functional.mae([[0.0, 1.0]], [[2.0, 1.0]]).numpy()
    array([1.], dtype=float32)
    """
    return _regression("mean_absolute_error", AbsoluteError, y_true, y_pred, sample_weight,
                       reduction)


def huber(y_true, y_pred, delta=1.0, *, sample_weight=None, reduction="none"):
    """Huber loss: quadratic for small errors, linear beyond ``delta`` (robust to outliers).

    Formula
    -------
    e = ŷ − y;   ℓ(e) = e²/2 if |e| <= delta, else delta (|e| − delta/2)
    L = (1/d) Σ_j ℓ(e_j)               dL/dŷ = clip(e, −delta, delta) / d

    Parameters as ``mean_squared_error``, plus ``delta`` > 0.
    Matches ``keras.losses.huber`` and ``torch.nn.functional.huber_loss``.

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.functional.huber([[0.0, 0.0]], [[0.5, 3.0]]).numpy()
    array([1.3125], dtype=float32)
    """
    return _regression("huber", HuberError, y_true, y_pred, sample_weight, reduction,
                       delta=check_delta("huber", delta))


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


mse = mean_squared_error
mae = mean_absolute_error


def reduce_loss(values, sample_weight=None, reduction="sum_over_batch_size", mask=None):
    """Weight and reduce per-sample losses computed by any function (one graph node).

    Formula
    -------
    "sum_over_batch_size": Σ wᵢ·Lᵢ / m  (m = number of losses, masked ones excluded)
    "sum": Σ wᵢ·Lᵢ;   "none": wᵢ·Lᵢ

    Parameters
    ----------
    values : Tensor
        Per-sample losses.
    sample_weight : array_like, optional
    reduction : {"sum_over_batch_size", "sum", "none"}
    mask : array_like of bool, optional
        False entries are dropped from the sum and from m.

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.functional.reduce_loss(ds.tensor([1.0, 3.0]), sample_weight=[1.0, 0.0]).item()
    0.5
    """
    reduction = check_reduction("reduce_loss", reduction)
    values = _pred(values)
    if mask is not None:
        mask = _array_like(mask, values.data).astype(bool)
    weight, count = _weights("reduce_loss", sample_weight, values.shape, values, mask)
    return _Reduce.apply(values, reduction=reduction, weight=weight, count=count)
