"""Classification metrics against scikit-learn 1.9.1: random cases per averaging mode, edge cases, bad input."""
import warnings

import numpy as np
import pytest
import sklearn
from sklearn import metrics as skm

import deepsheet as ds
from deepsheet import metrics as dsm
from deepsheet.metrics import UndefinedMetricWarning

N_CASES = 200
ZERO_DIVISIONS = ("warn", 0, 1, np.nan)


def _record(fn, *args, **kwargs):
    """Result (or the exception type) and the names of the warning categories raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = fn(*args, **kwargs)
        except ValueError as exc:  # sklearn's InvalidParameterError is a ValueError too
            out = ValueError(str(exc))
    return out, sorted({w.category.__name__ for w in caught})


def _flat(result):
    """Nested tuples of floats/arrays/None as one float64 vector (None -> empty)."""
    if result is None:
        return np.zeros(0)
    if isinstance(result, (tuple, list)):
        return np.concatenate([_flat(r) for r in result]) if result else np.zeros(0)
    return np.atleast_1d(np.asarray(result, dtype=np.float64)).ravel()


def _label_cases(kind, seed):
    """N_CASES random (y_true, y_pred, kwargs) for one averaging mode.

    Mixes sizes 1..30, labels missing from y_pred or from y_true, a `labels=` argument with
    absent labels (non-binary modes), integer or float sample weights, and string labels.
    All random draws are made up front in one batch per quantity.
    """
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 31, N_CASES)
    n_classes = np.full(N_CASES, 2) if kind == "binary" else rng.integers(2, 6, N_CASES)
    variant = rng.integers(0, 5, N_CASES)
    weighted = rng.random(N_CASES) < 0.5
    zero_div = rng.integers(0, len(ZERO_DIVISIONS), N_CASES)
    cases = []
    for i in range(N_CASES):
        n, k = int(sizes[i]), int(n_classes[i])
        y_true = rng.integers(0, k, n)
        y_pred = rng.integers(0, k, n)
        if variant[i] == 1:
            y_pred = rng.integers(0, max(k - 1, 1), n)  # the last label never predicted
        elif variant[i] == 2:
            y_true = rng.integers(1, k, n) if k > 1 else y_true  # label 0 never true
        elif variant[i] == 3:
            y_pred = np.where(rng.random(n) < 0.7, y_true, y_pred)  # a decent classifier
        kwargs = {"zero_division": ZERO_DIVISIONS[zero_div[i]]}
        if weighted[i]:
            kwargs["sample_weight"] = (rng.integers(0, 4, n) if i % 2 else rng.random(n) * 3)
        if kind == "binary" and variant[i] == 4:
            names = np.array(["neg", "pos"])
            y_true, y_pred = names[y_true], names[y_pred]
            kwargs["pos_label"] = "pos"
        elif kind != "binary" and variant[i] == 4:
            kwargs["labels"] = rng.permutation(k + 1)[: rng.integers(1, k + 2)]
        cases.append((y_true, y_pred, kwargs))
    return cases


AVERAGES = ["binary", "micro", "macro", "weighted", None]


@pytest.fixture
def fast_sklearn():
    """scikit-learn without its parameter validation: the oracle calls dominate test time."""
    with sklearn.config_context(skip_parameter_validation=True, assume_finite=True):
        yield


@pytest.mark.parametrize("average", AVERAGES)
def test_precision_recall_f_against_sklearn(average, fast_sklearn):
    seed = AVERAGES.index(average)
    ours, theirs = [], []
    for y_true, y_pred, kw in _label_cases(average, seed):
        beta = 0.5 + (len(y_true) % 4)
        # two scikit-learn calls per case (they cost ~2 ms each), checked against all of ours
        t, wt = _record(skm.precision_recall_fscore_support, y_true, y_pred, average=average, **kw)
        tb, _ = _record(skm.precision_recall_fscore_support, y_true, y_pred, average=average,
                        beta=beta, warn_for=(), **kw)
        o, wo = _record(dsm.precision_recall_fscore_support, y_true, y_pred, average=average, **kw)
        assert wo == wt, (y_true, y_pred, kw)
        if isinstance(t, ValueError):
            assert isinstance(o, ValueError), (o, t, y_true, y_pred, kw)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            singles = [dsm.precision_score(y_true, y_pred, average=average, **kw),
                       dsm.recall_score(y_true, y_pred, average=average, **kw),
                       dsm.f1_score(y_true, y_pred, average=average, **kw),
                       dsm.fbeta_score(y_true, y_pred, beta=beta, average=average, **kw),
                       dsm.precision_recall_fscore_support(y_true, y_pred, beta=beta,
                                                           average=average, **kw)]
        ours += [_flat(o), _flat(singles)]
        theirs += [_flat(t), _flat([t[0], t[1], t[2], tb[2], tb])]
    ours, theirs = np.concatenate(ours), np.concatenate(theirs)
    assert ours.size > 5 * N_CASES
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12, equal_nan=True)


def _sk_rates(y_true, y_pred, labels, pos_label, average, sample_weight, zero_division):
    """Specificity/FPR/FNR from scikit-learn's per-class (TN, FP, FN, TP) and the definitions."""
    if average == "binary":
        labels = [pos_label]
    mcm = skm.multilabel_confusion_matrix(y_true, y_pred, labels=labels,
                                          sample_weight=sample_weight)
    tn, fp, fn, tp = (mcm[:, 0, 0], mcm[:, 0, 1], mcm[:, 1, 0], mcm[:, 1, 1])
    w = np.ones(len(y_true)) if sample_weight is None else np.asarray(sample_weight, float)
    # an exactly empty class side is decided on the samples, not on rounded float sums
    negatives = np.array([np.count_nonzero(w[y_true != c]) for c in
                          (labels if labels is not None else np.unique(np.r_[y_true, y_pred]))])
    zval = 0.0 if zero_division == "warn" else float(zero_division)
    out = {}
    support = tp + fn
    for name, num, den, empty in (("specificity", tn, tn + fp, negatives == 0),
                                  ("fpr", fp, fp + tn, negatives == 0),
                                  ("fnr", fn, fn + tp, (fn + tp) == 0)):
        if average == "micro":
            d = den.sum()
            out[name] = num.sum() / d if not empty.all() else zval
            continue
        per_class = np.array([zval if e else a / b for a, b, e in zip(num, den, empty)])
        if average is None:
            out[name] = per_class
            continue
        keep = ~np.isnan(per_class)
        if not keep.any():
            out[name] = np.nan
        elif average == "weighted" and support[keep].sum() > 0:
            out[name] = np.average(per_class[keep], weights=support[keep])
        else:
            out[name] = per_class[keep].mean()
    return out


