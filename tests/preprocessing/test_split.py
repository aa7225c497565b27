"""Splitters against scikit-learn: sizes and fold layouts exactly, random parts by their properties."""
import warnings

import numpy as np
import pytest
from sklearn import model_selection as skms

import deepsheet as ds
from deepsheet.preprocessing import KFold, StratifiedKFold, train_test_split


@pytest.mark.parametrize("n, test_size, train_size", [
    (10, None, None), (10, 0.3, None), (7, 0.25, None), (11, None, 0.6), (20, 0.2, 0.5),
    (20, 5, None), (20, None, 13), (20, 4, 9), (3, 0.5, None), (101, 0.33, 0.33)])
def test_split_sizes_match_sklearn(n, test_size, train_size):
    X = np.arange(2 * n).reshape(n, 2)
    y = np.arange(n) * 10
    ours = train_test_split(X, y, test_size=test_size, train_size=train_size, seed=0)
    theirs = skms.train_test_split(X, y, test_size=test_size, train_size=train_size,
                                   random_state=0)
    assert [a.shape for a in ours] == [a.shape for a in theirs]
    X_tr, X_te, y_tr, y_te = ours
    np.testing.assert_array_equal(X_tr[:, 0] * 5, y_tr)  # rows stay aligned across arrays
    np.testing.assert_array_equal(X_te[:, 0] * 5, y_te)
    assert len(np.intersect1d(y_tr, y_te)) == 0
    unshuffled = train_test_split(X, y, test_size=test_size, train_size=train_size,
                                  shuffle=False)
    for a, b in zip(unshuffled, skms.train_test_split(X, y, test_size=test_size,
                                                       train_size=train_size, shuffle=False)):
        np.testing.assert_array_equal(a, b)


def test_split_is_a_random_partition_and_reproducible():
    X = np.arange(50)
    tr, te = train_test_split(X, seed=3)
    np.testing.assert_array_equal(np.sort(np.concatenate([tr, te])), X)
    np.testing.assert_array_equal(train_test_split(X, seed=3)[1], te)
    assert not np.array_equal(train_test_split(X, seed=4)[1], te)
    assert not np.array_equal(np.sort(te), np.arange(50)[:13])  # shuffled, not the head
    ds.manual_seed(11)
    a = train_test_split(X)[1]
    b = train_test_split(X)[1]  # the library RNG moved on
    ds.manual_seed(11)
    np.testing.assert_array_equal(train_test_split(X)[1], a)
    assert not np.array_equal(a, b)


def test_stratified_split_keeps_class_proportions_like_sklearn():
    rng = np.random.default_rng(0)
    for case in range(30):
        n_classes = rng.integers(2, 5)
        counts = rng.integers(2, 30, n_classes)
        y = rng.permutation(np.repeat(np.arange(n_classes), counts))
        test_size = float(rng.uniform(0.15, 0.5))
        _, y_te = train_test_split(y, test_size=test_size, stratify=y, seed=case)
        _, sk_te = skms.train_test_split(y, test_size=test_size, stratify=y, random_state=case)
        assert y_te.shape == sk_te.shape
        ours_c = np.bincount(y_te, minlength=n_classes)
        theirs_c = np.bincount(sk_te, minlength=n_classes)
        assert np.all(np.abs(ours_c - theirs_c) <= 1)  # sklearn breaks ties at random too
        assert np.all(np.abs(ours_c - counts * len(y_te) / len(y)) < 1)
    y = np.repeat([0, 1, 2], [10, 20, 30])
    onehot = np.eye(3)[y]
    _, te = train_test_split(onehot, test_size=0.5, stratify=onehot, seed=0)
    np.testing.assert_array_equal(te.sum(axis=0), [5, 10, 15])


