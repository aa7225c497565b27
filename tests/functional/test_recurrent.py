"""functional.simple_rnn / lstm / gru (one node per sequence, hand-written BPTT) against
torch.nn.RNN/LSTM/GRU run with the same weights (float32), and finite differences (float64).

The PyTorch side runs the real torch modules through ``torch.func.functional_call`` with
parameters built from the Keras-layout arrays (transposes, GRU's r/z swap, LSTM's two
biases), so the gradients of every Keras-layout weight are PyTorch's own autograd."""
import numpy as np
import pytest
import torch

import deepsheet as ds
import deepsheet.functional as F
from oracle import check_grad, check_torch, rand

torch.manual_seed(0)


def _swap_rz(a, h):
    idx = torch.cat([torch.arange(h, 2 * h), torch.arange(0, h), torch.arange(2 * h, 3 * h)])
    return a.index_select(0, idx)


def torch_rnn(kind, x, h0, w, u, b, c0=None, nonlinearity="tanh"):
    """Run torch.nn.{RNN,LSTM,GRU} with Keras-layout weights (autograd through them)."""
    f, k = w.shape
    h = u.shape[0]
    if kind == "rnn":
        m = torch.nn.RNN(f, h, batch_first=True, nonlinearity=nonlinearity, bias=b is not None)
    elif kind == "lstm":
        m = torch.nn.LSTM(f, h, batch_first=True, bias=b is not None)
    else:
        m = torch.nn.GRU(f, h, batch_first=True, bias=b is not None)
    wt, ut = w.T, u.T
    params = {}
    if kind == "gru":
        wt, ut = _swap_rz(wt, h), _swap_rz(ut, h)
        if b is not None:
            params["bias_ih_l0"], params["bias_hh_l0"] = _swap_rz(b[0], h), _swap_rz(b[1], h)
    elif b is not None:
        params["bias_ih_l0"], params["bias_hh_l0"] = b, torch.zeros_like(b)
    params["weight_ih_l0"], params["weight_hh_l0"] = wt, ut
    state = (h0[None], c0[None]) if kind == "lstm" else h0[None]
    seq, st = torch.func.functional_call(m, params, (x, state))
    if kind == "lstm":
        return seq, st[0][0], st[1][0]
    return seq, st[0]


def _weights(kind, f, h, seed, scale=0.5, reset_after=True):
    k = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    w = rand(f, k * h, seed=seed, low=-scale, high=scale)
    u = rand(h, k * h, seed=seed + 1, low=-scale, high=scale)
    bshape = (2, k * h) if kind == "gru" and reset_after else (k * h,)
    b = rand(*bshape, seed=seed + 2, low=-scale, high=scale)
    return w, u, b


OURS = {
    "rnn": lambda x, h0, w, u, b, **kw: F.simple_rnn(x, w, u, b, initial_state=h0, **kw),
    "gru": lambda x, h0, w, u, b, **kw: F.gru(x, w, u, b, initial_state=h0, **kw),
}


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("shape", [(3, 5, 4, 6), (1, 1, 2, 3), (2, 7, 1, 4)])
def test_vs_torch(kind, shape):
    n, t, f, h = shape
    x, h0, c0 = rand(n, t, f, seed=1), rand(n, h, seed=2), rand(n, h, seed=3)
    w, u, b = _weights(kind, f, h, seed=4)
    if kind == "lstm":
        check_torch(lambda x, h0, c0, w, u, b: F.lstm(x, w, u, b, initial_state=[h0, c0]),
                    lambda x, h0, c0, w, u, b: torch_rnn(kind, x, h0, w, u, b, c0=c0),
                    x, h0, c0, w, u, b)
    else:
        check_torch(OURS[kind], lambda x, h0, w, u, b: torch_rnn(kind, x, h0, w, u, b),
                    x, h0, w, u, b)


