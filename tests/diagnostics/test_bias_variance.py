"""Bias-variance decomposition, learning curves and their verdict on problems with known noise."""
import numpy as np
import pytest

import deepsheet as ds
from deepsheet.diagnostics import (bias_variance_decomposition, bias_variance_verdict,
                                   curse_of_dimensionality, learning_curve)

SIGMA = 0.3


def f_true(X):
    return np.sin(2 * np.pi * X[:, 0])


def make_data(n, seed, repeats=None):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, (n, 1))
    shape = (n,) if repeats is None else (n, repeats)
    noise = rng.normal(0, SIGMA, shape)
    y = (f_true(X) if repeats is None else f_true(X)[:, None]) + noise
    return X, y


class Poly:
    """Least-squares polynomial of a given degree on 1-D inputs."""

    def __init__(self, degree):
        self.degree = degree

    def fit(self, X, y):
        V = np.vander(2 * X[:, 0] - 1, self.degree + 1)  # inputs mapped to [-1, 1]: conditioning
        self.w = np.linalg.lstsq(V, y, rcond=None)[0]
        return self

    def predict(self, X):
        return np.vander(2 * X[:, 0] - 1, self.degree + 1) @ self.w


def test_noise_recovered_within_10_percent_with_f_true():
    X, y = make_data(60, 0)
    X_test, y_test = make_data(2000, 1)
    r = bias_variance_decomposition(lambda: Poly(3), X, y, X_test, y_test, n_rounds=30,
                                    f_true=f_true, seed=0)
    assert r.noise == pytest.approx(SIGMA ** 2, rel=0.10)
    # the three terms add up to the expected loss (up to a cross term that averages out)
    assert r.bias2 + r.variance + r.noise == pytest.approx(r.expected_loss, rel=0.05)
    assert r.task == "regression" and "f_true" in r.note


def test_noise_recovered_from_repeated_targets():
    X, y = make_data(60, 2)
    X_test, y_rep = make_data(400, 3, repeats=5)
    r = bias_variance_decomposition(lambda: Poly(3), X, y, X_test, y_rep, n_rounds=30, seed=0)
    assert r.noise == pytest.approx(SIGMA ** 2, rel=0.10)
    exact = bias_variance_decomposition(lambda: Poly(3), X, y, X_test, y_rep, n_rounds=30,
                                        seed=0, f_true=f_true)
    assert r.variance == exact.variance  # same seed: same bootstrap models
    assert r.bias2 == pytest.approx(exact.bias2, abs=0.01)


def test_without_noise_information_bias_and_noise_are_reported_together():
    X, y = make_data(60, 4)
    X_test, y_test = make_data(1000, 5)
    r = bias_variance_decomposition(lambda: Poly(3), X, y, X_test, y_test, n_rounds=10, seed=0)
    assert r.noise is None and "bias² + noise" in r.note and "not separated" in str(r)
    exact = bias_variance_decomposition(lambda: Poly(3), X, y, X_test, y_test, n_rounds=10,
                                        seed=0, f_true=f_true)
    assert r.bias2 == pytest.approx(exact.bias2 + exact.noise, rel=0.1)


def test_degree_1_is_bias_degree_9_is_variance():
    # 40 points: with fewer, bootstrap samples of a degree-9 fit hold < 10 distinct points
    X, y = make_data(40, 6)
    X_test, y_test = make_data(500, 7)
    simple = bias_variance_decomposition(lambda: Poly(1), X, y, X_test, y_test, n_rounds=40,
                                         f_true=f_true, seed=0)
    flexible = bias_variance_decomposition(lambda: Poly(9), X, y, X_test, y_test, n_rounds=40,
                                           f_true=f_true, seed=0)
    assert simple.bias2 > 3 * simple.variance
    assert flexible.variance > 3 * flexible.bias2
    assert flexible.variance > 10 * simple.variance


def test_learning_curve_verdicts_for_degree_1_and_degree_9():
    X, y = make_data(30, 8)
    verdicts = {}
    for degree in (1, 9):
        curve = learning_curve(lambda: Poly(degree), X, y, train_sizes=(0.5, 0.75, 1.0), cv=5,
                               seed=0)
        assert curve.train_errors.shape == curve.val_errors.shape == (3, 5)
        assert curve.train_sizes.tolist() == [12, 18, 24]
        verdicts[degree] = bias_variance_verdict(curve, target_error=SIGMA ** 2)
    assert verdicts[1].diagnosis == "high bias", str(verdicts[1])
    assert verdicts[9].diagnosis == "high variance", str(verdicts[9])
    assert verdicts[1].high_bias and not verdicts[1].high_variance
    assert "more data" in verdicts[9].advice


