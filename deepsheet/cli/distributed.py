"""``--distributed``: data-parallel ``deepsheet train`` under ``mpirun -n N`` (MPI, mpi4py).

Every rank builds the same model from the same seed; rank 0's weights are broadcast at the
start, each rank trains on its part of every global batch (global batch = N × --batch-size)
and gradients are averaged before each step (``deepsheet.distributed``). Rank 0 alone
prints and writes the run folder; the logged metrics are averaged over the ranks. A failure
on any rank (a bad argument included) aborts the whole job with that rank's message.
"""
from __future__ import annotations

from ._registry import option

__all__ = ["job"]


def _distributed_arguments(parser):
    parser.add_argument("--distributed", action="store_true",
                        help="data-parallel training over MPI: run as mpirun -n N deepsheet "
                             "train --distributed ... (global batch = N x --batch-size; needs "
                             "the distributed extra)")


@option(("train",), _distributed_arguments)
def _apply_distributed(args):
    if getattr(args, "distributed", False):
        from .. import distributed as dist
        dist.init()


def job(args):
    """The ``deepsheet.distributed`` module when ``--distributed`` was given, else None."""
    if not getattr(args, "distributed", False):
        return None
    from .. import distributed as dist
    return dist
