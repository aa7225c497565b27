"""Reverse-mode automatic differentiation: the compute graph and backpropagation.

Every differentiable operation is one ``Function`` subclass with ``forward`` and
``backward`` side by side. Calling ``SomeFunction.apply(*inputs, **params)`` runs the
forward on plain arrays and, when gradients are enabled and some input requires one,
records the function as the creator (``_ctx``) of its output tensors. A function holds
its input tensors (``parents``) and the arrays its backward needs, never its outputs,
so the graph has no reference cycles and is freed as soon as the outputs are.

``backward`` walks the graph in reverse topological order without recursion (a chain of
100,000 nodes is fine): a function runs once every consumer of its outputs has passed its
gradient down. At each step it applies the chain rule:

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
    become attributes of ``self`` before ``forward`` runs (through ``__init__``, which a
    subclass may override).

    ``needs_input_grad[i]`` is True when input i is a tensor that requires a gradient and
    the graph is being recorded; under ``no_grad`` it is all False, so ``forward`` can skip
    saving anything for backward.

    Examples
    --------
    >>> import deepsheet as ds
    >>> from deepsheet.autograd import Function
    >>> class Cube(Function):
    ...     def forward(self, a):
    ...         self.a = a                      # saved for backward
    ...         return a ** 3                   # y = a^3
    ...     def backward(self, g):
    ...         return g * 3 * self.a ** 2      # dL/da = g * 3a^2
    >>> x = ds.tensor([1.0, 2.0], requires_grad=True)
    >>> Cube.apply(x).sum().backward()
    >>> x.grad
    array([ 3., 12.], dtype=float32)
    """

    needs_input_grad = ()
    parents = ()
    n_outputs = 1
    _freed = False
    _plain_init = True
    # True where backward returns arrays it allocated and keeps no reference to: a leaf
    # whose .grad is None then takes its gradient as it is, without a copy.
    fresh_grads = False

    def __init__(self, **params):
        self.__dict__.update(params)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # apply() skips the __init__ call (a measurable share of a small op) unless a
        # subclass defines its own.
        cls._plain_init = cls.__init__ is Function.__init__

    @classmethod
    def apply(cls, *inputs, **params):
        fn = cls.__new__(cls)
        if not cls._plain_init:
            fn.__init__(**params)
        elif params:
            fn.__dict__.update(params)
        # A plain loop: cheaper than comprehensions on Python 3.11 for two or three inputs.
        arrays, needs, record = [], [], False
        for t in inputs:
            if isinstance(t, Tensor):
                arrays.append(t.data)
                if t.requires_grad:
                    record = True
                    needs.append(True)
                    continue
            else:
                arrays.append(t)
            needs.append(False)
        if record and _grad_enabled:
            fn.needs_input_grad = tuple(needs)
        else:
            record = False
            fn.needs_input_grad = (False,) * len(inputs)
        raw = fn.forward(*arrays)
        wrap = Tensor._wrap
        if type(raw) is not tuple:
            if not record:
                return wrap(raw)
            fn.parents = inputs
            out = wrap(raw, True)
            out._ctx = fn
            return out
        if not record:
            return tuple([wrap(r) for r in raw])
        fn.parents = inputs
        fn.n_outputs = len(raw)
        outs = []
        for i, r in enumerate(raw):
            o = wrap(r, True)
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
    if grad.shape == shape:
        return grad
    shape = tuple(shape)
    if grad.shape == shape:
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
    data = leaf.data
    if g.shape != data.shape:
        raise RuntimeError(
            f"gradient of shape {g.shape} does not match its tensor of shape {data.shape}")
    if leaf.grad is None:
        # A fresh, writable array: g may alias another gradient, the tensor's data or a
        # read-only broadcast view, or be a NumPy scalar.
        leaf.grad = array_module(g).array(g, dtype=data.dtype, copy=True)
    else:
        leaf.grad += g


def _count_consumers(root):
    """For every function reachable from ``root``: how many graph edges consume its outputs.

    Backward runs a function once all of its consumers have passed their gradients down
    (Kahn's algorithm, as PyTorch's engine does), so each gradient is complete, i.e.
    summed over every use, before it is propagated. An explicit stack, no recursion.
    """
    deps = {root: 0}
    stack = [root]
    while stack:
        fn = stack.pop()
        for p, need in zip(fn.parents, fn.needs_input_grad):
            if not need:
                continue
            ctx = p._ctx
            if ctx is None:
                continue
            if ctx in deps:
                deps[ctx] += 1
            else:
                deps[ctx] = 1
                stack.append(ctx)
    return deps


_FREED = ("backward() through a graph that was already freed: the first backward() releases "
          "it; pass retain_graph=True to the first call to backpropagate through it again")


