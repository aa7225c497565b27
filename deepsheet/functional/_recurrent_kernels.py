"""The fused recurrent kernels behind ``functional.simple_rnn / lstm / gru`` (not public).

Each is one ``Function``: forward runs the whole sequence (the input projections of all
steps in one matrix product, one gate product per step), backward is the hand-written
backpropagation through time, the per-step gate gradients collected so every weight gradient
is one matrix product after the loop. Unmasked LSTM and GRU with tanh/sigmoid run the leaner
loops of ``_recurrent_fast`` instead (same results, far fewer NumPy calls per step).
Time loops run over row chunks on the thread pool, one per configured thread for a batch of
up to 128 (``_recurrent_fast.chunk_rows``: a step's products are too small to split), so the
weight gradients, summed chunk by chunk, differ between thread counts by float32 rounding
(~1e-7 relative); at a given thread count every run gives the same numbers.
"""
from __future__ import annotations

import numpy as np

from .. import parallel
from ..autograd import Function
from ..backend import array_module
from . import _recurrent_fast as _fast
from ._kernels import relu_, sigmoid_, tanh_


# ------------------------------------------------------------------ activations in place
def _linear_(a, xp):
    pass


# derivative of each activation written with its OUTPUT y, so backward needs no pre-activation
FUSED_ACTIVATIONS = {
    "tanh": (tanh_, lambda y: 1 - y * y),
    "sigmoid": (sigmoid_, lambda y: y * (1 - y)),
    "relu": (relu_, lambda y: (y > 0).astype(y.dtype)),
    "linear": (_linear_, None),
}


def act(name, where):
    if name is None:
        name = "linear"
    try:
        return FUSED_ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"{where}: the fused kernel supports the activations "
                         f"{sorted(FUSED_ACTIVATIONS)}, got {name!r}") from None


def matmul_cols(a, b, xp):
    """a @ b with the columns of b in fixed 128-wide blocks on the thread pool.

    The large products around the time loops (input projection, dU, dW) would otherwise run
    on one core (BLAS is single-threaded inside deepsheet); blocks write disjoint columns, so
    the result does not depend on the thread count.
    """
    cols = b.shape[1]
    if cols < 256 or a.shape[0] * a.shape[1] < 65536:
        return a @ b
    out = xp.empty((a.shape[0], cols), dtype=xp.result_type(a, b))
    blocks = parallel.spans(cols, 128)

    def block(i):
        s, e = blocks[i]
        out[:, s:e] = a @ b[:, s:e]
    parallel.parallel_for(len(blocks), block, work=out.nbytes * 4)
    return out


def _scale(g, deriv, y):
    if deriv is not None:
        g *= deriv(y)


# While a dict, backward records ‖dL/dh_t‖ per sample and step under the id of the kernel
# tensor (``diagnostics.sequence_gradient_norms``); None costs nothing.
DH_PROBE = None


class Recurrence(Function):
    """What the three kernels share: time-major inputs, masks, the input projection, row
    chunks, and the input and weight gradients from the collected gate gradients."""

    sequences = True  # False: the caller keeps h_T only; the fast paths skip the sequence

    def _prepare(self, x):
        """xp, shape, the time-major mask (None when absent or all True) and the row chunks."""
        xp = self.xp = array_module(x)
        n, t, f = self.shape = x.shape
        m = self.mask
        if m is not None:
            m = xp.asarray(m, dtype=bool).T
            if self.go_backwards:
                m = m[::-1]
            m = None if bool(m.all()) else xp.ascontiguousarray(m)[:, :, None]
        self.m = m
        self.spans = parallel.spans(n, _fast.chunk_rows(n))
        parallel.ensure_blas()

    def _setup(self, x, w, b_in):
        xp, (n, t, f) = self.xp, x.shape
        xt = x.transpose(1, 0, 2)
        if self.go_backwards:
            xt = xt[::-1]
        xt = xp.ascontiguousarray(xt).reshape(t * n, f)
        proj = matmul_cols(xt, w, xp)
        if b_in is not None:
            proj += b_in
        self.xt = xt if self.needs_input_grad[self._w_index] else None
        return proj.reshape(t, n, -1)

    def _run(self, rows, work):
        """rows(a, b) for every row chunk, on the thread pool."""
        spans = self.spans
        parallel.parallel_for(len(spans), lambda i: rows(*spans[i]), work=work)

    def _carry(self, new, old, t, a, b):
        if self.m is not None:
            self.xp.copyto(new, old, where=~self.m[t, a:b])

    def _split_masked(self, dh, t, a, b):
        """(gradient reaching the step's update, gradient carried past a masked step)."""
        if self.m is None:
            return dh, None
        keep = self.m[t, a:b]
        return dh * keep, dh * ~keep

    def _probe(self, t_len, n):
        if DH_PROBE is None:
            return None
        rows = self.xp.zeros((t_len, n), dtype=np.float64)
        DH_PROBE[id(self.parents[self._w_index])] = (rows, self.go_backwards)
        return rows

    def _arrive(self, dh, gs, probe, t, r):
        """Add the gradient the output sequence sends to h_t (in place); record ‖dL/dh_t‖."""
        if gs is not None:
            dh += gs[t, r]
        if probe is not None:
            probe[t, r] = self.xp.sqrt((dh.astype(np.float64) ** 2).sum(axis=1))

    def _start(self, g, n, h, dtype, a, b):
        """A chunk's running gradient: a copy of the incoming one, or zeros."""
        if g is None:
            return self.xp.zeros((b - a, h), dtype)
        return g[a:b].astype(dtype, copy=True)

    @staticmethod
    def _seq_grad(g_seq):
        return None if g_seq is None else g_seq.transpose(1, 0, 2)  # (T, N, H) view

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
            dw = matmul_cols(self.xt.T, d2, self.xp)
        b = self._w_index + 2
        if len(self.needs_input_grad) > b and self.needs_input_grad[b]:
            db = d2.sum(axis=0)
        return dx, dw, db


