"""LeNet-5: classic layout and parameter count against a torch twin, summary, training."""
import pytest
import torch
from torch import nn

from deepsheet.applications import lenet5


def torch_lenet5(input_shape, classes):
    h, _, c = input_shape
    pad = 2 if h < 32 else 0  # "same" for 5x5 on 28x28
    return nn.Sequential(
        nn.Conv2d(c, 6, 5, padding=pad), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(),
        nn.Linear(84, classes))


@pytest.mark.parametrize("input_shape, classes", [((28, 28, 1), 10), ((32, 32, 3), 7)])
def test_lenet5_counts_and_layout(input_shape, classes, assert_counts):
    model = lenet5(input_shape, classes)
    assert_counts(model, torch_lenet5(input_shape, classes), input_shape)
    # Both sizes give the paper's feature maps: 28x28x6, 14, 10x10x16, 5x5x16.
    assert model.get_layer("c1").output.shape == (None, 28, 28, 6)
    assert model.get_layer("s4").output.shape == (None, 5, 5, 16)
    assert model.output.shape == (None, classes)


def test_lenet5_paper_count(summary_text):
    model = lenet5()
    assert model.count_params() == 61706
    text = summary_text(model)
    for name in ("c1", "s2", "c3", "s4", "c5", "f6", "predictions"):
        assert name in text


def test_lenet5_trains(assert_trains):
    assert_trains(lenet5((28, 28, 1), 10, activation="relu", pooling="max"), (28, 28, 1))


def test_lenet5_bad_arguments():
    with pytest.raises(ValueError, match="at least 28x28"):
        lenet5((16, 16, 1))
    with pytest.raises(ValueError, match="input_shape"):
        lenet5((28, 28))
    with pytest.raises(ValueError, match="pooling"):
        lenet5(pooling="min")
    with pytest.raises(ValueError, match="classes"):
        lenet5(classes=0)


def test_torch_twin_is_lenet():
    assert sum(p.numel() for p in torch_lenet5((28, 28, 1), 10).parameters()) == 61706
    assert torch_lenet5((32, 32, 1), 10)(torch.zeros(2, 1, 32, 32)).shape == (2, 10)
