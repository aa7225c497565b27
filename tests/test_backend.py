"""Backend: array module, device and dtype defaults, the library RNG, denormal flushing."""
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import deepsheet as ds
from deepsheet import backend

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_array_module_is_numpy_for_host_data():
    assert backend.array_module(np.zeros(2)) is np
    assert backend.array_module(ds.tensor([1.0])) is np
    assert backend.array_module(1.0, [1, 2]) is np
    assert backend.to_numpy(np.zeros(2)).shape == (2,)
    assert backend.to_device(np.zeros(2), "cpu").shape == (2,)


def test_manual_seed_reproduces_every_draw_bit_for_bit():
    def draws():
        return (backend.random_normal((3, 4)), backend.random_uniform((5,), -1.0, 1.0),
                backend.permutation(10), backend.rng().integers(0, 100, 4))
    ds.manual_seed(123)
    first = draws()
    ds.manual_seed(123)
    second = draws()
    for a, b in zip(first, second):
        assert a.tobytes() == b.tobytes()
    assert first[0].dtype == np.float32 and first[1].dtype == np.float32
    assert backend.random_normal((2,), dtype=np.float64).dtype == np.float64
    ds.manual_seed(124)
    assert draws()[0].tobytes() != first[0].tobytes()


def test_random_draw_ranges():
    ds.manual_seed(0)
    u = backend.random_uniform((1000,), 2.0, 3.0)
    assert u.min() >= 2.0 and u.max() < 3.0
    n = backend.random_normal((4000,), mean=5.0, stddev=0.5)
    assert abs(float(n.mean()) - 5.0) < 0.05 and abs(float(n.std()) - 0.5) < 0.05


def test_rng_state_survives_a_json_round_trip():
    ds.manual_seed(7)
    backend.random_normal((3,))
    state = json.loads(json.dumps(backend.get_rng_state()))
    expected = backend.random_normal((5,)).tobytes(), backend.permutation(6).tobytes()
    backend.random_normal((100,))  # move on, then resume
    backend.set_rng_state(state)
    assert (backend.random_normal((5,)).tobytes(), backend.permutation(6).tobytes()) == expected


def test_bad_seed_and_bad_state_are_rejected():
    for seed in (-1, 1.5, "3", True):
        with pytest.raises(ValueError, match="seed"):
            ds.manual_seed(seed)
    with pytest.raises(ValueError, match="get_rng_state"):
        backend.set_rng_state({"bit_generator": "MT19937"})


def test_default_device_from_environment(monkeypatch):
    monkeypatch.setattr(backend, "_default_device", None)
    monkeypatch.setenv("DEEPSHEET_DEVICE", "CPU")
    assert ds.get_default_device() == "cpu"
    monkeypatch.setattr(backend, "_default_device", None)
    monkeypatch.setenv("DEEPSHEET_DEVICE", "tpu")
    with pytest.raises(ValueError, match="tpu"):
        ds.get_default_device()
    monkeypatch.setattr(backend, "_default_device", "cpu")


def test_set_default_device_validates():
    with pytest.raises(ValueError, match="device must be one of"):
        ds.set_default_device("tpu")
    ds.set_default_device("cpu")
    assert ds.get_default_device() == "cpu"


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed")
def test_gpu_without_cupy_raises_a_clear_import_error():
    with pytest.raises(ImportError, match=r"CuPy.*deepsheet\[gpu\]"):
        ds.set_default_device("gpu")
    assert ds.get_default_device() == "cpu"
    with pytest.raises(ImportError, match="CuPy"):
        ds.tensor([1.0]).to("gpu")
    assert not backend.gpu_available()


def test_default_dtype_validation():
    with pytest.raises(ValueError, match="float32 or float64"):
        ds.set_default_dtype("int32")
    assert ds.get_default_dtype() == np.float32


def test_flush_denormal_is_scoped():
    if not backend.flush_denormal.available:
        pytest.skip("no MXCSR access on this platform")
    tiny = np.array([1e-39], np.float32)  # subnormal in float32
    with backend.flush_denormal():
        with backend.flush_denormal():  # nesting is harmless
            assert (tiny * np.float32(1.0))[0] == 0.0
        assert (tiny * np.float32(1.0))[0] == 0.0
    assert (tiny * np.float32(1.0))[0] != 0.0  # the caller's floating point is restored


def test_import_is_lazy():
    code = ("import sys, deepsheet as ds; from deepsheet import backend; "
            "heavy = [m for m in ('torch', 'cupy', 'matplotlib', 'gymnasium', 'scipy', 'sklearn') "
            "if m in sys.modules]; "
            "assert not heavy, heavy; "
            "assert backend.flush_denormal._available is None, 'denormal setup ran at import'; "
            "assert 'numpy.random' not in sys.modules, 'numpy.random loaded at import (~10%)'; "
            "assert ds.functional is sys.modules['deepsheet.functional']; "
            "assert ds.autograd.Function and ds.testing.gradcheck")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