# ------------------------------------------------------------------ SimpleRNN
class SimpleRNNKernel(Recurrence):
    _w_index = 2

    def forward(self, x, h0, w, u, b=None):
        xp = array_module(x)
        self._prepare(x)
        proj = self._setup(x, w, b)
        t_len, n, h = proj.shape
        fn, _ = act(self.activation, "simple_rnn")
        rm = self.rmask
        hs = xp.empty((t_len + 1, n, h), dtype=proj.dtype)
        hs[0] = h0

        def rows(a, b):
            r = slice(a, b)
            for t in range(t_len):
                hp = hs[t, r] if rm is None else hs[t, r] * rm[r]
                nxt = hs[t + 1, r]
                xp.matmul(hp, u, out=nxt)
                nxt += proj[t, r]
                fn(nxt, xp)
                self._carry(nxt, hs[t, r], t, a, b)
        self._run(rows, proj.nbytes * 3)
        self.hs, self.u = hs, u
        self.w = w if self.needs_input_grad[0] else None
        return hs[1:].transpose(1, 0, 2), hs[-1]

    def backward(self, g_seq, g_last):
        xp, hs, u, rm = self.xp, self.hs, self.u, self.rmask
        t_len, n, h = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
        _, deriv = act(self.activation, "simple_rnn")
        gs = self._seq_grad(g_seq)
        probe = self._probe(t_len, n)
        dz = xp.empty((t_len, n, h), dtype=hs.dtype)
        dh0 = xp.empty((n, h), dtype=hs.dtype)
        ut = u.T

        def rows(a, b):
            r = slice(a, b)
            dh = self._start(g_last, n, h, hs.dtype, a, b)
            for t in range(t_len - 1, -1, -1):
                self._arrive(dh, gs, probe, t, r)
                d, carry = self._split_masked(dh, t, a, b)
                dzt = dz[t, r]
                dzt[...] = d
                _scale(dzt, deriv, hs[t + 1, r])
                dh = dzt @ ut
                if rm is not None:
                    dh *= rm[r]
                if carry is not None:
                    dh += carry
            dh0[r] = dh
        self._run(rows, dz.nbytes * 3)
        dx, dw, db = self._input_grads(dz, self.w)
        du = None
        if self.needs_input_grad[3]:
            hp = hs[:-1] if rm is None else hs[:-1] * rm
            du = hp.reshape(t_len * n, h).T @ dz.reshape(t_len * n, h)
        return dx, dh0 if self.needs_input_grad[1] else None, dw, du, db


# ------------------------------------------------------------------ LSTM
_GATE_VECTORS = {}


