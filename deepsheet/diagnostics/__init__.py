"""Diagnostics: convolution arithmetic, receptive fields, feature maps, bias-variance, learning curves."""
from .conv_arithmetic import *  # noqa: F401,F403  (convolution issue)
from .bias_variance import *  # noqa: F401,F403  (metrics issue)
from .dimensionality import *  # noqa: F401,F403  (metrics issue)
from .receptive_field import *  # noqa: F401,F403  (architectures issue)
from .feature_maps import *  # noqa: F401,F403  (architectures issue)
