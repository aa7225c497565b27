"""StringLookup and IntegerLookup against hand-computed vocabularies and encodings."""
import numpy as np
import pytest

from deepsheet import layers as L

DATA = [["b", "a", "c", "a"], ["a", "b", "d", "a"]]       # a:4, b:2, c:1, d:1


def test_adapt_orders_by_frequency_and_maps_unknowns_to_oov():
    lookup = L.StringLookup()
    lookup.adapt(DATA)
    # ties (c, d: one each) in reverse order, as TextVectorization and Keras
    assert lookup.get_vocabulary() == ["[UNK]", "a", "b", "d", "c"]
    assert lookup.get_vocabulary(include_special_tokens=False) == ["a", "b", "d", "c"]
    assert lookup.vocabulary_size() == 5
    out = lookup([["a", "zebra"], ["c", "d"]])
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), [[1, 0], [4, 3]])


def test_mask_token_takes_index_zero_and_masks():
    lookup = L.StringLookup(mask_token="", vocabulary=["a", "b"])
    assert lookup.get_vocabulary() == ["", "[UNK]", "a", "b"]
    out = lookup([["a", "b", "?", ""]])
    np.testing.assert_array_equal(out.numpy(), [[2, 3, 1, 0]])
    np.testing.assert_array_equal(out._keras_mask, [[True, True, True, False]])


def test_several_oov_indices_hash_stably_into_their_range():
    lookup = L.StringLookup(num_oov_indices=3, vocabulary=["a"])
    unknown = [f"w{i}" for i in range(50)]
    ids = lookup(unknown).numpy()
    assert set(ids.tolist()) <= {0, 1, 2} and len(set(ids.tolist())) == 3
    np.testing.assert_array_equal(lookup(unknown).numpy(), ids)       # same token, same index
    assert lookup(["a"]).numpy().tolist() == [3]


def test_no_oov_index_makes_unknown_tokens_an_error():
    lookup = L.StringLookup(num_oov_indices=0, vocabulary=["a"], name="strict")
    assert lookup(["a"]).numpy().tolist() == [0]
    with pytest.raises(KeyError, match="'strict'.*'b' is not in the vocabulary"):
        lookup(["b"])


def test_bag_modes_by_hand():
    vocab = ["a", "b", "c"]                                     # indices 1, 2, 3; OOV 0
    x = [["a", "a", "z"], ["c", "b", "b"]]
    np.testing.assert_array_equal(L.StringLookup(vocabulary=vocab, output_mode="multi_hot")(x)
                                  .numpy(), [[1, 1, 0, 0], [0, 0, 1, 1]])
    np.testing.assert_array_equal(L.StringLookup(vocabulary=vocab, output_mode="count")(x)
                                  .numpy(), [[1, 2, 0, 0], [0, 0, 2, 1]])
    np.testing.assert_array_equal(L.StringLookup(vocabulary=vocab, output_mode="one_hot")(
        ["b", "q"]).numpy(), [[0, 0, 1, 0], [1, 0, 0, 0]])
    padded = L.StringLookup(vocabulary=vocab, output_mode="multi_hot", max_tokens=6,
                            pad_to_max_tokens=True)(x)
    assert padded.shape == (2, 6)


def test_tf_idf_by_hand():
    lookup = L.StringLookup(output_mode="tf_idf")
    lookup.adapt([["a", "a", "b"], ["a", "c", "c"]])            # a in 2 docs, b and c in 1
    assert lookup.get_vocabulary() == ["[UNK]", "a", "c", "b"]
    idf_a, idf_1 = np.log(1 + 2 / 3), np.log(1 + 2 / 2)
    want = [np.mean([idf_a, idf_1, idf_1]), 2 * idf_a, 0.0, idf_1]  # OOV gets the mean idf
    np.testing.assert_allclose(lookup([["a", "b", "a", "zz"]]).numpy()[0], want, rtol=1e-6)


def test_invert_round_trips():
    lookup = L.StringLookup(vocabulary=["a", "b", "c"], mask_token="")
    back = L.StringLookup(vocabulary=["a", "b", "c"], mask_token="", invert=True)
    x = np.array([["a", "c", "?", ""]], dtype=object)
    assert back(lookup(x)).tolist() == [["a", "c", "[UNK]", ""]]
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 5\)"):
        back(np.array([[7]]))
    with pytest.raises(TypeError, match="integer indices"):
        back(np.array([[1.5]]))


