"""ResNet: basic blocks with projection shortcuts, counts against a torch twin, training."""
import pytest
from torch import nn

from deepsheet.applications import resnet, resnet18


class TorchBasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.bn2(self.conv2(self.bn1(self.conv1(x)).relu()))
        return (y + self.shortcut(x)).relu()


def torch_resnet(channels, classes, blocks_per_stage, widths):
    layers = [nn.Conv2d(channels, widths[0], 3, padding=1, bias=False),
              nn.BatchNorm2d(widths[0]), nn.ReLU()]
    cin = widths[0]
    for s, (n, w) in enumerate(zip(blocks_per_stage, widths)):
        for b in range(n):
            layers.append(TorchBasicBlock(cin, w, 2 if (b == 0 and s > 0) else 1))
            cin = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    return nn.Sequential(*layers)


def _bn_channels(blocks_per_stage, widths):
    # stem BN + 2 per block + 1 per projection (first block of every stage whose shape changes)
    total, cin = widths[0], widths[0]
    for n, w in zip(blocks_per_stage, widths):
        total += 2 * w * n + (w if w != cin else 0)
        cin = w
    return total


def test_resnet_default_counts(assert_counts, summary_text):
    model = resnet((32, 32, 3), 10)
    blocks, widths = (2, 2, 2, 2), (16, 32, 64, 128)
    trainable, frozen = assert_counts(model, torch_resnet(3, 10, blocks, widths), (32, 32, 3))
    assert frozen == 2 * _bn_channels(blocks, widths)
    text = summary_text(model)
    for name in ("conv2_block1_1_conv", "conv3_block1_0_conv", "conv3_block1_0_bn",
                 "conv5_block2_add", "avg_pool"):
        assert name in text
    # Identity shortcuts inside a stage, projections where the shape changes.
    names = [layer.name for layer in model.layers]
    assert "conv2_block1_0_conv" not in names and "conv3_block2_0_conv" not in names
    assert model.get_layer("conv5_block2_out").output.shape == (None, 4, 4, 128)


def test_resnet18_full_width_counts(assert_counts):
    model = resnet18((32, 32, 3), 10)
    twin = torch_resnet(3, 10, (2, 2, 2, 2), (64, 128, 256, 512))
    trainable, _ = assert_counts(model, twin, (32, 32, 3))
    assert trainable == 11_173_962  # the CIFAR ResNet-18 figure


def test_resnet_custom_layout_on_28x28(assert_counts):
    # 28 -> 14 -> 7 -> 4 with Keras "same" stride-2 padding; the stem width differs from the
    # first stage's, so the very first block needs a projection too.
    model = resnet((28, 28, 1), 7, blocks_per_stage=(1, 2, 1, 1), widths=(8, 16, 16, 32))
    assert_counts(model, torch_resnet(1, 7, (1, 2, 1, 1), (8, 16, 16, 32)), (28, 28, 1))
    assert model.get_layer("conv5_block1_out").output.shape == (None, 4, 4, 32)


def test_resnet_trains(assert_trains):
    model = resnet((16, 16, 1), 10, blocks_per_stage=(1, 1), widths=(8, 16))
    assert_trains(model, (16, 16, 1))


def test_resnet_bad_arguments():
    with pytest.raises(ValueError, match="one entry"):
        resnet(blocks_per_stage=(2, 2), widths=(8, 16, 32))
    with pytest.raises(ValueError, match="one entry"):
        resnet(blocks_per_stage=(0, 2), widths=(8, 16))
