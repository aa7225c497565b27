import numpy as np
import pytest

from deepsheet.diagnostics import GaussianClassConditional, beta_binomial_posterior


def test_beta_binomial_posterior_matches_conjugate_update():
    stats = pytest.importorskip("scipy.stats", reason="SciPy is the Beta-distribution oracle")
    post = beta_binomial_posterior(87, 100, prior=(2, 3))
    assert (post.alpha, post.beta) == (89.0, 16.0)
    ref = stats.beta(89, 16)
    assert post.mean == pytest.approx(ref.mean()) and post.std == pytest.approx(ref.std())
    assert post.mode == pytest.approx(88 / 103)
    np.testing.assert_allclose(post.interval(0.9), ref.interval(0.9), atol=1e-6)
    p = np.linspace(0.01, 0.99, 7)
    np.testing.assert_allclose(post.pdf(p), ref.pdf(p), rtol=1e-9)
    np.testing.assert_allclose(post.cdf(p), ref.cdf(p), atol=1e-6)
    jeffreys = beta_binomial_posterior(0, 10, prior=(0.5, 0.5))   # density unbounded at 0
    np.testing.assert_allclose(jeffreys.interval(0.95), stats.beta(0.5, 10.5).interval(0.95),
                               atol=1e-6)
    for bad, match in (((11, 10), "cannot exceed"), ((-1, 10), "successes"),
                       ((1.5, 10), "successes")):
        with pytest.raises(ValueError, match=match):
            beta_binomial_posterior(*bad)
    with pytest.raises(ValueError, match="prior"):
        beta_binomial_posterior(1, 2, prior=(0, 1))


def test_gaussian_class_conditional_matches_sklearn_qda():
    da = pytest.importorskip("sklearn.discriminant_analysis")
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal([0, 0], [1.0, 0.5], size=(40, 2)),
                        rng.normal([2, 1], [0.5, 1.5], size=(60, 2)),
                        rng.normal([-1, 3], [0.7, 0.7], size=(30, 2))])
    y = np.repeat(["a", "b", "c"], [40, 60, 30])
    q = np.array([[0.0, 0.0], [2.0, 1.0], [-1.0, 3.0], [5.0, -2.0], [0.5, 1.5]])
    ours = GaussianClassConditional().fit(x, y)
    ref = da.QuadraticDiscriminantAnalysis(store_covariance=True).fit(x, y)
    np.testing.assert_allclose(ours.predict_proba(q), ref.predict_proba(q), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(ours.covariances_, np.stack(ref.covariance_), rtol=1e-10)
    assert ours.predict(q).tolist() == ref.predict(q).tolist()
    shared = GaussianClassConditional(shared_covariance=True).fit(x, y)
    lda = da.LinearDiscriminantAnalysis().fit(x, y)
    np.testing.assert_allclose(shared.predict_proba(q), lda.predict_proba(q), rtol=1e-5)
    with pytest.raises(ValueError, match="not fitted"):
        GaussianClassConditional().predict(q)
    with pytest.raises(ValueError, match="at least 2 samples"):
        GaussianClassConditional().fit(x[:41], y[:41])
