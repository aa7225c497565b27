"""Convolution arithmetic: output sizes, "same" padding and padding specs (not public here).

Public as ``deepsheet.diagnostics`` (``conv_output_size``, ``same_padding``, ...), which
re-exports it; it lives down here so that the convolution and pooling functions can use it
without importing the diagnostics. This module is the one place where every convolution and pooling function or layer
computes its output shape, so the cheat sheet's formula is written once:

    N = floor((W - F_eff + 2P) / S) + 1,    F_eff = d·(F - 1) + 1

where W is the input size along one axis, F the window (kernel) size, d the dilation,
P the zero padding on each side and S the stride. With unequal padding
(P_before, P_after) the term 2P becomes P_before + P_after.

"same" padding follows Keras/TensorFlow: the total padding along an axis is

    P_total = max((ceil(W / S) - 1)·S + F_eff - W, 0)

split as P_before = floor(P_total / 2), P_after = P_total - P_before, so the odd extra
row or column goes to the bottom/right (PyTorch's ``padding="same"`` puts it on the same
side but refuses strides > 1).
"""
from __future__ import annotations

import numbers

__all__ = ["conv_output_size", "same_padding", "resolve_padding",
           "conv_transpose_output_size", "conv_transpose_padding"]


def _check_int(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def normalize_tuple(value, n, name, minimum=1):
    """``value`` (an int or a sequence of ``n`` ints) as a tuple of ``n`` ints >= ``minimum``.

    Keras's rule for ``kernel_size``, ``strides``, ``dilation_rate`` and ``pool_size``.
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (_check_int(value, name, minimum),) * n
    try:
        items = tuple(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer or a tuple of {n} integers, "
                         f"got {value!r}") from None
    if len(items) != n:
        raise ValueError(f"{name} must be an integer or a tuple of {n} integers, got {value!r}")
    return tuple(_check_int(v, name, minimum) for v in items)


def _pair(P):
    if isinstance(P, numbers.Integral) and not isinstance(P, bool):
        return (_check_int(P, "padding P", 0),) * 2
    try:
        before, after = P
    except (TypeError, ValueError):
        raise ValueError(f"padding P must be an integer or a (before, after) pair, "
                         f"got {P!r}") from None
    return _check_int(before, "padding P", 0), _check_int(after, "padding P", 0)


def conv_output_size(W, F, P=0, S=1, dilation=1, strict=False):
    """Number of window positions along one axis: floor((W − F_eff + 2P)/S) + 1.

    Formula
    -------
        F_eff = dilation·(F − 1) + 1
        N     = floor((W + P_before + P_after − F_eff) / S) + 1

    Parameters
    ----------
    W : int
        Input size along the axis.
    F : int
        Window (kernel or pool) size.
    P : int or (int, int)
        Zero padding on each side, or (before, after).
    S : int
        Stride.
    dilation : int
        Spacing between window taps (1 = contiguous window).
    strict : bool
        If True, raise when the division is not exact (some input rows at the end are
        never covered by a window), as in the CS231n "the filters must fit" rule.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        When the (dilated) window is larger than the padded input, or with
        ``strict=True`` when (W − F_eff + 2P) is not a multiple of S.

    Examples
    --------
    >>> conv_output_size(32, 5)            # LeNet-5 C1: 32x32 -> 28x28
    28
    >>> conv_output_size(227, 11, 0, 4)    # AlexNet conv1
    55
    >>> conv_output_size(7, 3, 1, 2, dilation=2)
    3
    """
    W = _check_int(W, "input size W", 0)
    F = _check_int(F, "window size F", 1)
    S = _check_int(S, "stride S", 1)
    dilation = _check_int(dilation, "dilation", 1)
    before, after = _pair(P)
    f_eff = dilation * (F - 1) + 1
    span = W + before + after - f_eff
    if span < 0:
        dil = f" (dilated to {f_eff} by dilation {dilation})" if dilation > 1 else ""
        raise ValueError(
            f"window of size {F}{dil} does not fit in an input of size {W} padded to "
            f"{W + before + after} (padding {before}+{after}); use a smaller window, more "
            f"padding or padding='same'")
    if strict and span % S:
        raise ValueError(
            f"(W - F_eff + P_before + P_after) / S = ({W} - {f_eff} + {before} + {after}) / {S} "
            f"is not an integer: the last {span % S} row(s) of the padded input are never covered")
    return span // S + 1


def same_padding(W, F, S=1, dilation=1):
    """Keras/TensorFlow "same" padding along one axis, as (before, after).

    Formula
    -------
        N       = ceil(W / S)
        P_total = max((N − 1)·S + F_eff − W, 0)
        before  = floor(P_total / 2),  after = P_total − before   (extra at bottom/right)

    Examples
    --------
    >>> same_padding(28, 3)
    (1, 1)
    >>> same_padding(28, 4)        # even kernel: the extra row goes after
    (1, 2)
    >>> same_padding(5, 3, S=2)    # 3 outputs need 2 rows of padding
    (1, 1)
    >>> same_padding(6, 3, S=2)
    (0, 1)
    """
    W = _check_int(W, "input size W", 0)
    F = _check_int(F, "window size F", 1)
    S = _check_int(S, "stride S", 1)
    dilation = _check_int(dilation, "dilation", 1)
    f_eff = dilation * (F - 1) + 1
    n_out = -(-W // S)
    total = max((n_out - 1) * S + f_eff - W, 0)
    return total // 2, total - total // 2


def resolve_padding(padding, spatial_shape, kernel_size, strides=1, dilation=1,
                    name="padding"):
    """Turn a padding spec into one (before, after) pair per spatial axis.

    Parameters
    ----------
    padding : "valid", "same", int, tuple of ints or tuple of pairs
        "valid" is no padding; "same" is Keras's (see ``same_padding``); an int pads every
        side by that much; ``(ph, pw)`` pads each axis symmetrically; ``((top, bottom),
        (left, right))`` is explicit. For one spatial axis a single pair ``(left, right)``
        is also accepted.
    spatial_shape, kernel_size, strides, dilation : tuples of ints (or ints)
        One entry per spatial axis; only "same" needs them.
    name : str
        Used in error messages (e.g. the layer's name).

    Returns
    -------
    tuple of (int, int)

    Examples
    --------
    >>> resolve_padding("same", (28, 28), (3, 3))
    ((1, 1), (1, 1))
    >>> resolve_padding(((0, 1), (2, 3)), (8, 8), (3, 3))
    ((0, 1), (2, 3))
    """
    spatial_shape = tuple(spatial_shape)
    n = len(spatial_shape)
    kernel_size = normalize_tuple(kernel_size, n, "kernel_size")
    strides = normalize_tuple(strides, n, "strides")
    dilation = normalize_tuple(dilation, n, "dilation_rate")
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return ((0, 0),) * n
        if mode == "same":
            return tuple(same_padding(w, f, s, d)
                         for w, f, s, d in zip(spatial_shape, kernel_size, strides, dilation))
        raise ValueError(f"{name} must be 'valid', 'same', an int or (before, after) pairs, "
                         f"got {padding!r}")
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        p = _check_int(padding, name, 0)
        return ((p, p),) * n
    try:
        items = tuple(padding)
    except TypeError:
        raise ValueError(f"{name} must be 'valid', 'same', an int or (before, after) pairs, "
                         f"got {padding!r}") from None
    if n == 1 and len(items) == 2 and all(isinstance(v, numbers.Integral) for v in items):
        return ((_check_int(items[0], name, 0), _check_int(items[1], name, 0)),)
    if len(items) != n:
        raise ValueError(f"{name} needs {n} entries (one per spatial axis), got {padding!r}")
    out = []
    for item in items:
        if isinstance(item, numbers.Integral) and not isinstance(item, bool):
            p = _check_int(item, name, 0)
            out.append((p, p))
        else:
            try:
                before, after = item
            except (TypeError, ValueError):
                raise ValueError(f"{name} entries must be ints or (before, after) pairs, "
                                 f"got {padding!r}") from None
            out.append((_check_int(before, name, 0), _check_int(after, name, 0)))
    return tuple(out)


def conv_transpose_padding(padding, F, S=1, dilation=1, output_padding=None):
    """Keras's transposed-convolution padding along one axis, as (crop_before, crop_after_adj).

    A transposed convolution first spreads each input cell over a "full" output of size
    (W − 1)·S + F_eff, then crops ``before`` cells at the start; the output size is given
    by ``conv_transpose_output_size``. "valid" crops nothing; "same" crops
    max(floor((F_eff − S)/2), 0) cells without ``output_padding`` (so the output is W·S),
    and follows Keras's rule with it.

    Returns
    -------
    (int, int)
        (before, extra): the crop at the start and the ``output_padding`` actually added
        after the formula size.
    """
    f_eff = dilation * (F - 1) + 1
    mode = padding.lower() if isinstance(padding, str) else None
    if mode == "valid":
        op = max(f_eff, S) - f_eff if output_padding is None else output_padding
        return 0, op
    if mode == "same":
        if output_padding is None:
            pad_len = S + f_eff - 2
            op = None
        else:
            pad_len = f_eff + f_eff % 2 - 2 + output_padding
            op = output_padding
        left = min(pad_len // 2 + pad_len % 2, f_eff - 1)
        return f_eff - 1 - left, op
    raise ValueError(f"padding must be 'valid' or 'same' here, got {padding!r}")


def conv_transpose_output_size(W, F, P=0, S=1, dilation=1, output_padding=None):
    """Output size of a transposed convolution along one axis.

    Formula
    -------
        N = (W − 1)·S + F_eff − P_before − P_after + output_padding

    It is the inverse of ``conv_output_size``: a convolution with the same F, P, S and
    dilation maps N back to W. ``P`` may be "valid" or "same" (Keras's rules: "same" gives
    W·S when ``output_padding`` is None, "valid" gives (W − 1)·S + max(F_eff, S)).

    Examples
    --------
    >>> conv_transpose_output_size(14, 3, "same", 2)
    28
    >>> conv_transpose_output_size(14, 3, "valid", 2)
    29
    >>> conv_transpose_output_size(4, 3, 1, 2, output_padding=1)
    8
    """
    W = _check_int(W, "input size W", 0)
    F = _check_int(F, "window size F", 1)
    S = _check_int(S, "stride S", 1)
    dilation = _check_int(dilation, "dilation", 1)
    f_eff = dilation * (F - 1) + 1
    if isinstance(P, str):
        if P.lower() == "same" and output_padding is None:
            return W * S
        before, op = conv_transpose_padding(P, F, S, dilation, output_padding)
        if P.lower() == "valid":
            return (W - 1) * S + f_eff + op
        return (W - 1) * S + f_eff % 2 + op
    before, after = _pair(P)
    op = 0 if output_padding is None else _check_int(output_padding, "output_padding", 0)
    size = (W - 1) * S + f_eff - before - after + op
    if size < 1:
        raise ValueError(f"transposed convolution output size {size} < 1 "
                         f"(W={W}, F={F}, padding {before}+{after}, stride {S})")
    return size