def test_relu_rnn_and_no_bias_vs_torch():
    x, h0 = rand(2, 4, 3, seed=1), rand(2, 5, seed=2)
    w, u, _ = _weights("rnn", 3, 5, seed=3)
    check_torch(lambda x, h0, w, u: F.simple_rnn(x, w, u, None, initial_state=h0,
                                                 activation="relu"),
                lambda x, h0, w, u: torch_rnn("rnn", x, h0, w, u, None, nonlinearity="relu"),
                x, h0, w, u)
    w, u, _ = _weights("lstm", 3, 5, seed=3)
    check_torch(lambda x, h0, c0, w, u: F.lstm(x, w, u, None, initial_state=[h0, c0]),
                lambda x, h0, c0, w, u: torch_rnn("lstm", x, h0, w, u, None, c0=c0),
                x, h0, h0 * 0.5, w, u)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_go_backwards_is_reversed_input(kind):
    # Keras: read from the end, return the sequence in processing (reversed) order.
    x, h0 = rand(2, 6, 3, seed=1), rand(2, 4, seed=2)
    w, u, b = _weights(kind, 3, 4, seed=5)
    if kind == "lstm":
        def ours(x, h0, w, u, b):
            return F.lstm(x, w, u, b, initial_state=[h0, h0], go_backwards=True)

        def theirs(x, h0, w, u, b):
            return torch_rnn(kind, x.flip(1), h0, w, u, b, c0=h0)
    else:
        def ours(x, h0, w, u, b):
            return OURS[kind](x, h0, w, u, b, go_backwards=True)

        def theirs(x, h0, w, u, b):
            return torch_rnn(kind, x.flip(1), h0, w, u, b)
    check_torch(ours, theirs, x, h0, w, u, b)


def test_long_sequence_t500_batch1():
    # 500 steps: float32 rounding accumulates along the recurrence, hence atol 1e-4.
    x, h0 = rand(1, 500, 3, seed=1), rand(1, 8, seed=2)
    w, u, b = _weights("lstm", 3, 8, seed=6, scale=0.3)
    check_torch(lambda x, h0, w, u, b: F.lstm(x, w, u, b, initial_state=[h0, h0]),
                lambda x, h0, w, u, b: torch_rnn("lstm", x, h0, w, u, b, c0=h0),
                x, h0, w, u, b, atol=1e-4)
    w, u, b = _weights("gru", 3, 8, seed=7, scale=0.3)
    check_torch(OURS["gru"], lambda x, h0, w, u, b: torch_rnn("gru", x, h0, w, u, b),
                x, h0, w, u, b, atol=1e-4)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru", "gru_before"])
def test_float64_gradcheck(kind):
    x, h0 = rand(2, 3, 2, seed=1), rand(2, 3, seed=2)
    base = "gru" if kind == "gru_before" else kind
    w, u, b = _weights(base, 2, 3, seed=8, reset_after=kind != "gru_before")
    mask = np.array([[True, False, True], [True, True, True]])
    rm = np.array([[2.0, 0.0, 2.0], [0.0, 2.0, 2.0]])
    if kind == "lstm":
        def fn(x, h0, c0, w, u, b):
            out = F.lstm(x, w, u, b, initial_state=[h0, c0], mask=mask, recurrent_mask=rm)
            return out[0].sum() * 0.3 + (out[1] * out[2]).sum()
        check_grad(fn, x, h0, h0 * 0.5, w, u, b)
        return

    def fn(x, h0, w, u, b):
        if base == "gru":
            out = F.gru(x, w, u, b, initial_state=h0, mask=mask, recurrent_mask=rm,
                        reset_after=kind == "gru", go_backwards=True)
        else:
            out = F.simple_rnn(x, w, u, b, initial_state=h0, mask=mask, recurrent_mask=rm)
        return (out[0] * out[0]).sum() + out[1].sum()
    check_grad(fn, x, h0, w, u, b)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("backwards", [False, True])
def test_masked_padding_equals_unpadded_run(kind, backwards):
    """Each right-padded sequence gives exactly its own unpadded result and gradients."""
    rng = np.random.default_rng(0)
    lengths = [5, 2, 3]
    t_max, f, h = 5, 3, 4
    w, u, b = _weights(kind, f, h, seed=9)
    x = rng.standard_normal((3, t_max, f)).astype(np.float32)
    mask = np.arange(t_max)[None, :] < np.array(lengths)[:, None]
    x[~mask] = 7.0  # padding values must not matter

    def run(xa, m, wt):
        fn = F.lstm if kind == "lstm" else (F.gru if kind == "gru" else F.simple_rnn)
        out = fn(ds.tensor(xa), wt, u, b, mask=m, go_backwards=backwards)
        return out[1]  # the final state

    wt = ds.tensor(w, requires_grad=True)
    final = run(x, mask, wt)
    (final * final).sum().backward()
    grad_padded = wt.grad.copy()
    total = np.zeros_like(w)
    for i, n in enumerate(lengths):
        wi = ds.tensor(w, requires_grad=True)
        fi = run(x[i:i + 1, :n], None, wi)
        np.testing.assert_allclose(final.numpy()[i], fi.numpy()[0], rtol=1e-5, atol=1e-6)
        (fi * fi).sum().backward()
        total += wi.grad
    np.testing.assert_allclose(grad_padded, total, rtol=1e-4, atol=1e-5)