def _lstm_gate_vectors(h, dtype, xp):
    """Per-column (scale, offset) that make one tanh give σ on the i, f, o gate columns:
    σ(z) = tanh(z/2)/2 + 1/2, while the c column keeps tanh(z) (scale 1, offset 0).
    Cached per size (read-only), so a batch-1 generation step allocates nothing here."""
    key = (h, np.dtype(dtype).str, xp.__name__)
    if key not in _GATE_VECTORS:
        scale = xp.full(4 * h, 0.5, dtype=dtype)
        scale[2 * h:3 * h] = 1
        offset = xp.full(4 * h, 0.5, dtype=dtype)
        offset[2 * h:3 * h] = 0
        if len(_GATE_VECTORS) > 64:
            _GATE_VECTORS.clear()
        _GATE_VECTORS[key] = (scale, offset)
    return _GATE_VECTORS[key]


class LSTMKernel(Recurrence):
    _w_index = 3

    def forward(self, x, h0, c0, w, u, b=None):
        xp = array_module(x)
        h = u.shape[0]
        self._prepare(x)
        self.fast = _fast.worth_it(self, x.shape[1], x.shape[0], h)
        if self.fast:
            return _fast.lstm_forward(self, x, h0, c0, w, u, b)
        proj = self._setup(x, w, b)            # gate pre-activations, activated step by step
        t_len, n, _ = proj.shape
        fused = self.fused_sigmoid = (self.activation == "tanh"
                                      and self.recurrent_activation == "sigmoid")
        fn, _ = act(self.activation, "lstm")
        rfn, _ = act(self.recurrent_activation, "lstm")
        scale, offset = _lstm_gate_vectors(h, proj.dtype, xp)
        rm = self.rmask
        dt = proj.dtype
        hs = xp.empty((t_len + 1, n, h), dtype=dt)
        cs = xp.empty((t_len + 1, n, h), dtype=dt)
        tc = xp.empty((t_len, n, h), dtype=dt)
        hs[0], cs[0] = h0, c0

        def rows(a, b):
            r = slice(a, b)
            buf = xp.empty((b - a, 4 * h), dtype=dt)
            ig = xp.empty((b - a, h), dtype=dt)
            for t in range(t_len):
                z = proj[t, r]
                xp.matmul(hs[t, r] if rm is None else hs[t, r] * rm[r], u, out=buf)
                z += buf
                if fused:                      # all four gates with one tanh
                    z *= scale
                    xp.tanh(z, out=z)
                    z *= scale
                    z += offset
                else:
                    rfn(z[:, :2 * h], xp)
                    rfn(z[:, 3 * h:], xp)
                    fn(z[:, 2 * h:3 * h], xp)
                i, f, g, o = z[:, :h], z[:, h:2 * h], z[:, 2 * h:3 * h], z[:, 3 * h:]
                c = cs[t + 1, r]
                xp.multiply(f, cs[t, r], out=c)    # c_t = f ⊙ c_{t-1} + i ⊙ g
                xp.multiply(i, g, out=ig)
                c += ig
                tct = tc[t, r]
                tct[...] = c
                fn(tct, xp)                        # h_t = o ⊙ tanh(c_t)
                xp.multiply(o, tct, out=hs[t + 1, r])
                self._carry(c, cs[t, r], t, a, b)
                self._carry(hs[t + 1, r], hs[t, r], t, a, b)
        self._run(rows, proj.nbytes * 3)
        self.gates, self.hs, self.cs, self.tc, self.u = proj, hs, cs, tc, u
        self.w = w if self.needs_input_grad[0] else None
        return hs[1:].transpose(1, 0, 2), hs[-1], cs[-1]

    def backward(self, g_seq, g_h, g_c):
        if self.fast:
            return _fast.lstm_backward(self, g_seq, g_h, g_c)
        xp, hs, cs, tc, gates, u, rm = (self.xp, self.hs, self.cs, self.tc, self.gates,
                                        self.u, self.rmask)
        t_len, n, h = tc.shape
        _, dact = act(self.activation, "lstm")
        _, dract = act(self.recurrent_activation, "lstm")
        gs = self._seq_grad(g_seq)
        probe = self._probe(t_len, n)
        dt = hs.dtype
        dz = xp.empty((t_len, n, 4 * h), dtype=dt)
        dh0 = xp.empty((n, h), dtype=dt)
        dc0 = xp.empty((n, h), dtype=dt)
        ut = u.T

        def rows(a, b):
            r = slice(a, b)
            dh = self._start(g_h, n, h, dt, a, b)
            dc = self._start(g_c, n, h, dt, a, b)
            tmp = xp.empty((b - a, h), dtype=dt)
            slope = xp.empty((b - a, 4 * h), dtype=dt)
            for t in range(t_len - 1, -1, -1):
                self._arrive(dh, gs, probe, t, r)
                z = gates[t, r]
                i, f, g, o = z[:, :h], z[:, h:2 * h], z[:, 2 * h:3 * h], z[:, 3 * h:]
                dh, hcarry = self._split_masked(dh, t, a, b)
                dc, ccarry = self._split_masked(dc, t, a, b)
                d = dz[t, r]
                xp.multiply(dh, tc[t, r], out=d[:, 3 * h:])         # dL/do
                xp.multiply(dh, o, out=tmp)                         # through tanh(c_t)
                _scale(tmp, dact, tc[t, r])
                dc += tmp
                xp.multiply(dc, g, out=d[:, :h])                    # dL/di
                xp.multiply(dc, cs[t, r], out=d[:, h:2 * h])        # dL/df
                xp.multiply(dc, i, out=d[:, 2 * h:3 * h])           # dL/dg
                if self.fused_sigmoid:         # σ' = s(1-s) on all columns, then tanh' on g
                    xp.subtract(1, z, out=slope)
                    slope *= z
                    sg = slope[:, 2 * h:3 * h]
                    xp.multiply(g, g, out=sg)
                    xp.subtract(1, sg, out=sg)
                    d *= slope
                else:
                    _scale(d[:, :2 * h], dract, z[:, :2 * h])
                    _scale(d[:, 3 * h:], dract, o)
                    _scale(d[:, 2 * h:3 * h], dact, g)
                dc *= f
                if ccarry is not None:
                    dc += ccarry
                dh = d @ ut
                if rm is not None:
                    dh *= rm[r]
                if hcarry is not None:
                    dh += hcarry
            dh0[r], dc0[r] = dh, dc
        self._run(rows, dz.nbytes * 3)
        dx, dw, db = self._input_grads(dz, self.w)
        du = None
        if self.needs_input_grad[4]:
            hp = hs[:-1] if rm is None else hs[:-1] * rm
            du = matmul_cols(hp.reshape(t_len * n, h).T, dz.reshape(t_len * n, 4 * h), xp)
        need = self.needs_input_grad
        return dx, dh0 if need[1] else None, dc0 if need[2] else None, dw, du, db


