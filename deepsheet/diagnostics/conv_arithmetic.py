"""Convolution arithmetic: output sizes, "same" padding and padding specs.

The formulas and their code live in ``deepsheet.functional._conv_arithmetic`` (below the
convolution functions that use them); this module is their public name.

    N = floor((W - F_eff + 2P) / S) + 1,    F_eff = d·(F - 1) + 1
"""
from __future__ import annotations

from ..functional._conv_arithmetic import (__all__, conv_output_size,  # noqa: F401
                                           conv_transpose_output_size, conv_transpose_padding,
                                           normalize_tuple, resolve_padding, same_padding)
