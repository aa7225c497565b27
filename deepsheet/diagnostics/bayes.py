"""The continuous Bayesian approach, next to the discrete ``preprocessing.bayes_posterior``:
a Beta-Binomial posterior for an accuracy (or any rate) and a Gaussian class-conditional
classifier (Bayes' rule with a normal density per class)."""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = ["beta_binomial_posterior", "BetaPosterior", "GaussianClassConditional"]


class BetaPosterior(NamedTuple):
    """Beta(alpha, beta): the belief about a rate p after the data."""
    alpha: float
    beta: float

    @property
    def mean(self):
        return self.alpha / (self.alpha + self.beta)

    @property
    def mode(self):
        """Most probable p (the MAP estimate); defined for alpha, beta > 1."""
        if self.alpha <= 1 or self.beta <= 1:
            return float(self.alpha >= self.beta) if self.alpha != self.beta else float("nan")
        return (self.alpha - 1) / (self.alpha + self.beta - 2)

    @property
    def std(self):
        a, b = self.alpha, self.beta
        return math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))

    def pdf(self, p):
        """Density at p (array-like in [0, 1])."""
        p = np.asarray(p, dtype=np.float64)
        a, b = self.alpha, self.beta
        log_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
        with np.errstate(divide="ignore", invalid="ignore"):
            logp = log_norm + (a - 1) * np.log(p) + (b - 1) * np.log1p(-p)
        return np.where((p >= 0) & (p <= 1), np.exp(logp), 0.0)

    def cdf(self, p, grid=20001):
        """P(rate <= p), by integrating the density on a fine grid (no SciPy needed)."""
        t, c = self._cumulative(grid)
        return np.interp(np.asarray(p, dtype=np.float64), t, c)

    def interval(self, level=0.95, grid=20001):
        """The central credible interval holding ``level`` of the belief."""
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        t, c = self._cumulative(grid)
        tail = (1 - level) / 2
        return float(np.interp(tail, c, t)), float(np.interp(1 - tail, c, t))

    def _cumulative(self, grid):
        # Midpoint rule in θ with p = sin²θ: dp = sin 2θ dθ cancels the p^(−1/2) and
        # (1 − p)^(−1/2) blow-ups of priors like Jeffreys' at the ends of [0, 1].
        theta = np.linspace(0.0, np.pi / 2, grid)
        mids = (theta[:-1] + theta[1:]) / 2
        mass = self.pdf(np.sin(mids) ** 2) * np.sin(2 * mids) * np.diff(theta)
        c = np.concatenate([[0.0], np.cumsum(mass)])
        return np.sin(theta) ** 2, c / c[-1]


def beta_binomial_posterior(successes, trials, prior=(1.0, 1.0)):
    """The posterior of a rate p (e.g. a model's accuracy) after ``successes`` of ``trials``.

    The discrete ``bayes_posterior`` updates a belief over two hypotheses; here the unknown
    is a continuous p ∈ [0, 1]. With a Beta(α, β) prior and a binomial likelihood the
    posterior is again a Beta (conjugacy): the data just add to the counts.

    Formula
    -------
        p(p | k of n) ∝ p^k (1 − p)^{n−k} · p^{α−1} (1 − p)^{β−1}  ⇒  Beta(α + k, β + n − k)
        mean = (α + k) / (α + β + n),  mode = (α + k − 1) / (α + β + n − 2)

    Parameters
    ----------
    successes, trials : int
        E.g. correct predictions and test images.
    prior : (alpha, beta)
        Beta prior; (1, 1) is uniform, (0.5, 0.5) Jeffreys'.

    Returns
    -------
    BetaPosterior
        With ``mean``, ``mode``, ``std``, ``pdf``, ``cdf`` and ``interval(level)``.

    Examples
    --------
    >>> post = beta_binomial_posterior(87, 100)
    >>> post.alpha, post.beta
    (88.0, 14.0)
    >>> lo, hi = post.interval(0.95)
    >>> round(lo, 3), round(hi, 3)
    (0.79, 0.922)
    """
    k, n = successes, trials
    for name, v in (("successes", k), ("trials", n)):
        if isinstance(v, bool) or not float(v).is_integer() or v < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {v!r}")
    if k > n:
        raise ValueError(f"successes ({k}) cannot exceed trials ({n})")
    a, b = (float(v) for v in prior)
    if not (a > 0 and b > 0):
        raise ValueError(f"prior must be two positive numbers (alpha, beta), got {prior!r}")
    return BetaPosterior(a + k, b + (n - k))


