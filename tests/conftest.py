import os
import sys

import numpy as np
import pytest

# Shared helpers (oracle.py, layer_contract.py) import as top-level modules from any test folder.
sys.path.insert(0, os.path.dirname(__file__))

try:
    import torch
    torch.set_num_threads(1)
except ImportError:  # pragma: no cover - torch is a test dependency
    torch = None

try:
    from hypothesis import settings
    # The machine is shared and noisy: no per-example deadline.
    settings.register_profile("deepsheet", deadline=None, max_examples=30)
    settings.load_profile("deepsheet")
except ImportError:  # pragma: no cover
    pass


@pytest.fixture(autouse=True)
def _seed():
    import deepsheet as ds
    ds.manual_seed(0)
    np.random.seed(0)
    if torch is not None:
        torch.manual_seed(0)
    yield
