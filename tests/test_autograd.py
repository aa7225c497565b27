"""The backward engine: graph shapes, memory, dtypes, and the errors users meet."""
import gc
import tracemalloc
import weakref

import numpy as np
import pytest
import torch

import deepsheet as ds
import deepsheet.functional as F
from deepsheet.autograd import Function, unbroadcast
from oracle import check_torch, rand


def test_shared_subexpression_accumulates():
    # b = a + a; c = b * b  =>  dc/da = 2b * 2 = 8a
    check_torch(lambda a: (lambda b: b * b)(a + a), lambda a: (lambda b: b * b)(a + a), rand(3))
    a = ds.tensor([1.0, -2.0], requires_grad=True)
    b = a + a
    (b * b).sum().backward()
    np.testing.assert_array_equal(a.grad, [8.0, -16.0])


def _diamond(exp):
    def f(a, w):
        h = a * w          # used by two branches that meet again
        left = exp(h) * a
        right = h * h - w
        return (left + right) @ w
    return f


def test_diamond_and_reuse_across_branches():
    check_torch(_diamond(F.exp), _diamond(torch.exp), rand(4, seed=1), rand(4, seed=2))


def test_long_chain_of_100000_nodes_needs_no_recursion():
    x = ds.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward(retain_graph=True)
    assert x.grad == 1.0
    # Dropping the (retained) chain frees 100,000 nested objects: no C stack overflow.
    del y


def test_no_grad_context_manager_and_decorator():
    x = ds.tensor(rand(3), requires_grad=True)
    with ds.no_grad():
        y = x * 2.0
        with ds.enable_grad():
            z = x * 2.0
        assert not ds.is_grad_enabled()
    assert ds.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf
    assert z.requires_grad and not z.is_leaf

    @ds.no_grad()
    def infer(t):
        assert not ds.is_grad_enabled()
        return F.exp(t)

    out = infer(x)
    assert not out.requires_grad and out._ctx is None and ds.is_grad_enabled()


def test_no_grad_restores_mode_after_an_exception():
    with pytest.raises(KeyError):
        with ds.no_grad():
            raise KeyError
    assert ds.is_grad_enabled()


def test_under_no_grad_forward_sees_no_input_needing_grad():
    seen = []

    class Probe(Function):
        def forward(self, a):
            seen.append(self.needs_input_grad)
            return a * 1.0

    x = ds.tensor(rand(2), requires_grad=True)
    Probe.apply(x)
    with ds.no_grad():
        Probe.apply(x)
    Probe.apply(ds.tensor(rand(2)))
    assert seen == [(True,), (False,), (False,)]


def test_backward_twice_needs_retain_graph():
    x = ds.tensor(rand(3), requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, 4 * x.data, rtol=1e-6)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()
    # A later graph built on a freed part of the old one fails the same clear way.
    x2 = ds.tensor(rand(3), requires_grad=True)
    h = x2 * 2.0
    h.sum().backward()
    with pytest.raises(RuntimeError, match="already freed"):
        (h * 3.0).sum().backward()


def test_graph_is_freed_after_backward():
    x = ds.tensor(rand(3), requires_grad=True)
    y = F.exp(x * 2.0).sum()
    fn = y._ctx
    y.backward()
    assert fn.parents == () and "out" not in vars(fn)


def test_detach_cuts_the_graph_and_shares_memory():
    x = ds.tensor(rand(3), requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf and np.shares_memory(d.data, x.data)
    (x * 2.0 + d * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])


def test_gradients_accumulate_until_zero_grad():
    x = ds.tensor(rand(3), requires_grad=True)
    (x * 2.0).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 5.0, 5.0])
    x.zero_grad()
    assert x.grad is None
    (x * 4.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [4.0, 4.0, 4.0])


def test_leaf_gradient_never_aliases_and_is_writable():
    x = ds.tensor(rand(2, 3), requires_grad=True)
    upstream = np.ones((2, 3), np.float32)
    y = x * 1.0
    y.backward(upstream)
    assert not np.shares_memory(x.grad, upstream)
    upstream[:] = 7.0
    np.testing.assert_array_equal(x.grad, np.ones((2, 3)))
    # sum's backward hands out a read-only broadcast view: the stored grad must be a copy.
    w = ds.tensor(rand(2, 3), requires_grad=True)
    w.sum().backward()
    assert w.grad.flags.writeable and w.grad.flags.owndata
    w.grad += 1.0
    # A leaf passed to backward directly is copied too.
    z = ds.tensor(rand(3), requires_grad=True)
    g = np.ones(3, np.float32)
    z.backward(g)
    assert not np.shares_memory(z.grad, g)


def test_retain_grad_keeps_intermediate_gradients():
    x = ds.tensor(rand(3), requires_grad=True)
    h = (x * 2.0).retain_grad()
    y = (h * h).sum().retain_grad()
    y.backward()
    np.testing.assert_allclose(h.grad, 2 * h.data, rtol=1e-6)
    assert y.grad == 1.0 and x.grad is not None


