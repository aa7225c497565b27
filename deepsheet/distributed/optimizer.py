"""DistributedOptimizer: average the gradients of every rank, then take the wrapped step."""
from __future__ import annotations

import numpy as np

from ..optimizers.base import Optimizer
from . import collectives as _c
from .sharding import FitShard

__all__ = ["DistributedOptimizer", "BUCKET_BYTES"]

# Gradients are packed into flat buffers of about this size, one Allreduce each: few calls
# (each has a fixed latency) without one huge extra copy of every gradient.
BUCKET_BYTES = 4 << 20

_CLASSES = {}


class _Distributed:
    """Mixed in before the wrapped optimizer's class: ``step`` averages gradients first."""

    def _setup_distributed(self, bucket_bytes):
        _c.init()
        self.bucket_bytes = int(bucket_bytes)
        self.data_shard = FitShard()  # fit reads its part of each global batch through it
        self._buckets = {}
        self.allreduce_seconds = 0.0  # time spent averaging (benchmarks read it)
        self.allreduce_calls = 0

    def step(self, closure=None):
        """Average every parameter's gradient over the ranks (in place), then update.

        A rank's gradient counts with the number of samples of its batch (``fit`` says how
        many; 1 each otherwise), so the average is the gradient of the mean loss over the
        whole global batch. A parameter with no gradient on some rank counts zero there;
        one with no gradient on any rank is skipped, as a single process would.
        """
        loss = None
        if closure is not None:
            from ..autograd import enable_grad
            with enable_grad():
                loss = closure()
        self.average_gradients()
        super().step()
        return loss

    def skip_step(self):
        """Take part in this step without a gradient of one's own (``fit`` calls it when this
        rank's loss is not finite): the other ranks' average is applied here too, so the
        weights stay identical and no rank waits for this one forever."""
        self.zero_grad()
        count, self.data_shard.count = self.data_shard.count, 0
        try:
            self.average_gradients()
            super().step()
        finally:
            self.data_shard.count = count

    def average_gradients(self):
        import time
        if _c.size() == 1:
            return
        t0 = time.perf_counter()
        MPI = _c._mpi()
        comm = _c.comm()
        params = self._params
        count = self.data_shard.count
        weight = 1.0 if count is None else float(count)
        # One small reduction first: the total weight and which parameters have a gradient
        # anywhere (every rank must then take part in the same buckets).
        head = np.zeros(len(params) + 1, np.float64)
        head[0] = weight
        for i, p in enumerate(params):
            head[i + 1] = p.grad is not None
        comm.Allreduce(MPI.IN_PLACE, head, op=MPI.SUM)
        calls = 1
        total = head[0]
        live = [p for p, h in zip(params, head[1:]) if h > 0]
        scale_in = weight
        scale_out = 1.0 / total if total > 0 else 0.0
        for dtype, group in self._bucketed(live):
            size = sum(p.data.size for p in group)
            buf = self._buckets.get(dtype)
            if buf is None or buf.size < size:
                buf = self._buckets[dtype] = np.empty(max(size, 1), dtype)
            flat = buf[:size]
            off = 0
            for p in group:
                n = p.data.size
                if p.grad is None:
                    flat[off:off + n] = 0
                else:
                    np.multiply(p.grad.reshape(-1), scale_in, out=flat[off:off + n])
                off += n
            comm.Allreduce(MPI.IN_PLACE, flat, op=MPI.SUM)
            calls += 1
            flat *= scale_out
            off = 0
            for p in group:
                n = p.data.size
                g = p.grad
                if g is not None and g.dtype == dtype and g.flags.c_contiguous and \
                        g.flags.writeable:
                    g.reshape(-1)[...] = flat[off:off + n]
                else:
                    p.grad = flat[off:off + n].reshape(p.data.shape).copy()
                off += n
        self.allreduce_seconds += time.perf_counter() - t0
        self.allreduce_calls += calls

    def _bucketed(self, params):
        """(dtype, parameters) groups of about ``bucket_bytes`` each, in parameter order."""
        out = []
        cur, cur_bytes, cur_dtype = [], 0, None
        for p in params:
            dt = np.dtype(p.data.dtype)
            nbytes = p.data.size * dt.itemsize
            if cur and (dt != cur_dtype or cur_bytes + nbytes > self.bucket_bytes):
                out.append((cur_dtype, cur))
                cur, cur_bytes = [], 0
            cur.append(p)
            cur_bytes += nbytes
            cur_dtype = dt
        if cur:
            out.append((cur_dtype, cur))
        return out

    def __repr__(self):
        return f"DistributedOptimizer({super().__repr__()}, size={_c.size()})"


def DistributedOptimizer(optimizer, bucket_bytes=BUCKET_BYTES):  # noqa: N802 - Horovod's name
    """Wrap ``optimizer`` so that each ``step`` first averages gradients over every rank.

    Horovod's ``hvd.DistributedOptimizer``: each rank computes gradients on its own part of
    the global batch, one ``Allreduce`` per bucket of about ``bucket_bytes`` sums them in
    place (float32 stays float32), and every rank then takes the same update, so the
    weights stay identical. The result is the same kind of optimizer (``isinstance`` holds,
    it saves and loads as the wrapped class), bound to the same parameters; given to
    ``compile``, ``fit`` makes each rank read its own part of every global batch (global
    batch = ranks × ``batch_size``). In a job of one process it is the wrapped optimizer.

    Formula
    -------
        g = Σ_r n_r g_r / Σ_r n_r      (n_r: samples of rank r's batch; g_r: its mean-loss
                                        gradient), then θ ← update(θ, g) on every rank

    Parameters
    ----------
    optimizer : Optimizer
        Any deepsheet optimizer (its state and hyperparameters are kept).
    bucket_bytes : int
        Bytes of gradients per Allreduce.

    Examples
    --------
    >>> import deepsheet as ds
    >>> from deepsheet import distributed as dist
    >>> opt = dist.DistributedOptimizer(ds.optimizers.Adam(learning_rate=1e-3))
    >>> isinstance(opt, ds.optimizers.Adam)
    True
    """
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"DistributedOptimizer: expected a deepsheet Optimizer, got "
                        f"{type(optimizer).__name__}")
    if isinstance(optimizer, _Distributed):
        return optimizer
    if isinstance(bucket_bytes, bool) or not isinstance(bucket_bytes, int) or bucket_bytes < 1:
        raise ValueError(f"DistributedOptimizer: bucket_bytes must be a positive integer, got "
                         f"{bucket_bytes!r}")
    base = type(optimizer)
    cls = _CLASSES.get(base)
    if cls is None:
        # The same class name as the wrapped one: a saved model loads as a plain optimizer.
        cls = _CLASSES[base] = type(base.__name__, (_Distributed, base),
                                    {"__module__": base.__module__,
                                     "__qualname__": base.__qualname__})
    new = object.__new__(cls)
    new.__dict__.update(optimizer.__dict__)
    new._setup_distributed(bucket_bytes)
    return new
