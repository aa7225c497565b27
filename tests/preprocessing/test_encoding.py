"""One-hot encoding and LabelEncoder against Keras's definition and scikit-learn."""
import numpy as np
import pytest
from sklearn import preprocessing as skp

import deepsheet as ds
from deepsheet.preprocessing import LabelEncoder, one_hot, to_categorical


def test_one_hot_values_shapes_dtypes():
    y = np.array([[0, 2], [1, 1]])
    out = one_hot(y, 3)
    assert out.shape == (2, 2, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out.argmax(-1), y)
    np.testing.assert_array_equal(out.sum(-1), 1)
    np.testing.assert_array_equal(to_categorical([[1], [0]]), [[0, 1], [1, 0]])  # (n, 1) squeezed
    assert one_hot([2, 0]).shape == (2, 3)  # num_classes inferred
    assert one_hot(np.zeros(0, dtype=int), 4).shape == (0, 4)
    assert one_hot([1.0, 0.0], 2, dtype="int64").dtype == np.int64
    t = one_hot(ds.tensor(np.array([1, 0])), 2)
    assert isinstance(t, ds.Tensor) and t.numpy().tolist() == [[0, 1], [1, 0]]
    np.testing.assert_array_equal(one_hot(np.array([3, 1, 0]), 4),
                                  skp.OneHotEncoder(categories=[range(4)], sparse_output=False)
                                  .fit_transform(np.array([[3], [1], [0]])))


def test_one_hot_bad_labels():
    with pytest.raises(ValueError, match=r"\[0, 3\).*\[0, 3\]"):
        one_hot([0, 3], 3)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        one_hot([-1, 1], 3)
    with pytest.raises(ValueError, match="probabilities"):
        one_hot([0.2, 0.8], 2)
    with pytest.raises(ValueError, match="LabelEncoder"):
        one_hot(["a", "b"])


def test_label_encoder_matches_sklearn():
    y = np.array(["dog", "cat", "dog", "bird", "cat"])
    ours, theirs = LabelEncoder().fit(y), skp.LabelEncoder().fit(y)
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    np.testing.assert_array_equal(ours.transform(y), theirs.transform(y))
    np.testing.assert_array_equal(ours.inverse_transform([2, 0]), theirs.inverse_transform([2, 0]))
    yn = np.array([10, -3, 7, 10])
    np.testing.assert_array_equal(LabelEncoder().fit_transform(yn),
                                  skp.LabelEncoder().fit_transform(yn))
    with pytest.raises(ValueError, match=r"unseen labels: \['fish'\]"):
        ours.transform(["cat", "fish"])
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        ours.inverse_transform([3])
