"""``--threads N``: how many threads deepsheet's kernels use (train, evaluate, predict).

Without it the thread count is deepsheet's default: ``DEEPSHEET_NUM_THREADS`` if set, else
every usable CPU, fewer while other processes keep CPUs busy (``deepsheet.parallel``).
"""
from __future__ import annotations

from ._common import _positive_int
from ._registry import option

__all__ = []


def _threads_arguments(parser):
    parser.add_argument("--threads", type=_positive_int, default=None, metavar="N",
                        help="threads for deepsheet's kernels (default: every usable CPU, "
                             "fewer while other processes keep them busy; BLAS runs one "
                             "thread inside each)")


@option(("train", "evaluate", "predict"), _threads_arguments)
def _apply_threads(args):
    if args.threads is not None:
        from .. import parallel
        parallel.set_num_threads(args.threads)
