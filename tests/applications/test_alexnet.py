"""Small AlexNet: parameter counts against a torch twin, summary, training."""
import pytest
import torch
from torch import nn

from deepsheet.applications import alexnet_small


def torch_alexnet(input_shape, classes, f, d, batch_norm=False):
    h, _, c = input_shape
    layers, cin = [], c

    def conv(cout, k):
        nonlocal cin
        block = [nn.Conv2d(cin, cout, k, padding=k // 2, bias=not batch_norm)]
        if batch_norm:
            block.append(nn.BatchNorm2d(cout))
        cin = cout
        return block + [nn.ReLU()]

    layers += conv(f[0], 5) + [nn.MaxPool2d(3, 2)] + conv(f[1], 5) + [nn.MaxPool2d(3, 2)]
    layers += conv(f[2], 3) + conv(f[3], 3) + conv(f[4], 3) + [nn.MaxPool2d(3, 2), nn.Flatten()]
    s = h
    for _ in range(3):
        s = (s - 3) // 2 + 1
    layers += [nn.Dropout(0.5), nn.Linear(f[4] * s * s, d[0]), nn.ReLU(), nn.Dropout(0.5),
               nn.Linear(d[0], d[1]), nn.ReLU(), nn.Linear(d[1], classes)]
    return nn.Sequential(*layers)


@pytest.mark.parametrize("input_shape", [(28, 28, 1), (32, 32, 3)])
def test_alexnet_default_counts(input_shape, assert_counts):
    model = alexnet_small(input_shape, 10)
    twin = torch_alexnet(input_shape, 10, (32, 96, 192, 128, 128), (256, 256))
    assert_counts(model, twin, input_shape)


def test_alexnet_batch_norm_counts(assert_counts, summary_text):
    model = alexnet_small((32, 32, 3), 5, filters=(8, 16, 24, 24, 16), dense_units=(32, 32),
                          width=1, batch_norm=True)
    twin = torch_alexnet((32, 32, 3), 5, (8, 16, 24, 24, 16), (32, 32), batch_norm=True)
    trainable, frozen = assert_counts(model, twin, (32, 32, 3))
    assert frozen == 2 * (8 + 16 + 24 + 24 + 16)
    assert "conv5_bn" in summary_text(model)


def test_alexnet_trains(assert_trains):
    model = alexnet_small((16, 16, 1), 10, filters=(4, 8, 8, 8, 8), dense_units=(16, 16),
                          width=1, dropout=0.1)
    assert_trains(model, (16, 16, 1))


def test_alexnet_bad_arguments():
    with pytest.raises(ValueError, match="5 widths"):
        alexnet_small(filters=(8, 8))
    with pytest.raises(ValueError, match="at least 15x15"):
        alexnet_small((12, 12, 3))
    with pytest.raises(ValueError, match="width"):
        alexnet_small(width=0)
