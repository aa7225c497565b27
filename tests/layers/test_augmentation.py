"""Augmentation layers: the layer contract, identity at inference, random and exact in training."""
import numpy as np
import pytest
from layer_contract import run_layer_test

import deepsheet as ds
from deepsheet import layers as L
from deepsheet.preprocessing import augmentation as aug

CASES = [
    (L.RandomFlip, {"mode": "horizontal_and_vertical"}),
    (L.RandomTranslation, {"height_factor": 0.2, "width_factor": (-0.1, 0.3),
                           "fill_mode": "reflect"}),
    (L.RandomCrop, {"padding": 2}),
    (L.RandomRotation, {"factor": 0.05, "fill_mode": "nearest"}),
    (L.GaussianNoise, {"stddev": 0.1}),
    (L.RandomErasing, {"p": 0.7, "value": "random"}),
]


@pytest.mark.parametrize("cls, kwargs", CASES)
def test_layer_contract_and_identity_at_inference(cls, kwargs):
    layer = run_layer_test(cls, kwargs, input_shape=(4, 6, 5, 3), expected_output_shape=(4, 6, 5, 3),
                           expected_num_trainable_weights=0, training_step=False)
    x = np.random.default_rng(0).normal(size=(4, 6, 5, 3)).astype(np.float32)
    out = layer(x)
    np.testing.assert_array_equal(out.numpy(), x)  # inference: untouched
    ds.manual_seed(1)
    train = layer(x, training=True)
    assert train.shape == x.shape and train.dtype == np.float32
    assert not np.array_equal(train.numpy(), x)
    ds.manual_seed(1)
    np.testing.assert_array_equal(layer(x, training=True).numpy(), train.numpy())  # manual_seed


def test_seeded_layers_are_reproducible_and_gradients_flow():
    x = np.random.default_rng(1).normal(size=(8, 6, 6, 2)).astype(np.float32)
    a = L.RandomTranslation(0.3, 0.3, seed=7)(x, training=True).numpy()
    b = L.RandomTranslation(0.3, 0.3, seed=7)(x, training=True).numpy()
    np.testing.assert_array_equal(a, b)
    t = ds.tensor(x, requires_grad=True)
    out = L.RandomFlip(seed=0)(t, training=True)
    out.sum().backward()
    np.testing.assert_array_equal(t.grad, np.ones_like(x))  # a permutation of the pixels
    t.grad = None
    L.RandomCrop(padding=3, seed=0)(t, training=True).sum().backward()
    assert 0 < t.grad.sum() < x.size and set(np.unique(t.grad)) <= {0.0, 1.0}


def test_flip_layer_is_exact_pixel_for_pixel():
    x = np.arange(2 * 3 * 4 * 1, dtype=np.float32).reshape(2, 3, 4, 1)
    seen = set()
    for seed in range(12):
        out = L.RandomFlip("horizontal", seed=seed)(x, training=True).numpy()
        for o, img in zip(out, x):
            if np.array_equal(o, img):
                seen.add("kept")
            else:
                np.testing.assert_array_equal(o, img[:, ::-1])
                seen.add("flipped")
    assert seen == {"kept", "flipped"}


def test_random_crop_with_a_size_centres_at_inference():
    x = np.arange(1 * 6 * 6 * 1, dtype=np.float32).reshape(1, 6, 6, 1)
    layer = L.RandomCrop(padding=0, size=(4, 2))
    np.testing.assert_array_equal(layer(x).numpy(), x[:, 1:5, 2:4])
    assert layer(x, training=True).shape == (1, 4, 2, 1)
    big = L.RandomCrop(padding=1, size=(8, 8))(x).numpy()  # the whole padded image
    np.testing.assert_array_equal(big[0, 1:7, 1:7], x[0])
    assert big[0, 0].sum() == 0 and big[0, :, 0].sum() == 0
    run_layer_test(L.RandomCrop, {"padding": 1, "size": (3, 4)}, input_shape=(2, 5, 5, 2),
                   expected_output_shape=(2, 3, 4, 2), training_step=False)


def test_in_a_model_augmentation_runs_only_in_fit():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 6, 6, 1)).astype(np.float32)
    y = rng.integers(0, 2, 32)
    ds.manual_seed(0)
    model = ds.Sequential([L.RandomFlip(input_shape=(6, 6, 1)), L.RandomTranslation(0.2, 0.2),
                           L.GaussianNoise(0.05), L.Flatten(), L.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=1, batch_size=8, verbose=0)
    p1, p2 = model.predict(X, verbose=0), model.predict(X, verbose=0)
    np.testing.assert_array_equal(p1, p2)  # inference is deterministic: no augmentation


def test_bad_configuration():
    with pytest.raises(ValueError, match=r"expects images \(N, H, W, C\)"):
        L.RandomFlip()(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="mode"):
        L.RandomFlip("sideways")
    with pytest.raises(ValueError, match="fill_mode"):
        L.RandomRotation(0.1, fill_mode="mirror-ish")
    with pytest.raises(ValueError, match="does not fit"):
        L.RandomCrop(padding=0, size=(9, 9))(np.zeros((1, 4, 4, 1), np.float32))
    with pytest.raises(ValueError, match="seed"):
        L.GaussianNoise(0.1, seed=-1)
    assert aug.FILL_MODES == ("constant", "nearest", "wrap", "reflect")
