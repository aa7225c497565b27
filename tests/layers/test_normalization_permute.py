"""Keras's Normalization (adapted statistics) and Permute: contract, oracles, errors."""
import numpy as np
import pytest
import torch
from layer_contract import run_layer_test
from oracle import F32, assert_close, rand
from sklearn.preprocessing import StandardScaler

import deepsheet as ds
from deepsheet import layers as L


def test_normalization_contract_with_given_statistics():
    run_layer_test(L.Normalization, dict(mean=[0.5, -1.0, 2.0], variance=[4.0, 1.0, 0.25]),
                   input_shape=(4, 3), expected_output_shape=(4, 3),
                   expected_num_trainable_weights=0, expected_num_non_trainable_weights=0)


def test_adapt_matches_standard_scaler():
    x = rand(200, 5, seed=1) * np.array([1, 10, 100, 0.1, 3], np.float32) + 7
    x[:, 3] = 2.5                                # a constant feature: 0 after, not nan
    norm = L.Normalization()
    norm.adapt(x)
    want = StandardScaler().fit_transform(x.astype(np.float64))
    got = norm(x).numpy()
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert np.all(got[:, 3] == 0)
    assert len(norm.non_trainable_weights) == 2 and not norm.trainable_weights


def test_adapt_in_batches_equals_adapt_at_once():
    x = rand(103, 4, 3, seed=2)
    whole, parts = L.Normalization(axis=(1, 2)), L.Normalization(axis=(1, 2))
    whole.adapt(x)
    parts.adapt(x[i:i + 10] for i in range(0, 103, 10))     # an iterable of batches
    for a, b in zip(whole.get_weights(), parts.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(whole.get_weights()[0], x.mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(whole.get_weights()[1], x.var(axis=0), rtol=1e-5, atol=1e-6)


def test_axis_none_and_images_per_channel():
    x = rand(6, 4, 4, 3, seed=3)
    glob = L.Normalization(axis=None)
    glob.adapt(x)
    np.testing.assert_allclose(glob(x).numpy(), (x - x.mean()) / x.std(), rtol=1e-4, atol=1e-5)
    chan = L.Normalization(axis=-1)
    chan.adapt(x)
    mu, sd = x.mean(axis=(0, 1, 2)), x.std(axis=(0, 1, 2))
    np.testing.assert_allclose(chan(x).numpy(), (x - mu) / sd, rtol=1e-4, atol=1e-5)


def test_one_dimensional_data_gets_one_mean():
    x = np.array([1.0, 2.0, 3.0, 6.0], np.float32)
    norm = L.Normalization()
    norm.adapt(x)
    np.testing.assert_allclose(norm(x).numpy(), (x - 3.0) / x.std(), rtol=1e-6)


def test_invert_undoes_normalization_and_gradient_is_the_scale():
    x = rand(50, 3, seed=4) * 5 + 2
    norm = L.Normalization()
    norm.adapt(x)
    back = L.Normalization(mean=norm.get_weights()[0], variance=norm.get_weights()[1],
                           invert=True)
    np.testing.assert_allclose(back(norm(x)).numpy(), x, rtol=1e-5, atol=1e-5)
    t = ds.tensor(x, requires_grad=True)
    norm(t).sum().backward()
    np.testing.assert_allclose(t.grad, np.broadcast_to(1 / x.std(axis=0), x.shape), rtol=1e-4)


def test_adapted_normalization_is_saved_in_a_model(tmp_path):
    x = rand(64, 4, seed=5) * 3 + 1
    norm = L.Normalization()
    norm.adapt(x)
    model = ds.Sequential([ds.Input((4,)), norm, L.Dense(2)])
    path = tmp_path / "norm.deepsheet"
    model.save(path)
    again = ds.saving.load_model(path)
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    assert again.layers[0].adapted


def test_normalization_errors_name_the_layer():
    with pytest.raises(RuntimeError, match="Normalization 'n'.*adapt"):
        L.Normalization(name="n")(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="both mean and variance"):
        L.Normalization(mean=[0.0])
    with pytest.raises(ValueError, match="cannot also adapt"):
        L.Normalization(mean=[0.0], variance=[1.0]).adapt(np.ones((2, 1)))
    with pytest.raises(ValueError, match="batch axis"):
        L.Normalization(axis=0).adapt(np.ones((4, 2)))
    norm = L.Normalization(name="m")
    norm.adapt(np.ones((4, 2)))
    with pytest.raises(ValueError, match="'m'.*built for samples of shape"):
        norm.adapt(np.ones((4, 3)))
    with pytest.raises(ValueError, match="do not fit"):
        L.Normalization(mean=[0.0, 1.0, 2.0], variance=[1.0, 1.0, 1.0])(np.ones((2, 4), np.float32))


@pytest.mark.parametrize("dims,input_shape,out_shape", [
    ((2, 1), (3, 4, 5), (3, 5, 4)),
    ((1, 2), (3, 4, 5), (3, 4, 5)),
    ((3, 1, 2), (2, 3, 4, 5), (2, 5, 3, 4)),
])
def test_permute_contract_and_torch(dims, input_shape, out_shape):
    run_layer_test(L.Permute, dict(dims=dims), input_shape=input_shape,
                   expected_output_shape=out_shape, expected_num_trainable_weights=0)
    x = rand(*input_shape, seed=6)
    t = torch.tensor(x, requires_grad=True)
    ours = ds.tensor(x, requires_grad=True)
    y, ty = L.Permute(dims)(ours), t.permute(0, *dims)
    assert_close(y.numpy(), ty.detach().numpy(), **F32, what="permute")
    w = rand(*out_shape, seed=7)
    (y * w).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    assert_close(ours.grad, t.grad.numpy(), **F32, what="permute grad")


def test_permute_errors():
    with pytest.raises(ValueError, match="permutation of 1..2"):
        L.Permute((0, 1))
    with pytest.raises(ValueError, match="Permute 'p'.*rank 3"):
        L.Permute((2, 1), name="p")(np.zeros((2, 3), np.float32))
