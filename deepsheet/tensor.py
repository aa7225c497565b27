"""Tensor: an array on a device, a gradient, and the function that created it.

``Tensor.data`` is a backend array (NumPy or CuPy); ``Tensor.grad`` is an array of the
same shape and dtype, or None. A tensor made by a differentiable function while gradients
are enabled remembers that function (``_ctx``), which is how ``backward()`` finds the graph.
Operators and methods forward to ``deepsheet.functional``, where each operation's formula
and gradient live.
"""
from __future__ import annotations

import numpy as np

from . import backend

_new_object = object.__new__


def tensor(data, requires_grad=False, dtype=None, device=None):
    """Create a leaf tensor (PyTorch's ``torch.tensor``).

    Parameters
    ----------
    data : array_like, scalar or Tensor
        Python floats become float32; float, integer and boolean arrays keep their dtype.
    requires_grad : bool
        Whether ``backward()`` should store a gradient in ``.grad``.
    dtype : dtype, optional
    device : "cpu" or "gpu", optional (default: ``backend.get_default_device()``)

    Examples
    --------
    >>> import deepsheet as ds
    >>> x = ds.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    array([2., 4., 6.], dtype=float32)
    """
    arr = backend.as_array(data, dtype, device)
    if requires_grad and arr.dtype.kind not in "fc":
        raise ValueError(f"only floating tensors can require gradients, got dtype {arr.dtype}")
    return Tensor(arr, requires_grad=requires_grad)