def test_split_inputs_of_every_kind():
    t = ds.tensor(np.arange(12, dtype=np.float32).reshape(6, 2))
    lst = list("abcdef")
    t_tr, t_te, l_tr, l_te = train_test_split(t, lst, test_size=2, seed=1)
    assert isinstance(t_tr, ds.Tensor) and t_tr.shape == (4, 2) and t_te.dtype == np.float32
    assert isinstance(l_te, list) and len(l_te) == 2
    assert [lst[int(r[0]) // 2] for r in t_te.numpy()] == l_te


def test_split_errors():
    with pytest.raises(ValueError, match="same number of samples"):
        train_test_split(np.arange(5), np.arange(4))
    with pytest.raises(ValueError, match="only 1 member"):
        train_test_split(np.arange(5), stratify=[0, 0, 0, 0, 1])
    with pytest.raises(ValueError, match="test_size=1.5"):
        train_test_split(np.arange(5), test_size=1.5)
    with pytest.raises(ValueError, match="empty"):
        train_test_split(np.arange(2), test_size=0.1, train_size=0.4)
    with pytest.raises(ValueError, match="shuffle=True"):
        train_test_split(np.arange(4), stratify=[0, 1, 0, 1], shuffle=False)


@pytest.mark.parametrize("n, k", [(10, 2), (10, 3), (7, 7), (23, 5)])
def test_kfold_matches_sklearn(n, k):
    X = np.zeros((n, 1))
    for (a_tr, a_te), (b_tr, b_te) in zip(KFold(k).split(X), skms.KFold(k).split(X)):
        np.testing.assert_array_equal(a_tr, b_tr)
        np.testing.assert_array_equal(a_te, b_te)
    folds = list(KFold(k, shuffle=True, seed=0).split(X))
    sk_folds = list(skms.KFold(k, shuffle=True, random_state=0).split(X))
    assert [len(te) for _, te in folds] == [len(te) for _, te in sk_folds]
    np.testing.assert_array_equal(np.sort(np.concatenate([te for _, te in folds])), np.arange(n))
    for tr, te in folds:
        np.testing.assert_array_equal(np.sort(np.concatenate([tr, te])), np.arange(n))
    again = list(KFold(k, shuffle=True, seed=0).split(X))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again))
    assert KFold(k).get_n_splits() == k


@pytest.mark.parametrize("y", [
    [0, 0, 0, 0, 1, 1, 1, 1, 1, 1],
    [2, 1, 2, 2, 0, 1, 1, 0, 2, 2, 2, 0, 1, 2],
    list("cbacbbacacbbcc"),
    [1] * 3 + [0] * 17])
@pytest.mark.parametrize("k", [2, 3])
def test_stratified_kfold_matches_sklearn(y, k):
    y = np.asarray(y)
    X = np.zeros((len(y), 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = list(StratifiedKFold(k).split(X, y))
        theirs = list(skms.StratifiedKFold(k).split(X, y))
        shuffled = list(StratifiedKFold(k, shuffle=True, seed=1).split(X, y))
        sk_shuffled = list(skms.StratifiedKFold(k, shuffle=True, random_state=1).split(X, y))
    for (a_tr, a_te), (b_tr, b_te) in zip(ours, theirs):
        np.testing.assert_array_equal(a_tr, b_tr)
        np.testing.assert_array_equal(a_te, b_te)
    # shuffling moves samples between folds but keeps each fold's class counts
    for (_, a_te), (_, b_te) in zip(shuffled, sk_shuffled):
        assert sorted(y[a_te].tolist()) == sorted(y[b_te].tolist())
    np.testing.assert_array_equal(np.sort(np.concatenate([te for _, te in shuffled])),
                                  np.arange(len(y)))


def test_kfold_errors():
    with pytest.raises(ValueError, match="n_splits=5 greater than the number of samples"):
        list(KFold(5).split(np.zeros(3)))
    with pytest.raises(ValueError, match="at least 2"):
        KFold(1)
    with pytest.raises(ValueError, match="shuffle=False"):
        KFold(3, seed=0)
    with pytest.raises(ValueError, match="members in each class"):
        list(StratifiedKFold(3).split(np.zeros(4), [0, 0, 1, 1]))
    with pytest.warns(UserWarning, match="only 1 members"):
        list(StratifiedKFold(2).split(np.zeros(5), [0, 0, 0, 0, 1]))
    with pytest.raises(ValueError, match="needs the labels"):
        list(StratifiedKFold(2).split(np.zeros(4)))