# ------------------------------------------------------------------ GRU
class GRUKernel(Recurrence):
    _w_index = 2

    def forward(self, x, h0, w, u, b=None):
        xp = array_module(x)
        h = u.shape[0]
        after = self.reset_after
        b_in = b_rec = None
        if b is not None:
            b_in, b_rec = (b[0], b[1]) if after else (b, None)
        self._prepare(x)
        self.fast = after and _fast.worth_it(self, x.shape[1], x.shape[0], h)
        if self.fast:
            return _fast.gru_forward(self, x, h0, w, u, b)
        proj = self._setup(x, w, b_in)         # becomes [z, r, hh] step by step
        t_len, n, _ = proj.shape
        fn, _ = act(self.activation, "gru")
        rfn, _ = act(self.recurrent_activation, "gru")
        rm = self.rmask
        dt = proj.dtype
        hs = xp.empty((t_len + 1, n, h), dtype=dt)
        hs[0] = h0
        # after: rec[t] keeps h_{t-1}·U_h + b'_h (needed for dL/dr); before: r ⊙ h_{t-1}
        rec = xp.empty((t_len, n, h), dtype=dt)
        u_zr, u_h = u[:, :2 * h], u[:, 2 * h:]

        def rows(a, b):
            r = slice(a, b)
            buf = xp.empty((b - a, (3 if after else 2) * h), dtype=dt)
            for t in range(t_len):
                z = proj[t, r]
                hp = hs[t, r] if rm is None else hs[t, r] * rm[r]
                zr, ah = z[:, :2 * h], z[:, 2 * h:]
                if after:
                    xp.matmul(hp, u, out=buf)
                    if b_rec is not None:
                        buf += b_rec
                    zr += buf[:, :2 * h]
                    rfn(zr, xp)
                    rec[t, r] = buf[:, 2 * h:]
                    buf[:, 2 * h:] *= zr[:, h:]     # r ⊙ (h_{t-1}·U_h + b'_h)
                    ah += buf[:, 2 * h:]
                else:
                    xp.matmul(hp, u_zr, out=buf)
                    zr += buf
                    rfn(zr, xp)
                    xp.multiply(zr[:, h:], hp, out=rec[t, r])
                    ah += rec[t, r] @ u_h
                fn(ah, xp)
                nxt = hs[t + 1, r]                  # h_t = hh + z ⊙ (h_{t-1} - hh)
                xp.subtract(hs[t, r], ah, out=nxt)
                nxt *= zr[:, :h]
                nxt += ah
                self._carry(nxt, hs[t, r], t, a, b)
        self._run(rows, proj.nbytes * 3)
        self.gates, self.hs, self.rec, self.u = proj, hs, rec, u
        self.w = w if self.needs_input_grad[0] else None
        return hs[1:].transpose(1, 0, 2), hs[-1]

    def backward(self, g_seq, g_last):
        if self.fast:
            return _fast.gru_backward(self, g_seq, g_last)
        xp, hs, rec, gates, u, rm = self.xp, self.hs, self.rec, self.gates, self.u, self.rmask
        after = self.reset_after
        t_len, n, h = rec.shape
        _, dact = act(self.activation, "gru")
        _, dract = act(self.recurrent_activation, "gru")
        gs = self._seq_grad(g_seq)
        probe = self._probe(t_len, n)
        dt = hs.dtype
        dproj = xp.empty((t_len, n, 3 * h), dtype=dt)
        drec = xp.empty((t_len, n, 3 * h), dtype=dt) if after else None
        dh0 = xp.empty((n, h), dtype=dt)
        ut, uh_t, uzr_t = u.T, u[:, 2 * h:].T, u[:, :2 * h].T

        def rows(a, b):
            r = slice(a, b)
            dh = self._start(g_last, n, h, dt, a, b)
            tmp = xp.empty((b - a, h), dtype=dt)
            for t in range(t_len - 1, -1, -1):
                self._arrive(dh, gs, probe, t, r)
                dh, carry = self._split_masked(dh, t, a, b)
                zg = gates[t, r]
                z, rr, hh = zg[:, :h], zg[:, h:2 * h], zg[:, 2 * h:]
                d = dproj[t, r]
                xp.subtract(hs[t, r], hh, out=tmp)
                xp.multiply(dh, tmp, out=d[:, :h])                  # dL/dz
                xp.multiply(dh, z, out=tmp)
                xp.subtract(dh, tmp, out=d[:, 2 * h:])              # dL/dhh = dh ⊙ (1 - z)
                _scale(d[:, 2 * h:], dact, hh)                      # -> dL/da_h
                hp = hs[t, r] if rm is None else hs[t, r] * rm[r]
                if after:
                    xp.multiply(d[:, 2 * h:], rec[t, r], out=d[:, h:2 * h])   # dL/dr
                    _scale(d[:, :2 * h], dract, zg[:, :2 * h])
                    dr = drec[t, r]
                    dr[:, :2 * h] = d[:, :2 * h]
                    xp.multiply(d[:, 2 * h:], rr, out=dr[:, 2 * h:])
                    back = dr @ ut
                else:
                    drh = d[:, 2 * h:] @ uh_t                       # dL/d(r ⊙ h_{t-1})
                    xp.multiply(drh, hp, out=d[:, h:2 * h])         # dL/dr
                    _scale(d[:, :2 * h], dract, zg[:, :2 * h])
                    back = d[:, :2 * h] @ uzr_t
                    back += drh * rr
                if rm is not None:
                    back *= rm[r]
                xp.multiply(dh, z, out=tmp)
                back += tmp
                if carry is not None:
                    back += carry
                dh = back
            dh0[r] = dh
        self._run(rows, dproj.nbytes * 3)
        dx, dw, db_in = self._input_grads(dproj, self.w)
        du = db = None
        hp = hs[:-1] if rm is None else hs[:-1] * rm
        rows_ = t_len * n
        if self.needs_input_grad[3]:
            if after:
                du = matmul_cols(hp.reshape(rows_, h).T, drec.reshape(rows_, 3 * h), xp)
            else:
                du = xp.empty((h, 3 * h), dtype=dt)
                du[:, :2 * h] = hp.reshape(rows_, h).T @ dproj[:, :, :2 * h].reshape(rows_, 2 * h)
                du[:, 2 * h:] = rec.reshape(rows_, h).T @ dproj[:, :, 2 * h:].reshape(rows_, h)
        if db_in is not None:
            db = xp.stack([db_in, drec.reshape(rows_, 3 * h).sum(axis=0)]) if after else db_in
        return dx, dh0 if self.needs_input_grad[1] else None, dw, du, db
