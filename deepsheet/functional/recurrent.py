"""Recurrent networks as ONE graph node per sequence: ``simple_rnn``, ``lstm``, ``gru``.

Each function runs the whole sequence forward with the input projections of all time steps
in one matrix product and one fused gate product per step, and its backward is a
hand-written backpropagation through time over the whole sequence: the per-step gate
gradients are collected in one (T, N, k·H) array, so the weight gradients are again one
matrix product each. No per-step graph nodes exist.

Weights keep Keras's layouts: ``kernel`` (F, k·H), ``recurrent_kernel`` (H, k·H), ``bias``
(k·H,) — GRU with ``reset_after=True``: (2, 3·H), input bias row then recurrent bias row.
Gate order: LSTM i, f, c, o; GRU z, r, h.

Masks follow Keras: ``mask`` (N, T) is True where a step is real; at a masked step the state
is carried through unchanged (h_t = h_{t-1}, c_t = c_{t-1}), so a padded batch gives each
sequence exactly the result of its unpadded run. The returned sequence holds the state at
every step (a masked step repeats the previous one, Keras's ``zero_output_for_mask=False``).
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..backend import array_module
from ..tensor import Tensor

__all__ = ["simple_rnn", "lstm", "gru", "FUSED_ACTIVATIONS"]


# ------------------------------------------------------------------ activations in place
def _tanh_(a, xp):
    xp.tanh(a, out=a)


def _sigmoid_(a, xp):
    # sigma(x) = (1 + tanh(x/2)) / 2: one vectorized transcendental, no overflow for large |x|.
    a *= 0.5
    xp.tanh(a, out=a)
    a *= 0.5
    a += 0.5


def _relu_(a, xp):
    xp.maximum(a, 0, out=a)


def _linear_(a, xp):
    pass


# derivative of each activation written with its OUTPUT y, so backward needs no pre-activation
FUSED_ACTIVATIONS = {
    "tanh": (_tanh_, lambda y: 1 - y * y),
    "sigmoid": (_sigmoid_, lambda y: y * (1 - y)),
    "relu": (_relu_, lambda y: (y > 0).astype(y.dtype)),
    "linear": (_linear_, None),
}


def _act(name, where):
    if name is None:
        name = "linear"
    try:
        return FUSED_ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"{where}: the fused kernel supports the activations "
                         f"{sorted(FUSED_ACTIVATIONS)}, got {name!r}") from None


def _scale(g, deriv, y):
    if deriv is not None:
        g *= deriv(y)


# ------------------------------------------------------------------ shared plumbing
class _Recurrence(Function):
    """What the three kernels share: time-major inputs, masks, the input projection, and
    the final input and weight gradients from the collected per-step gate gradients."""

    def _setup(self, x, w, b_in):
        xp = self.xp = array_module(x)
        n, t, f = x.shape
        self.shape = (n, t, f)
        xt = x.transpose(1, 0, 2)
        if self.go_backwards:
            xt = xt[::-1]
        xt = xp.ascontiguousarray(xt).reshape(t * n, f)
        proj = xt @ w
        if b_in is not None:
            proj += b_in
        self.xt = xt if self.needs_input_grad[self._w_index] else None
        m = self.mask
        if m is not None:
            m = xp.asarray(m, dtype=bool).T
            if self.go_backwards:
                m = m[::-1]
            if bool(m.all()):
                m = None
            else:
                m = xp.ascontiguousarray(m)[:, :, None]
        self.m = m
        return proj.reshape(t, n, -1)

    def _state_outputs(self, hs):
        # hs: (T + 1, N, H) in processing order with hs[0] = h0; the sequence is (N, T, H).
        return hs[1:].transpose(1, 0, 2), hs[-1]

    def _carry(self, new, old, t):
        if self.m is not None:
            self.xp.copyto(new, old, where=~self.m[t])

    def _split_masked(self, dh, t):
        """(gradient reaching the step's update, gradient carried past a masked step)."""
        if self.m is None:
            return dh, None
        keep = self.m[t]
        return dh * keep, dh * ~keep

    def _seq_grad(self, g_seq):
        if g_seq is None:
            return None
        return g_seq.transpose(1, 0, 2)  # (T, N, H) view in processing order

    def _input_grads(self, dproj, w):
        """dL/dx, dL/dW and dL/db_in from the (T, N, k·H) gradient of the input projection."""
        n, t, f = self.shape
        d2 = dproj.reshape(t * n, -1)
        dx = dw = db = None
        if self.needs_input_grad[0]:
            dx = (d2 @ w.T).reshape(t, n, f)
            if self.go_backwards:
                dx = dx[::-1]
            dx = self.xp.ascontiguousarray(dx.transpose(1, 0, 2))
        if self.needs_input_grad[self._w_index]:
            dw = self.xt.T @ d2
        if self._needs_bias:
            db = d2.sum(axis=0)
        return dx, dw, db

    @property
    def _needs_bias(self):
        b = self._w_index + 2
        return len(self.needs_input_grad) > b and self.needs_input_grad[b]


def _check_mask(mask, x, where):
    if mask is None:
        return None
    m = mask.data if isinstance(mask, Tensor) else mask
    xp = array_module(m) if hasattr(m, "shape") else np
    m = xp.asarray(m)
    if m.shape != tuple(x.shape[:2]):
        raise ValueError(f"{where}: mask must have shape (batch, time) = {tuple(x.shape[:2])}, "
                         f"got {tuple(m.shape)}")
    return m.astype(bool)


def _check_args(where, x, states, sizes):
    if x.ndim != 3:
        raise ValueError(f"{where}: expected inputs of shape (batch, time, features), got shape "
                         f"{tuple(x.shape)}; reshape sequences to 3-D (Reshape) or embed token ids "
                         "first (Embedding)")
    for s, name in zip(states, sizes):
        if tuple(s.shape) != (x.shape[0], sizes[name]):
            raise ValueError(f"{where}: initial state {name} must have shape "
                             f"(batch, units) = {(x.shape[0], sizes[name])}, got {tuple(s.shape)}")


def _zeros_like_state(x, units):
    xp = array_module(x.data if isinstance(x, Tensor) else x)
    dtype = x.dtype
    return xp.zeros((x.shape[0], units), dtype=dtype)


def _rmask_array(recurrent_mask):
    if recurrent_mask is None:
        return None
    return recurrent_mask.data if isinstance(recurrent_mask, Tensor) else recurrent_mask


# ------------------------------------------------------------------ SimpleRNN
class _SimpleRNN(_Recurrence):
    _w_index = 2

    def forward(self, x, h0, w, u, b=None):
        xp = array_module(x)
        proj = self._setup(x, w, b)
        t_len, n, h = proj.shape
        act, _ = _act(self.activation, "simple_rnn")
        rm = self.rmask
        hs = xp.empty((t_len + 1, n, h), dtype=proj.dtype)
        hs[0] = h0
        for t in range(t_len):
            hp = hs[t] if rm is None else hs[t] * rm
            nxt = hs[t + 1]
            xp.matmul(hp, u, out=nxt)
            nxt += proj[t]
            act(nxt, xp)
            self._carry(nxt, hs[t], t)
        self.hs, self.u = hs, u
        self.w = w if self.needs_input_grad[0] else None
        seq, last = self._state_outputs(hs)
        return seq, last

    def backward(self, g_seq, g_last):
        xp, hs, u, rm = self.xp, self.hs, self.u, self.rmask
        t_len, n, h = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
        _, deriv = _act(self.activation, "simple_rnn")
        gs = self._seq_grad(g_seq)
        dh = xp.zeros((n, h), hs.dtype) if g_last is None else g_last.astype(hs.dtype, copy=True)
        dz = xp.empty((t_len, n, h), dtype=hs.dtype)
        ut = u.T
        for t in range(t_len - 1, -1, -1):
            if gs is not None:
                dh += gs[t]
            d, carry = self._split_masked(dh, t)
            dzt = dz[t]
            dzt[...] = d
            _scale(dzt, deriv, hs[t + 1])
            dh = dzt @ ut
            if rm is not None:
                dh *= rm
            if carry is not None:
                dh += carry
        dx, dw, db = self._input_grads(dz, self.w)
        du = None
        if self.needs_input_grad[3]:
            hp = hs[:-1] if rm is None else hs[:-1] * rm
            du = hp.reshape(t_len * n, h).T @ dz.reshape(t_len * n, h)
        dh0 = dh if self.needs_input_grad[1] else None
        return dx, dh0, dw, du, db



def simple_rnn(x, kernel, recurrent_kernel, bias=None, initial_state=None, mask=None,
               activation="tanh", go_backwards=False, recurrent_mask=None):
    """Fully connected recurrence over a whole sequence, as one graph node.

    Formula::

        h_t = g(x_t · W + h_{t-1} · U + b)                      (g = tanh by default)

        backward through time, from dL/dh_T and each step's dL/dh_t:
        δ_t = (dL/dh_t + δ_{t+1}·Uᵀ carried back) ⊙ g'(·)       (g' from h_t: 1 - h_t²)
        dL/dU = Σ_t h_{t-1}ᵀ δ_t,  dL/dW = Σ_t x_tᵀ δ_t,  dL/db = Σ_t δ_t,  dL/dx_t = δ_t Wᵀ

    The product δ·Uᵀ repeated T times is where gradients vanish (‖U‖·max g' < 1) or explode.

    Shape
    -----
    x (N, T, F), kernel (F, H), recurrent_kernel (H, H), bias (H,), initial_state (N, H),
    mask (N, T) boolean -> (sequence (N, T, H), last state (N, H)). With ``go_backwards`` the
    sequence is read from its end and returned in that (reversed) order, as Keras does.

    Parameters
    ----------
    activation : {"tanh", "relu", "sigmoid", "linear"}
    recurrent_mask : array (N, H), optional
        Recurrent dropout: multiplies h_{t-1} inside the recurrent product (already scaled).

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> x = np.ones((2, 5, 3), np.float32)
    >>> seq, h = ds.functional.simple_rnn(x, np.ones((3, 4), np.float32) * 0.1,
    ...                                   np.eye(4, dtype=np.float32) * 0.5)
    >>> seq.shape, h.shape
    ((2, 5, 4), (2, 4))
    """
    units = recurrent_kernel.shape[0]
    if initial_state is None:
        initial_state = _zeros_like_state(x, units)
    _check_args("simple_rnn", x, [initial_state], {"h": units})
    return _SimpleRNN.apply(x, initial_state, kernel, recurrent_kernel, bias,
                            mask=_check_mask(mask, x, "simple_rnn"),
                            activation=activation or "linear",
                            go_backwards=bool(go_backwards),
                            rmask=_rmask_array(recurrent_mask))


# ------------------------------------------------------------------ LSTM
def _lstm_gate_vectors(h, dtype, xp):
    """Per-column (scale, offset) that make one tanh give σ on the i, f, o gate columns:
    σ(z) = tanh(z/2)/2 + 1/2, while the c column keeps tanh(z) (scale 1, offset 0)."""
    scale = xp.full(4 * h, 0.5, dtype=dtype)
    scale[2 * h:3 * h] = 1
    offset = xp.full(4 * h, 0.5, dtype=dtype)
    offset[2 * h:3 * h] = 0
    return scale, offset


class _LSTM(_Recurrence):
    _w_index = 3

    def forward(self, x, h0, c0, w, u, b=None):
        xp = array_module(x)
        h = u.shape[0]
        proj = self._setup(x, w, b)            # gate pre-activations, filled step by step
        t_len, n, _ = proj.shape
        fast = self.activation == "tanh" and self.recurrent_activation == "sigmoid"
        act, _ = _act(self.activation, "lstm")
        ract, _ = _act(self.recurrent_activation, "lstm")
        if fast:
            scale, offset = _lstm_gate_vectors(h, proj.dtype, xp)
        rm = self.rmask
        hs = xp.empty((t_len + 1, n, h), dtype=proj.dtype)
        cs = xp.empty((t_len + 1, n, h), dtype=proj.dtype)
        tc = xp.empty((t_len, n, h), dtype=proj.dtype)
        hs[0], cs[0] = h0, c0
        buf = xp.empty((n, 4 * h), dtype=proj.dtype)
        ig = xp.empty((n, h), dtype=proj.dtype)
        for t in range(t_len):
            a = proj[t]
            xp.matmul(hs[t] if rm is None else hs[t] * rm, u, out=buf)
            a += buf
            if fast:                           # all four gates with one tanh
                a *= scale
                xp.tanh(a, out=a)
                a *= scale
                a += offset
            else:
                ract(a[:, :2 * h], xp)
                ract(a[:, 3 * h:], xp)
                act(a[:, 2 * h:3 * h], xp)
            i, f, g, o = a[:, :h], a[:, h:2 * h], a[:, 2 * h:3 * h], a[:, 3 * h:]
            c = cs[t + 1]
            xp.multiply(f, cs[t], out=c)       # c_t = f ⊙ c_{t-1} + i ⊙ g
            xp.multiply(i, g, out=ig)
            c += ig
            tct = tc[t]
            tct[...] = c
            act(tct, xp)                       # h_t = o ⊙ tanh(c_t)
            xp.multiply(o, tct, out=hs[t + 1])
            self._carry(c, cs[t], t)
            self._carry(hs[t + 1], hs[t], t)
        self.gates, self.hs, self.cs, self.tc, self.u = proj, hs, cs, tc, u
        self.fast = fast
        self.w = w if self.needs_input_grad[0] else None
        seq, last = self._state_outputs(hs)
        return seq, last, cs[-1]

    def backward(self, g_seq, g_h, g_c):
        xp, hs, cs, tc, gates, u, rm = (self.xp, self.hs, self.cs, self.tc, self.gates,
                                        self.u, self.rmask)
        t_len, n, h = tc.shape
        _, dact = _act(self.activation, "lstm")
        _, dract = _act(self.recurrent_activation, "lstm")
        gs = self._seq_grad(g_seq)
        dt = hs.dtype
        dh = xp.zeros((n, h), dt) if g_h is None else g_h.astype(dt, copy=True)
        dc = xp.zeros((n, h), dt) if g_c is None else g_c.astype(dt, copy=True)
        dz = xp.empty((t_len, n, 4 * h), dtype=dt)
        ut = u.T
        tmp = xp.empty((n, h), dtype=dt)
        slope = xp.empty((n, 4 * h), dtype=dt)
        for t in range(t_len - 1, -1, -1):
            if gs is not None:
                dh += gs[t]
            a = gates[t]
            i, f, g, o = a[:, :h], a[:, h:2 * h], a[:, 2 * h:3 * h], a[:, 3 * h:]
            dh, hcarry = self._split_masked(dh, t)
            dc, ccarry = self._split_masked(dc, t)
            d = dz[t]
            xp.multiply(dh, tc[t], out=d[:, 3 * h:])               # dL/do
            xp.multiply(dh, o, out=tmp)                            # through tanh(c_t)
            _scale(tmp, dact, tc[t])
            dc += tmp
            xp.multiply(dc, g, out=d[:, :h])                       # dL/di
            xp.multiply(dc, cs[t], out=d[:, h:2 * h])              # dL/df
            xp.multiply(dc, i, out=d[:, 2 * h:3 * h])              # dL/dg
            if self.fast:                      # σ' = s(1-s) on all columns, then tanh' on g
                xp.subtract(1, a, out=slope)
                slope *= a
                sg = slope[:, 2 * h:3 * h]
                xp.multiply(g, g, out=sg)
                xp.subtract(1, sg, out=sg)
                d *= slope
            else:
                _scale(d[:, :2 * h], dract, a[:, :2 * h])
                _scale(d[:, 3 * h:], dract, o)
                _scale(d[:, 2 * h:3 * h], dact, g)
            dc *= f
            if ccarry is not None:
                dc += ccarry
            dh = d @ ut
            if rm is not None:
                dh *= rm
            if hcarry is not None:
                dh += hcarry
        dx, dw, db = self._input_grads(dz, self.w)
        du = None
        if self.needs_input_grad[4]:
            hp = hs[:-1] if rm is None else hs[:-1] * rm
            du = hp.reshape(t_len * n, h).T @ dz.reshape(t_len * n, 4 * h)
        dh0 = dh if self.needs_input_grad[1] else None
        dc0 = dc if self.needs_input_grad[2] else None
        return dx, dh0, dc0, dw, du, db


def lstm(x, kernel, recurrent_kernel, bias=None, initial_state=None, mask=None,
         activation="tanh", recurrent_activation="sigmoid", go_backwards=False,
         recurrent_mask=None):
    """Long short-term memory over a whole sequence, as one graph node (Hochreiter 1997).

    Formula::

        [i f c̃ o] = x_t · W + h_{t-1} · U + b        (Keras's gate order i, f, c, o)
        i = σ(·)  input gate: how much to write      f = σ(·)  forget gate: how much to erase
        g = tanh(c̃) the candidate: what to write     o = σ(·)  output gate: how much to reveal
        c_t = f ⊙ c_{t-1} + i ⊙ g                    h_t = o ⊙ tanh(c_t)

        backward through time (δ = dL/d·, carried from t = T down to 1):
        δh_t = dL/dh_t + δz_{t+1} · Uᵀ
        δo = δh_t ⊙ tanh(c_t)          δc_t = δc_{t+1} ⊙ f_{t+1} + δh_t ⊙ o ⊙ (1 - tanh²c_t)
        δi = δc_t ⊙ g   δf = δc_t ⊙ c_{t-1}   δg = δc_t ⊙ i
        δz_t = [δi·i(1-i), δf·f(1-f), δg·(1-g²), δo·o(1-o)]
        dL/dU = Σ h_{t-1}ᵀ δz_t,  dL/dW = Σ x_tᵀ δz_t,  dL/db = Σ δz_t

    The cell path c_{t-1} → c_t is multiplied only by f (no weight matrix), which is why the
    LSTM's gradient survives hundreds of steps where a SimpleRNN's vanishes.

    Shape
    -----
    x (N, T, F), kernel (F, 4H), recurrent_kernel (H, 4H), bias (4H,),
    initial_state [h0, c0] each (N, H), mask (N, T) -> (sequence (N, T, H), h_T, c_T).

    Parameters
    ----------
    activation, recurrent_activation : {"tanh", "sigmoid", "relu", "linear"}
    go_backwards : bool
        Read the sequence from its end; the sequence is returned in that order (Keras).
    recurrent_mask : array (N, H), optional
        Recurrent dropout multiplying h_{t-1} inside the recurrent product.
    """
    units = recurrent_kernel.shape[0]
    if initial_state is None:
        initial_state = [_zeros_like_state(x, units), _zeros_like_state(x, units)]
    if len(initial_state) != 2:
        raise ValueError(f"lstm: initial_state must be [h0, c0], got {len(initial_state)} "
                         "state(s)")
    _check_args("lstm", x, initial_state, {"h": units, "c": units})
    return _LSTM.apply(x, initial_state[0], initial_state[1], kernel, recurrent_kernel, bias,
                       mask=_check_mask(mask, x, "lstm"), activation=activation or "linear",
                       recurrent_activation=recurrent_activation or "linear",
                       go_backwards=bool(go_backwards), rmask=_rmask_array(recurrent_mask))


# ------------------------------------------------------------------ GRU
class _GRU(_Recurrence):
    _w_index = 2

    def forward(self, x, h0, w, u, b=None):
        xp = array_module(x)
        h = u.shape[0]
        after = self.reset_after
        b_in = b_rec = None
        if b is not None:
            b_in, b_rec = (b[0], b[1]) if after else (b, None)
        proj = self._setup(x, w, b_in)
        t_len, n, _ = proj.shape
        act, _ = _act(self.activation, "gru")
        ract, _ = _act(self.recurrent_activation, "gru")
        rm = self.rmask
        hs = xp.empty((t_len + 1, n, h), dtype=proj.dtype)
        hs[0] = h0
        # after: rec[t] keeps h_{t-1}·U_h + b_h (needed for dL/dr); before: (r ⊙ h_{t-1})
        rec = xp.empty((t_len, n, h), dtype=proj.dtype)
        buf = xp.empty((n, (3 if after else 2) * h), dtype=proj.dtype)
        for t in range(t_len):
            a = proj[t]                        # becomes [z, r, hh] after the activations
            hp = hs[t] if rm is None else hs[t] * rm
            zr, ah = a[:, :2 * h], a[:, 2 * h:]
            if after:
                xp.matmul(hp, u, out=buf)
                if b_rec is not None:
                    buf += b_rec
                zr += buf[:, :2 * h]
                ract(zr, xp)
                rec[t] = buf[:, 2 * h:]
                buf[:, 2 * h:] *= zr[:, h:]      # r ⊙ (h_{t-1}·U_h + b_h)
                ah += buf[:, 2 * h:]
            else:
                xp.matmul(hp, u[:, :2 * h], out=buf)
                zr += buf
                ract(zr, xp)
                xp.multiply(zr[:, h:], hp, out=rec[t])
                ah += rec[t] @ u[:, 2 * h:]
            act(ah, xp)
            nxt = hs[t + 1]                    # h_t = hh + z ⊙ (h_{t-1} - hh)
            xp.subtract(hs[t], ah, out=nxt)
            nxt *= zr[:, :h]
            nxt += ah
            self._carry(nxt, hs[t], t)
        self.gates, self.hs, self.rec, self.u = proj, hs, rec, u
        self.w = w if self.needs_input_grad[0] else None
        seq, last = self._state_outputs(hs)
        return seq, last

    def backward(self, g_seq, g_last):
        xp, hs, rec, gates, u, rm = self.xp, self.hs, self.rec, self.gates, self.u, self.rmask
        after = self.reset_after
        t_len, n, h = rec.shape
        _, dact = _act(self.activation, "gru")
        _, dract = _act(self.recurrent_activation, "gru")
        gs = self._seq_grad(g_seq)
        dt = hs.dtype
        dh = xp.zeros((n, h), dt) if g_last is None else g_last.astype(dt, copy=True)
        dproj = xp.empty((t_len, n, 3 * h), dtype=dt)
        drec = xp.empty((t_len, n, 3 * h), dtype=dt) if after else None
        tmp = xp.empty((n, h), dtype=dt)
        ut = u.T
        uh_t = u[:, 2 * h:].T
        uzr_t = u[:, :2 * h].T
        for t in range(t_len - 1, -1, -1):
            if gs is not None:
                dh += gs[t]
            dh, carry = self._split_masked(dh, t)
            a = gates[t]
            z, r, hh = a[:, :h], a[:, h:2 * h], a[:, 2 * h:]
            d = dproj[t]
            xp.subtract(hs[t], hh, out=tmp)
            xp.multiply(dh, tmp, out=d[:, :h])                     # dL/dz
            xp.multiply(dh, z, out=tmp)
            xp.subtract(dh, tmp, out=d[:, 2 * h:])                 # dL/dhh = dh ⊙ (1 - z)
            _scale(d[:, 2 * h:], dact, hh)                         # -> dL/da_h
            hp = hs[t] if rm is None else hs[t] * rm
            if after:
                xp.multiply(d[:, 2 * h:], rec[t], out=d[:, h:2 * h])   # dL/dr
                _scale(d[:, :2 * h], dract, a[:, :2 * h])
                dr = drec[t]
                dr[:, :2 * h] = d[:, :2 * h]
                xp.multiply(d[:, 2 * h:], r, out=dr[:, 2 * h:])
                back = dr @ ut
            else:
                drh = d[:, 2 * h:] @ uh_t                          # dL/d(r ⊙ h_{t-1})
                xp.multiply(drh, hp, out=d[:, h:2 * h])            # dL/dr
                _scale(d[:, :2 * h], dract, a[:, :2 * h])
                back = d[:, :2 * h] @ uzr_t
                back += drh * r
            if rm is not None:
                back *= rm
            xp.multiply(dh, z, out=tmp)
            back += tmp
            if carry is not None:
                back += carry
            dh = back
        dx, dw, db_in = self._input_grads(dproj, self.w)
        du = db = None
        hp = hs[:-1] if rm is None else hs[:-1] * rm
        rows = t_len * n
        if self.needs_input_grad[3]:
            if after:
                du = hp.reshape(rows, h).T @ drec.reshape(rows, 3 * h)
            else:
                du = xp.empty((h, 3 * h), dtype=dt)
                du[:, :2 * h] = hp.reshape(rows, h).T @ dproj[:, :, :2 * h].reshape(rows, 2 * h)
                du[:, 2 * h:] = rec.reshape(rows, h).T @ dproj[:, :, 2 * h:].reshape(rows, h)
        if db_in is not None:
            db = xp.stack([db_in, drec.reshape(rows, 3 * h).sum(axis=0)]) if after else db_in
        dh0 = dh if self.needs_input_grad[1] else None
        return dx, dh0, dw, du, db


def gru(x, kernel, recurrent_kernel, bias=None, initial_state=None, mask=None,
        activation="tanh", recurrent_activation="sigmoid", reset_after=True, go_backwards=False,
        recurrent_mask=None):
    """Gated recurrent unit over a whole sequence, as one graph node (Cho et al. 2014).

    Formula::

        z = σ(x_t W_z + h_{t-1} U_z + b_z)          update gate: how much of the past to keep
        r = σ(x_t W_r + h_{t-1} U_r + b_r)          reset gate: how much past feeds the candidate
        reset_after=True  (PyTorch's and cuDNN's form, Keras's default):
            hh = tanh(x_t W_h + b_h + r ⊙ (h_{t-1} U_h + b'_h))
        reset_after=False:
            hh = tanh(x_t W_h + b_h + (r ⊙ h_{t-1}) U_h)
        h_t = z ⊙ h_{t-1} + (1 - z) ⊙ hh

        backward through time: δhh = δh_t ⊙ (1 - z) ⊙ (1 - hh²),  δz = δh_t ⊙ (h_{t-1} - hh) ⊙ z(1-z),
        δr = δhh ⊙ (h_{t-1} U_h + b'_h) ⊙ r(1-r)  (reset_after);  δh_{t-1} = δh_t ⊙ z + [δz δr r⊙δhh]·Uᵀ

    Shape
    -----
    x (N, T, F), kernel (F, 3H), recurrent_kernel (H, 3H), bias (2, 3H) with reset_after
    (input row, recurrent row) else (3H,); initial_state (N, H); mask (N, T)
    -> (sequence (N, T, H), h_T).
    """
    units = recurrent_kernel.shape[0]
    if initial_state is None:
        initial_state = _zeros_like_state(x, units)
    _check_args("gru", x, [initial_state], {"h": units})
    return _GRU.apply(x, initial_state, kernel, recurrent_kernel, bias,
                      mask=_check_mask(mask, x, "gru"), activation=activation or "linear",
                      recurrent_activation=recurrent_activation or "linear",
                      reset_after=bool(reset_after), go_backwards=bool(go_backwards),
                      rmask=_rmask_array(recurrent_mask))
