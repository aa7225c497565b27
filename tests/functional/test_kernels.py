"""The in-place kernels of functional/_kernels.py on contiguous arrays and on strided views."""
import numpy as np
import pytest

from deepsheet.functional import _kernels as K
from oracle import rand


@pytest.mark.parametrize("name,ref", [
    ("relu_", lambda a: np.maximum(a, 0)),
    ("tanh_", np.tanh),
    ("sigmoid_", lambda a: 1 / (1 + np.exp(-a.astype(np.float64)))),
])
@pytest.mark.parametrize("view", ["whole", "columns", "large"])
def test_in_place_kernels(name, ref, view):
    # "columns" is a strided view (the gate slices of the recurrent kernels); "large" spans
    # several zero blocks of relu_
    a = rand(3, (1 << 16) + 5, seed=1, low=-30, high=30) if view == "large" else rand(4, 6, seed=2)
    expected = a.copy()
    target = a[:, 2:] if view == "columns" else a
    expected_part = ref(target.copy())
    out = getattr(K, name)(target, np)
    np.testing.assert_allclose(target, expected_part, rtol=2e-6, atol=1e-7)
    if view == "columns":
        np.testing.assert_array_equal(a[:, :2], expected[:, :2])  # the rest is untouched
    assert out is target and a.dtype == np.float32