def test_sequence_at_masked_steps_repeats_the_state():
    x = rand(1, 4, 2, seed=1)
    w, u, b = _weights("gru", 2, 3, seed=2)
    seq, h = F.gru(x, w, u, b, mask=np.array([[True, True, False, False]]))
    s = seq.numpy()[0]
    np.testing.assert_array_equal(s[2], s[1])
    np.testing.assert_array_equal(s[3], s[1])
    np.testing.assert_array_equal(h.numpy()[0], s[1])


def test_dtypes_and_no_input_gradient_for_data():
    x = rand(2, 3, 4, seed=1)
    w, u, b = _weights("lstm", 4, 5, seed=2)
    wt = ds.tensor(w, requires_grad=True)
    seq, h, c = F.lstm(x, wt, u, b)
    assert seq.dtype == h.dtype == c.dtype == np.float32
    assert seq._ctx.w is None  # the data needs no gradient: dL/dx is never computed
    h.sum().backward()
    assert wt.grad.dtype == np.float32 and wt.grad.shape == w.shape


def test_unused_sequence_output_and_no_grad():
    x = rand(2, 3, 4, seed=1)
    w, u, b = _weights("rnn", 4, 5, seed=2)
    with ds.no_grad():
        seq, h = F.simple_rnn(x, ds.tensor(w, requires_grad=True), u, b)
    assert not h.requires_grad
    np.testing.assert_allclose(seq.numpy()[:, -1], h.numpy())


@pytest.mark.parametrize("fn,args", [
    (F.lstm, dict(initial_state=[np.zeros((2, 5), np.float32)])),
    (F.gru, dict(initial_state=np.zeros((3, 5), np.float32))),
    (F.simple_rnn, dict(mask=np.ones((2, 4), bool))),
    (F.lstm, dict(activation="softsign")),
])
def test_bad_arguments_are_named(fn, args):
    kind = {F.lstm: "lstm", F.gru: "gru", F.simple_rnn: "rnn"}[fn]
    w, u, b = _weights(kind, 4, 5, seed=1)
    with pytest.raises(ValueError, match=fn.__name__):
        fn(rand(2, 3, 4, seed=1), w, u, b, **args)


def test_two_dimensional_input_suggests_embedding():
    w, u, b = _weights("lstm", 4, 5, seed=1)
    with pytest.raises(ValueError, match="batch, time, features"):
        F.lstm(rand(2, 4, seed=1), w, u, b)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("masked", [True, False])   # general loops / unmasked fast path
def test_same_numbers_with_1_and_3_threads(kind, masked):
    """Row chunks run on the pool: 128 + 22 rows on one thread, 3 x 50 on three (a batch is
    shared among the configured threads, ``_recurrent_kernels.chunk_rows``). Each thread
    count repeats its numbers exactly; across thread counts the weight gradients are summed
    chunk by chunk, so they agree to float32 rounding, not bit for bit (the module says so)."""
    x = rand(150, 4, 3, seed=11)
    w, u, b = _weights(kind, 3, 5, seed=12)
    mask = np.ones((150, 4), bool)
    if masked:
        mask[::7, 2:] = False
    fn = {"rnn": F.simple_rnn, "lstm": F.lstm, "gru": F.gru}[kind]
    results = []
    before = ds.get_num_threads()
    try:
        for threads in (1, 3, 3, 1):
            ds.set_num_threads(threads)
            xt, wt = ds.tensor(x, requires_grad=True), ds.tensor(w, requires_grad=True)
            out = fn(xt, wt, u, b, mask=mask)
            ((out[0] * out[0]).sum() + out[1].sum()).backward()
            results.append((out[0].numpy(), xt.grad, wt.grad))
    finally:
        ds.set_num_threads(before)
    for a, b_ in zip(results[0], results[3]):
        np.testing.assert_array_equal(a, b_)
    for a, b_ in zip(results[1], results[2]):
        np.testing.assert_array_equal(a, b_)
    for a, b_ in zip(results[0], results[1]):
        np.testing.assert_allclose(a, b_, rtol=2e-6, atol=1e-6 * np.abs(a).max())


