"""conv_output_size, "same" padding and padding specs against hand-worked values."""
import math

import pytest

from deepsheet.diagnostics import (conv_output_size, conv_transpose_output_size, resolve_padding,
                                   same_padding)
from deepsheet.diagnostics.conv_arithmetic import conv_transpose_padding, normalize_tuple


@pytest.mark.parametrize("args, expected", [
    # LeNet-5 on 32x32: C1 5x5 -> 28, S2 2/2 -> 14, C3 5x5 -> 10, S4 2/2 -> 5, C5 5x5 -> 1
    ((32, 5), 28), ((28, 2, 0, 2), 14), ((14, 5), 10), ((10, 2, 0, 2), 5), ((5, 5), 1),
    # AlexNet conv1 (227 input, 11x11, stride 4) and its famous 224 off-by-three
    ((227, 11, 0, 4), 55), ((224, 11, 0, 4), 54),
    # padded "same"-like 3x3 and 5x5
    ((28, 3, 1), 28), ((28, 5, 2), 28),
    # strided with padding: (7 - 3 + 2)/2 + 1 = 4
    ((7, 3, 1, 2), 4),
    # dilated: F_eff = 2*(3-1)+1 = 5; (7 - 5 + 2)/2 + 1 = 3
    ((7, 3, 1, 2, 2), 3), ((9, 3, 0, 1, 4), 1),
    # asymmetric padding (before, after): (6 - 3 + 0 + 1)/1 + 1 = 5
    ((6, 3, (0, 1)), 5),
    # floor: (8 - 3)/2 + 1 = 3.5 -> 3
    ((8, 3, 0, 2), 3),
])
def test_conv_output_size_hand_worked(args, expected):
    assert conv_output_size(*args) == expected


def test_conv_output_size_strict_rejects_inexact_division():
    assert conv_output_size(227, 11, 0, 4, strict=True) == 55
    with pytest.raises(ValueError, match="not an integer"):
        conv_output_size(224, 11, 0, 4, strict=True)


@pytest.mark.parametrize("args", [(4, 5), (4, 3, 0, 1, 2), (0, 1)])
def test_conv_output_size_window_must_fit(args):
    with pytest.raises(ValueError, match="does not fit"):
        conv_output_size(*args)


def test_conv_output_size_padding_makes_it_fit():
    assert conv_output_size(4, 5, 1) == 2


@pytest.mark.parametrize("bad", [dict(S=0), dict(F=0), dict(P=-1), dict(dilation=0), dict(W=2.5)])
def test_conv_output_size_rejects_bad_arguments(bad):
    args = dict(W=8, F=3, P=0, S=1, dilation=1)
    args.update(bad)
    with pytest.raises(ValueError):
        conv_output_size(**args)


@pytest.mark.parametrize("args, expected", [
    ((28, 3), (1, 1)), ((28, 5), (2, 2)), ((28, 1), (0, 0)),
    ((28, 4), (1, 2)),           # even kernel: the extra row goes to the bottom/right
    ((5, 3, 2), (1, 1)),         # 3 outputs: (3-1)*2 + 3 - 5 = 2
    ((6, 3, 2), (0, 1)),         # 3 outputs: (3-1)*2 + 3 - 6 = 1, all of it after
    ((4, 2, 2), (0, 0)),         # 2x2 stride-2 pooling of an even size needs none
    ((5, 2, 2), (0, 1)),
    ((10, 3, 1, 2), (2, 2)),     # dilation 2: F_eff = 5
    ((3, 7), (3, 3)),            # padding larger than the input is fine
])
def test_same_padding_split(args, expected):
    assert same_padding(*args) == expected


def test_same_padding_gives_ceil_output_size():
    for W in range(1, 12):
        for F in range(1, 6):
            for S in range(1, 4):
                for d in (1, 2):
                    p = same_padding(W, F, S, d)
                    assert conv_output_size(W, F, p, S, d) == math.ceil(W / S), (W, F, S, d)
                    assert 0 <= p[1] - p[0] <= 1


def test_resolve_padding_forms():
    assert resolve_padding("valid", (8, 9), (3, 3)) == ((0, 0), (0, 0))
    assert resolve_padding("SAME", (6, 5), (3, 2), (2, 2)) == ((0, 1), (0, 1))
    assert resolve_padding(2, (8, 8), 3) == ((2, 2), (2, 2))
    assert resolve_padding((1, 2), (8, 8), 3) == ((1, 1), (2, 2))
    assert resolve_padding(((0, 1), (2, 3)), (8, 8), 3) == ((0, 1), (2, 3))
    assert resolve_padding((1, 2), (8,), 3) == ((1, 2),)  # one axis: a (left, right) pair
    for bad in ("full", -1, (1, 2, 3), ((1, 2, 3), (0, 0)), 1.5):
        with pytest.raises(ValueError, match="padding"):
            resolve_padding(bad, (8, 8), 3)


def test_normalize_tuple():
    assert normalize_tuple(3, 2, "kernel_size") == (3, 3)
    assert normalize_tuple((3, 1), 2, "kernel_size") == (3, 1)
    with pytest.raises(ValueError, match="kernel_size"):
        normalize_tuple((3, 1, 1), 2, "kernel_size")
    with pytest.raises(ValueError, match="strides"):
        normalize_tuple(0, 2, "strides")


@pytest.mark.parametrize("args, kwargs, expected", [
    ((14, 3, "same", 2), {}, 28),              # Keras: W*S
    ((14, 3, "valid", 2), {}, 29),             # (W-1)*S + max(F, S)
    ((14, 1, "valid", 2), {}, 28),             # F < S: (W-1)*S + S
    ((14, 3, "same", 2), dict(output_padding=1), 28),   # (W-1)*S + F%2 + op
    ((14, 4, "same", 2), dict(output_padding=0), 26),
    ((4, 3, 1, 2), dict(output_padding=1), 8),          # PyTorch formula with padding 1
    ((5, 3, 0, 1, 2), {}, 9),                  # dilation 2: F_eff = 5
])
def test_conv_transpose_output_size(args, kwargs, expected):
    assert conv_transpose_output_size(*args, **kwargs) == expected


@pytest.mark.parametrize("W, F, P, S, d", [(5, 3, 1, 2, 1), (4, 4, (1, 2), 2, 1), (6, 3, 0, 1, 2)])
def test_conv_transpose_size_inverts_conv_size(W, F, P, S, d):
    n = conv_transpose_output_size(W, F, P, S, d)
    assert conv_output_size(n, F, P, S, d) == W


def test_conv_transpose_same_crop_matches_keras_rule():
    # without output_padding "same" crops max(floor((F_eff - S) / 2), 0) at the start
    for F in range(1, 6):
        for S in range(1, 4):
            before, op = conv_transpose_padding("same", F, S)
            assert before == max((F - S) // 2, 0) and op is None
    assert conv_transpose_padding("valid", 3, 2) == (0, 0)
    assert conv_transpose_padding("valid", 1, 2) == (0, 1)
