"""Differentiable functions, one family per file (PyTorch's ``torch.nn.functional``).

Each operation is one ``Function`` class with its forward and backward side by side and a
lowercase wrapper carrying the formula in its docstring. Names and signatures follow NumPy
wherever NumPy has the function (``axis=``, ``keepdims=``, ``ddof=``, ``numpy.pad`` widths).
"""
from .math import *  # noqa: F401,F403
from .reductions import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .indexing import *  # noqa: F401,F403
from .activations import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .dense import *  # noqa: F401,F403
from .dense_stack import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .conv_reference import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .global_pooling import *  # noqa: F401,F403
from .upsampling import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .self_attention import *  # noqa: F401,F403
from .residual_norm import *  # noqa: F401,F403
from .feed_forward import *  # noqa: F401,F403
from .recurrent import *  # noqa: F401,F403  (simple_rnn, lstm, gru)
