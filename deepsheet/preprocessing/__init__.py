"""Data preparation: scaling, encoding, splitting, unbalanced data, augmentation."""
from .scaling import *  # noqa: F401,F403
from .encoding import *  # noqa: F401,F403
from .split import *  # noqa: F401,F403
from .imbalance import *  # noqa: F401,F403
from . import augmentation  # noqa: F401
from .padding import *  # noqa: F401,F403  (pad_sequences)