def backward(tensor, grad=None, retain_graph=False, capture=None):
    """Backpropagate from ``tensor``; see ``Tensor.backward``.

    Formula::

        chain rule, in reverse topological order from L (∂L/∂L = 1):
        ∂L/∂x = Σ_{y a child of x} (∂y/∂x)ᵀ · ∂L/∂y

    With ``capture`` (a dict ``id(tensor) -> list``), no ``.grad`` is touched: the gradient
    reaching each captured tensor is appended to its list instead (``grad`` below).
    """
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
            try:
                grad = xp.broadcast_to(grad, tensor.data.shape)
            except ValueError:
                raise ValueError(f"backward(): grad of shape {grad.shape} does not match the "
                                 f"tensor's shape {tensor.data.shape}") from None
    if capture is not None:
        def keep(t, g):
            got = capture.get(id(t))
            if got is not None:
                got.append(g)
    else:
        keep = _accumulate_leaf
    root = tensor._ctx
    if root is None or (capture is not None and id(tensor) in capture):
        keep(tensor, grad)
        if root is None:
            return
    if root._freed:
        raise RuntimeError(_FREED)
    if tensor._retains_grad and capture is None:
        _accumulate_leaf(tensor, grad)
    pending = {root: [None] * root.n_outputs}
    pending[root][tensor._out_index] = grad
    deps = _count_consumers(root)
    ready = [root]
    while ready:
        fn = ready.pop()
        if fn._freed:
            raise RuntimeError(_FREED)
        parents, needs = fn.parents, fn.needs_input_grad
        grads = pending.pop(fn, None)
        if grads is None:  # no gradient reached this function: only release its inputs
            in_grads = (None,) * len(parents)
        else:
            in_grads = fn.backward(*grads)
            if type(in_grads) is not tuple:
                in_grads = (in_grads,)
        fresh = fn.fresh_grads and capture is None
        for p, g, need in zip(parents, in_grads, needs):
            if not need:
                continue
            ctx = p._ctx
            if ctx is None:
                if g is None:
                    continue
                if fresh and p.grad is None and type(g) is type(p.data) \
                        and g.shape == p.data.shape and g.dtype == p.data.dtype:
                    p.grad = g  # allocated by the backward for this input: no copy
                else:
                    keep(p, g)
                continue
            if g is not None:
                if capture is not None:
                    keep(p, g)
                elif p._retains_grad:
                    _accumulate_leaf(p, g)
                slot = pending.get(ctx)
                if slot is None:
                    slot = pending[ctx] = [None] * ctx.n_outputs
                i = p._out_index
                if slot[i] is None:
                    slot[i] = g
                else:
                    slot[i] = slot[i] + g
            left = deps[ctx] - 1
            deps[ctx] = left
            if not left:
                ready.append(ctx)
        if not retain_graph:
            fn._free()


def grad(outputs, inputs, grad_outputs=None, retain_graph=False, allow_unused=False):
    """d(outputs)/d(inputs) without touching any ``.grad`` (``torch.autograd.grad``).

    Formula
    -------
    For outputs yₖ with incoming gradients gₖ (1 for a scalar): ∂/∂xᵢ Σₖ gₖ · yₖ,
    by one reverse pass per output. First order only (the result is not differentiable).

    Parameters
    ----------
    outputs : Tensor or sequence of Tensor
    inputs : Tensor or sequence of Tensor
        Leaves or intermediate tensors of the graph.
    grad_outputs : array or sequence of arrays, optional
        dL/d(output); needed for outputs that are not scalars.
    retain_graph : bool
        Keep the graph for another backward pass.
    allow_unused : bool
        Return None for an input no output depends on, instead of raising.

    Returns
    -------
    tuple of Tensor (or None): one gradient per input, in the inputs' shapes.

    Examples
    --------
    >>> import deepsheet as ds
    >>> x = ds.tensor([1.0, 2.0], requires_grad=True)
    >>> (gx,) = ds.grad((x * x).sum(), x)
    >>> gx.numpy(), x.grad
    (array([2., 4.], dtype=float32), None)
    """
    single = isinstance(outputs, Tensor)
    outs = [outputs] if single else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        gouts = [None] * len(outs)
    elif single:
        gouts = [grad_outputs]
    else:
        gouts = list(grad_outputs)
    if len(gouts) != len(outs):
        raise ValueError(f"grad: {len(gouts)} grad_outputs for {len(outs)} outputs")
    for i, t in enumerate(ins):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: inputs[{i}] must be a Tensor, got {type(t).__name__}")
        if not t.requires_grad:
            raise RuntimeError(f"grad: inputs[{i}] does not require grad, so no gradient "
                               "can reach it")
    for k, out in enumerate(outs):
        if not isinstance(out, Tensor) or not out.requires_grad:
            raise RuntimeError(f"grad: outputs[{k}] does not require grad: it was computed "
                               "from no tensor that requires grad (not from the inputs, or "
                               "under no_grad), so no gradient can reach the inputs")
    capture = {id(t): [] for t in ins}
    for k, (out, g) in enumerate(zip(outs, gouts)):
        backward(out, g, retain_graph=retain_graph or k < len(outs) - 1, capture=capture)
    result = []
    for i, t in enumerate(ins):
        got = capture[id(t)]
        if not got:
            if not allow_unused:
                raise RuntimeError(f"grad: inputs[{i}] (shape {tuple(t.shape)}) is not used "
                                   "by the outputs; pass allow_unused=True to get None")
            result.append(None)
            continue
        total = got[0] if len(got) == 1 else sum(got[1:], got[0])
        total = array_module(total).array(total, dtype=t.data.dtype, copy=True)
        if total.shape != t.data.shape:
            total = unbroadcast(total, t.data.shape)
        result.append(Tensor._wrap(total))
    return tuple(result)