class GaussianClassConditional:
    """Bayes' rule with a Gaussian density per class: the generative classifier.

    Each class c gets a prior π_c (its frequency), a mean μ_c and a covariance Σ_c (its own:
    quadratic boundaries, scikit-learn's ``QuadraticDiscriminantAnalysis``; or one shared:
    ``shared_covariance=True``, linear boundaries as in ``LinearDiscriminantAnalysis``).
    Means, covariances and priors are the maximum-likelihood estimates (covariances divided
    by n_c, or by N when shared, as scikit-learn 1.9 computes them), plus ``reg`` on the
    diagonal.

    Formula
    -------
        p(c | x) = π_c N(x; μ_c, Σ_c) / Σ_k π_k N(x; μ_k, Σ_k)
        log N(x; μ, Σ) = −½ (x − μ)ᵀ Σ⁻¹ (x − μ) − ½ log det(2π Σ)

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.0, 0.1], [0.2, -0.1], [-0.1, 0.0], [3.0, 3.1], [3.2, 2.9], [2.9, 3.0]])
    >>> clf = GaussianClassConditional(reg=1e-3).fit(x, [0, 0, 0, 1, 1, 1])
    >>> clf.predict([[0.1, 0.0], [3.0, 3.0]]).tolist()
    [0, 1]
    """

    def __init__(self, shared_covariance=False, reg=0.0):
        if reg < 0:
            raise ValueError(f"reg must be >= 0, got {reg!r}")
        self.shared_covariance = bool(shared_covariance)
        self.reg = float(reg)

    def fit(self, x, y):
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y).ravel()
        if x.ndim != 2 or len(x) != len(y):
            raise ValueError(f"x must be (n_samples, n_features) with one label each; got x "
                             f"{x.shape}, y {y.shape}")
        self.classes_, codes = np.unique(y, return_inverse=True)
        k, d = len(self.classes_), x.shape[1]
        counts = np.bincount(codes, minlength=k)
        if k < 2:
            raise ValueError("need at least 2 classes")
        if (counts < 2).any():
            raise ValueError(f"every class needs at least 2 samples to estimate a covariance; "
                             f"class {self.classes_[np.argmin(counts)]!r} has {counts.min()}")
        self.priors_ = counts / counts.sum()
        self.means_ = np.stack([x[codes == c].mean(axis=0) for c in range(k)])
        centred = x - self.means_[codes]
        if self.shared_covariance:
            cov = centred.T @ centred / len(x)
            covs = [cov] * k
        else:
            covs = [centred[codes == c].T @ centred[codes == c] / counts[c]
                    for c in range(k)]
        self.covariances_ = np.stack([c + self.reg * np.eye(d) for c in covs])
        self._chol = []
        for c, cov in enumerate(self.covariances_):
            try:
                self._chol.append(np.linalg.cholesky(cov))
            except np.linalg.LinAlgError:
                raise ValueError(f"the covariance of class {self.classes_[c]!r} is singular "
                                 f"(collinear features or too few samples); pass reg > 0"
                                 ) from None
        return self

    def _joint_log(self, x):
        x = np.asarray(x, dtype=np.float64)
        if not hasattr(self, "means_"):
            raise ValueError("GaussianClassConditional is not fitted: call fit(x, y) first")
        if x.ndim != 2 or x.shape[1] != self.means_.shape[1]:
            raise ValueError(f"x must be (n_samples, {self.means_.shape[1]}), got {x.shape}")
        d = x.shape[1]
        out = []
        for mu, L, prior in zip(self.means_, self._chol, self.priors_):
            z = np.linalg.solve(L, (x - mu).T)          # L z = x − μ  ⇒  |z|² = Mahalanobis²
            logdet = 2 * np.log(np.diag(L)).sum()
            out.append(np.log(prior) - 0.5 * (z ** 2).sum(axis=0)
                       - 0.5 * (logdet + d * np.log(2 * np.pi)))
        return np.stack(out, axis=1)

    def predict_log_proba(self, x):
        j = self._joint_log(x)
        m = j.max(axis=1, keepdims=True)
        return j - (m + np.log(np.exp(j - m).sum(axis=1, keepdims=True)))

    def predict_proba(self, x):
        """p(c | x) for each class (columns in ``classes_`` order)."""
        return np.exp(self.predict_log_proba(x))

    def predict(self, x):
        joint = self._joint_log(x)
        return self.classes_[np.argmax(joint, axis=1)]
