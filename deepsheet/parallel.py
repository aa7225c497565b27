"""The one thread pool: how many threads deepsheet uses, and ``parallel_for`` over fixed chunks.

NumPy releases Python's GIL inside large array operations and BLAS calls, so plain Python
threads can keep several cores busy on one training step. This module owns those threads.

Three rules make the parallelism safe and predictable:

* **Chunks do not depend on the thread count.** A kernel splits its work into chunks (a
  slice of the batch, a block of a flat parameter vector) whose boundaries come from the
  data's shape and a cache-sized byte budget only, then asks ``parallel_for`` to run them.
  With 1, 2 or 8 threads the same chunks compute the same numbers; partial sums are added
  in chunk order afterwards. A resumed run does not depend on the thread count. (One
  exception, written down in ``functional._recurrent_kernels``: recurrent time loops share a
  batch of up to 128 rows among the configured threads.)
* **More chunks than threads, handed out on demand.** Each thread (the caller included)
  takes the next unclaimed chunk, so a core that another process takes away slows only the
  chunks it would have run, not a fixed half of the work.
* **BLAS runs single-threaded.** OpenBLAS's own worker threads spin while they wait for
  work; on a machine where another process is busy they fight that process and deepsheet's
  threads for the cores (measured: both libraries ran ~3x slower with 2 BLAS threads and one
  busy process on 2 cores). deepsheet therefore sets every loaded BLAS to
  ``blas_threads`` (default 1) through ``threadpoolctl`` the first time it runs parallel
  work, and does the splitting itself. Waiting threads here block (no spinning).
  At the same moment glibc's malloc is told to keep freed arrays for reuse
  (``backend.keep_freed_memory``): fresh pages for every large temporary cost a third of
  a DCGAN step.

**The default adapts to a busy machine** (OpenMP's ``OMP_DYNAMIC``, with the instantaneous
count of runnable tasks instead of the one-minute load average): unless the thread count
was set explicitly, each ``parallel_for`` uses at most the CPUs that other runnable tasks
leave free (sampled from ``/proc/loadavg`` at most every 0.1 s, median of the last 5
samples), and never fewer than 1. A kernel whose chunks wait at a barrier for a thread that
another process has pushed off its core loses more than a second thread gains: with one
busy process on a 2-core machine deepsheet then runs on one thread, at its full one-thread
speed. ``set_num_threads(n)`` pins the count to n; ``set_dynamic(True)`` makes it a maximum
again. Because chunks never depend on the thread count, neither does any result.

Small work stays on the calling thread: waking a thread costs tens of microseconds, so
``parallel_for`` runs serially below ``MIN_PARALLEL_WORK`` bytes (see its comment; measure
with ``benchmarks/bench_threads.py --settings overhead``). Inside a chunk, a nested
``parallel_for`` runs serially.

Settings: ``set_num_threads(n)`` / ``get_num_threads()`` (PyTorch's names), the
``DEEPSHEET_NUM_THREADS`` environment variable, ``deepsheet train --threads N``. The default
is the number of CPUs this process may run on.

Examples
--------
>>> import numpy as np, deepsheet as ds
>>> from deepsheet import parallel
>>> x = np.arange(10.0); out = np.empty_like(x)
>>> spans = parallel.spans(len(x), 4)                 # [(0, 4), (4, 8), (8, 10)]
>>> def square(i):
...     a, b = spans[i]
...     np.multiply(x[a:b], x[a:b], out=out[a:b])
>>> parallel.parallel_for(len(spans), square)
>>> float(out[-1])
81.0
"""
from __future__ import annotations

import contextlib
import os
import threading
import time

from . import backend

__all__ = ["get_num_threads", "set_num_threads", "get_dynamic", "set_dynamic", "active_threads",
           "get_blas_threads", "set_blas_threads", "parallel_for", "spans", "thread_slot",
           "threads_info", "blas_team", "team_threads", "in_blas_team", "MIN_PARALLEL_WORK"]

ENV_VAR = "DEEPSHEET_NUM_THREADS"
# Below this many bytes of work a parallel_for runs on the calling thread. From the one quiet
# measurement of this machine (load < 1): an elementwise pass over 1 MiB blocks ran 1.67x
# faster on 2 threads, over 256 KiB blocks slower (waking a thread costs tens of us, and
# ~1 ms under heavy load). Re-measure with benchmarks/bench_threads.py --settings overhead.
MIN_PARALLEL_WORK = 256 << 10