def test_multi_output_function_gets_none_for_unused_output():
    received = []

    class TwoWay(Function):
        def forward(self, a):
            return a * 2.0, a * 3.0

        def backward(self, g2, g3):
            received.append((g2 is None, g3 is None))
            total = 0.0
            if g2 is not None:
                total = total + 2.0 * g2
            if g3 is not None:
                total = total + 3.0 * g3
            return total

    x = ds.tensor(rand(3), requires_grad=True)
    two, three = TwoWay.apply(x)
    three.sum().backward()
    assert received == [(True, False)]
    np.testing.assert_array_equal(x.grad, [3.0, 3.0, 3.0])


def test_custom_init_receives_params():
    class Scale(Function):
        def __init__(self, factor):
            self.factor = factor * 1.0

        def forward(self, a):
            return a * self.factor

        def backward(self, g):
            return g * self.factor

    x = ds.tensor(rand(2), requires_grad=True)
    Scale.apply(x, factor=3).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_constant_inputs_get_no_gradient_work():
    calls = []

    class Spy(Function):
        def forward(self, a, b):
            return a * b

        def backward(self, g):
            calls.append(self.needs_input_grad)
            na, nb = self.needs_input_grad
            return (g if na else None), (g if nb else None)

    x = ds.tensor(rand(2), requires_grad=True)
    Spy.apply(ds.tensor(rand(2)), x).sum().backward()
    assert calls == [(False, True)]


def test_no_reference_cycles():
    gc.collect()
    gc.disable()
    try:
        x = ds.tensor(rand(4), requires_grad=True)
        y = F.exp(x * 2.0) + 1.0
        fn_ref, out_ref = weakref.ref(y._ctx), weakref.ref(y)
        del y  # reference counting alone must free the graph (no collector run)
        assert fn_ref() is None and out_ref() is None
        z = F.logsumexp(F.reshape(x, (2, 2)) * x[:2], axis=0).sum()
        z_ref = weakref.ref(z._ctx)
        z.backward()
        del z
        assert z_ref() is None
    finally:
        gc.enable()


def _live(cls):
    return sum(1 for o in gc.get_objects() if issubclass(type(o), cls))


def test_memory_does_not_grow_over_1000_steps():
    # Arrays of 8 KiB: one leaked intermediate per step would add 8 MiB, far above the
    # ~100 KiB that Python's free lists (2-tuples, floats) may still absorb as they fill.
    w = ds.tensor(rand(64, 64), requires_grad=True)
    b = ds.tensor(rand(64), requires_grad=True)
    x = ds.tensor(rand(32, 64))

    def step():
        y = F.exp(F.clip(x @ w + b, -3.0, 3.0))
        loss = (y[:, :32] * y[:, 32:]).mean() + F.var(y, axis=0).sum()
        loss.backward()
        w.grad -= w.grad  # accumulate in place, as an optimizer step would
        b.grad -= b.grad

    for _ in range(100):
        step()
    gc.collect()
    tensors, functions = _live(ds.Tensor), _live(Function)
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        for _ in range(1000):
            step()
        end, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    gc.collect()
    assert (_live(ds.Tensor), _live(Function)) == (tensors, functions)
    assert end - start < 512 * 1024, f"memory grew by {end - start} bytes over 1000 steps"


def test_float32_stays_float32_end_to_end():
    x = ds.tensor(rand(3, 4), requires_grad=True)
    w = ds.tensor(rand(4, 2), requires_grad=True)
    y = ((x * np.float64(2.0) + 1) @ w) ** 2 / np.float32(3.0) - np.int64(1)
    loss = F.logsumexp(y, axis=1).mean() + F.std(y) + F.max(F.sqrt(F.abs(y) + 1e-3))
    assert y.dtype == np.float32 and loss.dtype == np.float32
    loss.backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


def test_backward_on_non_scalar_needs_grad():
    x = ds.tensor(rand(3), requires_grad=True)
    y = x * 2.0
    with pytest.raises(RuntimeError, match=r"scalar output, got shape \(3,\)"):
        y.backward()
    y.backward(np.ones(3, np.float32))
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])
    with pytest.raises(ValueError, match=r"grad of shape \(4,\)"):
        (x * 2.0).backward(np.ones(4, np.float32))


def test_backward_on_tensor_without_grad_is_clear():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (ds.tensor(rand(3)) * 2.0).sum().backward()


def test_unbroadcast_sums_added_and_size1_axes():
    g = np.ones((2, 3, 4), np.float32)
    assert unbroadcast(g, (3, 1)).shape == (3, 1)
    np.testing.assert_array_equal(unbroadcast(g, (3, 1)), np.full((3, 1), 8.0))
    np.testing.assert_array_equal(unbroadcast(g, ()), 24.0)
    assert unbroadcast(g, (2, 3, 4)) is g
    assert unbroadcast(g, [1, 1, 4]).shape == (1, 1, 4)


def test_matches_torch_on_a_small_network():
    def net(x, w1, w2):
        h = F.maximum(x @ w1, 0.0)
        return F.logsumexp(h @ w2, axis=-1) - F.mean(h, axis=0).sum()
    check_torch(net, lambda x, w1, w2: torch.logsumexp(torch.clamp(x @ w1, min=0.0) @ w2, dim=-1)
                - (torch.clamp(x @ w1, min=0.0)).mean(0).sum(), rand(5, 4, seed=1),
                rand(4, 6, seed=2), rand(6, 3, seed=3))
