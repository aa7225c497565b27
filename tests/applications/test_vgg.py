"""VGG: layouts, parameter counts against a torch twin, receptive field of a block, training."""
import pytest
from torch import nn

from deepsheet.applications import VGG_LAYOUTS, vgg


def torch_vgg(input_shape, classes, blocks, dense_units, batch_norm=False):
    h, _, c = input_shape
    layers, cin, s = [], c, h
    for n, f in blocks:
        for _ in range(n):
            layers.append(nn.Conv2d(cin, f, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(f))
            layers.append(nn.ReLU())
            cin = f
        layers.append(nn.MaxPool2d(2, ceil_mode=True))  # = Keras "same" 2x2/2 pooling
        s = -(-s // 2)
    layers.append(nn.Flatten())
    units = cin * s * s
    for d in dense_units:
        layers += [nn.Linear(units, d), nn.ReLU(), nn.Dropout(0.5)]
        units = d
    layers.append(nn.Linear(units, classes))
    return nn.Sequential(*layers)


@pytest.mark.parametrize("layout", sorted(VGG_LAYOUTS))
def test_vgg_layouts_counts(layout, assert_counts):
    blocks = [(n, f // 16) for n, f in VGG_LAYOUTS[layout]]
    model = vgg((32, 32, 3), 10, blocks=layout, width=1 / 16, dense_units=(64,))
    assert model.name == layout
    assert_counts(model, torch_vgg((32, 32, 3), 10, blocks, (64,)), (32, 32, 3))


def test_vgg_default_small_on_28x28(assert_counts, summary_text):
    # The default is VGG-11 at 1/4 width; "same" pooling takes 28 -> 14 -> 7 -> 4 -> 2 -> 1.
    model = vgg((28, 28, 1), 10)
    blocks = [(1, 16), (1, 32), (2, 64), (2, 128), (2, 128)]
    assert_counts(model, torch_vgg((28, 28, 1), 10, blocks, (256, 256)), (28, 28, 1))
    assert model.get_layer("block5_pool").output.shape == (None, 1, 1, 128)
    assert "block3_conv2" in summary_text(model)


def test_vgg_batch_norm_counts(assert_counts):
    blocks = [(2, 8), (2, 16)]
    model = vgg((28, 28, 1), 10, blocks=blocks, width=1, dense_units=(32,), batch_norm=True)
    _, frozen = assert_counts(model, torch_vgg((28, 28, 1), 10, blocks, (32,), True),
                              (28, 28, 1))
    assert frozen == 2 * (8 + 8 + 16 + 16)


def test_vgg_trains(assert_trains):
    model = vgg((16, 16, 1), 10, blocks=[(2, 8), (2, 16)], width=1, dense_units=(32,),
                dropout=0.1, batch_norm=True)
    assert_trains(model, (16, 16, 1))


def test_vgg_bad_arguments():
    with pytest.raises(ValueError, match="unknown layout 'vgg12'"):
        vgg(blocks="vgg12")
    with pytest.raises(ValueError, match="blocks"):
        vgg(blocks=[(0, 8)])
    with pytest.raises(ValueError, match="blocks"):
        vgg(blocks=[8, 16])
