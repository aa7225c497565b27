"""Scalers against scikit-learn; per-channel statistics; fit-on-train discipline; dtypes."""
import numpy as np
import pytest
from sklearn import preprocessing as skp

import deepsheet as ds
from deepsheet.preprocessing import MinMaxScaler, StandardScaler


def _data(seed, shape=(40, 5), dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=shape) * rng.uniform(0.1, 10, shape[-1]) + rng.uniform(-5, 5, shape[-1])
    return X.astype(dtype)


@pytest.mark.parametrize("feature_range", [(0, 1), (-1, 1), (2, 7)])
def test_minmax_matches_sklearn(feature_range):
    X_train, X_test = _data(0), _data(1)
    X_train[:, 2] = 3.0  # a constant feature
    ours = MinMaxScaler(feature_range).fit(X_train)
    theirs = skp.MinMaxScaler(feature_range=feature_range).fit(X_train)
    for name in ("data_min_", "data_max_", "data_range_", "scale_", "min_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-14)
    np.testing.assert_allclose(ours.transform(X_test), theirs.transform(X_test), rtol=1e-13,
                               atol=1e-13)
    np.testing.assert_allclose(ours.inverse_transform(ours.transform(X_test)), X_test,
                               rtol=1e-12, atol=1e-12)
    out = ours.transform(X_train)
    lo, hi = feature_range
    assert out[:, [0, 1, 3, 4]].min(axis=0) == pytest.approx([lo] * 4)
    assert out[:, [0, 1, 3, 4]].max(axis=0) == pytest.approx([hi] * 4)
    assert np.all(out[:, 2] == lo)


def test_minmax_clip_matches_sklearn():
    X_train, X_test = _data(2), _data(3) * 3
    ours = MinMaxScaler(clip=True).fit(X_train).transform(X_test)
    theirs = skp.MinMaxScaler(clip=True).fit(X_train).transform(X_test)
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("with_mean, with_std", [(True, True), (False, True), (True, False)])
def test_standard_matches_sklearn(with_mean, with_std):
    X_train, X_test = _data(4), _data(5)
    X_train[:, 1] = -2.5  # sigma = 0: guarded, the feature is only centred
    ours = StandardScaler(with_mean=with_mean, with_std=with_std).fit(X_train)
    theirs = skp.StandardScaler(with_mean=with_mean, with_std=with_std).fit(X_train)
    np.testing.assert_allclose(ours.mean_, theirs.mean_, rtol=1e-14)
    if with_std:
        np.testing.assert_allclose(ours.var_, theirs.var_, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(ours.scale_, theirs.scale_, rtol=1e-13)
    else:
        assert ours.scale_ is None is theirs.scale_ and ours.var_ is None is theirs.var_
    np.testing.assert_allclose(ours.transform(X_test), theirs.transform(X_test), rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(ours.inverse_transform(ours.transform(X_test)), X_test,
                               rtol=1e-12, atol=1e-12)
    assert np.all(np.isfinite(ours.transform(X_train)))


def test_standard_guard_for_near_constant_feature():
    X = np.full((10, 2), 0.1)
    X[:, 1] += np.arange(10) * 1e-20  # variance at rounding level: treated as constant
    out = StandardScaler().fit_transform(X)
    np.testing.assert_allclose(out, skp.StandardScaler().fit_transform(X), atol=1e-12)
    assert np.abs(out).max() < 1e-10


def test_per_channel_statistics_on_images():
    X = _data(6, shape=(8, 5, 4, 3)).astype(np.float32)
    sc = StandardScaler().fit(X)  # axis=-1: over N, H, W, one statistic per channel
    assert sc.mean_.shape == (3,)
    np.testing.assert_allclose(sc.mean_, X.mean(axis=(0, 1, 2), dtype=np.float64), rtol=1e-6)
    out = sc.transform(X)
    assert out.dtype == np.float32 and out.shape == X.shape
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(0, 1, 2)), 1, rtol=1e-5)
    # axis=(1, 2, 3): one statistic per pixel and channel = sklearn on flattened images
    flat = StandardScaler(axis=(1, 2, 3)).fit_transform(X).reshape(8, -1)
    np.testing.assert_allclose(flat, skp.StandardScaler().fit_transform(X.reshape(8, -1)),
                               rtol=1e-4, atol=1e-5)
    mm = MinMaxScaler(axis=None).fit(X)  # one global range
    assert mm.data_min_.shape == () and mm.data_min_ == X.min()


def test_fit_on_train_leaves_test_statistics_untouched():
    X_train, X_test = _data(7), _data(8) + 3.0
    X_test_copy = X_test.copy()
    sc = StandardScaler().fit(X_train)
    mean_before = sc.mean_.copy()
    out = sc.transform(X_test)
    np.testing.assert_array_equal(X_test, X_test_copy)  # input not modified in place
    np.testing.assert_array_equal(sc.mean_, mean_before)  # transform does not refit
    # the test set is shifted by the *train* statistics, so its mean is not 0
    np.testing.assert_allclose(out.mean(axis=0), (X_test.mean(axis=0) - sc.mean_) / sc.scale_)
    assert np.all(np.abs(out.mean(axis=0)) > 0.1)


def test_dtypes_tensors_and_integers():
    X = np.arange(12, dtype=np.int64).reshape(6, 2)
    out = MinMaxScaler().fit_transform(X)
    assert out.dtype == np.float32
    t = ds.tensor(X.astype(np.float32))
    out_t = StandardScaler().fit_transform(t)
    assert isinstance(out_t, ds.Tensor) and out_t.dtype == np.float32
    np.testing.assert_allclose(out_t.numpy(), skp.StandardScaler().fit_transform(X), atol=1e-6)
    assert StandardScaler().fit(X.astype(np.float64)).transform(X.astype(np.float64)).dtype == np.float64


def test_bad_input():
    with pytest.raises(ValueError, match=r"reshape\(-1, 1\)"):
        StandardScaler().fit(np.arange(5.0))
    sc = StandardScaler().fit(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"shaped like the fitted data"):
        sc.transform(np.zeros((4, 2)))
    with pytest.raises(RuntimeError, match="not fitted"):
        MinMaxScaler().transform(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="feature_range"):
        MinMaxScaler((1, 0))
    with pytest.raises(ValueError, match="sample axis"):
        StandardScaler(axis=0).fit(np.zeros((3, 2)))