def test_column_blocked_products_same_with_1_and_2_threads():
    """dU = Hᵀ·dZ and dW run in 128-column blocks on the pool once they are large; the row
    chunks differ (128 + 22 rows against 2 x 75), so the sums agree to rounding."""
    x = rand(150, 8, 40, seed=13, low=-0.5, high=0.5)
    w, u, b = _weights("lstm", 40, 64, seed=14, scale=0.2)
    grads = []
    before = ds.get_num_threads()
    try:
        for threads in (1, 2):
            ds.set_num_threads(threads)
            wt, ut = ds.tensor(w, requires_grad=True), ds.tensor(u, requires_grad=True)
            F.lstm(x, wt, ut, b)[1].sum().backward()
            grads.append((wt.grad, ut.grad))
    finally:
        ds.set_num_threads(before)
    for a, b_ in zip(*grads):
        np.testing.assert_allclose(a, b_, rtol=2e-6, atol=1e-6 * np.abs(a).max())


# ------------------------------------------------------------------ the unmasked fast path
@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("shape,zero_h0,bias", [
    ((150, 6, 5, 8), True, True),      # two row chunks (128 + 22), h_0 = 0 skips work
    ((150, 6, 5, 8), False, False),
    ((1, 9, 3, 4), True, True),        # batch 1
    ((4, 1, 3, 4), False, True),       # T = 1
    ((3, 5, 4, 6), True, False),
])
def test_fast_path_vs_torch(kind, shape, zero_h0, bias):
    """The fast path (no mask, tanh/sigmoid, T·N >= H) against torch: outputs and every
    gradient, with the sequence, h_T (and c_T) all reaching the loss."""
    n, t, f, h = shape
    x, h0, c0 = rand(n, t, f, seed=1), rand(n, h, seed=2), rand(n, h, seed=3)
    if zero_h0:
        h0, c0 = h0 * 0, c0 * 0
    w, u, b = _weights(kind, f, h, seed=4)
    b = b if bias else None
    fn = F.lstm if kind == "lstm" else F.gru
    wt = ds.tensor(w, requires_grad=True)
    assert fn(x, wt, u, b, initial_state=[h0, c0] if kind == "lstm" else h0)[1]._ctx.fast
    if kind == "lstm":
        check_torch(lambda x, h0, c0, w, u, *b: F.lstm(x, w, u, b[0] if b else None,
                                                       initial_state=[h0, c0]),
                    lambda x, h0, c0, w, u, *b: torch_rnn(kind, x, h0, w, u,
                                                          b[0] if b else None, c0=c0),
                    x, h0, c0, w, u, *([b] if bias else []))
    else:
        check_torch(lambda x, h0, w, u, *b: F.gru(x, w, u, b[0] if b else None,
                                                  initial_state=h0),
                    lambda x, h0, w, u, *b: torch_rnn(kind, x, h0, w, u, b[0] if b else None),
                    x, h0, w, u, *([b] if bias else []))


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_fast_path_is_taken_and_matches_general_path(kind):
    """Default zero state, go_backwards, the final state only: the fast and general loops
    agree; an all-True mask is no mask (fast), a real mask takes the general path."""
    x = rand(130, 7, 5, seed=1)
    w, u, b = _weights(kind, 5, 6, seed=2)
    fn = F.lstm if kind == "lstm" else F.gru
    results = []
    for mask in (None, np.ones((130, 7), bool)):
        wt = ds.tensor(w, requires_grad=True)
        out = fn(x, wt, u, b, mask=mask, go_backwards=True)
        assert out[1]._ctx.fast
        (out[1] * out[1]).sum().backward()
        results.append((out[1].numpy(), wt.grad))
    mask = np.ones((130, 7), bool)
    mask[0, -1] = False
    wt = ds.tensor(w, requires_grad=True)
    out = fn(x, wt, u, b, mask=mask, go_backwards=True)
    assert not out[1]._ctx.fast
    (out[1][1:] * out[1][1:]).sum().backward()
    np.testing.assert_allclose(out[1].numpy()[1:], results[0][0][1:], rtol=1e-5, atol=1e-6)
    wt0 = ds.tensor(w, requires_grad=True)
    o0 = fn(x[1:], wt0, u, b, go_backwards=True)
    (o0[1] * o0[1]).sum().backward()
    np.testing.assert_allclose(wt.grad, wt0.grad, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(results[0][1], results[1][1])


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("zero_h0", [True, False])
def test_fast_path_float64_gradcheck(kind, zero_h0):
    x, h0 = rand(3, 4, 2, seed=1), rand(3, 3, seed=2) * (0 if zero_h0 else 1)
    w, u, b = _weights(kind, 2, 3, seed=8)
    if kind == "lstm":
        def fn(x, h0, c0, w, u, b):
            out = F.lstm(x, w, u, b, initial_state=[h0, c0], go_backwards=True)
            assert out[0]._ctx is None or out[0]._ctx.fast   # None: finite differences
            return (out[0] * out[0]).sum() * 0.3 + (out[1] * out[2]).sum()
        check_grad(fn, x, h0, h0 * 0.5, w, u, b)
        return

    def fn(x, h0, w, u, b):
        out = F.gru(x, w, u, b, initial_state=h0, go_backwards=True)
        assert out[0]._ctx is None or out[0]._ctx.fast
        return (out[0] * out[0]).sum() + out[1].sum()
    check_grad(fn, x, h0, w, u, b)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("x_grad", [True, False])
def test_fast_path_overlapped_weight_gradients_same_as_inline(kind, x_grad, monkeypatch):
    """One row chunk on 2 threads (a batch of 30 is not shared: ``_MIN_ROWS``): the
    weight-gradient products may run on a second thread while the time loop goes on (kept
    when it measures faster); the same products in the same order, so bit-identical to 1
    thread either way."""
    from deepsheet.functional import _recurrent_fast
    x = rand(30, 6, 3, seed=11)
    w, u, b = _weights(kind, 3, 5, seed=12)
    fn = F.lstm if kind == "lstm" else F.gru
    results = []
    before = ds.get_num_threads()
    try:
        for threads, overlap in ((1, False), (2, True), (2, False), (2, None)):
            ds.set_num_threads(threads)
            if overlap is not None:
                monkeypatch.setattr(_recurrent_fast, "_overlap", lambda k, o=overlap: (o, None))
            else:                                   # the timing trials themselves
                monkeypatch.undo()
            xt = ds.tensor(x, requires_grad=x_grad)
            wt, ut = ds.tensor(w, requires_grad=True), ds.tensor(u, requires_grad=True)
            out = fn(xt, wt, ut, b)
            ((out[0] * out[0]).sum() + out[1].sum()).backward()
            results.append((out[0].numpy(), wt.grad, ut.grad, xt.grad))
    finally:
        ds.set_num_threads(before)
    for other in results[1:]:
        for a, b_ in zip(results[0], other):
            if a is None:
                assert b_ is None
            else:
                np.testing.assert_array_equal(a, b_)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("threads", [1, 2])
def test_without_sequences_equals_the_last_step(kind, threads):
    """``return_sequences=False``: the first output is h_T itself, and the values and every
    gradient are those of the full run's last step, on one row chunk and on several (2
    threads, batch 100: two chunks, the case that no longer assembles the sequence)."""
    x = rand(100, 6, 3, seed=21)
    w, u, b = _weights(kind, 3, 5, seed=22)
    fn = {"rnn": F.simple_rnn, "lstm": F.lstm, "gru": F.gru}[kind]
    before = ds.get_num_threads()
    results = []
    try:
        ds.set_num_threads(threads)
        for full in (True, False):
            xt, wt = ds.tensor(x, requires_grad=True), ds.tensor(w, requires_grad=True)
            ut = ds.tensor(u, requires_grad=True)
            out = fn(xt, wt, ut, b, return_sequences=full)
            last = out[0][:, -1] if full else out[0]
            assert last.shape == (100, 5) and out[1].shape == (100, 5)
            loss = (last * last).sum()
            if kind == "lstm":  # c_T too (for the others out[-1] is h_T: another sum order)
                loss = loss + (out[2] * 0.5).sum()
            loss.backward()
            results.append([a.numpy() if hasattr(a, "numpy") else a
                             for a in (last, out[-1], xt.grad, wt.grad, ut.grad)])
        assert out[0] is out[1]                  # h_T itself, as a Keras layer's output
    finally:
        ds.set_num_threads(before)
    for a, b_ in zip(*results):
        np.testing.assert_array_equal(a, b_)
