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