def test_config_round_trip_keeps_the_vocabulary():
    lookup = L.StringLookup(mask_token="", num_oov_indices=2, max_tokens=10, name="look")
    lookup.adapt(DATA)
    again = L.StringLookup.from_config(lookup.get_config())
    assert again.get_vocabulary() == lookup.get_vocabulary()
    x = [["a", "d", "new", ""]]
    np.testing.assert_array_equal(again(x).numpy(), lookup(x).numpy())


def test_integer_lookup():
    lookup = L.IntegerLookup()
    lookup.adapt(np.array([12, 36, 36, 1138, 36, 12]))
    assert lookup.get_vocabulary() == [-1, 36, 12, 1138]
    np.testing.assert_array_equal(lookup(np.array([[36, 7], [1138, 12]])).numpy(),
                                  [[1, 0], [3, 2]])
    back = L.IntegerLookup(vocabulary=[36, 12, 1138], invert=True)
    np.testing.assert_array_equal(back(np.array([1, 0, 3])), [36, -1, 1138])
    assert lookup(np.array([36.0, 12.0])).numpy().tolist() == [1, 2]     # whole floats pass


def test_max_tokens_keeps_the_most_frequent():
    lookup = L.StringLookup(max_tokens=3)
    lookup.adapt(DATA)
    assert lookup.get_vocabulary() == ["[UNK]", "a", "b"]


def test_errors_name_the_layer():
    with pytest.raises(RuntimeError, match="StringLookup 's' has no vocabulary yet"):
        L.StringLookup(name="s")(["a"])
    with pytest.raises(TypeError, match="StringLookup 's' expects strings.*int"):
        L.StringLookup(name="s", vocabulary=["a"])([["a", 3]])
    with pytest.raises(TypeError, match="IntegerLookup 'i' expects integers"):
        L.IntegerLookup(name="i", vocabulary=[1])(np.array([1.5]))
    with pytest.raises(ValueError, match="repeated"):
        L.StringLookup(vocabulary=["a", "a"])
    with pytest.raises(ValueError, match="reserved token"):
        L.StringLookup(vocabulary=["a", "[UNK]"])
    with pytest.raises(ValueError, match="output_mode must be one of"):
        L.StringLookup(output_mode="binary")
    with pytest.raises(ValueError, match="mask_token is only used"):
        L.StringLookup(mask_token="", output_mode="count")
    with pytest.raises(ValueError, match="one_hot encodes one token per sample"):
        L.StringLookup(vocabulary=["a"], output_mode="one_hot")([["a", "a"]])
    with pytest.raises(ValueError, match="exceed max_tokens"):
        L.StringLookup(vocabulary=["a", "b", "c"], max_tokens=3)


def test_lookups_inside_saved_models(tmp_path):
    import deepsheet as ds
    inp = ds.Input(shape=(3,), dtype="string")
    x = L.StringLookup(vocabulary=["a", "b", "c"], mask_token="")(inp)
    x = L.Embedding(5, 4)(x)
    out = L.Dense(1)(L.Flatten()(x))
    model = ds.Model(inp, out)
    xs = np.array([["a", "b", "z"], ["c", "", ""]])
    model.compile("adam", "mse")
    model.fit(xs, np.ones((2, 1), np.float32), epochs=1, verbose=0)
    model.save(tmp_path / "text.deepsheet")
    again = ds.saving.load_model(tmp_path / "text.deepsheet")
    np.testing.assert_array_equal(again.predict(xs, verbose=0), model.predict(xs, verbose=0))

    codes = ds.Input(shape=(2,), dtype="int64")
    bag = L.IntegerLookup(vocabulary=[10, 20], output_mode="multi_hot")(codes)
    assert ds.Model(codes, bag).predict(np.array([[10, 7]]), verbose=0).tolist() == [[1, 1, 0]]
    with pytest.raises(TypeError, match="IntegerLookup 'ints' takes integers.*dtype string"):
        L.IntegerLookup(vocabulary=[1], name="ints")(inp)
    with pytest.raises(TypeError, match="StringLookup 'strs' takes text"):
        L.StringLookup(vocabulary=["a"], name="strs")(codes)
