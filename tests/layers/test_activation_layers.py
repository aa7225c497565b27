"""ReLU, LeakyReLU, PReLU, ELU, Softmax through the layer contract and against PyTorch."""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")

import deepsheet as ds  # noqa: E402
from deepsheet import layers  # noqa: E402
from layer_contract import compare_with_torch, run_layer_test  # noqa: E402

MASK = np.array([[1, 1, 0, 0], [1, 1, 1, 0]], bool)


@pytest.mark.parametrize("cls,kwargs,twin", [
    (layers.ReLU, {}, lambda: torch.nn.ReLU()),
    (layers.ReLU, {"max_value": 6.0}, lambda: torch.nn.ReLU6()),
    (layers.LeakyReLU, {}, lambda: torch.nn.LeakyReLU(0.3)),
    (layers.LeakyReLU, {"negative_slope": 0.01}, lambda: torch.nn.LeakyReLU(0.01)),
    (layers.ELU, {"alpha": 0.7}, lambda: torch.nn.ELU(0.7)),
    (layers.Softmax, {}, lambda: torch.nn.Softmax(-1)),
])
def test_activation_layers(cls, kwargs, twin):
    x = np.random.default_rng(0).normal(scale=4, size=(2, 4, 3)).astype(np.float32)
    run_layer_test(cls, kwargs, input_shape=(2, 4, 3), input_mask=MASK,
                   expected_output_mask=True)
    compare_with_torch(cls(**kwargs), twin(), x)


def test_relu_threshold_and_slope_follow_keras_formula():
    x = np.linspace(-3, 9, 25).astype(np.float32)[None]
    out = layers.ReLU(max_value=6.0, negative_slope=0.2, threshold=1.0)(x).numpy()
    want = np.where(x >= 6.0, 6.0, np.where(x >= 1.0, x, 0.2 * (x - 1.0)))
    np.testing.assert_allclose(out, want, rtol=1e-6)


def test_prelu_learns_its_slope_like_torch():
    x = np.random.default_rng(1).normal(size=(3, 4, 4, 2)).astype(np.float32)
    run_layer_test(layers.PReLU, {"alpha_initializer": "ones", "shared_axes": [1, 2]},
                   input_shape=(3, 4, 4, 2), expected_num_trainable_weights=1)
    layer = layers.PReLU(alpha_initializer=ds.init.Constant(0.25), shared_axes=[1, 2])
    twin = torch.nn.PReLU(2)

    def copy(ours, _):
        twin.weight.copy_(torch.from_numpy(ours.get_weights()[0].reshape(-1)))

    # PyTorch's PReLU puts channels on axis 1: compare on channels-first data
    perm = (0, 3, 1, 2)
    ours = compare_with_torch(layer, lambda t: twin(t.permute(*perm)).permute(0, 2, 3, 1), x,
                              copy)
    assert ours.shape == x.shape and layer.alpha.shape == (1, 1, 2)
    ys = layer(ds.tensor(x))
    (ys * ys).sum().backward()
    twin_out = twin(torch.from_numpy(x).permute(*perm))
    (twin_out * twin_out).sum().backward()
    np.testing.assert_allclose(layer.alpha.grad.reshape(-1), twin.weight.grad.numpy(),
                               rtol=1e-4, atol=1e-4)


def test_softmax_gives_masked_entries_no_probability():
    z = np.random.default_rng(2).normal(size=(2, 4)).astype(np.float32)
    p = layers.Softmax()(z, mask=MASK).numpy()
    np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-6)
    assert np.all(p[~MASK] < 1e-30)


def test_bad_arguments_name_the_layer():
    with pytest.raises(ValueError, match="LeakyReLU: negative_slope must be a number >= 0"):
        layers.LeakyReLU(-0.1)
    with pytest.raises(ValueError, match="ReLU: max_value"):
        layers.ReLU(max_value=-1.0)
    with pytest.raises(ValueError, match=r"PReLU 'pr'.*shared axis 3"):
        layers.PReLU(shared_axes=[3], name="pr")(np.ones((2, 3), np.float32))


class ContractPair(layers.Layer):
    """Two positional inputs, a keyword input, a mask, two outputs."""

    supports_masking = True

    def call(self, a, b, scale=None, mask=None):
        s = a + b if scale is None else (a + b) * scale
        return s, a * b

    def compute_output_shape(self, a_shape, *args, **kwargs):
        return [a_shape, a_shape]


def test_contract_helper_covers_several_inputs_keywords_masks_and_outputs():
    run_layer_test(ContractPair, input_shape=(2, 4, 3), extra_inputs=[(2, 4, 3)],
                   call_kwargs={"scale": np.full((2, 4, 3), 0.5, np.float32)},
                   input_mask=MASK, expected_output_mask=True,
                   expected_output_shape=[(2, 4, 3), (2, 4, 3)])