def test_learning_curve_with_validation_data_and_classification():
    rng = np.random.default_rng(9)

    def sample(n):  # a linear boundary with 10% of the labels flipped: Bayes error 0.1
        X = rng.normal(size=(n, 2))
        y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
        return X, np.where(rng.random(n) < 0.1, 1 - y, y)

    X, y = sample(200)
    X_val, y_val = sample(400)

    class Centroid:
        def fit(self, X, y):
            self.c = np.stack([X[y == k].mean(0) for k in (0, 1)])
            return self

        def predict(self, X):
            return ((X[:, None] - self.c[None]) ** 2).sum(-1).argmin(1)

    curve = learning_curve(Centroid, X, y, train_sizes=(10, 50, 200),
                           validation_data=(X_val, y_val), seed=0)
    assert curve.val_errors.shape == (3, 1)
    assert curve.val_mean[-1] < 0.2 and curve.baseline_error > 0.35
    assert bias_variance_verdict(curve, target_error=0.1).diagnosis == "good fit"
    # without the Bayes error the verdict cannot know that 10% is the floor
    assert bias_variance_verdict(curve, target_error=0.0).diagnosis == "high bias"


def test_zero_one_decomposition_domingos():
    rng = np.random.default_rng(10)

    def sample(n):
        X = rng.uniform(-1, 1, (n, 1))
        clean = (X[:, 0] > 0).astype(np.int64)
        flip = rng.random(n) < 0.2
        return X, np.where(flip, 1 - clean, clean), clean

    class Stump:  # threshold at the median of one bootstrap sample's positives and negatives
        def fit(self, X, y):
            self.t = (X[y == 1, 0].mean() + X[y == 0, 0].mean()) / 2 if len(set(y)) > 1 else 0.0
            return self

        def predict(self, X):
            return (X[:, 0] > self.t).astype(np.int64)

    X, y, _ = sample(40)
    X_test, y_test, clean = sample(2000)
    r = bias_variance_decomposition(Stump, X, y, X_test, y_test, n_rounds=30, f_true=clean,
                                    seed=0)
    assert r.task == "classification"
    assert r.noise == pytest.approx(0.2, rel=0.10)
    # two classes, y* = y_test: loss = bias + unbiased variance - biased variance, exactly
    r0 = bias_variance_decomposition(Stump, X, y, X_test, y_test, n_rounds=30, seed=0)
    assert r0.expected_loss == pytest.approx(r0.bias2 + r0.variance_unbiased - r0.variance_biased,
                                             abs=1e-12)
    assert r0.variance == pytest.approx(r0.variance_unbiased + r0.variance_biased)


def test_reproducible_under_manual_seed_and_bad_input():
    X, y = make_data(20, 11)
    X_test, y_test = make_data(50, 12)
    ds.manual_seed(3)
    a = bias_variance_decomposition(lambda: Poly(2), X, y, X_test, y_test, n_rounds=5)
    ds.manual_seed(3)
    b = bias_variance_decomposition(lambda: Poly(2), X, y, X_test, y_test, n_rounds=5)
    assert a.variance == b.variance and a.bias2 == b.bias2
    with pytest.raises(ValueError, match="n_rounds"):
        bias_variance_decomposition(lambda: Poly(2), X, y, X_test, y_test, n_rounds=1)
    with pytest.raises(ValueError, match="y_test has 49"):
        bias_variance_decomposition(lambda: Poly(2), X, y, X_test, y_test[:49])
    with pytest.raises(ValueError, match="train size"):
        learning_curve(lambda: Poly(2), X, y, train_sizes=(0.0,))
    with pytest.raises(ValueError, match="train_error and val_error"):
        bias_variance_verdict()


def test_curse_of_dimensionality_ratio_grows_towards_one():
    r = curse_of_dimensionality(dims=(1, 2, 10, 100, 1000), n_points=100, n_queries=20, seed=0)
    assert np.all(np.diff(r.ratio_mean) > 0)
    assert r.ratio_mean[0] < 0.05 and r.ratio_mean[-1] > 0.85
    assert np.all(np.diff(r.relative_contrast) < 0)
    assert "d_min/d_max" in str(r)
