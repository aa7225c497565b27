"""The portable subnormal remedy of the optimizers (not public).

Adam's and RMSprop's moments decay towards zero through the subnormal range, where many
CPUs compute far more slowly. Where the flush-to-zero mode cannot be set, the optimizer
scans its state every few updates and zeroes the subnormal values instead.
"""
from __future__ import annotations

import numpy as np

__all__ = ["SUBNORMAL_MODES", "ZERO_EVERY", "zero_subnormals"]

SUBNORMAL_MODES = ("flush", "zero", "keep")
# The portable remedy scans the state every ZERO_EVERY-th update of a parameter (its 1st,
# 9th, ...): moments need ~150 (β₁ = 0.9) to ~14,000 (β₂ = 0.999) updates to decay through
# the subnormal range, so a scan every 8 catches them early at an eighth of the cost.
ZERO_EVERY = 8


def zero_subnormals(state, tmp, mask, nonzero):
    """Set state values below the smallest normal number to zero, in place (portable remedy).

    Host arrays only (GPUs compute on subnormals at full speed). ``tmp``, ``mask`` and
    ``nonzero`` are scratch arrays of the state's shape (its dtype, bool, bool): nothing is
    allocated, and the write is skipped in the usual case of no subnormal at all.
    """
    for k, v in state.items():
        if k == "step":
            continue
        np.abs(v, out=tmp)
        np.less(tmp, np.finfo(v.dtype).tiny, out=mask)
        np.not_equal(tmp, 0, out=nonzero)
        mask &= nonzero
        if mask.any():
            np.copyto(v, 0, where=mask)
