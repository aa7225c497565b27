"""The MPI side of data-parallel training: start-up, ranks, collectives on arrays, aborts.

Built on ``mpi4py`` (the ``distributed`` extra, with the ``mpich`` wheel), imported on first
use. One process per rank, started by ``mpirun -n N python ...`` (or ``mpirun -n N
deepsheet train --distributed``); without ``mpirun`` a process is a job of size 1 and every
collective returns its input, so the same script runs unchanged on one process.

A failure on one rank must not leave the others waiting forever in a collective: ``init``
installs an exception hook that prints the failing rank's traceback (each line prefixed
with ``[rank r]``) and aborts the whole job (``MPI_Abort``); ``abort_on_error`` does the
same around a block for code that catches its own errors (the command line).
"""
from __future__ import annotations

import contextlib
import sys
import time
import traceback

import numpy as np

__all__ = ["init", "is_initialized", "rank", "size", "local_rank", "local_size", "barrier",
           "allreduce", "allgather", "broadcast", "broadcast_object", "abort",
           "abort_on_error", "comm"]

_MPI = None
_comm = None
_OPS = ("sum", "mean", "max", "min")


def _mpi():
    global _MPI
    if _MPI is None:
        try:
            from mpi4py import MPI  # noqa: PLC0415 - optional extra, loaded on first use
        except ImportError as exc:
            raise ImportError("deepsheet.distributed needs mpi4py and an MPI library: "
                              "pip install 'deepsheet[distributed]'") from exc
        _MPI = MPI
    return _MPI


def init(communicator=None):
    """Start MPI (once) and make ``communicator`` (default ``COMM_WORLD``) the job's.

    Safe to call several times. In a job of more than one process it installs the
    abort-on-exception hook (see the module notes).

    Examples
    --------
    >>> from deepsheet import distributed as dist
    >>> dist.init(); dist.rank(), dist.size()      # doctest: +SKIP
    (0, 1)
    """
    global _comm
    if _comm is not None and communicator is None:
        return
    MPI = _mpi()
    _comm = communicator if communicator is not None else MPI.COMM_WORLD
    if _comm.Get_size() > 1 and sys.excepthook is not _abort_hook:
        sys.excepthook = _abort_hook


def is_initialized():
    """True once ``init`` has run."""
    return _comm is not None


def comm():
    """The mpi4py communicator of the job (``init`` first if needed)."""
    init()
    return _comm


def rank():
    """This process's rank in ``range(size())`` (0 is the one that prints and writes)."""
    return comm().Get_rank()


def size():
    """Number of processes in the job."""
    return comm().Get_size()


def _local():
    MPI = _mpi()
    return comm().Split_type(MPI.COMM_TYPE_SHARED, key=rank())


def local_rank():
    """This process's rank among the processes on the same machine (pick a GPU with it)."""
    return _local().Get_rank()


def local_size():
    """Number of processes of the job on this machine."""
    return _local().Get_size()


def barrier():
    """Wait until every rank gets here."""
    comm().Barrier()


def _check_array(fname, x):
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{fname}: expected a NumPy array (use tensor.numpy()), got "
                        f"{type(x).__name__}")
    if x.dtype == object:
        raise TypeError(f"{fname}: object arrays cannot be sent; got dtype object")
    return np.ascontiguousarray(x)


def allreduce(x, op="mean"):
    """Every rank's ``x`` combined elementwise (``op``: "mean", "sum", "max" or "min").

    Returns a new array of ``x``'s shape and dtype on every rank (the mean of an integer
    array is a float64 array). Shapes must agree across ranks.
    """
    if op not in _OPS:
        raise ValueError(f"allreduce: op must be one of {_OPS}, got {op!r}")
    x = _check_array("allreduce", x)
    MPI = _mpi()
    mpi_op = {"sum": MPI.SUM, "mean": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}[op]
    out = x.copy()
    if size() > 1:
        comm().Allreduce(MPI.IN_PLACE, out, op=mpi_op)
    if op == "mean":
        out = out / size() if out.dtype.kind in "iub" else np.divide(out, size(), out=out)
    return out


def allgather(x):
    """Every rank's ``x`` concatenated along axis 0, in rank order (lengths may differ)."""
    x = _check_array("allgather", x)
    c = comm()
    if c.Get_size() == 1:
        return x.copy()
    metas = c.allgather((x.shape, x.dtype.str))
    if any(m[0][1:] != x.shape[1:] or m[1] != x.dtype.str for m in metas):
        raise ValueError("allgather: arrays must agree in dtype and in every axis but the "
                         f"first; got {[(r, m[0], m[1]) for r, m in enumerate(metas)]}")
    counts = [int(np.prod(m[0])) for m in metas]
    out = np.empty((sum(m[0][0] for m in metas),) + x.shape[1:], x.dtype)
    c.Allgatherv(x.reshape(-1), [out.reshape(-1), counts])
    return out


def broadcast(x, root=0):
    """Rank ``root``'s ``x`` on every rank (the others' ``x`` only gives nothing: pass None)."""
    c = comm()
    if c.Get_size() == 1:
        return _check_array("broadcast", x).copy()
    meta = None
    if c.Get_rank() == root:
        x = _check_array("broadcast", x)
        meta = (x.shape, x.dtype.str)
    shape, dtype = c.bcast(meta, root=root)
    out = x.copy() if c.Get_rank() == root else np.empty(shape, np.dtype(dtype))
    c.Bcast(out, root=root)
    return out


def broadcast_object(obj, root=0):
    """A small JSON-like Python object (numbers, strings, lists, dicts) from ``root``."""
    c = comm()
    return obj if c.Get_size() == 1 else c.bcast(obj, root=root)


def abort(message=None, code=1):
    """Print ``message`` tagged with this rank to stderr and end every rank of the job."""
    if message:
        r = rank() if is_initialized() else 0
        sys.stderr.write("".join(f"[rank {r}] {line}\n" for line in str(message).splitlines()))
        sys.stderr.flush()
    if is_initialized() and size() > 1:
        # mpirun forwards a rank's output through a pipe; MPI_Abort makes it tear the job
        # down, and output still in that pipe can be dropped. A moment's pause lets it pass
        # the message on first (only on this failure path).
        time.sleep(0.2)
        _comm.Abort(code)
    raise SystemExit(code)


def _abort_hook(exc_type, exc, tb):
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    abort(f"{text.rstrip()}\n(aborting the whole job: rank {rank()} failed)")


@contextlib.contextmanager
def abort_on_error(prefix=""):
    """Abort the whole job if the block raises on this rank (a job of 1 just re-raises)."""
    try:
        yield
    except BaseException as exc:  # noqa: BLE001 - any failure must end every rank
        if not is_initialized() or size() == 1 or isinstance(exc, SystemExit) and not exc.code:
            raise
        abort(f"{prefix}{type(exc).__name__}: {exc}"
              if not isinstance(exc, (KeyboardInterrupt,)) else f"{prefix}interrupted")