@pytest.mark.parametrize("average", AVERAGES)
def test_specificity_and_error_rates(average, fast_sklearn):
    seed = 10 + AVERAGES.index(average)
    ours, theirs = [], []
    for y_true, y_pred, kw in _label_cases(average, seed):
        if average == "binary" and "pos_label" not in kw and len(np.unique(np.r_[y_true, y_pred])) > 2:
            continue
        ref = _sk_rates(y_true, y_pred, kw.get("labels"), kw.get("pos_label", 1), average,
                        kw.get("sample_weight"), kw["zero_division"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = [dsm.specificity_score(y_true, y_pred, average=average, **kw),
                   dsm.false_positive_rate(y_true, y_pred, average=average, **kw),
                   dsm.false_negative_rate(y_true, y_pred, average=average, **kw)]
        ours.append(_flat(got))
        theirs.append(_flat([ref["specificity"], ref["fpr"], ref["fnr"]]))
    np.testing.assert_allclose(np.concatenate(ours), np.concatenate(theirs), rtol=1e-10,
                               atol=1e-12, equal_nan=True)


def test_counts_accuracy_mcc_report_against_sklearn(fast_sklearn):
    ours, theirs = [], []
    for i, (y_true, y_pred, kw) in enumerate(_label_cases("macro", 20)):
        w = kw.get("sample_weight")
        labels = kw.get("labels")
        norm = (None, "true", "pred", "all")[i % 4]
        checks = [
            (dsm.confusion_matrix, skm.confusion_matrix, dict(labels=labels, sample_weight=w,
                                                              normalize=norm)),
            (dsm.accuracy_score, skm.accuracy_score, dict(sample_weight=w, normalize=i % 3 > 0)),
            (dsm.error_rate, skm.zero_one_loss, dict(sample_weight=w, normalize=i % 3 > 0)),
            (dsm.matthews_corrcoef, skm.matthews_corrcoef, dict(sample_weight=w)),
        ]
        for f_ds, f_sk, extra in checks:
            o, wo = _record(f_ds, y_true, y_pred, **extra)
            t, wt = _record(f_sk, y_true, y_pred, **extra)
            assert wo == wt and isinstance(o, ValueError) == isinstance(t, ValueError), (
                f_ds.__name__, o, t)
            if isinstance(o, ValueError):
                continue
            if f_ds is dsm.confusion_matrix:
                assert o.dtype == t.dtype and o.shape == t.shape
            ours.append(_flat(o))
            theirs.append(_flat(t))
        # the report, as text (identical strings) or as a dict, on alternate cases
        rep_kw = dict(labels=labels, sample_weight=w, zero_division=kw["zero_division"],
                      digits=1 + i % 4, output_dict=bool(i % 2))
        o, _ = _record(dsm.classification_report, y_true, y_pred, **rep_kw)
        t, _ = _record(skm.classification_report, y_true, y_pred, **rep_kw)
        assert isinstance(o, ValueError) == isinstance(t, ValueError), (o, t)
        if isinstance(o, str):
            assert o == t
        elif isinstance(o, dict):
            assert list(o) == list(t)
            ours.append(_flat([list(v.values()) if isinstance(v, dict) else v for v in o.values()]))
            theirs.append(_flat([list(v.values()) if isinstance(v, dict) else v for v in t.values()]))
    np.testing.assert_allclose(np.concatenate(ours), np.concatenate(theirs), rtol=1e-12,
                               atol=1e-12, equal_nan=True)


def _score_cases(seed, multiclass, max_classes=5):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(6, 40, N_CASES)
    n_classes = rng.integers(3, max_classes + 1, N_CASES) if multiclass else np.full(N_CASES, 2)
    tie_decimals = rng.integers(1, 4, N_CASES)  # coarse rounding makes many tied scores
    weighted = rng.random(N_CASES) < 0.4
    for i in range(N_CASES):
        n, k = int(sizes[i]), int(n_classes[i])
        y = rng.integers(0, k, n)
        y[:k] = np.arange(k)  # every class present
        y = rng.permutation(y)
        logits = rng.normal(size=(n, k)) + 1.5 * np.eye(k)[y] * rng.random()
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        if i % 3 == 0:
            p = np.round(p, int(tie_decimals[i]))
            p /= p.sum(axis=1, keepdims=True)
        w = rng.random(n) * 2 if weighted[i] else None
        if w is not None and i % 5 == 0:
            w[rng.integers(0, n)] = 0.0  # zero weights must be ignored by the curves
        yield y, p, w


def test_binary_curves_and_areas_against_sklearn(fast_sklearn):
    ours, theirs = [], []
    for i, (y, p, w) in enumerate(_score_cases(30, multiclass=False)):
        s = p[:, 1]
        if i % 4 == 1:
            s = np.log(s + 1e-3)  # raw scores, not probabilities
        if i % 7 == 0:
            y = np.where(y == 1, 2, -5)  # labels that need pos_label
            pos = {"pos_label": 2}
        else:
            pos = {}
        drop = bool(i % 2)
        for f_ds, f_sk, extra in (
                (dsm.roc_curve, skm.roc_curve, dict(drop_intermediate=drop, **pos)),
                (dsm.precision_recall_curve, skm.precision_recall_curve,
                 dict(drop_intermediate=drop, **pos))):
            o = f_ds(y, s, sample_weight=w, **extra)
            t = f_sk(y, s, sample_weight=w, **extra)
            for a, b in zip(o, t):
                assert a.shape == b.shape and a.dtype == b.dtype
            ours.append(_flat(o))
            theirs.append(_flat(t))
        y01 = (y == y.max()).astype(int)
        max_fpr = (None, 0.3, 1.0)[i % 3]
        ours.append(_flat([dsm.roc_auc_score(y01, s, sample_weight=w, max_fpr=max_fpr),
                           dsm.average_precision_score(y, s, sample_weight=w, pos_label=y.max()),
                           dsm.log_loss(y01, p[:, 1], sample_weight=w),
                           dsm.top_k_accuracy_score(y01, p[:, 1], k=1, sample_weight=w)]))
        theirs.append(_flat([skm.roc_auc_score(y01, s, sample_weight=w, max_fpr=max_fpr),
                             skm.average_precision_score(y, s, sample_weight=w, pos_label=y.max()),
                             skm.log_loss(y01, p[:, 1], sample_weight=w),
                             skm.top_k_accuracy_score(y01, p[:, 1], k=1, sample_weight=w)]))
    np.testing.assert_allclose(np.concatenate(ours), np.concatenate(theirs), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("average", ["macro", "micro", "weighted", None])
def test_multiclass_auc_and_average_precision_against_sklearn(average, fast_sklearn):
    ours, theirs = [], []
    seed = 40 + ["macro", "micro", "weighted", None].index(average)
    for y, p, w in _score_cases(seed, multiclass=True, max_classes=4):
        ours.append(_flat([dsm.roc_auc_score(y, p, multi_class="ovr", average=average,
                                             sample_weight=w),
                           dsm.average_precision_score(y, p, average=average, sample_weight=w)]))
        theirs.append(_flat([skm.roc_auc_score(y, p, multi_class="ovr", average=average,
                                               sample_weight=w),
                             skm.average_precision_score(y, p, average=average, sample_weight=w)]))
    np.testing.assert_allclose(np.concatenate(ours), np.concatenate(theirs), rtol=1e-12,
                               atol=1e-12)


def test_one_vs_one_auc_log_loss_top_k_against_sklearn(fast_sklearn):
    ours, theirs = [], []
    for i, (y, p, w) in enumerate(_score_cases(50, multiclass=True)):
        if i % 4 == 0:  # Hand & Till is pairwise: a quarter of the cases keeps it fast
            average = ("macro", "weighted")[i % 8 // 4]
            ours.append(_flat(dsm.roc_auc_score(y, p, multi_class="ovo", average=average)))
            theirs.append(_flat(skm.roc_auc_score(y, p, multi_class="ovo", average=average)))
        k = 1 + i % 3
        pf = p.astype(np.float32) if i % 2 else p
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # k >= n_classes; float32 rows vs float64 eps
            ours.append(_flat([dsm.log_loss(y, pf, sample_weight=w, normalize=bool(i % 3)),
                               dsm.top_k_accuracy_score(y, p, k=k, sample_weight=w)]))
            theirs.append(_flat([skm.log_loss(y, pf, sample_weight=w, normalize=bool(i % 3)),
                                 skm.top_k_accuracy_score(y, p, k=k, sample_weight=w)]))
    np.testing.assert_allclose(np.concatenate(ours), np.concatenate(theirs), rtol=1e-7,
                               atol=1e-12)


def test_missing_class_with_labels_argument():
    y = np.array([0, 2, 2, 0, 2])
    p = np.array([[.7, .2, .1], [.1, .1, .8], [.3, .3, .4], [.5, .4, .1], [.2, .2, .6]])
    for f_ds, f_sk, kw in ((dsm.log_loss, skm.log_loss, {}),
                           (dsm.top_k_accuracy_score, skm.top_k_accuracy_score, {"k": 1})):
        assert f_ds(y, p, labels=[0, 1, 2], **kw) == pytest.approx(f_sk(y, p, labels=[0, 1, 2], **kw))
    o, wo = _record(dsm.roc_auc_score, y, p, multi_class="ovr", labels=[0, 1, 2], average=None)
    t, wt = _record(skm.roc_auc_score, y, p, multi_class="ovr", labels=[0, 1, 2], average=None)
    np.testing.assert_allclose(o, t, equal_nan=True)
    assert wo == wt == ["UndefinedMetricWarning"] and np.isnan(o[1])


# ---------------------------------------------------------------- scikit-learn's edge cases

EDGE_LABELS = [
    ([1, 1, 1], [1, 1, 1]),          # single class, all positive
    ([0, 0, 0], [0, 0, 0]),          # all negative: no positive true or predicted
    ([0, 0, 0], [0, 1, 0]),          # no positive true sample
    ([1, 1, 0], [0, 0, 0]),          # no positive prediction
    ([2, 2, 2], [2, 2, 2]),          # single class that is not a 0/1 label
    ([0, 1, 2], [3, 3, 3]),          # nothing right, label only predicted
]


@pytest.mark.parametrize("y_true, y_pred", EDGE_LABELS)
@pytest.mark.parametrize("zero_division", ZERO_DIVISIONS)
def test_edge_cases_every_zero_division(y_true, y_pred, zero_division):
    for average in AVERAGES:
        for name in ("precision_recall_fscore_support", "precision_score", "recall_score",
                     "f1_score"):
            o, wo = _record(getattr(dsm, name), y_true, y_pred, average=average,
                            zero_division=zero_division)
            t, wt = _record(getattr(skm, name), y_true, y_pred, average=average,
                            zero_division=zero_division)
            assert wo == wt, (name, average)
            assert type(o) is type(t) or not isinstance(t, ValueError), (name, average, o, t)
            if not isinstance(t, ValueError):
                np.testing.assert_allclose(_flat(o), _flat(t), equal_nan=True, err_msg=name)
    o, wo = _record(dsm.matthews_corrcoef, y_true, y_pred)
    t, wt = _record(skm.matthews_corrcoef, y_true, y_pred)
    assert o == t and wo == wt


def test_undefined_warning_names_the_cause():
    with pytest.warns(UndefinedMetricWarning, match="Precision is ill-defined.*no predicted"):
        assert dsm.precision_score([1, 0], [0, 0]) == 0.0
    with pytest.warns(UndefinedMetricWarning, match="Recall is ill-defined.*no true"):
        dsm.recall_score([0, 0], [0, 1])
    with pytest.warns(UndefinedMetricWarning, match="Specificity is ill-defined.*no negative"):
        dsm.specificity_score([1, 1], [1, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(dsm.specificity_score([1, 1], [1, 0], zero_division=np.nan))
        assert dsm.false_positive_rate([1, 1], [1, 0], zero_division=1) == 1.0


def test_empty_input_raises_like_sklearn():
    for name in ("accuracy_score", "confusion_matrix", "f1_score", "matthews_corrcoef"):
        with pytest.raises(ValueError):
            getattr(skm, name)([], [])
        with pytest.raises(ValueError, match="empty"):
            getattr(dsm, name)([], [])
    with pytest.raises(ValueError, match="empty"):
        dsm.roc_auc_score([], [])


def test_roc_auc_single_class_warns_and_is_nan():
    for y in ([1, 1, 1], [0, 0, 0], ["a", "a", "a"]):
        with pytest.warns(UndefinedMetricWarning, match="Only one class is present"):
            assert np.isnan(dsm.roc_auc_score(y, [0.1, 0.5, 0.9]))
        with pytest.warns(skm._classification.UndefinedMetricWarning):
            assert np.isnan(skm.roc_auc_score(y, [0.1, 0.5, 0.9]))


def test_curves_with_a_single_class():
    for y in ([0, 0, 0], [1, 1, 1]):
        o, wo = _record(dsm.roc_curve, y, [0.1, 0.2, 0.3])
        t, wt = _record(skm.roc_curve, y, [0.1, 0.2, 0.3])
        np.testing.assert_allclose(_flat(o), _flat(t), equal_nan=True)
        assert wo == wt and wo
        o, wo = _record(dsm.average_precision_score, y, [0.1, 0.2, 0.3])
        t, wt = _record(skm.average_precision_score, y, [0.1, 0.2, 0.3])
        assert o == t and wo == wt


def test_confusion_matrix_single_label_warns_and_labels_must_meet_y_true():
    with pytest.warns(UserWarning, match="single label"):
        assert dsm.confusion_matrix([1, 1], [1, 1]).tolist() == [[2]]
    with pytest.raises(ValueError, match="labels"):
        dsm.confusion_matrix([0, 1], [0, 1], labels=[5, 6])
    with pytest.raises(ValueError, match="at least one"):
        dsm.confusion_matrix([0, 1], [0, 1], labels=[])


# ---------------------------------------------------------------- bad input

def test_length_mismatch_is_a_clear_value_error():
    with pytest.raises(ValueError, match="different lengths: 3 and 2"):
        dsm.accuracy_score([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="different lengths"):
        dsm.f1_score([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="sample_weight"):
        dsm.precision_score([0, 1, 1], [0, 1, 1], sample_weight=[1, 2])
    with pytest.raises(ValueError, match="y_score has 2"):
        dsm.roc_auc_score([0, 1, 1], [0.2, 0.4])


def test_probabilities_where_labels_are_expected():
    with pytest.raises(ValueError, match=r"y_pred holds probabilities.*y_pred > 0.5"):
        dsm.precision_score([0, 1, 1], [0.2, 0.7, 0.9])
    with pytest.raises(ValueError, match=r"argmax"):
        dsm.accuracy_score([0, 1, 2], np.eye(3) * 0.8 + 0.05)
    with pytest.raises(ValueError, match="one-hot"):
        dsm.f1_score(np.eye(3, dtype=int), [0, 1, 2], average="macro")
    with pytest.raises(ValueError, match="y_true holds probabilities"):
        dsm.confusion_matrix([0.5, 0.1], [0, 1])


def test_labels_where_probabilities_are_expected():
    with pytest.raises(ValueError, match=r"shape \(n_samples, n_classes\).*labels are not scores"):
        dsm.roc_auc_score([0, 1, 2, 1], [0, 1, 2, 2], multi_class="ovr")
    with pytest.raises(ValueError, match="expects probabilities, not labels"):
        dsm.log_loss([0, 1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="n_samples, n_classes"):
        dsm.top_k_accuracy_score([0, 1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="sum to 1"):
        dsm.roc_auc_score([0, 1, 2], np.eye(3) * 3, multi_class="ovr")


def test_unknown_average_and_options():
    for fn in (dsm.precision_score, dsm.recall_score, dsm.f1_score, dsm.specificity_score):
        with pytest.raises(ValueError, match="average must be one of"):
            fn([0, 1], [0, 1], average="mean")
    with pytest.raises(ValueError, match="average must be one of"):
        dsm.roc_auc_score([0, 1], [0.1, 0.9], average="avg")
    with pytest.raises(ValueError, match="multiclass but average='binary'"):
        dsm.precision_score([0, 1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="zero_division"):
        dsm.recall_score([0, 1], [0, 1], zero_division=0.5)
    with pytest.raises(ValueError, match="pos_label=3"):
        dsm.precision_score([0, 1], [0, 1], pos_label=3)
    with pytest.raises(ValueError, match="multi_class"):
        dsm.roc_auc_score([0, 1, 2], np.eye(3))
    with pytest.raises(ValueError, match="beta"):
        dsm.fbeta_score([0, 1], [0, 1], beta=-1)
    with pytest.warns(UserWarning, match="pos_label"):
        dsm.f1_score([0, 1, 2], [0, 1, 2], average="macro", pos_label=2)


def test_tensor_inputs_and_result_types():
    y_true = ds.tensor(np.array([0, 1, 1, 0]))
    y_pred = ds.tensor(np.array([0, 1, 0, 0]))
    score = ds.tensor(np.array([0.1, 0.9, 0.4, 0.3], dtype=np.float32))
    assert dsm.recall_score(y_true, y_pred) == 0.5
    assert isinstance(dsm.f1_score(y_true, y_pred), float)
    assert dsm.roc_auc_score(y_true, score) == 1.0
    per_class = dsm.precision_score(y_true, y_pred, average=None)
    assert per_class.dtype == np.float64 and per_class.shape == (2,)
    assert dsm.confusion_matrix(y_true, y_pred).dtype == np.int64
    assert dsm.roc_curve(y_true, score)[2].dtype == np.float64


def test_macro_is_mean_of_per_class_and_micro_pools_counts():
    y_true = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 2, 2, 0, 2])
    per_class = dsm.precision_score(y_true, y_pred, average=None)
    assert dsm.precision_score(y_true, y_pred, average="macro") == pytest.approx(per_class.mean())
    cm = dsm.confusion_matrix(y_true, y_pred)
    tp, fp = np.diag(cm), cm.sum(axis=0) - np.diag(cm)
    assert dsm.precision_score(y_true, y_pred, average="micro") == pytest.approx(
        tp.sum() / (tp.sum() + fp.sum()))
    assert dsm.error_rate(y_true, y_pred) == pytest.approx(1 - dsm.accuracy_score(y_true, y_pred))
