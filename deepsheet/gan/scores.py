"""How good are generated samples: inception score, Fréchet distance, per-class coverage.

All three look at the samples through a trained classifier (for Fashion-MNIST, the
reference CNN trained by ``examples/fashion_classifier.py``): its class probabilities
p(y|x) (inception score, coverage) and its penultimate-layer features (Fréchet distance).
The statistics are computed in float64: covariance matrices of a few hundred features lose
too many digits in float32 for a distance that subtracts nearly equal traces.
"""
from __future__ import annotations

import numpy as np

__all__ = ["inception_score", "inception_score_from_probs", "frechet_distance",
           "frechet_distance_from_stats", "feature_statistics", "sqrtm_psd", "class_coverage",
           "feature_extractor"]


def _predict(model, x, batch_size, preprocess, what):
    x = np.asarray(x)
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"{what}: expected a non-empty batch of images, got shape {x.shape}")
    out = []
    for i in range(0, len(x), batch_size):
        batch = x[i:i + batch_size]
        if preprocess is not None:
            batch = preprocess(batch)
        if hasattr(model, "predict"):
            y = model.predict(batch, batch_size=len(batch), verbose=0)
        else:
            y = model(batch)
        y = getattr(y, "data", y)
        out.append(np.asarray(y.get() if hasattr(y, "get") else y))
    return np.concatenate(out)


def feature_extractor(classifier, layer=-2):
    """A model from the classifier's input to the output of ``classifier.layers[layer]``.

    The default, the layer before the last, is the penultimate representation FID uses
    (for the reference CNN: Dropout after Dense 128, the Dense 128 ReLU features at
    inference).
    """
    from ..models import Model
    try:
        target = classifier.layers[layer]
    except (IndexError, TypeError):
        raise ValueError(f"feature_extractor: layer {layer!r} is not a layer index of "
                         f"{getattr(classifier, 'name', classifier)!r} "
                         f"({len(getattr(classifier, 'layers', []))} layers)") from None
    return Model(classifier.inputs, target.output, name=f"{classifier.name}_features")


# ------------------------------------------------------------------ inception score
def inception_score_from_probs(probs, splits=1):
    """Inception score of class probabilities p(y|x): mean and spread over ``splits`` parts.

    Formula
    -------
        p(y)  = (1/N) Σ_i p(y | x_i)                      (the marginal over the part)
        IS    = exp( (1/N) Σ_i KL( p(y|x_i) ‖ p(y) ) )
        KL(p ‖ q) = Σ_y p(y) (log p(y) − log q(y)),  with 0 log 0 = 0

    High when each sample is confidently one class (low entropy of p(y|x)) and the classes
    are used evenly (high entropy of p(y)); it lies in [1, k] for k classes. Salimans et
    al. (2016) split the N samples into ``splits`` equal parts and report the mean and
    standard deviation of the per-part scores.

    Parameters
    ----------
    probs : array (N, k)
        Rows are probability vectors (non-negative, summing to 1).
    splits : int
        Number of parts (1 <= splits <= N).

    Returns
    -------
    (mean, std) : floats

    Examples
    --------
    >>> import numpy as np
    >>> inception_score_from_probs(np.eye(4)[[0, 1, 2, 3] * 5], splits=1)
    (4.0, 0.0)
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] == 0 or p.shape[1] == 0:
        raise ValueError(f"inception_score: probs must be (N, classes) with N >= 1, got shape "
                         f"{p.shape}")
    if not np.isfinite(p).all() or (p < 0).any() or not np.allclose(p.sum(1), 1.0, atol=1e-3):
        raise ValueError("inception_score: each row of probs must be a probability vector "
                         "(finite, non-negative, summing to 1); pass the classifier's softmax "
                         "output, not its logits")
    if isinstance(splits, bool) or not isinstance(splits, (int, np.integer)) or \
            not 1 <= splits <= len(p):
        raise ValueError(f"inception_score: splits must be an int in [1, N={len(p)}], got "
                         f"{splits!r}")
    scores = []
    for part in np.array_split(p, int(splits)):
        marginal = part.mean(axis=0, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(part > 0, part * (np.log(part) - np.log(marginal)), 0.0).sum(axis=1)
        scores.append(float(np.exp(kl.mean())))
    return float(np.mean(scores)), float(np.std(scores))


def inception_score(images, classifier, splits=10, batch_size=500, preprocess=None):
    """Inception score of ``images`` under ``classifier`` (Salimans et al. 2016).

    Formula
    -------
        IS = exp( E_x KL( p(y|x) ‖ p(y) ) ),   p(y) = E_x p(y|x)

    p(y|x) is the classifier's softmax output; see ``inception_score_from_probs``.

    Parameters
    ----------
    images : array (N, H, W, C)
    classifier : Model or callable
        Returns class probabilities (a softmax output) for a batch of images.
    splits : int
        Parts for the spread (10 as Salimans et al.).
    preprocess : callable, optional
        Applied to each batch first (e.g. ``unscale_images`` to map a tanh generator's
        [-1, 1] to the classifier's [0, 1]).

    Returns
    -------
    (mean, std) over the splits.
    """
    probs = _predict(classifier, images, batch_size, preprocess, "inception_score")
    return inception_score_from_probs(probs, splits=splits)


# ------------------------------------------------------------------ Fréchet distance
def sqrtm_psd(a):
    """Square root of a symmetric positive semi-definite matrix, through its eigenvectors.

    Formula
    -------
        A = V diag(λ) Vᵀ  (A symmetric, λ >= 0)   =>   A^{1/2} = V diag(√λ) Vᵀ
        (A^{1/2})² = V diag(λ) Vᵀ = A

    Eigenvalues that rounding pushed slightly below 0 are treated as 0.
    """
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"sqrtm_psd: expected a square matrix, got shape {a.shape}")
    lam, v = np.linalg.eigh((a + a.T) * 0.5)
    return (v * np.sqrt(np.clip(lam, 0.0, None))) @ v.T


def frechet_distance_from_stats(mu1, sigma1, mu2, sigma2):
    """Fréchet (2-Wasserstein) distance between N(μ₁, Σ₁) and N(μ₂, Σ₂).

    Formula
    -------
        d² = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^{1/2})

    The product Σ₁Σ₂ is not symmetric, but it is similar to the symmetric PSD matrix
    M = Σ₁^{1/2} Σ₂ Σ₁^{1/2} (Σ₁Σ₂ = Σ₁^{1/2} M Σ₁^{-1/2}), so both have the same
    eigenvalues and Tr((Σ₁Σ₂)^{1/2}) = Tr(M^{1/2}) = Σ √eig(M): two symmetric
    eigendecompositions, no complex numbers (scipy's general ``sqrtm`` can return an
    imaginary part from rounding).

    Returns
    -------
    float (>= 0 up to rounding; clipped at 0)
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(f"frechet_distance: means must be (d,) and covariances (d, d) with the "
                         f"same d, got {mu1.shape}, {s1.shape}, {mu2.shape}, {s2.shape}")
    root1 = sqrtm_psd(s1)
    m = root1 @ s2 @ root1
    lam = np.linalg.eigvalsh((m + m.T) * 0.5)
    tr_covmean = float(np.sqrt(np.clip(lam, 0.0, None)).sum())
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)
    return max(value, 0.0)


