import numpy as np

from deepsheet.datasets import digits


def test_shapes_and_dtypes():
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    assert x_train.shape == (1437, 8, 8) and y_train.shape == (1437,)
    assert x_test.shape == (360, 8, 8) and y_test.shape == (360,)
    for a in (x_train, y_train, x_test, y_test):
        assert a.dtype == np.uint8


def test_value_range_uses_all_of_0_to_16():
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    for x in (x_train, x_test):
        assert x.min() == 0 and x.max() == digits.MAX_VALUE
    assert set(np.unique(np.concatenate([x_train, x_test]))) == set(range(17))
    assert set(y_train.tolist()) == set(y_test.tolist()) == set(range(10))


def test_stratified_class_balance():
    (_, y_train), (_, y_test) = digits.load_data()
    n_train, n_test = np.bincount(y_train, minlength=10), np.bincount(y_test, minlength=10)
    # The UCI set has 174-183 images per class.
    assert ((n_train + n_test >= 174) & (n_train + n_test <= 183)).all()
    # Stratified: every class holds the same share of the test split, up to rounding.
    share = n_test / (n_train + n_test)
    np.testing.assert_allclose(share, 360 / 1797, atol=0.006)


def test_train_and_test_are_disjoint():
    (x_train, _), (x_test, _) = digits.load_data()
    train_rows = {row.tobytes() for row in x_train.reshape(len(x_train), -1)}
    test_rows = [row.tobytes() for row in x_test.reshape(len(x_test), -1)]
    # All 1,797 source images are distinct, so a disjoint split shares none.
    assert not any(r in train_rows for r in test_rows)
    assert len(train_rows) == len(x_train)


def test_same_images_as_scikit_learn():
    # The embedded file is exactly the UCI digits as scikit-learn ships them, re-split.
    from sklearn.datasets import load_digits
    ref = load_digits()
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    ours = np.concatenate([x_train, x_test]).reshape(1797, -1).astype(np.int64)
    labels = np.concatenate([y_train, y_test])
    theirs = ref.data.astype(np.int64)
    order_ours = np.lexsort(np.column_stack([ours, labels]).T)
    order_theirs = np.lexsort(np.column_stack([theirs, ref.target]).T)
    np.testing.assert_array_equal(ours[order_ours], theirs[order_theirs])
    np.testing.assert_array_equal(labels[order_ours], ref.target[order_theirs])


def test_fixed_partition_and_fresh_arrays():
    (x1, y1), (t1, _) = digits.load_data()
    x1[:] = 0
    (x2, y2), (t2, _) = digits.load_data()
    assert x2.max() == 16
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(t1, t2)
    # Fixed values pin the partition: a rebuilt file with another split or order changes them.
    assert y2[:12].tolist() == [3, 9, 1, 3, 1, 9, 4, 4, 2, 8, 3, 5]
    assert int(x2.astype(np.int64).sum()) == 449368 and int(t2.astype(np.int64).sum()) == 112350


def test_images_look_like_digits():
    # Class means differ clearly (a zero is a ring, a one a vertical stroke): real data, not noise.
    (x, y), _ = digits.load_data()
    mean0 = x[y == 0].mean(axis=0)
    mean1 = x[y == 1].mean(axis=0)
    assert mean0[3:5, 3:5].mean() < 4 < mean0[3:5, [1, 6]].mean()
    assert mean1[:, 3:5].mean() > mean1[:, [0, 7]].mean() + 4