_num_threads = None      # resolved on first use from DEEPSHEET_NUM_THREADS or the CPU count
_dynamic = None          # None: dynamic unless the count was set (variable or set_num_threads)
_auto = False            # True while the count is the automatic default (never set explicitly)
_SAMPLE_EVERY = 0.1      # seconds between two reads of /proc/loadavg
_samples = []            # the last runnable-task counts of other tasks
_sampled_at = -1.0
_blas_threads = 1
_blas_applied = None     # the BLAS thread count last applied through threadpoolctl
_blas_libs = ()          # threadpoolctl's controllers of the loaded BLAS libraries
_team = 0                # BLAS threads inside the innermost blas_team block (0: outside any)
_pool = None
_pool_lock = threading.Lock()
_local = threading.local()  # .slot: this thread's slot in the pool; .busy: inside a chunk


def _usable_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def _check_count(name, n):
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{name} must be a positive integer, got {n!r}")
    return n


def _from_env():
    raw = os.environ.get(ENV_VAR, "").strip()
    if not raw:
        return _usable_cpus()
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"{ENV_VAR} must be a positive integer, got {raw!r}")
    return n


def get_num_threads():
    """Threads deepsheet's kernels may use (the caller included): ``torch.get_num_threads``'s twin.

    ``DEEPSHEET_NUM_THREADS`` if set, else the number of CPUs this process may run on,
    until ``set_num_threads`` changes it. With the dynamic default (``get_dynamic()``) a
    busy machine gets fewer: ``active_threads()``.
    """
    global _num_threads, _auto
    if _num_threads is None:
        _auto = not os.environ.get(ENV_VAR, "").strip()
        _num_threads = _from_env()
    return _num_threads


def get_dynamic():
    """True when the thread count adapts to other processes' load (see the module notes)."""
    if _dynamic is None:
        get_num_threads()  # resolves _auto
        return _auto
    return _dynamic


def set_dynamic(flag):
    """Let the thread count drop below ``get_num_threads()`` while other tasks keep CPUs busy."""
    global _dynamic
    _dynamic = bool(flag)


def _runnable_own():
    """This process's runnable threads (Linux): the caller, and any BLAS thread spinning."""
    n = 0
    try:
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/stat", "rb") as f:
                stat = f.read()
            n += stat[stat.rindex(b")") + 2:stat.rindex(b")") + 3] == b"R"
    except (OSError, ValueError):
        return 1
    return max(1, n)


def _runnable_others():
    """Runnable tasks of other processes (Linux), or None where unknown.

    This process's own runnable threads are not counted: OpenBLAS's idle threads spin after
    a ``blas_team`` block, and counting them as another process's load would give the next
    step one thread, then two again once they sleep (an oscillation). The least of three
    reads counts: a task runnable for an instant (a kernel worker, a thread of ours that
    went to sleep between the two files read) is no load.
    """
    least = None
    for _ in range(3):
        try:
            with open("/proc/loadavg", "rb") as f:
                running = int(f.read().split()[3].split(b"/")[0])
        except (OSError, ValueError, IndexError):
            return None
        others = max(0, running - _runnable_own())
        least = others if least is None else min(least, others)
        if least == 0:
            break
    return least