def feature_statistics(features):
    """Mean (d,) and covariance (d, d) of features (N, d): μ = mean, Σ = unbiased covariance."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"frechet_distance: features must be (N, d) with N >= 2, got shape "
                         f"{f.shape}")
    if not np.isfinite(f).all():
        raise ValueError("frechet_distance: the features contain NaN or inf")
    return f.mean(axis=0), np.cov(f, rowvar=False, ddof=1).reshape(f.shape[1], f.shape[1])


def frechet_distance(real, fake, feature_model=None, batch_size=500, preprocess=None):
    """Fréchet inception distance (FID) between two sets of samples (Heusel et al. 2017).

    Formula
    -------
        μ, Σ = mean and covariance of φ(x) over each set (φ: the feature model)
        FID = ‖μ_r − μ_g‖² + Tr(Σ_r + Σ_g − 2 (Σ_r Σ_g)^{1/2})

    Lower is better; 0 for identical statistics. Unlike the inception score it compares
    the samples with real data, so a generator that repeats a few good images per class
    (within-class collapse) scores worse than real diversity.

    Parameters
    ----------
    real, fake : arrays
        Images (N, H, W, C) when ``feature_model`` is given, otherwise feature vectors
        (N, d) already.
    feature_model : Model or callable, optional
        Maps a batch of images to (batch, d) features, e.g.
        ``feature_extractor(classifier)`` (the classifier's penultimate layer).
    preprocess : callable, optional
        Applied to each image batch before the feature model.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(100, 3))
    >>> round(frechet_distance(x, x), 6)
    0.0
    """
    if feature_model is not None:
        real = _predict(feature_model, real, batch_size, preprocess, "frechet_distance")
        fake = _predict(feature_model, fake, batch_size, preprocess, "frechet_distance")
    mu1, s1 = feature_statistics(real)
    mu2, s2 = feature_statistics(fake)
    if mu1.shape != mu2.shape:
        raise ValueError(f"frechet_distance: real and fake features differ in dimension "
                         f"({mu1.shape[0]} vs {mu2.shape[0]})")
    return frechet_distance_from_stats(mu1, s1, mu2, s2)


# ------------------------------------------------------------------ coverage
def class_coverage(images, classifier, classes=None, batch_size=500, preprocess=None):
    """Fraction of ``images`` the classifier assigns to each class (mode coverage).

    Formula
    -------
        c_k = (1/N) Σ_i [argmax_y p(y | x_i) = k]

    A generator that covers every mode gives each of k balanced classes about 1/k; mode
    collapse shows as classes near 0.

    Parameters
    ----------
    images : array (N, H, W, C), or class probabilities (N, k) with ``classifier=None``
    classifier : Model or callable, optional
    classes : int, optional
        Number of classes (default: the classifier's output width).

    Returns
    -------
    array (classes,) of fractions summing to 1.
    """
    if classifier is None:
        probs = np.asarray(images)
        if probs.ndim != 2:
            raise ValueError(f"class_coverage: without a classifier pass probabilities (N, k), "
                             f"got shape {probs.shape}")
    else:
        probs = _predict(classifier, images, batch_size, preprocess, "class_coverage")
    k = probs.shape[1] if classes is None else int(classes)
    counts = np.bincount(probs.argmax(axis=1), minlength=k)[:k]
    return counts / max(len(probs), 1)
