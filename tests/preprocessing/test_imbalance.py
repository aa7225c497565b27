"""Class weights, re-sampling, threshold selection and Bayes' rule."""
import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight as sk_ccw

import deepsheet as ds
from deepsheet import metrics as dsm
from deepsheet.preprocessing import (RandomOverSampler, RandomUnderSampler, bayes_posterior,
                                     compute_class_weight, random_oversample,
                                     random_undersample, select_threshold)


def test_class_weight_matches_sklearn():
    rng = np.random.default_rng(0)
    for case in range(20):
        y = rng.choice([3, 5, 9, 11], size=40, p=[0.6, 0.25, 0.1, 0.05])
        classes = np.unique(y)
        w = rng.random(40) if case % 2 else None
        np.testing.assert_allclose(compute_class_weight("balanced", classes=classes, y=y,
                                                        sample_weight=w),
                                   sk_ccw("balanced", classes=classes, y=y, sample_weight=w),
                                   rtol=1e-14)
    y = np.array(["a", "b", "b", "c"])
    np.testing.assert_allclose(compute_class_weight({"a": 2.0}, classes=np.unique(y), y=y),
                               sk_ccw({"a": 2.0}, classes=np.unique(y), y=y))
    np.testing.assert_allclose(compute_class_weight(None, classes=[0, 1], y=[0, 1]), [1, 1])
    # balanced weights give every class the same total weight
    y = np.array([0] * 90 + [1] * 10)
    w = compute_class_weight("balanced", classes=[0, 1], y=y)
    assert w[0] * 90 == pytest.approx(w[1] * 10) == pytest.approx(50)
    with pytest.raises(ValueError, match="do not occur in y"):
        compute_class_weight("balanced", classes=[0, 1, 2], y=y)
    with pytest.raises(ValueError, match="balanced"):
        compute_class_weight("balance", classes=[0, 1], y=y)


def test_random_over_and_under_sampling():
    X = np.arange(30).reshape(15, 2)
    y = np.array([0] * 10 + [1] * 3 + [2] * 2)
    X_o, y_o = random_oversample(X, y, seed=0)
    assert np.bincount(y_o).tolist() == [10, 10, 10]
    assert set(map(tuple, X_o.tolist())) == set(map(tuple, X.tolist()))  # only copies of rows
    np.testing.assert_array_equal(y[X_o[:, 0] // 2], y_o)  # labels follow their rows
    X_u, y_u = random_undersample(X, y, seed=0)
    assert np.bincount(y_u).tolist() == [2, 2, 2]
    np.testing.assert_array_equal(y[X_u[:, 0] // 2], y_u)
    assert len(np.unique(X_u[:, 0])) == 6  # without replacement
    X_d, y_d = RandomUnderSampler(sampling_strategy={0: 5}, seed=1).fit_resample(X, y)
    assert np.bincount(y_d).tolist() == [5, 3, 2]
    # reproducible with a seed and under manual_seed
    np.testing.assert_array_equal(random_oversample(X, y, seed=0)[0], X_o)
    ds.manual_seed(5)
    a = RandomOverSampler().fit_resample(X, y)[0]
    ds.manual_seed(5)
    np.testing.assert_array_equal(RandomOverSampler().fit_resample(X, y)[0], a)
    t_X, t_y = random_undersample(ds.tensor(X.astype(np.float32)), ds.tensor(y), seed=0)
    assert isinstance(t_X, ds.Tensor) and t_X.shape == (6, 2)
    with pytest.raises(ValueError, match="cannot add"):
        RandomUnderSampler(sampling_strategy={1: 5}).fit_resample(X, y)
    with pytest.raises(ValueError, match="15 samples but y has 3"):
        random_oversample(X, y[:3])


def test_select_threshold_is_the_best_on_a_brute_force_grid():
    rng = np.random.default_rng(1)
    y = (rng.random(300) < 0.2).astype(int)
    scores = np.clip(rng.normal(0.3 + 0.35 * y, 0.2), 0, 1).round(3)
    t_f1, best_f1 = select_threshold(y, scores, criterion="f1")
    t_j, best_j = select_threshold(y, scores, criterion="youden")
    grid = np.unique(scores)
    f1s = [dsm.f1_score(y, (scores >= t).astype(int), zero_division=0) for t in grid]
    js = [dsm.recall_score(y, (scores >= t).astype(int))
          - dsm.false_positive_rate(y, (scores >= t).astype(int)) for t in grid]
    assert best_f1 == pytest.approx(max(f1s)) and best_j == pytest.approx(max(js))
    assert dsm.f1_score(y, (scores >= t_f1).astype(int)) == pytest.approx(best_f1)
    y_hat = (scores >= t_j).astype(int)
    assert dsm.recall_score(y, y_hat) + dsm.specificity_score(y, y_hat) - 1 == pytest.approx(best_j)
    # on a rare class the tuned threshold beats the default 0.5 for F1
    assert best_f1 >= dsm.f1_score(y, (scores >= 0.5).astype(int))
    with pytest.raises(ValueError, match="criterion"):
        select_threshold(y, scores, criterion="accuracy")


def test_bayes_posterior():
    pos, neg = bayes_posterior(0.01, 0.9, 0.95)
    assert pos == pytest.approx(0.009 / (0.009 + 0.05 * 0.99))
    assert neg == pytest.approx(0.001 / (0.001 + 0.95 * 0.99))
    # agrees with counting a large synthetic population
    rng = np.random.default_rng(0)
    sick = rng.random(2_000_000) < 0.01
    positive = np.where(sick, rng.random(sick.size) < 0.9, rng.random(sick.size) < 0.05)
    assert sick[positive].mean() == pytest.approx(pos, rel=0.03)
    assert sick[~positive].mean() == pytest.approx(neg, rel=0.1)
    # vectorised; a perfect test; a test that is never positive
    p, n = bayes_posterior(np.array([0.001, 0.5]), 0.99, 0.99)
    assert p.shape == (2,) and p[1] == pytest.approx(0.99)
    assert bayes_posterior(0.2, 1.0, 1.0) == (1.0, 0.0)
    p, n = bayes_posterior(0.3, 0.0, 1.0)
    assert np.isnan(p) and n == pytest.approx(0.3)
    with pytest.raises(ValueError, match="sensitivity must be a probability"):
        bayes_posterior(0.1, 1.2, 0.9)


def test_rare_disease_example_runs(capsys):
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parents[2] / "examples" / "rare_disease.py"
    spec = importlib.util.spec_from_file_location("rare_disease", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--n", "20000", "--prevalence", "0.02"])
    out = capsys.readouterr().out
    assert "rule 'nobody is sick'" in out and "Bayes: P(sick | +)" in out
