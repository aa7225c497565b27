"""Merge layers: the layer contract, values and gradients vs torch and finite differences,
broadcasting, shape errors, and use inside a functional model."""
import numpy as np
import pytest
import torch
from layer_contract import run_layer_test
from oracle import check_op, rand

import deepsheet as ds
from deepsheet import layers as L

ELEMENTWISE = [
    (L.Add, lambda *xs: sum(xs[1:], xs[0])),
    (L.Multiply, lambda *xs: torch.stack(xs).prod(0)),
    (L.Average, lambda *xs: torch.stack(xs).mean(0)),
    (L.Maximum, lambda *xs: torch.stack(xs).max(0).values),
    (L.Minimum, lambda *xs: torch.stack(xs).min(0).values),
]


def _apply(layer):
    # call() directly: __call__ casts float64 data to float32; the float64 gradcheck needs it kept.
    return lambda *xs: layer.call(list(xs))


@pytest.mark.parametrize("cls,torch_fn", ELEMENTWISE)
@pytest.mark.parametrize("n", [2, 3])
def test_elementwise_vs_torch(cls, torch_fn, n):
    xs = [rand(3, 4, seed=i) for i in range(n)]
    check_op(_apply(cls()), torch_fn, *xs)


def test_subtract_vs_torch():
    check_op(_apply(L.Subtract()), lambda a, b: a - b, rand(2, 5, seed=1), rand(2, 5, seed=2))


@pytest.mark.parametrize("axis", [-1, 1, 2])
def test_concatenate_vs_torch(axis):
    a, b = rand(2, 3, 4, seed=1), rand(2, 3, 4, seed=2)
    check_op(_apply(L.Concatenate(axis=axis)), lambda x, y: torch.cat([x, y], dim=axis), a, b)


def test_concatenate_unequal_sizes_and_symbolic_shape():
    x1, x2 = ds.Input((3,)), ds.Input((5,))
    assert L.Concatenate()([x1, x2]).shape == (None, 8)
    out = L.Concatenate()([rand(2, 3), rand(2, 5)])
    assert out.shape == (2, 8) and out.dtype == np.float32


def test_broadcasting_size_one():
    out = L.Add()([rand(2, 1, 4, seed=1), rand(2, 3, 4, seed=2)])
    assert out.shape == (2, 3, 4)
    assert L.Multiply()([ds.Input((1, 4)), ds.Input((3, 4))]).shape == (None, 3, 4)
    check_op(_apply(L.Add()), lambda a, b: a + b, rand(2, 1, 4, seed=1), rand(2, 3, 4, seed=2))


@pytest.mark.parametrize("cls", [L.Add, L.Subtract, L.Multiply, L.Average, L.Maximum,
                                 L.Minimum, L.Concatenate])
def test_merge_contract(cls):
    layer = run_layer_test(PairMerge, {"merge": cls.__name__}, input_shape=(2, 3),
                           expected_output_shape=(2, 6 if cls is L.Concatenate else 3))
    assert isinstance(layer.merge, cls)


class PairMerge(L.Layer):
    """Feeds [x, 2x] to a merge layer so the single-input contract helper can drive it."""

    def __init__(self, merge="Add", **kwargs):
        super().__init__(**kwargs)
        self.merge_name = merge
        self.merge = ds.layers.get_class(merge)()

    def call(self, inputs, training=False):
        return self.merge([inputs, inputs * 2.0])

    def get_config(self):
        return {**super().get_config(), "merge": self.merge_name}


def test_errors_name_the_layer():
    with pytest.raises(ValueError, match="Add 'bad_add'.*same shape"):
        L.Add(name="bad_add")([ds.Input((3,)), ds.Input((4,))])
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        L.Subtract()([ds.Input((3,))] * 3)
    with pytest.raises(ValueError, match="at least 2 inputs"):
        L.Add()([ds.Input((3,))])
    with pytest.raises(ValueError, match="list of tensors"):
        L.Add()(ds.Input((3,)))
    with pytest.raises(ValueError, match="other sizes agree"):
        L.Concatenate(axis=-1)([ds.Input((2, 3)), ds.Input((4, 3))])
    with pytest.raises(ValueError, match="batch axis"):
        L.Concatenate(axis=0)([ds.Input((3,)), ds.Input((3,))])


def test_residual_block_trains_and_round_trips():
    x = ds.Input((4,))
    h = L.Dense(4, activation="relu")(x)
    y = L.Dense(1)(L.Concatenate()([L.Add()([x, h]), L.Multiply()([x, h])]))
    model = ds.Model(x, y)
    config = model.get_config()
    clone = ds.Model.from_config(config)
    clone.set_weights(model.get_weights())
    data = rand(5, 4, seed=3)
    np.testing.assert_array_equal(clone.predict(data, verbose=0), model.predict(data, verbose=0))
