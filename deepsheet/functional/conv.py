"""Convolutions on channels-last data: conv2d, conv1d, conv2d_transpose, depthwise_conv2d.

Layouts follow Keras: images (N, H, W, C), sequences (N, T, C); kernels (kh, kw, C_in/groups,
C_out) for conv2d, (k, C_in, C_out) for conv1d, (kh, kw, C_out, C_in) for conv2d_transpose and
(kh, kw, C_in, multiplier) for depthwise_conv2d. Each is one graph node, bias included.

Like every deep-learning library (and unlike the textbook definition) these compute a
cross-correlation: the kernel is not flipped. Output sizes come from
``deepsheet.diagnostics.conv_output_size``; "same" padding puts an odd extra row/column at
the bottom/right, as Keras does. The kernels live in ``_im2col.py`` and ``_conv_grads.py``.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..backend import array_module
from ._conv_arithmetic import (conv_transpose_output_size, conv_transpose_padding,
                               normalize_tuple, resolve_padding)
from . import _winograd
from ._conv_grads import conv_backward
from ._im2col import conv_forward
from ._kernels import Geometry, chunk_size
from ._util import as_tensor

__all__ = ["conv2d", "conv1d", "conv2d_transpose", "depthwise_conv2d"]


def channels_first_hint(shape, channels):
    """A hint when an (N, C, H, W) array seems to have been given instead of (N, H, W, C)."""
    if len(shape) == 4 and shape[1] == channels and shape[-1] != channels:
        return ("; it looks channels-first (N, C, H, W): deepsheet images are channels-last "
                "(N, H, W, C), use x.transpose(0, 2, 3, 1)")
    if len(shape) == 4 and shape[1] in (1, 3) and shape[-1] not in (1, 3) and shape[-1] > 4:
        return (f"; shape {tuple(shape)} looks channels-first (N, C, H, W): deepsheet images are "
                f"channels-last (N, H, W, C), use x.transpose(0, 2, 3, 1)")
    return ""


def _fused_relu(fname, activation):
    if activation not in (None, "linear", "relu"):
        raise ValueError(f"{fname}: activation must be None, 'linear' or 'relu' (fused), got "
                         f"{activation!r}; apply other activations to the result")
    return activation == "relu"


def _check_rank(x, rank, what, fname):
    if x.ndim != rank:
        raise ValueError(f"{fname}: {what} must have rank {rank}, got shape {tuple(x.shape)}")


def _geometry(fname, x_shape, kernel_hw, strides, padding, dilation_rate):
    strides = normalize_tuple(strides, 2, f"{fname} strides")
    dilation = normalize_tuple(dilation_rate, 2, f"{fname} dilation_rate")
    pads = resolve_padding(padding, x_shape[1:3], kernel_hw, strides, dilation,
                           name=f"{fname} padding")
    try:
        return Geometry(x_shape[1], x_shape[2], kernel_hw[0], kernel_hw[1], strides, dilation,
                        pads)
    except ValueError as exc:
        raise ValueError(f"{fname}: input of shape {tuple(x_shape)} with kernel "
                         f"{tuple(kernel_hw)}: {exc}") from None


# ---------------------------------------------------------------- conv2d

class Conv2dOp(Function):
    """y = im2col(x) @ W + b on channels-last images (see ``conv2d``)."""

    def forward(self, x, w, b):
        self.geo = geo = _geometry(self.fname, x.shape, w.shape[:2], self.strides,
                                   self.padding, self.dilation_rate)
        # Keep what backward needs: x only for the weight gradient, w only for the input's.
        self.x = x if self.needs_input_grad[1] else None
        self.w = w
        self.has_bias = b is not None
        self.x_shape, self.V = x.shape, None
        # 3x3 "same" with enough channels: Winograd's F(2x2, 3x3) (``_winograd.py``), which
        # keeps its transformed input for dL/dW instead of x.
        dtype = np.result_type(x.dtype, w.dtype)
        self.wino = self.groups == 1 and _winograd.usable(x.shape, w.shape, geo,
                                                          array_module(x), dtype)
        if self.wino:
            keep = self.needs_input_grad[1] and _winograd.keeps_transform(x.shape, dtype)
            y, self.V = _winograd.conv2d_forward(x, w, b, self.relu, keep, WINOGRAD_CHUNK)
            if keep:
                self.x = None
        else:
            y = conv_forward(x, w, b, geo, self.groups, relu=self.relu)
        # A fused ReLU's backward needs its output (an array, not the output tensor).
        self.y = y if self.relu else None
        return y

    def backward(self, gy):
        need_x, need_w = self.needs_input_grad[0], self.needs_input_grad[1]
        need_b = self.has_bias and self.needs_input_grad[2]
        if self.wino:
            return _winograd.conv2d_backward(self.x, self.x_shape, self.w, gy, self.V, self.y,
                                             need_x, need_w, need_b, WINOGRAD_CHUNK)
        gx, gw, gb = conv_backward(self.x, self.w, gy, self.geo, self.groups,
                                   need_x, need_w, need_b, relu_out=self.y)
        return gx, gw, gb


# Samples per chunk of the Winograd path (``_winograd``; as the fused node's).
WINOGRAD_CHUNK = 8


def _check_conv_inputs(fname, x, w, b, groups, kernel_rank=4):
    _check_rank(w, kernel_rank, "kernel", fname)
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{fname}: groups must be a positive integer, got {groups!r}")
    cin = w.shape[-2] * groups
    if x.shape[-1] != cin:
        hint = channels_first_hint(x.shape, cin)
        g = f" (= {w.shape[-2]} per group x {groups} groups)" if groups > 1 else ""
        raise ValueError(f"{fname}: kernel of shape {tuple(w.shape)} expects {cin} input "
                         f"channels{g} on the last axis, got input of shape {tuple(x.shape)}{hint}")
    if w.shape[-1] % groups:
        raise ValueError(f"{fname}: output channels {w.shape[-1]} must be divisible by "
                         f"groups={groups}")
    if b is not None and tuple(b.shape) != (w.shape[-1],):
        raise ValueError(f"{fname}: bias must have shape ({w.shape[-1]},), got {tuple(b.shape)}")


def _image_kernel_bias(fname, x, w, b, layout, channels):
    """x, w and b as tensors, checked: rank-4 image and kernel, the kernel's input channels
    on the image's last axis, a bias of one value per output channel. ``channels(w.shape)``
    gives (input channels, output channels) for the kernel ``layout``."""
    x, w = as_tensor(x), as_tensor(w)
    b = None if b is None else as_tensor(b)
    _check_rank(x, 4, "input", fname)
    _check_rank(w, 4, "kernel", fname)
    cin, cout = channels(w.shape)
    if x.shape[-1] != cin:
        raise ValueError(f"{fname}: kernel of shape {tuple(w.shape)} {layout} expects {cin} input "
                         f"channels on the last axis, got input of shape {tuple(x.shape)}"
                         f"{channels_first_hint(x.shape, cin)}")
    if b is not None and tuple(b.shape) != (cout,):
        raise ValueError(f"{fname}: bias must have shape ({cout},), got {tuple(b.shape)}")
    return x, w, b


def conv2d(x, w, b=None, strides=1, padding="valid", dilation_rate=1, groups=1,
           activation=None):
    """2-D convolution (cross-correlation) of channels-last images, bias in the same node.

    Formula
    -------
        y[n, p, q, o] = b[o] + Σ_{i, j, c} x_pad[n, p·S_h + i·d_h, q·S_w + j·d_w, g·C_g + c]
                                         · W[i, j, c, o]          (g = o // (O / groups))

        H_out = floor((H + P_top + P_bottom − d_h·(kh − 1) − 1) / S_h) + 1   (same for W)

    As a matrix product: y = A W + b with A = im2col(x), one row per output cell holding its
    kh·kw·C_g window. Gradients, with G = dL/dy flattened to (N·H_out·W_out, O):

        dL/dW = Aᵀ G,    dL/db = Σ_rows G,    dL/dx = col2im(G Wᵀ)

    where col2im adds each window row back to the cells it was read from. With
    ``activation="relu"`` the node computes y = max(0, A W + b) and G is first multiplied
    by [y > 0] (one pass fewer over the output than a separate ReLU).

    Parameters
    ----------
    x : Tensor, shape (N, H, W, C)
    w : Tensor, shape (kh, kw, C / groups, O)  (Keras layout)
    b : Tensor of shape (O,), optional
    strides : int or (int, int)
    padding : "valid", "same", int, (ph, pw) or ((top, bottom), (left, right))
        "same" is Keras's (output size ceil(H / S); extra padding at the bottom/right).
    dilation_rate : int or (int, int)
    groups : int
        Split the C input channels into ``groups`` blocks, each convolved with its own
        O / groups filters (groups = C with one filter each is a depthwise convolution;
        prefer ``depthwise_conv2d`` for that).
    activation : None, "linear" or "relu"
        "relu" is fused into the node; apply other activations to the result.

    Shape
    -----
    (N, H, W, C) -> (N, H_out, W_out, O)

    Matches ``torch.nn.functional.conv2d`` on NCHW data with the kernel transposed to
    (O, C / groups, kh, kw) and explicit padding.

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> x = ds.tensor(np.ones((1, 5, 5, 1), np.float32))
    >>> w = ds.tensor(np.ones((3, 3, 1, 2), np.float32))
    >>> ds.functional.conv2d(x, w, padding="same").shape
    (1, 5, 5, 2)
    >>> float(ds.functional.conv2d(x, w)[0, 0, 0, 0])
    9.0
    """
    x, w = as_tensor(x), as_tensor(w)
    b = None if b is None else as_tensor(b)
    _check_rank(x, 4, "input", "conv2d")
    _check_conv_inputs("conv2d", x, w, b, groups)
    return Conv2dOp.apply(x, w, b, strides=strides, padding=padding, dilation_rate=dilation_rate,
                        groups=int(groups), fname="conv2d", relu=_fused_relu("conv2d", activation))


# ---------------------------------------------------------------- conv1d

class Conv1dOp(Conv2dOp):
    """A 1-D convolution run as a 2-D one over an image of height 1."""

    def forward(self, x, w, b):
        return super().forward(x[:, None], w[None], b)[:, 0]

    def backward(self, gy):
        gx, gw, gb = super().backward(gy[:, None])
        return (None if gx is None else gx[:, 0], None if gw is None else gw[0], gb)


def conv1d(x, w, b=None, strides=1, padding="valid", dilation_rate=1, groups=1,
           activation=None):
    """1-D convolution of channels-last sequences (Keras ``Conv1D``), bias in the same node.

    Formula
    -------
        y[n, t, o] = b[o] + Σ_{i, c} x_pad[n, t·S + i·d, c] · W[i, c, o]
        T_out = floor((T + P_left + P_right − d·(k − 1) − 1) / S) + 1

    Gradients as for ``conv2d`` with a height of 1.

    Parameters
    ----------
    x : Tensor, shape (N, T, C)
    w : Tensor, shape (k, C / groups, O)
    b : Tensor of shape (O,), optional
    strides, dilation_rate : int
    padding : "valid", "same", "causal", int or (left, right)
        "causal" pads d·(k − 1) zeros on the left only, so y[t] sees no input after t
        (WaveNet; Keras's ``padding="causal"``).
    groups : int
    activation : None, "linear" or "relu" (fused, as in ``conv2d``)

    Shape
    -----
    (N, T, C) -> (N, T_out, O)

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> x = ds.tensor(np.ones((2, 10, 3), np.float32))
    >>> w = ds.tensor(np.ones((4, 3, 8), np.float32))
    >>> ds.functional.conv1d(x, w, padding="causal").shape
    (2, 10, 8)
    """
    x, w = as_tensor(x), as_tensor(w)
    b = None if b is None else as_tensor(b)
    _check_rank(x, 3, "input", "conv1d")
    _check_conv_inputs("conv1d", x, w, b, groups, kernel_rank=3)
    strides = normalize_tuple(strides, 1, "conv1d strides")[0]
    dilation = normalize_tuple(dilation_rate, 1, "conv1d dilation_rate")[0]
    if isinstance(padding, str) and padding.lower() == "causal":
        pads = ((0, 0), (dilation * (w.shape[0] - 1), 0))
    else:
        pads = ((0, 0),) + resolve_padding(padding, x.shape[1:2], w.shape[:1], strides, dilation,
                                           name="conv1d padding")
    return Conv1dOp.apply(x, w, b, strides=(1, strides), padding=pads,
                        dilation_rate=(1, dilation), groups=int(groups), fname="conv1d",
                        relu=_fused_relu("conv1d", activation))


# ---------------------------------------------------------------- conv2d_transpose

class Conv2dTransposeOp(Function):
    """The input-gradient of a convolution, run forward (see ``conv2d_transpose``)."""

    def forward(self, x, w, b):
        # geo describes the convolution that maps our OUTPUT back to our input.
        self.geo = geo = self.geo_
        N = x.shape[0]
        xp = array_module(x)
        dtype = np.result_type(x.dtype, w.dtype)
        y = xp.zeros((N, geo.H, geo.W, w.shape[2]), dtype)
        conv_backward(None, w, x, geo, 1, True, False, False, gx=y)
        if b is not None:
            y += b
        self.x = x if self.needs_input_grad[1] else None
        self.w = w
        self.has_bias = b is not None
        return y

    def backward(self, gy):
        need_x, need_w = self.needs_input_grad[0], self.needs_input_grad[1]
        gx = gw = gb = None
        if need_x:
            gx = conv_forward(gy, self.w, None, self.geo, 1)
        if need_w:
            # dL/dW[i,j,o,c] = Σ gy-window · x: the weight gradient of the forward
            # convolution with the roles of input and output gradient swapped.
            _, gw, _ = conv_backward(gy, self.w, self.x, self.geo, 1, False, True, False)
        if self.has_bias and self.needs_input_grad[2]:
            gb = gy.reshape(-1, gy.shape[-1]).sum(axis=0)
        return gx, gw, gb


def conv2d_transpose(x, w, b=None, strides=1, padding="valid", output_padding=None,
                     dilation_rate=1):
    """Transposed 2-D convolution ("deconvolution"), Keras ``Conv2DTranspose`` semantics.

    The gradient of ``conv2d`` with respect to its input, used as a layer: each input cell
    scatters a copy of the kernel, scaled by its value, onto a grid with spacing S.

    Formula
    -------
        full[n, h·S_h + i·d_h, w·S_w + j·d_w, o] += x[n, h, w, c] · W[i, j, o, c]
        y[n, p, q, o] = full[n, p + P_top, q + P_left, o] + b[o]
        H_out = (H − 1)·S_h + d_h·(kh − 1) + 1 − P_top − P_bottom + output_padding

    Gradients: dL/dx = conv2d(dL/dy, W) with the same strides, padding and dilation;
    dL/dW is that convolution's weight gradient with x in the role of dL/dy.

    Parameters
    ----------
    x : Tensor, shape (N, H, W, C_in)
    w : Tensor, shape (kh, kw, O, C_in)  (Keras layout)
    b : Tensor of shape (O,), optional
    strides, dilation_rate : int or (int, int)
    padding : "valid", "same", int, (ph, pw) or ((top, bottom), (left, right))
        "valid": H_out = (H − 1)·S + max(F_eff, S); "same": H_out = H·S (Keras). Integers
        crop as PyTorch's ``padding`` does.
    output_padding : int or (int, int), optional
        Extra rows/columns at the bottom/right (each < max(stride, dilation)); with
        "same"/"valid" it follows Keras's rule.

    Shape
    -----
    (N, H, W, C_in) -> (N, H_out, W_out, O)

    Matches ``torch.nn.functional.conv_transpose2d`` with the kernel transposed to
    (C_in, O, kh, kw), for the equivalent padding and output_padding.

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> x = ds.tensor(np.ones((1, 4, 4, 3), np.float32))
    >>> w = ds.tensor(np.ones((3, 3, 2, 3), np.float32))
    >>> ds.functional.conv2d_transpose(x, w, strides=2, padding="same").shape
    (1, 8, 8, 2)
    """
    fname = "conv2d_transpose"
    x, w, b = _image_kernel_bias(fname, x, w, b, "(kh, kw, out, in)", lambda s: (s[3], s[2]))
    strides = normalize_tuple(strides, 2, f"{fname} strides")
    dilation = normalize_tuple(dilation_rate, 2, f"{fname} dilation_rate")
    ops = None if output_padding is None else normalize_tuple(output_padding, 2,
                                                              f"{fname} output_padding", 0)
    for k in range(2):
        if ops is not None and ops[k] >= max(strides[k], dilation[k]):
            raise ValueError(f"{fname}: output_padding {ops} must be smaller than the stride "
                             f"{strides} or the dilation {dilation}")
    kernel = w.shape[:2]
    if isinstance(padding, str):
        per_axis = [padding, padding]
        befores = [conv_transpose_padding(padding, kernel[k], strides[k], dilation[k],
                                          None if ops is None else ops[k])[0] for k in range(2)]
    else:
        per_axis = resolve_padding(padding, (1, 1), (1, 1), name=f"{fname} padding")
        befores = [per_axis[0][0], per_axis[1][0]]
    try:
        sizes = [conv_transpose_output_size(x.shape[1 + k], kernel[k], per_axis[k], strides[k],
                                            dilation[k], None if ops is None else ops[k])
                 for k in range(2)]
    except ValueError as exc:
        raise ValueError(f"{fname}: input of shape {tuple(x.shape)} with kernel {kernel}: "
                         f"{exc}") from None
    geo = Geometry(sizes[0], sizes[1], kernel[0], kernel[1], strides, dilation,
                   ((befores[0], 0), (befores[1], 0)), out_hw=tuple(x.shape[1:3]))
    return Conv2dTransposeOp.apply(x, w, b, geo_=geo)


# ---------------------------------------------------------------- depthwise_conv2d

class DepthwiseConv2dOp(Function):
    """Per-channel convolution as kh·kw shifted multiply-adds (see ``depthwise_conv2d``)."""

    def forward(self, x, w, b):
        self.geo = geo = _geometry("depthwise_conv2d", x.shape, w.shape[:2], self.strides,
                                   self.padding, self.dilation_rate)
        xp = array_module(x)
        N, H, W, C = x.shape
        M = w.shape[3]
        dtype = np.result_type(x.dtype, w.dtype)
        out = xp.zeros((N, geo.Ho, geo.Wo, C, M), dtype)
        taps = geo.taps()
        chunk = chunk_size(N, geo.Ho * geo.Wo * C * M * dtype.itemsize * 4, xp)
        for n0 in range(0, N, chunk):
            xc, oc = x[n0:n0 + chunk], out[n0:n0 + chunk]
            for i, j, osl, isl in taps:
                oc[:, osl[0], osl[1]] += xc[:, isl[0], isl[1], :, None] * w[i, j]
        out = out.reshape(N, geo.Ho, geo.Wo, C * M)
        if b is not None:
            out += b
        self.x = x if self.needs_input_grad[1] else None
        self.w = w
        self.has_bias = b is not None
        return out

    def backward(self, gy):
        geo, w, x = self.geo, self.w, self.x
        xp = array_module(gy)
        N = gy.shape[0]
        kh, kw, C, M = w.shape
        g5 = gy.reshape(N, geo.Ho, geo.Wo, C, M)
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            gx = xp.zeros((N, geo.H, geo.W, C), gy.dtype)
        if self.needs_input_grad[1]:
            gw = xp.zeros(w.shape, gy.dtype)
        taps = geo.taps()
        chunk = chunk_size(N, geo.Ho * geo.Wo * C * M * gy.dtype.itemsize * 4, xp)
        for n0 in range(0, N, chunk):
            gc = g5[n0:n0 + chunk]
            for i, j, osl, isl in taps:
                gs = gc[:, osl[0], osl[1]]
                if gx is not None:
                    gxs = gx[n0:n0 + chunk, isl[0], isl[1]]
                    if M == 1:
                        gxs += gs[..., 0] * w[i, j, :, 0]
                    else:
                        gxs += (gs * w[i, j]).sum(axis=-1)
                if gw is not None:
                    xs = x[n0:n0 + chunk, isl[0], isl[1]]
                    if M == 1:
                        gw[i, j, :, 0] += xp.einsum("nhwc,nhwc->c", xs, gs[..., 0])
                    else:
                        gw[i, j] += xp.einsum("nhwc,nhwcm->cm", xs, gs)
        if self.has_bias and self.needs_input_grad[2]:
            gb = gy.reshape(-1, gy.shape[-1]).sum(axis=0)
        return gx, gw, gb


def depthwise_conv2d(x, w, b=None, strides=1, padding="valid", dilation_rate=1):
    """Depthwise 2-D convolution: each input channel convolved with its own filters.

    Computed as kh·kw shifted multiply-adds over strided views (no im2col, no per-channel
    matrix products): MobileNet's cheap spatial filter.

    Formula
    -------
        y[n, p, q, c·M + m] = b[c·M + m] + Σ_{i, j} x_pad[n, p·S_h + i·d_h, q·S_w + j·d_w, c]
                                                    · W[i, j, c, m]
        dL/dx_pad[n, p·S_h + i·d_h, q·S_w + j·d_w, c] += Σ_m dL/dy[n, p, q, c·M + m]
                                                         · W[i, j, c, m]
        dL/dW[i, j, c, m] = Σ_{n, p, q} x_pad[n, p·S_h + i·d_h, q·S_w + j·d_w, c]
                                        · dL/dy[n, p, q, c·M + m]

    Parameters
    ----------
    x : Tensor, shape (N, H, W, C)
    w : Tensor, shape (kh, kw, C, M)  (Keras layout; M = depth multiplier)
    b : Tensor of shape (C·M,), optional
    strides, padding, dilation_rate : as for ``conv2d``

    Shape
    -----
    (N, H, W, C) -> (N, H_out, W_out, C·M)

    Matches ``torch.nn.functional.conv2d(..., groups=C)`` with the kernel reshaped to
    (C·M, 1, kh, kw).

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> x = ds.tensor(np.ones((1, 6, 6, 4), np.float32))
    >>> w = ds.tensor(np.ones((3, 3, 4, 2), np.float32))
    >>> ds.functional.depthwise_conv2d(x, w, padding="same").shape
    (1, 6, 6, 8)
    """
    fname = "depthwise_conv2d"
    x, w, b = _image_kernel_bias(fname, x, w, b, "(kh, kw, in, multiplier)",
                                 lambda s: (s[2], s[2] * s[3]))
    return DepthwiseConv2dOp.apply(x, w, b, strides=strides, padding=padding,
                                 dilation_rate=dilation_rate)

