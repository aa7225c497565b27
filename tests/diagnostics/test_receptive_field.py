"""Receptive field, jump, start and size against hand-worked LeNet-5 and VGG values."""
import pytest

from deepsheet.diagnostics import (ReceptiveFieldTable, receptive_field,
                                   receptive_field_from_specs)

# LeNet-5 on 32x32, worked by hand with r_out = r_in + (F-1)·j_in, j_out = j_in·S and
# start_out = start_in + ((F-1)/2 - P_before)·j_in:
#   C1 5x5/1: r = 1+4·1 = 5,   j = 1, start = 0+2·1   = 2,    size 28
#   S2 2x2/2: r = 5+1·1 = 6,   j = 2, start = 2+0.5·1 = 2.5,  size 14
#   C3 5x5/1: r = 6+4·2 = 14,  j = 2, start = 2.5+2·2 = 6.5,  size 10
#   S4 2x2/2: r = 14+1·2 = 16, j = 4, start = 6.5+0.5·2 = 7.5, size 5
#   C5 5x5/1: r = 16+4·4 = 32, j = 4, start = 7.5+2·4 = 15.5 (the image centre), size 1
LENET_R = [1, 5, 6, 14, 16, 32]
LENET_J = [1, 1, 2, 2, 4, 4]
LENET_START = [0.0, 2.0, 2.5, 6.5, 7.5, 15.5]
LENET_SIZE = [32, 28, 14, 10, 5, 1]
LENET_SPECS = [(5, 1, 0, 1), (2, 2), (5,), (2, 2), dict(kernel=5, name="C5")]

# VGG block: 3x3 "same" conv, 3x3 "same" conv, 2x2/2 max pool.
VGG_R, VGG_J, VGG_START = [1, 3, 5, 6], [1, 1, 1, 2], [0.0, 0.0, 0.0, 0.5]


def test_specs_lenet5_hand_worked():
    t = receptive_field_from_specs(LENET_SPECS, input_size=32)
    assert isinstance(t, ReceptiveFieldTable) and len(t) == 6
    assert t.column("r") == LENET_R
    assert t.column("j") == LENET_J
    assert t.column("start") == LENET_START
    assert t.column("size") == LENET_SIZE
    assert t["C5"]["r"] == 32 and t[-1]["name"] == "C5"


@pytest.mark.parametrize("padding", [1, "same", (1, 1)])
def test_specs_vgg_block_hand_worked(padding):
    t = receptive_field_from_specs([(3, 1, padding), (3, 1, padding), (2, 2)], input_size=32)
    assert t.column("r") == VGG_R
    assert t.column("j") == VGG_J
    assert t.column("start") == VGG_START
    assert t.column("size") == [32, 32, 32, 16]


def test_specs_dilation_and_strided_same():
    # dilation 2 on a 3x3: F_eff = 5 -> r grows by 4·j; stride-2 "same" on 7 pads (1, 1).
    t = receptive_field_from_specs([(3, 1, "same"), (3, 2, "same"), (3, 1, "same", 2)],
                                   input_size=7)
    assert t.column("r") == [1, 3, 5, 13]
    assert t.column("j") == [1, 1, 2, 2]
    assert t.column("size") == [7, 7, 4, 4]
    assert t.column("padding")[1:] == [1, 1, 2]


def test_specs_without_input_size():
    t = receptive_field_from_specs([3, (3, 1, "same"), (2, 2)])
    assert t.column("r") == [1, 3, 5, 6] and t.column("size") == [None] * 4
    with pytest.raises(ValueError, match="input_size"):
        receptive_field_from_specs([(3, 2, "same")])


def test_specs_bad_input():
    with pytest.raises(ValueError, match="spec 0"):
        receptive_field_from_specs([(3, 1, 0, 1, 9)])
    with pytest.raises(ValueError, match="spec 1 stride"):
        receptive_field_from_specs([3, (3, 0)])
    with pytest.raises(ValueError, match="does not fit"):
        receptive_field_from_specs([5, 5], input_size=6)
    with pytest.raises(ValueError, match="input_size"):
        receptive_field_from_specs([3], input_size=0)
    with pytest.raises(KeyError, match="no layer 'nope'"):
        receptive_field_from_specs([3])["nope"]


