"""Whether BLAS's products come out the same at every ``parallel.blas_team`` size here.

A model made of dense layers runs its steps on OpenBLAS's own threads (``blas_team``). The
team's size follows the machine's load and is tuned by timing (``models/loops._TeamTuner``),
so its numbers must not depend on that size. Whether they do depends on OpenBLAS's kernels
for the CPU (measured on one machine with both kernel sets, via ``OPENBLAS_CORETYPE``):

* "SkylakeX" (AVX-512): float32 products agree bit for bit between the threaded and the
  single-threaded driver while the inner dimension K fits one of their blocks (K <= 448); a
  longer K is cut into pieces that fit (``_kernels._team_product``). Float64 products of odd
  sizes (67 x 129 @ 129 x 131) differ at any K.
* "Haswell" (AVX2, also what "Zen" uses): float32 products differ from K = 8 on (the
  threaded driver hands other rows to the edge kernels, which round differently).

So the first use for a dtype probes products of the shapes a dense layer makes (odd sizes,
batch 1, each operand also read transposed, inner sizes up to each candidate piece size:
``_inner_sizes``) at every team
size up to the CPUs (at least 1 and 2, at most 3) and compares them bit for bit. The longest
piece size that agrees is used; where none does, models in that dtype do not run on the team
(``Loops._blas_team_ok``): their products go to the pool's fixed blocks instead, whose
numbers never depend on the thread count.
"""
from __future__ import annotations

import numpy as np

from .. import parallel

# Piece sizes tried for a long inner dimension, longest (fewest pieces) first.
CANDIDATES = (448, 384)
_SHAPES = ((128, 256, 10), (1, 300, 257), (67, 129, 131), (128, 32, 256), (64, 5, 64))
_found = {}


def max_k(dtype):
    """The inner-dimension piece size for team products in ``dtype``, or None where the
    products differ between team sizes on this machine (probed once per process)."""
    dtype = np.dtype(dtype)
    if dtype not in _found:
        _found[dtype] = _probe(dtype)
    return _found[dtype]


def agree(dtype):
    """True when team products in ``dtype`` agree at every team size here."""
    return max_k(dtype) is not None


def _operands(rng, m, k, n, dtype):
    """a (m, k) @ b (k, n) with each operand stored as is and transposed (as a layer's
    forward, weight-gradient and input-gradient products read them)."""
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    return [(a, b), (np.ascontiguousarray(a.T).T, b), (a, np.ascontiguousarray(b.T).T)]


def _inner_sizes(q):
    """Inner dimensions to try for piece size q. Pieces of a cut K lie in (q/2, q]; the two
    drivers split an inner dimension between one and two of their blocks differently (the
    single-threaded one rounds to its unroll, the threaded one halves), so odd sizes across
    that range show whether every piece still fits one block."""
    return (q, q - 1, q - 3, q - 7, 3 * q // 4 + 1, q // 2 + 1, q // 2 + 3)


def _probe(dtype):
    rng = np.random.default_rng(0)
    for k in CANDIDATES:
        pairs = [p for m, kk, n in _SHAPES for p in _operands(rng, m, kk, n, dtype)]
        for kk in _inner_sizes(k):
            pairs += _operands(rng, 128, kk, 128, dtype)
            pairs.append(_operands(rng, 67, kk, 131, dtype)[0])
        results = []
        # A team of 3 on 2 CPUs spins for ~0.15 s; such a team only runs where the count is
        # pinned above the CPUs.
        for size in range(1, max(2, min(3, parallel._usable_cpus())) + 1):
            with parallel.blas_team(size):
                results.append([a @ b for a, b in pairs])
        if all(np.array_equal(x, y) for other in results[1:] for x, y in zip(results[0], other)):
            return k
    return None
