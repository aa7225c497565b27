"""The unmasked fast paths of the LSTM and GRU kernels (not public).

Used by ``LSTMKernel`` / ``GRUKernel`` when there is no mask and no recurrent dropout, the
activations are tanh / sigmoid and T·N ≥ H (``worth_it``: the per-call weight copies must be
cheaper than what they save; a batch-1 generation step keeps the general loop). Same
mathematics as the general loops of ``_recurrent_kernels``; what differs is how few NumPy
calls a time step makes, each costing microseconds on (batch, k·units) blocks:

* **feature-major state.** Inside, the state is hᵀ (H, n) and a step's gates are one
  (k·H, n) block, so every gate is a contiguous (H, n) slab: an elementwise pass over a
  column slice of an (n, k·H) array walks it row by row and costs ~4x a contiguous one.
* **one product per step, straight into the gates.** Step t's column [h_{t-1}; 1; x_t] is
  stacked in one array and multiplied by [Uᵀ | b | Wᵀ] (no separate input projection, no
  add; the bias rides on the row of ones). In backward the same stacked column gives dU, db
  and dW in one product per step, accumulated while the gate gradient is in cache.
* **one tanh for every gate.** σ(z) = tanh(z/2)/2 + 1/2, the /2 folded into the weights once
  per call, the gates reordered so the sigmoid ones are adjacent: one ``tanh`` over the gate
  block and ``*= 0.5; += 0.5`` over one slab.
* **h_0 = 0 skips work** (the default ``initial_state``): the first step's recurrent product
  and its dU term; the last backward product is skipped when dL/dh_0 is not wanted.

Batch rows are independent, so they run in fixed chunks (boundaries from N only) on the
thread pool; each chunk is a self-contained recurrence and the weight gradients of the
chunks are added in chunk order, so no result depends on the thread count.
"""
from __future__ import annotations

import time

import numpy as np

from .. import parallel
from ._gemm import gemm_acc, stepped_acc


# Rows per chunk of the time loops: 64-row chunks cost ~10% on one thread (batch 128), so
# one thread keeps 128; with more threads a batch is shared, down to _MIN_ROWS a chunk.
_ROWS = 128
_MIN_ROWS = 32


