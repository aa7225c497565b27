"""Inception module and small GoogLeNet: counts against a torch twin, shapes, training."""
import numpy as np
import pytest
import torch
from torch import nn

from deepsheet.applications import GOOGLENET_LAYOUT, googlenet, inception_module
from deepsheet.layers import Input


class TorchInception(nn.Module):
    def __init__(self, cin, f1, f3r, f3, f5r, f5, fp):
        super().__init__()
        self.b1 = nn.Sequential(nn.Conv2d(cin, f1, 1), nn.ReLU())
        self.b2 = nn.Sequential(nn.Conv2d(cin, f3r, 1), nn.ReLU(), nn.Conv2d(f3r, f3, 3, padding=1),
                                nn.ReLU())
        self.b3 = nn.Sequential(nn.Conv2d(cin, f5r, 1), nn.ReLU(), nn.Conv2d(f5r, f5, 5, padding=2),
                                nn.ReLU())
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(cin, fp, 1), nn.ReLU())

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], dim=1)


def torch_googlenet(channels, classes, layout, stem):
    layers, cin = [nn.Conv2d(channels, stem, 3, padding=1), nn.ReLU()], stem
    for item in layout:
        if item == "pool":
            layers.append(nn.MaxPool2d(3, 2, padding=1))
            continue
        f = item[1]
        layers.append(TorchInception(cin, *f))
        cin = f[0] + f[2] + f[4] + f[5]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.4), nn.Linear(cin, classes)]
    return nn.Sequential(*layers)


def _counts(model):
    return (sum(int(np.prod(w.shape)) for w in model.trainable_weights),
            sum(int(np.prod(w.shape)) for w in model.non_trainable_weights))


def test_inception_module_shape_and_count(assert_counts):
    from deepsheet.models import Model
    x = Input((8, 8, 12))
    y = inception_module(x, 4, 3, 6, 2, 5, 3, name="mix")
    assert y.shape == (None, 8, 8, 4 + 6 + 5 + 3)
    model = Model(x, y)
    assert_counts(model, TorchInception(12, 4, 3, 6, 2, 5, 3), (8, 8, 12))
    assert [l.name for l in model.layers if l.name.startswith("mix")][-1] == "mix_concat"


def test_googlenet_paper_layout_counts(assert_counts, summary_text):
    # The paper's table at 1/16 width: every filter count divides by 16 except 24 (-> 2).
    model = googlenet((32, 32, 3), 10, width=1 / 16)
    layout = [item if item == "pool" else
              (item[0], tuple(max(1, round(f / 16)) for f in item[1]))
              for item in GOOGLENET_LAYOUT]
    assert_counts(model, torch_googlenet(3, 10, layout, 12), (32, 32, 3))
    assert model.get_layer("inception_5b_concat").output.shape == (None, 8, 8, 24 + 24 + 8 + 8)
    assert "inception_4e_5x5_reduce" in summary_text(model)


def test_googlenet_small_layout_batch_norm(assert_counts):
    layout = [("3a", (4, 4, 8, 2, 4, 4)), "pool", ("4a", (8, 4, 8, 2, 4, 4))]
    model = googlenet((28, 28, 1), 10, width=1, layout=layout, stem_filters=8, batch_norm=True)
    trainable, frozen = _counts(model)
    assert frozen == 2 * (8 + 4 + 4 + 8 + 2 + 4 + 4 + 8 + 4 + 8 + 2 + 4 + 4)
    no_bn = googlenet((28, 28, 1), 10, width=1, layout=layout, stem_filters=8)
    # BN swaps each conv bias (1 per channel) for gamma and beta (2 per channel).
    assert (trainable, frozen) == (_counts(no_bn)[0] + frozen // 2, frozen)


def test_googlenet_trains(assert_trains):
    layout = [("3a", (4, 4, 8, 2, 4, 4)), "pool", ("4a", (8, 4, 8, 2, 4, 4))]
    model = googlenet((16, 16, 1), 10, width=1, layout=layout, stem_filters=8, dropout=0.1,
                      batch_norm=True)
    assert_trains(model, (16, 16, 1))


def test_googlenet_bad_layout():
    with pytest.raises(ValueError, match="6 filter counts"):
        googlenet(layout=[("3a", (4, 4, 8))])
    with pytest.raises(ValueError, match="'pool'"):
        googlenet(layout=["maxpool"])