def test_table_prints_aligned():
    text = str(receptive_field_from_specs(LENET_SPECS, input_size=32))
    lines = text.splitlines()
    assert lines[0].split() == ["layer", "type", "k", "s", "p", "d", "size", "j", "r", "start"]
    assert lines[-1].split() == ["C5", "Window", "5", "1", "0", "1", "1", "4", "32", "15.5"]
    assert len({len(line) for line in lines[2:]}) == 1


# ----------------------------------------------------------------- along a model's graph
def _model(build, input_shape):
    import deepsheet as ds
    x = ds.Input(input_shape)
    return ds.Model(x, build(x))


def _square(table, key):
    values = table.column(key)
    assert all(v is None or len(set(v)) == 1 for v in values), values
    return [None if v is None else v[0] for v in values]


def test_model_lenet5_32x32_hand_worked():
    from deepsheet.applications import lenet5
    t = receptive_field(lenet5((32, 32, 1)))
    assert t.column("name")[:6] == ["input", "c1", "s2", "c3", "s4", "flatten"]
    # Flatten sees all 5x5 positions of S4: 16 + (5-1)·4 = 32, the C5 of the paper.
    assert _square(t, "r")[:6] == LENET_R
    assert _square(t, "j")[:6] == LENET_J
    assert _square(t, "start")[:6] == LENET_START
    assert _square(t, "size")[:6] == LENET_SIZE
    assert t["predictions"]["r"] == (32, 32) and t["c1"]["kernel"] == (5, 5)


def test_model_lenet5_28x28_same_padding_shifts_start():
    from deepsheet.applications import lenet5
    t = receptive_field(lenet5((28, 28, 1)))
    # Same r and j as on 32x32; C1's 2-pixel padding moves every start 2 pixels left,
    # and the final field is centred on the 28x28 image (13.5).
    assert _square(t, "r")[:6] == LENET_R
    assert _square(t, "start")[:6] == [0.0, 0.0, 0.5, 4.5, 5.5, 13.5]
    assert _square(t, "size")[:6] == [28, 28, 14, 10, 5, 1]
    assert t["c1"]["padding"] == (2, 2)


def test_model_vgg_blocks_hand_worked():
    from deepsheet.applications import vgg
    t = receptive_field(vgg((32, 32, 3), 10, blocks=[(2, 8), (2, 8)], width=1))
    names = ["block1_conv1", "block1_conv2", "block1_pool",
             "block2_conv1", "block2_conv2", "block2_pool"]
    rows = [t[n] for n in names]
    # block 2 continues with j = 2: 6 + 2·2 = 10, 10 + 2·2 = 14, 14 + 1·2 = 16, j = 4.
    assert [r["r"][0] for r in rows] == [3, 5, 6, 10, 14, 16]
    assert [r["j"][0] for r in rows] == [1, 1, 2, 2, 2, 4]
    assert [r["size"][0] for r in rows] == [32, 32, 16, 16, 16, 8]
    assert [r["start"][0] for r in rows] == [0.0, 0.0, 0.5, 0.5, 0.5, 1.5]


def test_model_branches_take_the_maximum():
    from deepsheet import layers

    def residual(x):
        a = layers.Conv2D(4, 3, padding="same", name="a1")(x)
        a = layers.Conv2D(4, 3, padding="same", name="a2")(a)
        b = layers.Conv2D(4, 1, name="shortcut")(x)
        return layers.Add(name="add")([b, a])

    t = receptive_field(_model(residual, (16, 16, 3)))
    assert t["shortcut"]["r"] == (1, 1) and t["a2"]["r"] == (5, 5)
    assert t["add"]["r"] == (5, 5) and t["add"]["size"] == (16, 16)

    from deepsheet.applications import inception_module
    t = receptive_field(_model(lambda x: inception_module(x, 2, 2, 2, 2, 2, 2, name="m"),
                               (8, 8, 3)))
    assert [t[f"m_{b}"]["r"][0] for b in ("1x1", "3x3", "5x5", "pool_proj")] == [1, 3, 5, 3]
    assert t["m_concat"]["r"] == (5, 5)


