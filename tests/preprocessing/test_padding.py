"""pad_sequences against Keras's documented behaviour (pre/post padding and truncation)."""
import numpy as np
import pytest

from deepsheet.preprocessing import pad_sequences


def test_defaults_pre_pad_and_pre_truncate():
    out = pad_sequences([[1, 2, 3], [4], []])
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [[1, 2, 3], [0, 0, 4], [0, 0, 0]])
    np.testing.assert_array_equal(pad_sequences([[1, 2, 3, 4]], maxlen=2), [[3, 4]])


def test_post_and_value_and_dtype():
    out = pad_sequences([[1, 2, 3, 4], [5]], maxlen=3, padding="post", truncating="post",
                        value=-1.5, dtype="float32")
    np.testing.assert_array_equal(out, [[1, 2, 3], [5, -1.5, -1.5]])
    assert out.dtype == np.float32


def test_feature_vectors_keep_their_shape():
    seqs = [np.ones((2, 3)), np.full((1, 3), 2.0)]
    out = pad_sequences(seqs, dtype="float32")
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out[1, 0], 0)
    np.testing.assert_array_equal(out[1, 1], 2)


@pytest.mark.parametrize("kwargs,match", [
    (dict(padding="middle"), "padding"), (dict(maxlen=-1), "maxlen"),
    (dict(value=0.5), "cannot be stored"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pad_sequences([[1, 2]], **kwargs)
