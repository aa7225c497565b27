"""Reverse-mode automatic differentiation: the compute graph and backpropagation.

Every differentiable operation is one ``Function`` subclass with ``forward`` and
``backward`` side by side. Calling ``SomeFunction.apply(*inputs, **params)`` runs the
forward on plain arrays and, when gradients are enabled and some input requires one,
records the function as the creator (``_ctx``) of its output tensors. A function holds
its input tensors (``parents``) and the arrays its backward needs, never its outputs,
so the graph has no reference cycles and is freed as soon as the outputs are.

``backward`` walks the graph in reverse topological order without recursion (a chain of
100,000 nodes is fine) and applies the chain rule:

    dL/dx = sum over uses u of x of  (du/dx)^T dL/du

Gradients arriving at a tensor from several uses are summed (shared subexpressions,
diamonds); gradients reaching a leaf with ``requires_grad=True`` are stored in
``leaf.grad`` (copied the first time, then accumulated in place).
"""
from __future__ import annotations

import functools

from .backend import array_module
from .tensor import Tensor

_grad_enabled = True


def is_grad_enabled():
    return _grad_enabled


def set_grad_enabled(mode):
    global _grad_enabled
    _grad_enabled = bool(mode)


class _GradMode:
    """Base of ``no_grad`` / ``enable_grad``: a context manager and a decorator."""

    mode = True

    def __enter__(self):
        global _grad_enabled
        self._prev = _grad_enabled
        _grad_enabled = self.mode
        return self

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):  # noqa: N801 - PyTorch's name
    """Disable graph recording: ``with no_grad(): ...`` or ``@no_grad()``."""

    mode = False


class enable_grad(_GradMode):  # noqa: N801 - PyTorch's name
    """Re-enable graph recording inside a ``no_grad`` block."""

    mode = True


class Function:
    """One differentiable operation: ``forward`` on arrays, ``backward`` on gradients.

    Subclasses implement

    * ``forward(self, *arrays)`` returning an array or a tuple of arrays; keep on
      ``self`` only what backward needs;
    * ``backward(self, *grads)`` receiving one gradient per output (None for an output
      that did not reach the loss) and returning one gradient per input (None where
      ``self.needs_input_grad[i]`` is False or the input is not differentiable).

    Non-array parameters (axis, shape, ...) are passed as keywords to ``apply`` and
    reach ``__init__``.
    """

    needs_input_grad = ()
    parents = ()
    n_outputs = 1
    _freed = False

    def __init__(self, **params):
        for k, v in params.items():
            setattr(self, k, v)

    @classmethod
    def apply(cls, *inputs, **params):
        fn = cls(**params)
        arrays = [t.data if isinstance(t, Tensor) else t for t in inputs]
        needs = tuple(isinstance(t, Tensor) and t.requires_grad for t in inputs)
        record = _grad_enabled and True in needs
        fn.needs_input_grad = needs
        raw = fn.forward(*arrays)
        if not isinstance(raw, tuple):
            if not record:
                return Tensor._wrap(raw)
            fn.parents = inputs
            out = Tensor._wrap(raw, True)
            out._ctx = fn
            return out
        if not record:
            return tuple(Tensor._wrap(r) for r in raw)
        fn.parents = inputs
        fn.n_outputs = len(raw)
        outs = []
        for i, r in enumerate(raw):
            o = Tensor._wrap(r, True)
            o._ctx, o._out_index = fn, i
            outs.append(o)
        return tuple(outs)

    def forward(self, *arrays):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, *grads):  # pragma: no cover - abstract
        raise NotImplementedError

    def _free(self):
        self.__dict__.clear()
        self._freed = True


def unbroadcast(grad, shape):
    """Undo NumPy broadcasting: sum ``grad`` down to ``shape``.

    If y = broadcast(x) then dL/dx sums dL/dy over the leading axes that broadcasting
    added and over the axes where x had size 1. This is the one place every binary
    operation undoes its broadcast.
    """
    if grad.shape == tuple(shape):
        return grad
    ndim = len(shape)
    lead = grad.ndim - ndim
    if lead:
        grad = grad.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def _accumulate_leaf(leaf, g):
    if g.dtype != leaf.data.dtype:
        g = g.astype(leaf.data.dtype)
    if g.shape != leaf.data.shape:
        raise RuntimeError(
            f"gradient of shape {g.shape} does not match its tensor of shape {leaf.data.shape}")
    if leaf.grad is None:
        # Copy once: g may alias another gradient or be a read-only broadcast view.
        leaf.grad = g.copy()
    else:
        leaf.grad += g


def _topological_order(root_fn):
    """Functions reachable from ``root_fn``, each before the functions that created its inputs."""
    order, visited = [], {id(root_fn)}
    stack = [(root_fn, False)]
    while stack:
        fn, expanded = stack.pop()
        if expanded:
            order.append(fn)
            continue
        stack.append((fn, True))
        for p in fn.parents:
            ctx = p._ctx if isinstance(p, Tensor) else None
            if ctx is not None and id(ctx) not in visited:
                visited.add(id(ctx))
                stack.append((ctx, False))
    order.reverse()
    return order


def backward(tensor, grad=None, retain_graph=False):
    """Backpropagate from ``tensor``; see ``Tensor.backward``."""
    if not tensor.requires_grad:
        raise RuntimeError("backward() on a tensor that does not require grad "
                           "(no input had requires_grad=True, or it was made under no_grad)")
    xp = array_module(tensor.data)
    if grad is None:
        if tensor.data.size != 1:
            raise RuntimeError(
                f"backward() without a gradient argument needs a scalar output, got shape "
                f"{tensor.shape}; pass grad= of that shape (or reduce with .sum() / .mean())")
        grad = xp.ones_like(tensor.data)
    else:
        grad = grad.data if isinstance(grad, Tensor) else grad
        grad = xp.asarray(grad, dtype=tensor.data.dtype)
        if grad.shape != tensor.data.shape:
            grad = xp.broadcast_to(grad, tensor.data.shape)
    root = tensor._ctx
    if root is None:  # a leaf
        _accumulate_leaf(tensor, grad)
        return
    if root._freed:
        raise RuntimeError(
            "backward() through a graph that was already freed: the first backward() releases "
            "it; pass retain_graph=True to the first call to backpropagate twice")
    pending = {id(root): [None] * root.n_outputs}
    pending[id(root)][tensor._out_index] = grad
    for fn in _topological_order(root):
        if fn._freed:
            raise RuntimeError(
                "backward() through a graph that was already freed: pass retain_graph=True to "
                "the first backward() to backpropagate through part of a graph twice")
        grads = pending.pop(id(fn), None)
        if grads is None:
            continue
        in_grads = fn.backward(*grads)
        if not isinstance(in_grads, tuple):
            in_grads = (in_grads,)
        parents = fn.parents
        for p, g, need in zip(parents, in_grads, fn.needs_input_grad):
            if g is None or not need:
                continue
            ctx = p._ctx
            if ctx is None:
                _accumulate_leaf(p, g)
                continue
            if p._retains_grad:
                _accumulate_leaf(p, g)
            slot = pending.get(id(ctx))
            if slot is None:
                slot = pending[id(ctx)] = [None] * ctx.n_outputs
            i = p._out_index
            if slot[i] is None:
                slot[i] = g
            else:
                slot[i] = slot[i] + g
        if not retain_graph:
            fn._free()