def test_model_resnet_projection_and_keras_same_offset():
    from deepsheet.applications import resnet
    t = receptive_field(resnet((32, 32, 3), 10, blocks_per_stage=(1, 1), widths=(4, 8)))
    # Stem 3, block 1 adds two 3x3 (7); stride-2 3x3 adds 2·1 (9), then 3x3 at j=2 (13).
    assert t["conv2_block1_add"]["r"] == (7, 7)
    assert t["conv3_block1_0_conv"]["r"] == (7, 7) and t["conv3_block1_0_conv"]["j"] == (2, 2)
    assert t["conv3_block1_add"]["r"] == (13, 13) and t["conv3_block1_add"]["j"] == (2, 2)
    # Keras "same" with stride 2 on an even size pads (0, 1): the 3x3 path starts 1 pixel
    # right of the 1x1 projection.
    assert t["conv3_block1_1_conv"]["padding"] == (0, 0)
    assert t["conv3_block1_1_conv"]["start"] == (1.0, 1.0)
    assert t["conv3_block1_0_conv"]["start"] == (0.0, 0.0)
    # Global pooling covers the 16x16 map: 13 + 15·2 = 43.
    assert t["avg_pool"]["r"] == (43, 43) and t["avg_pool"]["size"] == (1, 1)


def test_model_rectangular_dilated_padding_and_cropping():
    from deepsheet import layers

    def net(x):
        x = layers.ZeroPadding2D(((1, 1), (2, 2)), name="pad")(x)
        x = layers.Conv2D(2, (3, 1), strides=(1, 2), dilation_rate=(2, 1), name="conv")(x)
        return layers.Cropping2D(((1, 0), (0, 0)), name="crop")(x)

    t = receptive_field(_model(net, (10, 12, 1)))
    assert t["pad"]["size"] == (12, 16) and t["pad"]["start"] == (-1.0, -2.0)
    # rows: F_eff = 5 -> r = 5, start = -1 + 2 = 1, size 12 - 4 = 8;
    # cols: F = 1, stride 2 -> r = 1, j = 2, size (16 - 1)//2 + 1 = 8.
    assert t["conv"]["r"] == (5, 1) and t["conv"]["j"] == (1, 2)
    assert t["conv"]["start"] == (1.0, -2.0) and t["conv"]["size"] == (8, 8)
    assert t["crop"]["size"] == (7, 8) and t["crop"]["start"] == (2.0, -2.0)
    assert "5x1" in t.table()


def test_model_sequences_and_causal_padding():
    from deepsheet import layers
    t = receptive_field(_model(
        lambda x: layers.Conv1D(2, 3, padding="causal", dilation_rate=2, name="c")(
            layers.Conv1D(2, 3, padding="causal", name="b")(x)), (20, 4)))
    # WaveNet-style: 1 + 2 + 4 = 7, and each output's field ends at its own time step.
    assert t["b"]["r"] == (3,) and t["c"]["r"] == (7,)
    assert t["c"]["start"] == (-3.0,) and t["c"]["size"] == (20,)


def test_model_sequential_nested_and_unknown_size():
    import deepsheet as ds
    from deepsheet import layers
    seq = ds.Sequential([layers.Conv2D(2, 3, input_shape=(12, 12, 1), name="s_conv"),
                         layers.MaxPooling2D(2, name="s_pool")])
    assert receptive_field(seq)["s_pool"]["r"] == (4, 4)

    inner = _model(lambda x: layers.Conv2D(2, 3, name="inner_conv")(x), (12, 12, 2))
    outer = _model(lambda x: inner(layers.Conv2D(2, 3, padding="same", name="first")(x)),
                   (12, 12, 1))
    t = receptive_field(outer)
    assert t[f"{inner.name}/inner_conv"]["r"] == (5, 5)

    free = _model(lambda x: layers.Conv2D(2, 3, strides=2, padding="same", name="c")(x),
                  (None, None, 1))
    with pytest.raises(ValueError, match="input_size"):
        receptive_field(free)
    assert receptive_field(free, input_size=9)["c"]["size"] == (5, 5)


def test_model_unsupported():
    from deepsheet import layers
    up = _model(lambda x: layers.UpSampling2D(name="up")(x), (4, 4, 1))
    with pytest.raises(ValueError, match="'up'.*upsamples"):
        receptive_field(up)
    mlp = _model(lambda x: layers.Dense(3)(x), (5,))
    with pytest.raises(ValueError, match="image"):
        receptive_field(mlp)
    reshape = _model(lambda x: layers.Reshape((8, 2, 1), name="rs")(x), (4, 4, 1))
    with pytest.raises(ValueError, match="'rs'.*not supported"):
        receptive_field(reshape)
