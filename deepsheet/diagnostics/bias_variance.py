"""Bias and variance: the bootstrap decomposition, learning curves and a verdict.

Over training sets D drawn from the same distribution, a model h_D predicting a target
y = f(x) + ε (noise variance σ²) has the expected squared error

    E[(h_D(x) − y)²] = (E_D[h_D(x)] − f(x))² + E_D[(h_D(x) − E_D[h_D(x)])²] + σ²
                     =        bias²          +          variance          + noise.

High bias (the model is too simple) is under-fitting: the training error itself is high
and close to the validation error. High variance (too flexible for the data) is
over-fitting: a low training error and a much higher validation error, a gap that more
data closes. ``bias_variance_decomposition`` estimates the terms by retraining on
bootstrap resamples; ``learning_curve`` and ``bias_variance_verdict`` diagnose a model
from its training and validation errors as the training set grows.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import backend
from ..tensor import Tensor

__all__ = ["BiasVarianceResult", "bias_variance_decomposition", "LearningCurve",
           "learning_curve", "Verdict", "bias_variance_verdict"]


def _host(x):
    if isinstance(x, Tensor):
        return backend.to_numpy(x.data)
    return backend.to_numpy(x) if hasattr(x, "shape") else np.asarray(x)


def _generator(seed):
    return backend.rng() if seed is None else np.random.default_rng(seed)


def _rows(x, idx):
    if isinstance(x, Tensor):
        return Tensor(x.data[idx])
    return x[idx]


def _is_classification(y, task):
    if task not in ("auto", "regression", "classification"):
        raise ValueError(f'task must be "auto", "regression" or "classification", got {task!r}')
    if task != "auto":
        return task == "classification"
    return _host(y).dtype.kind in "biuUSO"


def _predict(model, X, classification, predict_kwargs):
    """Predictions as a 1-D host array: labels (argmax of 2-D scores) or regression values."""
    out = _host(model.predict(X, **predict_kwargs))
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    if classification and out.ndim == 2:
        out = out.argmax(axis=1)
    if out.ndim != 1:
        raise ValueError(f"make_model().predict must return one value per sample, got shape "
                         f"{out.shape}")
    return out


@dataclass
class BiasVarianceResult:
    """Terms of a bias-variance decomposition, averaged over the test points.

    Regression (squared error): ``expected_loss`` ≈ ``bias2`` + ``variance`` + ``noise``
    (exact up to a cross term that averages out). When the noise cannot be separated,
    ``noise`` is None and ``bias2`` holds bias² + noise (see ``note``).
    Classification (0-1 loss, Domingos 2000): ``bias2`` is the fraction of points whose
    main (most frequent) prediction is wrong, ``variance`` the mean disagreement with the
    main prediction; for two classes ``expected_loss`` = noise-free loss = bias +
    ``variance_unbiased`` − ``variance_biased`` (variance hurts where the main prediction
    is right and helps where it is wrong).
    """

    task: str
    expected_loss: float
    bias2: float
    variance: float
    noise: float | None
    n_rounds: int
    note: str = ""
    variance_unbiased: float | None = None
    variance_biased: float | None = None
    main_prediction: np.ndarray = field(default=None, repr=False)

    def __str__(self):
        noise = "not separated" if self.noise is None else f"{self.noise:.4g}"
        head = (f"{self.task}: loss {self.expected_loss:.4g} = bias² {self.bias2:.4g} + "
                f"variance {self.variance:.4g} + noise {noise} ({self.n_rounds} bootstrap rounds)")
        return head + (f"\n{self.note}" if self.note else "")


def bias_variance_decomposition(make_model, X, y, X_test, y_test, n_rounds=50, f_true=None, *,
                                task="auto", seed=None, fit_kwargs=None, predict_kwargs=None):
    """Estimate bias², variance and noise of a learning algorithm by bootstrap retraining.

    Formula
    -------
    For rounds r = 1..R: draw a bootstrap sample D_r (n rows of (X, y) with replacement),
    fit a fresh ``make_model()`` on it, predict p_r(x) on X_test. With the main prediction
    p̄(x) = (1/R) Σ_r p_r(x), averaged over the test points:

    - variance = mean_x (1/R) Σ_r (p_r(x) − p̄(x))²
    - bias² = mean_x (p̄(x) − f(x))², noise = mean_x (y(x) − f(x))², where f(x) is
      ``f_true`` (the noiseless target) or, with repeated targets y_test of shape
      (n_test, k), their mean (then noise is the within-point variance, ddof = 1, and
      bias² is corrected by noise / k for the noise left in that mean)
    - without either, f is unknown: bias² holds bias² + noise, noise is None.

    Classification, 0-1 loss (Domingos 2000): main prediction = the most frequent label;
    bias(x) = [p̄(x) ≠ y*(x)] with y* the optimal label (``f_true``, else y_test);
    variance(x) = P_r(p_r(x) ≠ p̄(x)); noise(x) = [y(x) ≠ y*(x)].

    Parameters
    ----------
    make_model : callable returning an object with ``fit(X, y)`` and ``predict(X)``
    X, y : training data (arrays or Tensors); rows are resampled
    X_test, y_test : evaluation data; y_test of shape (n_test,) or (n_test, k) repeats
    n_rounds : int
    f_true : callable f(X_test) or array of noiseless targets at X_test, optional
    task : "auto" (integer/str targets are classification), "regression", "classification"
    seed : int, optional (None draws from the library RNG)
    fit_kwargs, predict_kwargs : dict, optional, passed to fit / predict (e.g. epochs)

    Returns
    -------
    BiasVarianceResult

    Examples
    --------
    >>> import numpy as np
    >>> class Mean:  # predicts the training mean everywhere: all bias, tiny variance
    ...     def fit(self, X, y): self.m = y.mean(); return self
    ...     def predict(self, X): return np.full(len(X), self.m)
    >>> X = np.linspace(0, 1, 50)[:, None]; y = 3 * X[:, 0]
    >>> r = bias_variance_decomposition(Mean, X, y, X, y, n_rounds=20, f_true=y, seed=0)
    >>> bool(r.bias2 > 0.6 and r.variance < 0.05)  # bias² ≈ Var(3x) = 0.75
    True
    """
    if not callable(make_model):
        raise ValueError("make_model must be a callable returning a fresh model with fit/predict")
    if not isinstance(n_rounds, (int, np.integer)) or n_rounds < 2:
        raise ValueError(f"n_rounds must be an integer >= 2, got {n_rounds!r}")
    fit_kwargs, predict_kwargs = dict(fit_kwargs or {}), dict(predict_kwargs or {})
    n = X.shape[0] if hasattr(X, "shape") else len(X)
    if (y.shape[0] if hasattr(y, "shape") else len(y)) != n:
        raise ValueError(f"X has {n} samples but y has {len(y)}")
    y_test = _host(y_test)
    n_test = X_test.shape[0] if hasattr(X_test, "shape") else len(X_test)
    if y_test.shape[0] != n_test:
        raise ValueError(f"X_test has {n_test} samples but y_test has {y_test.shape[0]}")
    classification = _is_classification(y, task)
    gen = _generator(seed)
    preds = []
    for _ in range(n_rounds):  # one full training per round: the loop is over models
        idx = gen.integers(0, n, n)
        model = make_model()
        model.fit(_rows(X, idx), _rows(y, idx), **fit_kwargs)
        preds.append(_predict(model, X_test, classification, predict_kwargs))
    preds = np.stack(preds)  # (R, n_test)
    f = None
    if f_true is not None:
        f = _host(f_true(X_test) if callable(f_true) else f_true).reshape(n_test)
    if classification:
        return _zero_one(preds, y_test, f, n_rounds)
    return _squared(preds.astype(np.float64), y_test.astype(np.float64), f, n_rounds)


def _squared(preds, y_test, f, n_rounds):
    main = preds.mean(axis=0)
    variance = float(np.mean((preds - main) ** 2))
    repeats = y_test.ndim == 2 and y_test.shape[1] > 1
    obs = y_test if repeats else y_test.reshape(-1, 1)
    expected_loss = float(np.mean((preds[:, :, None] - obs[None]) ** 2))
    if f is not None:
        f = f.astype(np.float64)
        bias2 = float(np.mean((main - f) ** 2))
        noise = float(np.mean((obs - f[:, None]) ** 2))
        note = "noise measured against the noiseless target f_true"
    elif repeats:
        k = obs.shape[1]
        noise = float(np.mean(obs.var(axis=1, ddof=1)))
        # the mean of k noisy repeats still carries noise / k of variance
        bias2 = max(0.0, float(np.mean((main - obs.mean(axis=1)) ** 2)) - noise / k)
        note = f"noise estimated from {k} repeated targets per test point"
    else:
        bias2 = float(np.mean((main - obs[:, 0]) ** 2))
        noise = None
        note = ("noise not separable (no f_true, no repeated targets): bias2 reports "
                "bias² + noise together")
    return BiasVarianceResult("regression", expected_loss, bias2, variance, noise, n_rounds,
                              note, main_prediction=main)


def _mode(preds):
    """Most frequent label per column (ties: the smallest label), vectorised over columns."""
    labels, codes = np.unique(preds, return_inverse=True)
    codes = codes.reshape(preds.shape)
    counts = np.zeros((labels.size, preds.shape[1]), dtype=np.int64)
    np.add.at(counts, (codes, np.arange(preds.shape[1])[None, :]), 1)
    return labels[counts.argmax(axis=0)]


def _zero_one(preds, y_test, f, n_rounds):
    if y_test.ndim != 1:
        raise ValueError("repeated targets are only supported for regression; pass f_true")
    main = _mode(preds)
    optimal = y_test if f is None else f
    biased = main != optimal
    var_x = np.mean(preds != main[None], axis=0)
    expected_loss = float(np.mean(preds != y_test[None]))
    noise = None if f is None else float(np.mean(y_test != f))
    note = ("0-1 loss (Domingos 2000); " + ("noise = disagreement of y_test with f_true"
                                            if f is not None else
                                            "no f_true: y_test taken as the optimal label, "
                                            "bias includes noise"))
    return BiasVarianceResult(
        "classification", expected_loss, float(biased.mean()), float(var_x.mean()), noise,
        n_rounds, note, variance_unbiased=float(np.sum(var_x[~biased]) / var_x.size),
        variance_biased=float(np.sum(var_x[biased]) / var_x.size), main_prediction=main)


# ---------------------------------------------------------------- learning curves

def _error_fn(scoring, classification):
    if callable(scoring):
        return scoring
    if scoring == "auto":
        scoring = "error_rate" if classification else "mse"
    if scoring == "mse":
        return lambda y, p: float(np.mean((np.asarray(y, np.float64) - p) ** 2))
    if scoring == "mae":
        return lambda y, p: float(np.mean(np.abs(np.asarray(y, np.float64) - p)))
    if scoring == "error_rate":
        return lambda y, p: float(np.mean(np.asarray(y) != p))
    raise ValueError(f'scoring must be "auto", "mse", "mae", "error_rate" or a callable '
                     f"error(y_true, y_pred), got {scoring!r}")


@dataclass
class LearningCurve:
    """Training and validation errors (lower is better) against the training-set size.

    ``train_errors`` and ``val_errors`` have shape (n_sizes, n_splits).
    """

    train_sizes: np.ndarray
    train_errors: np.ndarray
    val_errors: np.ndarray
    baseline_error: float

    @property
    def train_mean(self):
        return self.train_errors.mean(axis=1)

    @property
    def val_mean(self):
        return self.val_errors.mean(axis=1)


def learning_curve(make_model, X, y, train_sizes=(0.1, 0.325, 0.55, 0.775, 1.0), *, cv=5,
                   validation_data=None, scoring="auto", task="auto", seed=None,
                   fit_kwargs=None, predict_kwargs=None):
    """Train on growing subsets; record training and validation error at each size.

    Formula
    -------
    For each split (k-fold, or the given validation set) and each size m: fit a fresh
    model on the first m training rows (shuffled once), then err_train(m) on those m rows
    and err_val(m) on the validation rows. Under-fitting: both curves plateau high and
    close together. Over-fitting: err_train ≪ err_val, with a gap that shrinks as m grows.

    Parameters
    ----------
    make_model : callable returning an object with ``fit``/``predict``
    X, y : data (arrays or Tensors)
    train_sizes : fractions in (0, 1] of the training part, or absolute counts (ints)
    cv : int
        Number of folds when ``validation_data`` is None (scikit-learn's default 5).
    validation_data : (X_val, y_val), optional
        A fixed validation set instead of folds.
    scoring : "auto" (MSE for regression, error rate for classification), "mse", "mae",
        "error_rate" or callable error(y_true, y_pred) (lower is better)
    seed : int, optional (None: library RNG)

    Returns
    -------
    LearningCurve (with ``baseline_error``: the validation error of predicting the
    training mean, or the majority class, used by ``bias_variance_verdict`` as a scale).
    """
    from ..preprocessing.split import KFold

    fit_kwargs, predict_kwargs = dict(fit_kwargs or {}), dict(predict_kwargs or {})
    classification = _is_classification(y, task)
    error = _error_fn(scoring, classification)
    gen = _generator(seed)
    n = X.shape[0] if hasattr(X, "shape") else len(X)
    y_host = _host(y)
    if validation_data is not None:
        X_val, y_val = validation_data
        splits = [(gen.permutation(n), None)]
    else:
        folds = KFold(cv, shuffle=True, seed=int(gen.integers(2**31))).split(np.zeros(n))
        splits = [(gen.permutation(tr), te) for tr, te in folds]
    sizes = []
    n_train_max = min(len(tr) for tr, _ in splits)
    for s in train_sizes:
        m = int(s) if isinstance(s, (int, np.integer)) else int(np.floor(float(s) * n_train_max))
        if not 1 <= m <= n_train_max:
            raise ValueError(f"train size {s!r} gives {m} samples; it must give 1 to "
                             f"{n_train_max}")
        sizes.append(m)
    sizes = np.array(sizes)
    tr_err = np.empty((len(sizes), len(splits)))
    va_err = np.empty((len(sizes), len(splits)))
    baselines = []
    for j, (train_idx, val_idx) in enumerate(splits):
        if val_idx is not None:
            X_val, y_val = _rows(X, val_idx), y_host[val_idx]
        y_val_h = _host(y_val)
        y_tr_all = y_host[train_idx]
        if classification:
            labels, counts = np.unique(y_tr_all, return_counts=True)
            baselines.append(float(np.mean(y_val_h != labels[counts.argmax()])))
        else:
            baselines.append(error(y_val_h, np.full(y_val_h.shape, y_tr_all.mean())))
        for i, m in enumerate(sizes):
            idx = train_idx[:m]
            model = make_model()
            X_m, y_m = _rows(X, idx), _rows(y, idx)
            model.fit(X_m, y_m, **fit_kwargs)
            tr_err[i, j] = error(y_host[idx], _predict(model, X_m, classification,
                                                        predict_kwargs))
            va_err[i, j] = error(y_val_h, _predict(model, X_val, classification,
                                                   predict_kwargs))
    return LearningCurve(sizes, tr_err, va_err, float(np.mean(baselines)))


@dataclass
class Verdict:
    """Outcome of ``bias_variance_verdict``: a diagnosis, the numbers behind it, and advice."""

    diagnosis: str  # "high bias", "high variance", "high bias and high variance", "good fit"
    train_error: float
    val_error: float
    avoidable_bias: float
    variance_gap: float
    advice: str

    @property
    def high_bias(self):
        return "bias" in self.diagnosis

    @property
    def high_variance(self):
        return "variance" in self.diagnosis

    def __str__(self):
        return (f"{self.diagnosis}: train error {self.train_error:.4g}, validation error "
                f"{self.val_error:.4g} (avoidable bias {self.avoidable_bias:.4g}, gap "
                f"{self.variance_gap:.4g}). {self.advice}")


def bias_variance_verdict(curve=None, *, train_error=None, val_error=None, target_error=0.0,
                          baseline_error=None, tolerance=0.1):
    """Name the problem from training and validation errors: high bias or high variance.

    Formula
    -------
    avoidable bias = err_train − err_target (err_target: the best achievable error, e.g.
    the noise level or human error; 0 if unknown); variance gap = err_val − err_train.
    Each is "high" when it exceeds ``tolerance`` × scale, the scale being the error of a
    trivial predictor (``baseline_error``, from the learning curve) or else err_val. The
    larger high term names the diagnosis; both high gives "high bias and high variance".

    Parameters
    ----------
    curve : LearningCurve, optional
        Its largest training size is judged (errors averaged over splits).
    train_error, val_error : float, optional
        Instead of a curve.
    target_error : float
        Bayes/optimal error if known (e.g. σ² for regression with known noise).
    baseline_error : float, optional
    tolerance : float

    Examples
    --------
    >>> bias_variance_verdict(train_error=0.02, val_error=0.30, baseline_error=1.0).diagnosis
    'high variance'
    >>> bias_variance_verdict(train_error=0.40, val_error=0.42, baseline_error=1.0).diagnosis
    'high bias'
    """
    if curve is not None:
        train_error = float(curve.train_mean[-1])
        val_error = float(curve.val_mean[-1])
        baseline_error = curve.baseline_error if baseline_error is None else baseline_error
    if train_error is None or val_error is None:
        raise ValueError("give a LearningCurve or both train_error and val_error")
    scale = baseline_error if baseline_error else val_error
    avoidable = train_error - target_error
    gap = val_error - train_error
    high_bias = avoidable > tolerance * scale
    high_var = gap > tolerance * scale
    if high_bias and high_var and min(avoidable, gap) > 0.5 * max(avoidable, gap):
        diagnosis = "high bias and high variance"
        advice = "Fix the bias first (a bigger model, better features), then regularize."
    elif high_bias and (not high_var or avoidable >= gap):
        diagnosis = "high bias"
        advice = ("Under-fitting: use a more flexible model or better features, train longer, "
                  "regularize less; more data will not help.")
    elif high_var:
        diagnosis = "high variance"
        advice = ("Over-fitting: get more data or augment it, regularize (weight penalty, "
                  "dropout, early stopping) or use a simpler model.")
    else:
        diagnosis = "good fit"
        advice = "Training and validation errors are both close to the target."
    return Verdict(diagnosis, float(train_error), float(val_error), float(avoidable),
                   float(gap), advice)