class Tensor:
    """A node of the compute graph. Build one with ``deepsheet.tensor``."""

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_out_index", "_retains_grad",
                 "name", "trainable", "_logits", "_keras_mask", "__weakref__")
    # ndarray + Tensor must call Tensor.__radd__, not broadcast NumPy over our object.
    __array_ufunc__ = None
    __array_priority__ = 1000
    # Identity hashing despite overloaded ==: optimizer state and parameter sets key on it.
    __hash__ = object.__hash__

    def __init__(self, data, requires_grad=False):
        if not hasattr(data, "dtype") or not hasattr(data, "shape") or isinstance(data, np.generic):
            data = backend.as_array(data)
        self.data = data
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        self._out_index = 0
        self._retains_grad = False
        self.name = None
        self.trainable = True
        self._logits = None
        self._keras_mask = None

    @staticmethod
    def _wrap(array, requires_grad=False):
        """A tensor around an op's output array, without the checks of ``__init__``."""
        # A static method and one type test for the common case: each op's output comes
        # through here, so every attribute lookup counts.
        t = _new_object(Tensor)
        if type(array) is not np.ndarray and isinstance(array, np.generic):
            array = np.asarray(array)  # NumPy reductions return scalars; keep arrays
        t.data = array
        t.grad = None
        t.requires_grad = requires_grad
        t._ctx = None
        t._out_index = 0
        t._retains_grad = False
        t.name = None
        t.trainable = True
        t._logits = None
        t._keras_mask = None
        return t

    # ---------------------------------------------------------- properties
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def size(self):
        """The number of elements (NumPy's ``x.size``); called, PyTorch's ``x.size(dim=None)``."""
        return _Size(self.data.size, self.data.shape)

    def numel(self):
        """The number of elements (PyTorch's name)."""
        return int(self.data.size)

    def dim(self):
        """The number of axes (PyTorch's name for ``ndim``)."""
        return self.data.ndim

    @property
    def device(self):
        return backend.device_of(self.data)

    @property
    def is_leaf(self):
        return self._ctx is None

    @property
    def T(self):  # noqa: N802 - NumPy's name
        return F.transpose(self)

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __repr__(self):
        body = np.array2string(backend.to_numpy(self.data), precision=4, separator=", ",
                               prefix="tensor(")
        extra = ""
        if self.data.dtype != np.float32:
            extra += f", dtype={self.data.dtype}"
        if self.device != "cpu":
            extra += f", device='{self.device}'"
        if self._ctx is not None:
            extra += f", grad_fn={type(self._ctx).__name__}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # ---------------------------------------------------------- autograd
    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (chain rule, reverse order).

        ``grad`` is dL/d(self); it may be omitted only for a single-element tensor (then 1).
        The graph is freed afterwards unless ``retain_graph=True``.
        """
        from .autograd import backward
        backward(self, grad, retain_graph)

    def retain_grad(self):
        """Keep the gradient of this non-leaf tensor in ``.grad`` during backward."""
        if self._ctx is not None:
            self._retains_grad = True
        return self

    def detach(self):
        """The same data, cut from the graph (shares memory, as in PyTorch)."""
        return Tensor._wrap(self.data)

    def requires_grad_(self, mode=True):
        if mode and self.data.dtype.kind not in "fc":
            raise ValueError(f"only floating tensors can require gradients, got dtype {self.dtype}")
        self.requires_grad = bool(mode)
        return self

    def zero_grad(self):
        """Forget the accumulated gradient (sets ``.grad`` to None)."""
        self.grad = None

    # ---------------------------------------------------------- conversion
    def numpy(self):
        """The data as a host NumPy array (a copy from the GPU; shared memory on the CPU)."""
        return backend.to_numpy(self.data)

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.reshape(()).item()

    def tolist(self):
        return backend.to_numpy(self.data).tolist()

    def to(self, device):
        """This tensor on ``device`` ("cpu" or "gpu"); differentiable, like PyTorch's."""
        if backend.device_of(self.data) == backend._check_device(device):
            return self
        return F.to_device(self, device=device)

    def cpu(self):
        return self.to("cpu")

    def gpu(self):
        return self.to("gpu")

    def astype(self, dtype):
        return F.cast(self, dtype=np.dtype(dtype))

    def float(self):
        return self.astype(np.float32)

    def double(self):
        return self.astype(np.float64)

    def long(self):
        return self.astype(np.int64)

    # ---------------------------------------------------------- in place (PyTorch's trailing _)
    def _check_in_place(self, name):
        from .autograd import is_grad_enabled
        if self.requires_grad and self._ctx is None and is_grad_enabled():
            raise RuntimeError(f"{name}: a leaf tensor that requires grad cannot be changed in "
                               "place while gradients are recorded; wrap it in ds.no_grad()")

    def zero_(self):
        """Set every element to 0 in place (under ``no_grad`` for a parameter)."""
        self._check_in_place("zero_")
        self.data[...] = 0
        return self

    def fill_(self, value):
        """Set every element to ``value`` in place (under ``no_grad`` for a parameter)."""
        self._check_in_place("fill_")
        self.data[...] = value
        return self

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor with shape {self.shape} is ambiguous; "
                             "use .any() or .all()")
        return bool(self.data.reshape(()).item())

    def __array__(self, dtype=None, copy=None):
        arr = backend.to_numpy(self.data)
        return arr if dtype is None else arr.astype(dtype, copy=False)

    # ---------------------------------------------------------- operators
    def __add__(self, other):
        return F.add(self, other)

    def __radd__(self, other):
        return F.add(other, self)

    def __sub__(self, other):
        return F.sub(self, other)

    def __rsub__(self, other):
        return F.sub(other, self)

    def __mul__(self, other):
        return F.mul(self, other)

    def __rmul__(self, other):
        return F.mul(other, self)

    def __truediv__(self, other):
        return F.div(self, other)

    def __rtruediv__(self, other):
        return F.div(other, self)

    def __pow__(self, other):
        return F.pow(self, other)

    def __rpow__(self, other):
        return F.pow(other, self)

    def __matmul__(self, other):
        return F.matmul(self, other)

    def __rmatmul__(self, other):
        return F.matmul(other, self)

    def __neg__(self):
        return F.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return F.abs(self)

    def __getitem__(self, index):
        return F.getitem(self, index)

    # comparisons carry no gradient
    def _compare(self, other, op):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._wrap(op(self.data, other))

    def __eq__(self, other):
        return self._compare(other, lambda a, b: a == b)

    def __ne__(self, other):
        return self._compare(other, lambda a, b: a != b)

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b)

    def any(self):
        return bool(self.data.any())

    def all(self):
        return bool(self.data.all())

    def argmax(self, axis=None, *, dim=None, keepdim=False):
        """Index of the largest value over ``axis`` (or PyTorch's ``dim``, ``keepdim``)."""
        return self._arg("argmax", axis, dim, keepdim)

    def argmin(self, axis=None, *, dim=None, keepdim=False):
        """Index of the smallest value over ``axis`` (or PyTorch's ``dim``, ``keepdim``)."""
        return self._arg("argmin", axis, dim, keepdim)

    def _arg(self, name, axis, dim, keepdim):
        if dim is not None:
            if axis is not None:
                raise TypeError(f"{name}() got both axis= and dim= (PyTorch's name for axis)")
            axis = dim
        out = getattr(self.data, name)(axis=axis, keepdims=bool(keepdim) and axis is not None)
        return Tensor._wrap(out.astype(np.int64) if out.dtype != np.int64 else out)

    # ---------------------------------------------------------- functional mirrors
    # Each also takes PyTorch's keywords (dim=, keepdim=; correction= for var/std), see F.
    def sum(self, axis=None, keepdims=False, **torch_keywords):
        return F.sum(self, axis=axis, keepdims=keepdims, **torch_keywords)

    def mean(self, axis=None, keepdims=False, **torch_keywords):
        return F.mean(self, axis=axis, keepdims=keepdims, **torch_keywords)

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=False):
        """NumPy's max over ``axis``; with PyTorch's ``dim=``, ``(values, indices)``."""
        return F.max(self, axis=axis, keepdims=keepdims, dim=dim, keepdim=keepdim)

    def min(self, axis=None, keepdims=False, *, dim=None, keepdim=False):
        """NumPy's min over ``axis``; with PyTorch's ``dim=``, ``(values, indices)``."""
        return F.min(self, axis=axis, keepdims=keepdims, dim=dim, keepdim=keepdim)

    def var(self, axis=None, ddof=0, keepdims=False, **torch_keywords):
        return F.var(self, axis=axis, ddof=ddof, keepdims=keepdims, **torch_keywords)

    def std(self, axis=None, ddof=0, keepdims=False, **torch_keywords):
        return F.std(self, axis=axis, ddof=ddof, keepdims=keepdims, **torch_keywords)

    def logsumexp(self, axis=None, keepdims=False, **torch_keywords):
        return F.logsumexp(self, axis=axis, keepdims=keepdims, **torch_keywords)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return F.reshape(self, shape)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return F.transpose(self, axes or None)

    def view(self, *shape):
        """PyTorch's name for ``reshape`` (a copy only where NumPy needs one)."""
        return self.reshape(*shape)

    def view_as(self, other):
        return self.reshape(other.shape)

    def permute(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return F.transpose(self, axes)

    def flatten(self, start_axis=0, end_axis=-1, *, start_dim=None, end_dim=None):
        return F.flatten(self, start_axis=start_axis if start_dim is None else start_dim,
                         end_axis=end_axis if end_dim is None else end_dim)

    def squeeze(self, axis=None, *, dim=None):
        return F.squeeze(self, axis=axis if dim is None else dim)

    def unsqueeze(self, axis=None, *, dim=None):
        if (axis is None) == (dim is None):
            raise TypeError("unsqueeze() takes one axis (axis= or PyTorch's dim=)")
        return F.unsqueeze(self, axis if dim is None else dim)

    def broadcast_to(self, shape):
        return F.broadcast_to(self, shape)

    def exp(self):
        return F.exp(self)

    def log(self):
        return F.log(self)

    def sqrt(self):
        return F.sqrt(self)

    def abs(self):
        return F.abs(self)

    def clip(self, a_min=None, a_max=None):
        return F.clip(self, a_min, a_max)

    def clamp(self, min=None, max=None):  # noqa: A002 - PyTorch's names
        """PyTorch's name for ``clip``: every element limited to [min, max]."""
        return F.clip(self, min, max)

    def pow(self, exponent):
        return F.pow(self, exponent)

    def relu(self):
        return F.relu(self)

    def sigmoid(self):
        return F.sigmoid(self)

    def tanh(self):
        return F.tanh(self)

    def softmax(self, axis=-1, *, dim=None):
        return F.softmax(self, axis=axis if dim is None else dim)

    def log_softmax(self, axis=-1, *, dim=None):
        return F.log_softmax(self, axis=axis if dim is None else dim)


class _Size(int):
    """An element count that is also callable as PyTorch's ``size``.

    ``x.size`` is NumPy's attribute (an int), which NumPy-minded code compares and does
    arithmetic with; PyTorch code calls it, ``x.size()`` for the shape and ``x.size(d)`` for
    one axis. Being an int that can be called serves both without a mode switch.
    """

    def __new__(cls, count, shape):
        obj = super().__new__(cls, count)
        obj._shape = tuple(shape)
        return obj

    def __call__(self, dim=None):
        return self._shape if dim is None else self._shape[dim]

    def __repr__(self):
        return int.__repr__(self)


def is_tensor(x):
    return isinstance(x, Tensor)


from . import functional as F  # noqa: E402  (functional needs Tensor defined first)