def active_threads(dynamic=None):
    """Threads the next ``parallel_for`` will use: ``get_num_threads()``, or fewer when dynamic
    (``dynamic``: override ``get_dynamic()``)."""
    global _sampled_at
    n = get_num_threads()
    if n == 1 or not (get_dynamic() if dynamic is None else dynamic):
        return n
    now = time.monotonic()
    # The first two samples come 20 ms apart, so a busy machine is seen within a few steps.
    if now - _sampled_at >= (_SAMPLE_EVERY if len(_samples) >= 2 else _SAMPLE_EVERY / 5):
        _sampled_at = now
        others = _runnable_others()
        if others is not None:
            _samples.append(others)
            del _samples[:-5]
    # The lower median of the last samples, and none from a single one: a process runnable
    # for a moment (at this process's start, typically) is no reason to drop a thread.
    if len(_samples) < 2:
        return n
    median = sorted(_samples)[(len(_samples) - 1) // 2]
    return max(1, min(n, _usable_cpus() - median))


def set_num_threads(n):
    """Use ``n`` threads (the caller plus ``n - 1`` pool workers) for deepsheet's kernels.

    Results do not depend on ``n`` (see the module notes); only the speed does. BLAS stays
    at ``get_blas_threads()`` (1 by default) whatever ``n`` is.

    Parameters
    ----------
    n : int
        A positive number of threads; 1 runs everything on the calling thread.

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.set_num_threads(1); ds.get_num_threads()
    1
    """
    global _num_threads, _pool, _auto
    n = _check_count("set_num_threads: n", n)
    with _pool_lock:
        _num_threads = n
        _auto = False
        if _pool is not None and _pool.size != n:
            _pool.close()
            _pool = None
    _apply_blas()


def get_blas_threads():
    """Threads deepsheet lets each BLAS library use (1 unless ``set_blas_threads`` changed it)."""
    return _blas_threads


def set_blas_threads(n):
    """Let BLAS use ``n`` threads inside deepsheet (default 1: deepsheet parallelizes itself).

    More than 1 only pays for a single very large matrix product on an otherwise idle
    machine; OpenBLAS's waiting threads spin and slow everything else down.
    """
    global _blas_threads
    _blas_threads = _check_count("set_blas_threads: n", n)
    _apply_blas()


def _apply_blas(again=False):
    """Set every loaded BLAS to ``_blas_threads`` through threadpoolctl (once per change)."""
    global _blas_applied, _blas_libs
    if _blas_applied == _blas_threads and not again:
        return
    import threadpoolctl  # noqa: PLC0415 - a few ms of library scanning, paid on first parallel use
    blas = threadpoolctl.ThreadpoolController().select(user_api="blas")
    blas.limit(limits=_blas_threads)
    _blas_libs = tuple(blas.lib_controllers)
    _blas_applied = _blas_threads
    backend.keep_freed_memory()  # large temporaries reuse freed memory (see its notes)


def ensure_blas():
    """Apply the BLAS thread setting if not done yet (cheap after the first call).

    Kernels that call BLAS outside ``parallel_for`` call this first, so that OpenBLAS never
    starts its spinning threads behind deepsheet's back.
    """
    if _blas_applied != _blas_threads:
        _apply_blas()


@contextlib.contextmanager
def blas_team(n):
    """Let each BLAS library use ``n`` threads inside the block, then ``blas_threads`` again.

    For work made of lone, mid-sized matrix products that pool blocks split poorly: the
    steps of a model made of dense layers only (``Loops._blas_team_ok``). Whether the numbers
    depend on ``n`` depends on the BLAS's kernels: models use a team only where
    ``functional._team`` found them equal at every size. Inside the block
    ``parallel_for`` runs every chunk on the calling thread: OpenBLAS's idle threads spin for
    about 0.1 s after each product and would fight the pool's workers for the cores, and
    ``in_blas_team()`` tells kernels to leave products whole. Callers pass
    ``team_threads()``, so a busy machine gets one thread. Setting the count is one C call
    per library (~1 us); nested blocks restore the outer count.
    """
    global _team
    ensure_blas()
    outer = _team
    before = outer or _blas_threads
    _team = _check_count("blas_team: n", n)
    if n != before:
        for lib in _blas_libs:
            lib.set_num_threads(n)
    try:
        yield
    finally:
        _team = outer
        if n != before:
            for lib in _blas_libs:
                lib.set_num_threads(before)


def team_threads():
    """Threads for a ``blas_team`` block: ``active_threads()``, fewer while other processes
    keep CPUs busy even where the count is pinned. OpenBLAS splits each product statically,
    so a team thread that another process pushes off its core stalls every product (an MLP
    step ran 20x slower so), where the pool's chunks go to whichever thread is free."""
    return active_threads(dynamic=True)


def in_blas_team():
    """True inside a ``blas_team`` block: products stay whole and the pool stays idle."""
    return _team > 0


def threads_info():
    """A dict of the thread settings in use: deepsheet's pool, BLAS, usable CPUs, the variable."""
    import threadpoolctl  # noqa: PLC0415
    ensure_blas()
    blas = {f"{i['internal_api']} {i.get('version') or ''}".strip(): i["num_threads"]
            for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"}
    return {"num_threads": get_num_threads(), "dynamic": get_dynamic(),
            "active_threads": active_threads(), "blas_threads": get_blas_threads(),
            "blas": blas, "usable_cpus": _usable_cpus(), ENV_VAR: os.environ.get(ENV_VAR)}


def spans(n, size):
    """Fixed chunk boundaries [(0, size), (size, 2·size), ..., (.., n)] of ``range(n)``.

    They depend on ``n`` and ``size`` only, never on the thread count.
    """
    size = max(1, int(size))
    return [(a, min(n, a + size)) for a in range(0, n, size)]


def thread_slot():
    """Index in ``range(get_num_threads())`` of the thread running the current chunk.

    Kernels keep one scratch buffer per slot (two chunks never run on one slot at once).
    """
    return getattr(_local, "slot", 0)


class _Job:
    """One parallel_for call: chunks are claimed one at a time by whichever thread is free."""

    __slots__ = ("fn", "n", "next", "done", "lock", "finished", "errors", "flush")

    def __init__(self, fn, n, flush):
        self.fn, self.n, self.flush = fn, n, flush
        self.next = 0
        self.done = 0
        self.lock = threading.Lock()
        self.finished = threading.Lock()
        self.finished.acquire()
        self.errors = []

    def run(self):
        """Run chunks until none is left; the thread finishing the last one signals the caller."""
        if self.flush:
            with backend.flush_denormal():
                self._loop()
        else:
            self._loop()

    def _loop(self):
        lock = self.lock
        while True:
            with lock:
                i = self.next
                if i >= self.n:
                    return
                self.next = i + 1
            if not self.errors:
                try:
                    self.fn(i)
                except BaseException as exc:  # noqa: BLE001 - re-raised by the caller
                    self.errors.append((i, exc))
            with lock:
                self.done += 1
                last = self.done == self.n
            if last:
                self.finished.release()


class _Pool:
    """``size - 1`` daemon worker threads, each blocked on its own queue until given a job."""

    def __init__(self, size):
        import queue  # noqa: PLC0415 - only when a pool starts (keeps `import deepsheet` light)
        self.size = size
        self.queues = []
        for slot in range(1, size):
            q = queue.SimpleQueue()
            t = threading.Thread(target=self._work, args=(slot, q),
                                 name=f"deepsheet-{slot}", daemon=True)
            t.start()
            self.queues.append(q)

    @staticmethod
    def _work(slot, q):
        _local.slot = slot
        _local.busy = True  # a nested parallel_for inside a chunk runs serially
        backend.flush_denormal.clear_thread()  # jobs set it when their caller has it
        while True:
            job = q.get()
            if job is None:
                return
            job.run()
            job = None  # do not keep the last job's arrays alive while waiting for the next

    def close(self):
        for q in self.queues:
            q.put(None)


def _get_pool(n):
    global _pool
    with _pool_lock:
        if _pool is None or _pool.size != n:
            if _pool is not None:
                _pool.close()
            _pool = _Pool(n)
        return _pool


def _after_fork_in_child():
    """A forked child has none of the parent's worker threads: start a new pool when needed."""
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()
    _local.__dict__.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def parallel_for(n_chunks, fn, work=None):
    """Call ``fn(i)`` for every i in ``range(n_chunks)``, spread over the thread pool.

    Chunks are claimed one at a time by the caller and the pool's workers, so they may run
    in any order and concurrently: ``fn`` must write disjoint outputs (per-chunk partial
    results are summed by the caller afterwards, in chunk order, so the result does not
    depend on the thread count). Returns when every chunk is done; the first exception
    (lowest chunk index) raised by ``fn`` is re-raised here, and chunks not yet started
    are skipped.

    Parameters
    ----------
    n_chunks : int
        Number of chunks.
    fn : callable
        ``fn(i)`` computes chunk ``i``; ``thread_slot()`` tells it which scratch to use.
    work : int, optional
        Total bytes the chunks touch; below ``MIN_PARALLEL_WORK`` everything runs on the
        calling thread (waking threads would cost more than it saves).
    """
    if _team:  # BLAS's own threads do the parallel work in this block (see blas_team)
        for i in range(n_chunks):
            fn(i)
        return
    threads = active_threads()
    if _blas_applied != _blas_threads:
        _apply_blas()
    if (n_chunks <= 1 or threads == 1 or getattr(_local, "busy", False)
            or (work is not None and work < MIN_PARALLEL_WORK)):
        for i in range(n_chunks):
            fn(i)
        return
    # A user's threadpool_limits(n) context may have given BLAS its threads back since:
    # n BLAS threads inside each pool thread would spin against each other (~1.5 us a check).
    for lib in _blas_libs:
        if lib.get_num_threads() != _blas_threads:
            _apply_blas(again=True)
            break
    flush = backend.flush_denormal.active()
    job = _Job(fn, n_chunks, flush)
    pool = _get_pool(get_num_threads())
    for q in pool.queues[:min(n_chunks, threads) - 1]:
        q.put(job)
    _local.busy = True
    try:
        job._loop()  # the caller already runs under its own floating-point mode
    finally:
        _local.busy = False
    job.finished.acquire()
    if job.errors:
        raise min(job.errors, key=lambda e: e[0])[1]
