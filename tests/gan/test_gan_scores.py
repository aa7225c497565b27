"""Inception score, Fréchet distance and coverage against closed forms and independent formulas."""
import numpy as np
import pytest

import deepsheet as ds
from deepsheet import gan


@pytest.mark.parametrize("k", [1, 2, 3, 7, 10])
def test_inception_score_of_uniform_one_hot_is_k(k):
    probs = np.eye(k)[np.tile(np.arange(k), 6)]
    mean, std = gan.inception_score_from_probs(probs, splits=3)   # each split balanced
    assert mean == pytest.approx(k, rel=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_inception_score_matches_entropy_identity():
    # IS = exp(H(p(y)) - E_x H(p(y|x))): an independent formula for the same quantity
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(60, 5)) * 3
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    parts = np.array_split(p, 4)
    expect = [np.exp(-(q.mean(0) * np.log(q.mean(0))).sum() + (q * np.log(q)).sum(1).mean())
              for q in parts]
    mean, std = gan.inception_score_from_probs(p, splits=4)
    assert mean == pytest.approx(np.mean(expect), rel=1e-10)
    assert std == pytest.approx(np.std(expect), rel=1e-8)
    # one class predicted with certainty everywhere, or the same vector everywhere: IS = 1
    assert gan.inception_score_from_probs(np.tile(p[:1], (10, 1)))[0] == pytest.approx(1.0)


def test_inception_score_through_a_classifier_with_preprocess():
    clf = ds.Sequential([ds.Input((4,)), ds.layers.Dense(3, activation="softmax")])
    x = np.random.default_rng(1).normal(size=(40, 4)).astype(np.float32)
    direct = gan.inception_score_from_probs(clf.predict(x * 2, verbose=0), splits=2)
    via = gan.inception_score(x, clf, splits=2, batch_size=7, preprocess=lambda b: b * 2)
    assert via == pytest.approx(direct, rel=1e-6)


def test_inception_score_bad_input():
    with pytest.raises(ValueError, match="probability vector"):
        gan.inception_score_from_probs(np.array([[2.0, -1.0]]))
    with pytest.raises(ValueError, match="splits"):
        gan.inception_score_from_probs(np.eye(3), splits=4)
    with pytest.raises(ValueError, match=r"\(N, classes\)"):
        gan.inception_score_from_probs(np.ones(3) / 3)


def test_sqrtm_psd_squares_back():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(6, 6))
    a = a @ a.T
    r = gan.sqrtm_psd(a)
    np.testing.assert_allclose(r @ r, a, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(r, r.T, atol=1e-12)
    scipy_linalg = pytest.importorskip("scipy.linalg", reason="scipy's sqrtm as an oracle")
    np.testing.assert_allclose(r, np.real(scipy_linalg.sqrtm(a)), rtol=1e-7, atol=1e-9)


def test_frechet_distance_of_a_set_against_itself_is_zero():
    x = np.random.default_rng(3).normal(size=(300, 16)) * 5 + 2
    assert gan.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8 * 16 * 25)
    assert gan.frechet_distance(x, x + 1.0) == pytest.approx(16.0, rel=1e-8)   # ‖Δμ‖² only


def test_frechet_distance_closed_form_between_gaussians():
    # commuting (diagonal) covariances: d² = ‖μ1 − μ2‖² + Σ (√a_i − √b_i)²
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.0])
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    closed = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert gan.frechet_distance_from_stats(mu1, np.diag(a), mu2, np.diag(b)) == \
        pytest.approx(closed, rel=1e-12)
    # general covariances against scipy's sqrtm of the (non-symmetric) product
    scipy_linalg = pytest.importorskip("scipy.linalg", reason="scipy's sqrtm as an oracle")
    rng = np.random.default_rng(4)
    s1, s2 = [(lambda m: m @ m.T + 0.1 * np.eye(5))(rng.normal(size=(5, 5))) for _ in range(2)]
    m1, m2 = rng.normal(size=5), rng.normal(size=5)
    expect = ((m1 - m2) ** 2).sum() + np.trace(s1 + s2 - 2 * np.real(scipy_linalg.sqrtm(s1 @ s2)))
    assert gan.frechet_distance_from_stats(m1, s1, m2, s2) == pytest.approx(expect, rel=1e-8)
    # samples from the two Gaussians approach the closed form
    rng = np.random.default_rng(5)
    x = rng.multivariate_normal(m1, s1, size=200_000)
    y = rng.multivariate_normal(m2, s2, size=200_000)
    assert gan.frechet_distance(x, y) == pytest.approx(expect, rel=0.03)


def test_frechet_distance_through_a_feature_model():
    clf = ds.Sequential([ds.Input((3,)), ds.layers.Dense(6, activation="relu"),
                         ds.layers.Dense(4, activation="softmax")])
    feats = gan.feature_extractor(clf)
    x = np.random.default_rng(6).normal(size=(50, 3)).astype(np.float32)
    y = x + 0.5
    direct = gan.frechet_distance(feats.predict(x, verbose=0), feats.predict(y, verbose=0))
    assert gan.frechet_distance(x, y, feats, batch_size=16) == pytest.approx(direct, rel=1e-9)
    assert feats.predict(x, verbose=0).shape == (50, 6)


def test_frechet_distance_bad_input():
    with pytest.raises(ValueError, match="differ in dimension"):
        gan.frechet_distance(np.ones((5, 3)), np.ones((5, 4)))
    with pytest.raises(ValueError, match="N >= 2"):
        gan.frechet_distance(np.ones((1, 3)), np.ones((5, 3)))
    with pytest.raises(ValueError, match="NaN"):
        gan.frechet_distance(np.full((4, 2), np.nan), np.ones((5, 2)))
    with pytest.raises(ValueError, match="layer"):
        gan.feature_extractor(ds.Sequential([ds.Input((2,)), ds.layers.Dense(1)]), layer=7)


def test_class_coverage_counts_argmax():
    probs = np.eye(4)[[0, 0, 1, 3, 3, 3]] * 0.7 + 0.075
    np.testing.assert_allclose(gan.class_coverage(probs, None), [2 / 6, 1 / 6, 0, 3 / 6])
    clf = ds.Sequential([ds.Input((2,)), ds.layers.Dense(3, activation="softmax")])
    x = np.random.default_rng(7).normal(size=(30, 2)).astype(np.float32)
    expect = np.bincount(clf.predict(x, verbose=0).argmax(1), minlength=3) / 30
    np.testing.assert_allclose(gan.class_coverage(x, clf), expect)
