"""MobileNet: depthwise-separable blocks and the width multiplier against a torch twin."""
import numpy as np
import pytest
from torch import nn

from deepsheet.applications import MOBILENET_LAYOUT, mobilenet


def torch_mobilenet(channels, classes, alpha, layout, stem=32, multiplier=1):
    def c(n):
        return max(1, round(n * alpha))

    layers = [nn.Conv2d(channels, c(stem), 3, padding=1, bias=False), nn.BatchNorm2d(c(stem)),
              nn.ReLU()]
    cin = c(stem)
    for filters, stride in layout:
        dw = cin * multiplier
        layers += [nn.Conv2d(cin, dw, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(dw),
                   nn.ReLU(), nn.Conv2d(dw, c(filters), 1, bias=False),
                   nn.BatchNorm2d(c(filters)), nn.ReLU()]
        cin = c(filters)
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(1e-3), nn.Linear(cin, classes)]
    return nn.Sequential(*layers)


@pytest.mark.parametrize("alpha", [1.0, 0.25])
def test_mobilenet_counts(alpha, assert_counts):
    model = mobilenet((32, 32, 3), 10, alpha=alpha)
    assert model.name == f"mobilenet_{alpha:g}"
    twin = torch_mobilenet(3, 10, alpha, MOBILENET_LAYOUT)
    assert_counts(model, twin, (32, 32, 3))


def test_mobilenet_alpha_one_is_the_paper_body():
    # MobileNet v1 at alpha 1 has 3,206,976 trainable weights before its classifier
    # (4.2M with the 1000-way one); our 10-way head adds 1024·10 + 10.
    model = mobilenet((32, 32, 3), 10)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == 3_206_976 + 10_250


def test_mobilenet_depth_multiplier_and_28x28(assert_counts, summary_text):
    layout = ((16, 2), (32, 2), (32, 1))
    model = mobilenet((28, 28, 1), 5, alpha=0.5, depth_multiplier=2, layout=layout,
                      stem_strides=2)
    twin = torch_mobilenet(1, 5, 0.5, layout, multiplier=2)
    twin[0].stride = (2, 2)
    assert_counts(model, twin, (28, 28, 1))
    assert model.get_layer("conv_dw_3_pw_relu").output.shape == (None, 4, 4, 16)
    assert "conv_dw_2_dw" in summary_text(model)


def test_mobilenet_trains(assert_trains):
    model = mobilenet((16, 16, 1), 10, alpha=0.25, layout=((16, 2), (32, 2), (32, 1)))
    assert_trains(model, (16, 16, 1))


def test_mobilenet_bad_arguments():
    with pytest.raises(ValueError, match="alpha"):
        mobilenet(alpha=-1)
    with pytest.raises(ValueError, match="depth_multiplier"):
        mobilenet(depth_multiplier=1.5)
    with pytest.raises(ValueError, match="layout"):
        mobilenet(layout=[64])
