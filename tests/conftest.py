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


@pytest.fixture
def threads():
    """Pin deepsheet's thread count for one test (``threads(n)``; not dynamic) and restore
    the pool's settings afterwards."""
    from deepsheet import parallel
    import deepsheet as ds
    saved = (parallel._num_threads, parallel._dynamic, parallel._auto)
    yield ds.set_num_threads
    ds.set_num_threads(saved[0] or 1)
    parallel._num_threads, parallel._dynamic, parallel._auto = saved


# ---------------------------------------------------------------- the GPU marker
# ``@pytest.mark.gpu`` tests run only with DEEPSHEET_DEVICE=gpu on a machine where CuPy sees a
# GPU; ``DEEPSHEET_DEVICE=gpu python -m pytest`` runs the whole suite with every new tensor on
# the GPU, and ``DEEPSHEET_DEVICE=gpu python -m pytest -m gpu`` only the GPU checks.
def _gpu_mode():
    return os.environ.get("DEEPSHEET_DEVICE", "cpu").lower() in ("gpu", "cuda")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "gpu: needs a CUDA GPU and CuPy; runs with DEEPSHEET_DEVICE=gpu")
    if _gpu_mode():
        import deepsheet as ds
        if not ds.backend.gpu_available():
            pytest.exit("DEEPSHEET_DEVICE=gpu but CuPy cannot use a GPU here "
                        "(pip install 'deepsheet[gpu]' on a machine with CUDA)", returncode=4)


def pytest_collection_modifyitems(config, items):
    if _gpu_mode():
        return
    skip = pytest.mark.skip(reason="GPU test: run with DEEPSHEET_DEVICE=gpu on a CUDA machine")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
