"""TextVectorization against hand-computed vocabularies and outputs; config; errors."""
import json
import math

import numpy as np
import pytest

from deepsheet.layers import CharacterVectorization, TextVectorization, deserialize, serialize

DOCS = ["The cat sat.", "the dog sat!", "The cat, the dog, THE bird?"]
# by hand: the x5, cat 2, dog 2, sat 2, bird 1; ties in reverse lexical order (Keras)
VOCAB = ["", "[UNK]", "the", "sat", "dog", "cat", "bird"]


def test_adapt_vocabulary_and_int_output():
    tv = TextVectorization()
    tv.adapt(DOCS)
    assert tv.get_vocabulary() == VOCAB
    assert tv.vocabulary_size() == 7
    out = tv(["the fish sat", "cat"]).numpy()
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, [[2, 1, 3], [5, 0, 0]])
    tv2 = TextVectorization(max_tokens=4, output_sequence_length=5)
    tv2.adapt(DOCS)
    assert tv2.get_vocabulary() == VOCAB[:4]
    np.testing.assert_array_equal(tv2(["dog sat the the the the"]).numpy(), [[1, 3, 2, 2, 2]])
    assert tv.decode([[2, 1, 3, 0]]) == ["the [UNK] sat"]


def test_bag_modes():
    texts = ["a b b", "b c"]
    for mode, row in (("multi_hot", [1, 1, 0, 0]), ("count", [1, 2, 0, 0])):
        tv = TextVectorization(output_mode=mode)
        tv.adapt(texts)
        assert tv.get_vocabulary() == ["[UNK]", "b", "c", "a"]
        np.testing.assert_array_equal(tv(["b z b"]).numpy(), [row])
    tv = TextVectorization(output_mode="tf_idf")
    tv.adapt(texts)
    idf = [math.log(1 + 2 / 3), math.log(1 + 2 / 2), math.log(1 + 2 / 2)]
    want = [np.mean(idf) * 1, 2 * idf[0], 0, idf[2]]
    np.testing.assert_allclose(tv(["b z b a"]).numpy(), [want], rtol=1e-6)
    wide = TextVectorization(max_tokens=10, output_mode="count", pad_to_max_tokens=True)
    wide.adapt(texts)
    assert wide(["a"]).shape == (1, 10)


def test_ngrams_standardize_split_and_characters():
    tv = TextVectorization(ngrams=2, standardize="lower")
    tv.adapt(["A b, c"])
    assert set(tv.get_vocabulary()[2:]) == {"a", "b,", "c", "a b,", "b, c"}
    tv = TextVectorization(split="character", standardize=None)
    tv.adapt(["aab"])
    assert tv.get_vocabulary() == ["", "[UNK]", "a", "b"]
    cv = CharacterVectorization(output_sequence_length=4)
    cv.adapt(["Hello"])
    assert cv.get_vocabulary() == ["", "[UNK]", "l", "o", "e", "H"]
    np.testing.assert_array_equal(cv(["Hole!"]).numpy(), [[5, 3, 2, 4]])
    assert cv.decode(cv(["Hole"]).numpy()) == ["Hole"]


def test_config_round_trip_keeps_the_vocabulary():
    tv = TextVectorization(max_tokens=20, ngrams=(1, 2), output_mode="tf_idf")
    tv.adapt(DOCS)
    clone = deserialize(json.loads(json.dumps(serialize(tv))))
    assert clone.get_vocabulary() == tv.get_vocabulary()
    np.testing.assert_allclose(clone(DOCS).numpy(), tv(DOCS).numpy())
    given = TextVectorization(vocabulary=["x", "y"])
    assert given.get_vocabulary() == ["", "[UNK]", "x", "y"]


def test_bad_input_errors():
    with pytest.raises(RuntimeError, match="adapt"):
        TextVectorization(name="tv_na")(["a"])
    tv = TextVectorization()
    tv.adapt(["a"])
    with pytest.raises(TypeError, match="expects strings"):
        tv([1, 2])
    with pytest.raises(TypeError, match="expects strings"):
        tv.adapt([["a"], 3])
    with pytest.raises(ValueError, match="output_mode"):
        TextVectorization(output_mode="onehot")
    with pytest.raises(ValueError, match="needs idf_weights"):
        TextVectorization(output_mode="tf_idf", vocabulary=["a"])
    with pytest.raises(ValueError, match="callable split cannot be saved"):
        TextVectorization(split=str.split).get_config()