def chunk_rows(n):
    """Rows per time-loop chunk for a batch of ``n``: ``_ROWS`` on one thread, else an even
    share per configured thread (at least ``_MIN_ROWS``): 2 threads, batch 128 -> 64 each."""
    share = -(-n // parallel.get_num_threads())
    return min(_ROWS, max(_MIN_ROWS, share))


def worth_it(k, t, n, h):
    """The fast path applies, and T·N ≥ H: the per-call weight copies cost less than it saves."""
    return (k.m is None and k.rmask is None and t * n >= h and k.activation == "tanh"
            and k.recurrent_activation == "sigmoid")


def _blocks(h, order, sig):
    """[(keras column start, end, scale)] in internal row order; sigmoid gates scaled by 0.5."""
    return [(g * h, (g + 1) * h, 0.5 if g in sig else 1.0) for g in order]


def _weights(w, u, b_rows, blocks, dt, xp, x_part=True, h_part=True):
    """[Uᵀ | bias | Wᵀ] as one (k·H, H [+1] + F) matrix, scaled and reordered: a step's gates
    are this times the stacked column [h_{t-1}; 1; x_t]. A part left out is zero. Built as
    its transpose, from contiguous row segments of the Keras layouts, and returned as a view
    (BLAS reads either order at the same speed; the transposed build cost 4x as much)."""
    f, h = w.shape[0], u.shape[0]
    o = h + (b_rows is not None)
    wt = xp.zeros((o + f, len(blocks) * h), dtype=dt)
    for j, (a, e, s) in enumerate(blocks):
        c = slice(j * h, (j + 1) * h)
        if h_part:
            xp.multiply(u[:, a:e], s, out=wt[:h, c])
        if x_part:
            xp.multiply(w[:, a:e], s, out=wt[o:, c])
        if b_rows is not None:
            xp.multiply(b_rows[a:e], s, out=wt[h, c])
    return wt.T


def _unorder(g, blocks, h, xp):
    """Columns of a (rows, k·H) gradient in internal gate order -> Keras order."""
    out = xp.empty(g.shape, dtype=g.dtype)
    for j, (a, e, _) in enumerate(blocks):
        out[:, a:e] = g[:, j * h:(j + 1) * h]
    return out


def _stack(k, x, a, b, h, h0, bias, dt, xp):
    """(T+1, H [+1] + F, n): step t's column is [h_{t-1}; 1; x_t] (x time-major, reversed if
    go_backwards); the recurrence writes h_t into block t+1, whose other rows stay unused."""
    t = x.shape[1]
    o = h + bias
    st = xp.empty((t + 1, o + x.shape[2], b - a), dtype=dt)
    src = x[a:b].transpose(1, 2, 0)
    st[:t, o:] = src[::-1] if k.go_backwards else src
    st[t, h:] = 0
    if bias:
        st[:t, h] = 1
    st[0, :h] = h0[a:b].T
    return st


def _seq_buffer(k, t_len, h, n, dt, xp):
    """Where several row chunks put their output sequences (each chunk copies its own, on its
    thread), kept time- and feature-major as the chunks hold them: a copy that transposes to
    (N, T, H) cost 0.35 ms a step for LSTM(128), batch 128, T 28. None for one chunk, and
    when the caller wants no sequence (``k.sequences``: the copy cost ~2% of that step)."""
    return xp.empty((t_len, h, n), dtype=dt) if len(k.spans) > 1 and k.sequences else None


def _keep(k, chunks, ci, seq, h, **arrays):
    """Keep row chunk ``ci``'s arrays for the backward; copy its h_1..h_T into ``seq``."""
    chunks[ci] = arrays
    if seq is not None:
        a, b = k.spans[ci]
        seq[:, :, a:b] = arrays["st"][1:, :h]


def _outputs(k, chunks, seq, h, xp, finals):
    """(sequence (N, T, H), h_T, then the other final states (N, H)): views for one chunk,
    else the chunks' copies in ``seq`` and the final states gathered. Without ``k.sequences``
    the sequence is a placeholder, h_T[:, None] (the caller drops it)."""
    if len(chunks) == 1:
        c = chunks[0]
        h_last = c["st"][-1, :h].T
        seq = c["st"][1:, :h].transpose(2, 0, 1) if k.sequences else h_last[:, None]
        return (seq, h_last) + tuple(c[key][-1].T for key in finals)
    n = k.shape[0]
    dt = chunks[0]["st"].dtype
    outs = [xp.empty((n, h), dtype=dt) for _ in finals]
    for (a, b), c in zip(k.spans, chunks):
        for out, key in zip(outs, finals):
            out[a:b] = c[key][-1].T
    if seq is None:
        h_last = xp.empty((n, h), dtype=dt)
        for (a, b), c in zip(k.spans, chunks):
            h_last[a:b] = c["st"][-1, :h].T
        return (h_last[:, None], h_last) + tuple(outs)
    seq = seq.transpose(2, 0, 1)
    return (seq, seq[:, -1]) + tuple(outs)


def _state_grad(g, a, b, h, dt, xp):
    return xp.zeros((h, b - a), dt) if g is None else xp.array(g[a:b].T, dtype=dt, order="C")


def _seq_grads(g_seq, a, b, xp):
    return None if g_seq is None else xp.ascontiguousarray(g_seq[a:b].transpose(1, 2, 0))


def _arrive(dh, gs, probe, t, a, b, xp):
    """dh += the gradient the output sequence sends to h_t; record ‖dL/dh_t‖ if asked."""
    if gs is not None:
        dh += gs[t]
    if probe is not None:
        probe[t, a:b] = xp.sqrt((dh.astype(np.float64) ** 2).sum(axis=0))


def _acc_t(acc, d, cols, s, first, xp):
    """acc += d·colsᵀ (a (k·H, rows) accumulator: ~5% faster than its transpose), one GEMM
    with β = 1 (``_gemm``); columns below s are left out (a zero h_0's, first step only);
    the first call writes."""
    if first and s:
        acc[:, :s] = 0
        acc[:, s:] = xp.dot(d, cols[s:].T)
    elif first:
        xp.dot(d, cols.T, out=acc)
    else:
        gemm_acc(d, cols[s:].T, acc[:, s:] if s else acc)


# Whether overlapping pays depends on the machine: on a busy one the second thread gets no
# core of its own and the GIL hand-overs make it slower (measured at load 3-5: 14.5 vs
# 13.2 ms for the LSTM backward). So each (kernel, shape, threads) is timed both ways on its
# first calls and again every _RETUNE calls, and the faster way is kept; the results are
# identical either way, so this changes the speed only.
_TRIALS, _RETUNE = 3, 200
_tuning = {}


def _overlap(k):
    """(overlap?, timing record or None): overlap a lone row chunk's weight-gradient products
    with the time loop (``_steps``) when two threads are active and it measured faster."""
    if len(k.spans) != 1 or parallel.active_threads() < 2:
        return False, None
    key = (type(k).__name__, k.shape, parallel.active_threads())
    if key not in _tuning and len(_tuning) >= 256:     # many shapes (variable lengths)
        _tuning.clear()
    rec = _tuning.setdefault(key, {"calls": 0, "times": ([], [])})
    n = rec["calls"] % _RETUNE
    rec["calls"] += 1
    if n < 2 * _TRIALS:                   # a trial: inline and overlapped in turn
        return bool(n % 2), rec
    inline, overlapped = rec["times"]
    return min(overlapped) < min(inline), None


def _timed(rec, overlap, fn, *args):
    """fn(*args), its wall time kept in ``rec`` (the last _TRIALS per way) when one is given."""
    if rec is None:
        return fn(*args)
    t = time.perf_counter()
    fn(*args)
    times = rec["times"][overlap]
    times.append(time.perf_counter() - t)
    del times[:-_TRIALS]


def _steps(loop, consume, overlap):
    """loop(put) runs the backward time loop and calls put(t) once step t's gate gradient is
    final; consume(t) accumulates the weight gradients of step t, in the order put. Inline,
    or on a second pool thread: NumPy releases the GIL inside the products, so the two
    overlap (a queue hands the steps over; with one thread the consumer runs after)."""
    if not overlap:
        loop(consume)
        return
    import queue  # noqa: PLC0415 - only here
    q = queue.SimpleQueue()

    def part(i):
        if i == 0:
            try:
                loop(q.put)
            finally:
                q.put(None)       # the consumer never waits forever, even after an error
            return
        while (t := q.get()) is not None:
            consume(t)
    parallel.parallel_for(2, part)


def _dx(k, wp, keep, dt, xp):
    """dL/dx from the kept (T, k·H, n) pre-activation gradients and the matching kernel rows."""
    dx = xp.empty(k.shape, dtype=dt)
    for (a, b), d in zip(k.spans, keep):
        dxt = xp.matmul(wp, d)                            # (T, F, n)
        dx[a:b] = (dxt[::-1] if k.go_backwards else dxt).transpose(2, 0, 1)
    return dx


def _chunk_sum(parts):
    """Add the chunks' partial weight gradients in chunk order (thread-count independent)."""
    g = parts[0]
    for p in parts[1:]:
        g = g + p
    return g


# ------------------------------------------------------------------ LSTM
LSTM_ORDER = (0, 1, 3, 2)          # internal gate order i, f, o, g: the sigmoid gates adjacent


def lstm_forward(k, x, h0, c0, w, u, b):
    xp = k.xp
    n, t_len, _ = x.shape
    h = u.shape[0]
    dt = np.result_type(x.dtype, w.dtype)
    blocks = _blocks(h, LSTM_ORDER, (0, 1, 3))
    wu = _weights(w, u, b, blocks, dt, xp)
    zero_h0 = not h0.any()
    chunks = [None] * len(k.spans)
    seq = _seq_buffer(k, t_len, h, n, dt, xp)

    def rows(ci):
        a, b_ = k.spans[ci]
        nc = b_ - a
        st = _stack(k, x, a, b_, h, h0, b is not None, dt, xp)
        gates = xp.empty((t_len, 4 * h, nc), dtype=dt)
        cs = xp.empty((t_len + 1, h, nc), dtype=dt)
        tc = xp.empty((t_len, h, nc), dtype=dt)
        cs[0] = c0[a:b_].T
        ig = xp.empty((h, nc), dtype=dt)
        for t in range(t_len):
            z = gates[t]
            if t or not zero_h0:
                xp.dot(wu, st[t], out=z)      # σ-scaled pre-activations of the four gates
            else:
                xp.dot(wu[:, h:], st[t, h:], out=z)
            xp.tanh(z, out=z)                 # all four gates with one tanh
            s = z[:3 * h]                     # i, f, o: σ = tanh(z/2)/2 + 1/2
            s *= 0.5
            s += 0.5
            c = cs[t + 1]
            xp.multiply(z[h:2 * h], cs[t], out=c)           # c_t = f ⊙ c_{t-1} + i ⊙ g
            xp.multiply(z[:h], z[3 * h:], out=ig)
            c += ig
            xp.tanh(c, out=tc[t])                           # h_t = o ⊙ tanh(c_t)
            xp.multiply(z[2 * h:3 * h], tc[t], out=st[t + 1, :h])
        _keep(k, chunks, ci, seq, h, st=st, gates=gates, cs=cs, tc=tc)
    parallel.parallel_for(len(k.spans), rows, work=n * t_len * 4 * h * 12)
    k.chunks, k.blocks, k.zero_h0 = chunks, blocks, zero_h0
    k.up = xp.ascontiguousarray(xp.concatenate([u[:, a:e] for a, e, _ in blocks], axis=1))
    k.w = w if k.needs_input_grad[0] else None
    return _outputs(k, chunks, seq, h, xp, ("cs",))


def _backward_start(k):
    """What both backward passes begin with: sizes, the ‖dL/dh_t‖ probe (None unless the
    diagnostics ask), dL/dh_0 and the per-chunk result slots."""
    n, t_len, f = k.shape
    h = k.up.shape[0]
    return (k.xp, k.needs_input_grad, h, n, t_len, f, k.up.dtype, k._probe(t_len, n),
            k.xp.empty((n, h), dtype=k.up.dtype), [None] * len(k.chunks), [None] * len(k.chunks))


def lstm_backward(k, g_seq, g_h, g_c):
    xp, need, h, n, t_len, f, dt, probe, dh0, parts, keep = _backward_start(k)
    up, chunks, (overlap, rec) = k.up, k.chunks, _overlap(k)
    dc0 = xp.empty((n, h), dtype=dt)

    def rows(ci):
        a, b_ = k.spans[ci]
        ch = chunks[ci]
        gates, st, cs, tc = ch["gates"], ch["st"], ch["cs"], ch["tc"]
        nc = b_ - a
        dz = xp.empty((t_len if need[0] or overlap else 1, 4 * h, nc), dtype=dt)
        acc = xp.empty((4 * h, st.shape[1]), dtype=dt)

        def loop(put):
            dh = _state_grad(g_h, a, b_, h, dt, xp)
            dc = _state_grad(g_c, a, b_, h, dt, xp)
            gs = _seq_grads(g_seq, a, b_, xp)
            tmp = xp.empty((h, nc), dtype=dt)
            slope = xp.empty((4 * h, nc), dtype=dt)
            sig, tnh = slope[:3 * h], slope[3 * h:]
            for t in range(t_len - 1, -1, -1):
                _arrive(dh, gs, probe, t, a, b_, xp)
                z = gates[t]
                i, f_, o, g = z[:h], z[h:2 * h], z[2 * h:3 * h], z[3 * h:]
                d = dz[min(t, len(dz) - 1)]
                tct = tc[t]
                xp.multiply(dh, tct, out=d[2 * h:3 * h])          # dL/do
                # through tanh(c_t): dh ⊙ o ⊙ (1 − tanh²c_t) = dh ⊙ (o − h_t ⊙ tanh c_t),
                # as h_t = o ⊙ tanh c_t is kept: one pass fewer than squaring tanh c_t
                xp.multiply(st[t + 1, :h], tct, out=tmp)
                xp.subtract(o, tmp, out=tmp)
                tmp *= dh
                dc += tmp
                xp.multiply(dc, g, out=d[:h])                     # dL/di
                xp.multiply(dc, cs[t], out=d[h:2 * h])            # dL/df
                xp.multiply(dc, i, out=d[3 * h:])                 # dL/dg
                xp.subtract(1, z[:3 * h], out=sig)                # σ' = s(1 − s)
                sig *= z[:3 * h]
                xp.multiply(g, g, out=tnh)                        # tanh' = 1 − g²
                xp.subtract(1, tnh, out=tnh)
                d *= slope                                        # all four gates at once
                dc *= f_
                put(t)
                if t or need[1]:
                    xp.dot(up, d, out=dh)
            dh0[a:b_], dc0[a:b_] = dh.T, dc.T

        step = stepped_acc(acc, dz, st, transpose_b=True)  # the BLAS call prepared once

        def consume(t):          # dU, db, dW += [h_{t-1}; 1; x_t]·δ_tᵀ
            s, first = (h if t == 0 and k.zero_h0 else 0), t == t_len - 1
            if step is not None and not (s or first):
                step(min(t, len(dz) - 1), t)
            else:
                _acc_t(acc, dz[min(t, len(dz) - 1)], st[t], s, first, xp)
        _steps(loop, consume, overlap)
        parts[ci], keep[ci] = acc, dz
    _timed(rec, overlap, parallel.parallel_for, len(chunks), rows, n * t_len * 4 * h * 12)
    g = _unorder(_chunk_sum(parts).T, k.blocks, h, xp)      # rows [h; 1; x]
    o = g.shape[0] - f
    dx = None
    if need[0]:
        wp = xp.ascontiguousarray(xp.concatenate([k.w[:, a:e] for a, e, _ in k.blocks], axis=1))
        dx = _dx(k, wp, keep, dt, xp)
    return (dx, dh0 if need[1] else None, dc0 if need[2] else None,
            g[o:] if need[3] else None, g[:h] if need[4] else None,
            g[h] if len(need) > 5 and need[5] else None)


# ------------------------------------------------------------------ GRU (reset_after=True)
GRU_ORDER = (0, 1, 2)              # z, r, h: the sigmoid gates already adjacent


def gru_forward(k, x, h0, w, u, b):
    """Steps: [z; r] = σ(W_zr·[h; 1; x]), n = tanh(x W_h + b_h + r ⊙ (h U_h + b'_h)),
    h_t = n + z ⊙ (h_{t-1} - n); the three products (z r rows, h U_h, x W_h) are kept apart
    because r multiplies only the recurrent part."""
    xp = k.xp
    n, t_len, _ = x.shape
    h = u.shape[0]
    dt = np.result_type(x.dtype, w.dtype)
    bias = b is not None
    blocks = _blocks(h, GRU_ORDER, (0, 1))
    wzr = _weights(w, u, None if b is None else b[0] + b[1], blocks[:2], dt, xp)
    uh = _weights(w, u, None if b is None else b[1], blocks[2:], dt, xp, x_part=False)
    wh = _weights(w, u, None if b is None else b[0], blocks[2:], dt, xp, h_part=False)
    o = h + bias
    uh, wh = uh[:, :o], wh[:, h:]              # [U_hᵀ | b'_h] and [b_h | W_hᵀ]
    zero_h0 = not h0.any()
    chunks = [None] * len(k.spans)
    seq = _seq_buffer(k, t_len, h, n, dt, xp)

    def rows(ci):
        a, b_ = k.spans[ci]
        nc = b_ - a
        st = _stack(k, x, a, b_, h, h0, bias, dt, xp)
        gates = xp.empty((t_len, 3 * h, nc), dtype=dt)
        rec = xp.empty((t_len, h, nc), dtype=dt)     # h_{t-1} U_h + b'_h, needed for dL/dr
        xh = xp.matmul(wh, st[:t_len, h:])           # (T, H, n): x W_h + b_h, all steps at once
        tmp = xp.empty((h, nc), dtype=dt)
        for t in range(t_len):
            zr, hh = gates[t, :2 * h], gates[t, 2 * h:]
            if t or not zero_h0:
                xp.dot(wzr, st[t], out=zr)
                xp.dot(uh, st[t, :o], out=rec[t])
            else:
                xp.dot(wzr[:, h:], st[t, h:], out=zr)
                rec[t] = uh[:, h:o] if bias else 0
            xp.tanh(zr, out=zr)                     # z, r with one tanh
            zr *= 0.5
            zr += 0.5
            xp.multiply(zr[h:], rec[t], out=tmp)    # n = tanh(x W_h + b_h + r ⊙ rec)
            xp.add(xh[t], tmp, out=hh)
            xp.tanh(hh, out=hh)
            xp.subtract(st[t, :h], hh, out=tmp)     # h_t = n + z ⊙ (h_{t-1} - n)
            tmp *= zr[:h]
            xp.add(hh, tmp, out=st[t + 1, :h])
        _keep(k, chunks, ci, seq, h, st=st, gates=gates, rec=rec)
    parallel.parallel_for(len(k.spans), rows, work=n * t_len * 3 * h * 12)
    k.chunks, k.blocks, k.zero_h0 = chunks, blocks, zero_h0
    k.up = xp.ascontiguousarray(u)
    k.w = w if k.needs_input_grad[0] else None
    return _outputs(k, chunks, seq, h, xp, ())


def gru_backward(k, g_seq, g_h):
    xp, need, h, n, t_len, f, dt, probe, dh0, parts, keep = _backward_start(k)
    up, chunks, (overlap, rec) = k.up, k.chunks, _overlap(k)

    def rows(ci):
        a, b_ = k.spans[ci]
        ch = chunks[ci]
        gates, st, rec = ch["gates"], ch["st"], ch["rec"]
        nc = b_ - a
        # per step [δn; δz; δr; δrec]: rows 1-3 are the recurrent product's gradient (one
        # product back to h_{t-1}), rows 0-2 the input product's (kept for dx)
        e_all = xp.empty((t_len if need[0] or overlap else 1, 4 * h, nc), dtype=dt)
        acc, accx = xp.empty((3 * h, st.shape[1]), dt), xp.empty((h, st.shape[1] - h), dt)

        def loop(put):
            dh = _state_grad(g_h, a, b_, h, dt, xp)
            gs = _seq_grads(g_seq, a, b_, xp)
            tmp, zdh = xp.empty((h, nc), dtype=dt), xp.empty((h, nc), dtype=dt)
            slope = xp.empty((2 * h, nc), dtype=dt)
            for t in range(t_len - 1, -1, -1):
                _arrive(dh, gs, probe, t, a, b_, xp)
                zr, hh = gates[t, :2 * h], gates[t, 2 * h:]
                e = e_all[min(t, len(e_all) - 1)]
                dn, dzr, drec = e[:h], e[h:3 * h], e[3 * h:]
                xp.subtract(st[t, :h], hh, out=tmp)
                xp.multiply(dh, tmp, out=dzr[:h])                 # dL/dz
                xp.multiply(dh, zr[:h], out=zdh)                  # reaches h_{t-1} directly
                xp.subtract(dh, zdh, out=dn)                      # dL/dn = dh ⊙ (1 - z)
                xp.multiply(hh, hh, out=tmp)
                xp.subtract(1, tmp, out=tmp)
                dn *= tmp                                         # through tanh
                xp.multiply(dn, rec[t], out=dzr[h:])              # dL/dr
                xp.multiply(dn, zr[h:], out=drec)                 # dL/d(h U_h + b'_h)
                xp.subtract(1, zr, out=slope)                     # σ' = s(1-s) on z, r
                slope *= zr
                dzr *= slope
                put(t)
                if t or need[1]:
                    xp.dot(up, e[h:], out=dh)
                    dh += zdh
            dh0[a:b_] = dh.T

        step = stepped_acc(acc, e_all[:, h:], st, transpose_b=True)
        stepx = stepped_acc(accx, e_all[:, :h], st[:, h:], transpose_b=True)

        def consume(t):      # d[U; b'; W]_{z,r,rec} += [h; 1; x]·δᵀ, d[b; W]_n += [1; x]·δnᵀ
            i, first = min(t, len(e_all) - 1), t == t_len - 1
            s, e = (h if t == 0 and k.zero_h0 else 0), e_all[i]
            if step is not None and stepx is not None and not (s or first):
                step(i, t)
                stepx(i, t)
                return
            _acc_t(acc, e[h:], st[t], s, first, xp)
            _acc_t(accx, e[:h], st[t, h:], 0, first, xp)
        _steps(loop, consume, overlap)
        parts[ci], keep[ci] = (acc, accx), e_all
    _timed(rec, overlap, parallel.parallel_for, len(chunks), rows, n * t_len * 3 * h * 12)
    acc = _chunk_sum([p[0] for p in parts]).T   # rows [h; 1; x], columns z, r, rec
    accx = _chunk_sum([p[1] for p in parts]).T  # rows [1; x], columns n
    o = acc.shape[0] - f
    dx = dw = db = None
    if need[0]:
        wp = xp.ascontiguousarray(xp.concatenate([k.w[:, 2 * h:], k.w[:, :2 * h]], axis=1))
        dx = _dx(k, wp, [d[:, :3 * h] for d in keep], dt, xp)      # kept rows n, z, r
    if need[2]:
        dw = xp.concatenate([acc[o:, :2 * h], accx[o - h:]], axis=1)
    if len(need) > 4 and need[4]:
        db = xp.stack([xp.concatenate([acc[h, :2 * h], accx[0]]), acc[h]])
    du = xp.ascontiguousarray(acc[:h]) if need[3] else None
    return dx, dh0 if need[1] else None, dw, du, db
