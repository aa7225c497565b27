"""The CuPy path (``DEEPSHEET_DEVICE=gpu python -m pytest -m gpu``): the same numbers as the CPU.

Skipped unless DEEPSHEET_DEVICE=gpu on a machine where CuPy sees a GPU (see conftest.py).
"""
import numpy as np
import pytest

import deepsheet as ds
from deepsheet import functional as F
from deepsheet import layers as L

pytestmark = pytest.mark.gpu


def _cpu(a):
    return ds.backend.to_device(a, "cpu")


def test_default_device_is_the_gpu():
    t = ds.tensor([1.0, 2.0])
    assert ds.backend.is_gpu_array(t.data)
    np.testing.assert_array_equal(_cpu(t.data), [1.0, 2.0])


@pytest.mark.parametrize("stride", [1, 2])
def test_conv_pool_dense_forward_backward_match_the_cpu(stride):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32)
              for s in ((4, 9, 9, 3), (3, 3, 3, 5), (5,), (5 * 4, 6))]

    def run(device):
        x, w, b, k = [ds.Tensor(ds.backend.to_device(a, device), requires_grad=True)
                      for a in arrays]
        y = F.max_pool2d(F.conv2d(x, w, b, strides=stride, padding="same",
                                  activation="relu"), 2)
        z = F.dense(y.reshape(4, -1)[:, :20], k)
        (z * z).sum().backward()
        return [_cpu(t) for t in (z.data, x.grad, w.grad, b.grad, k.grad)]
    for g, c in zip(run("gpu"), run("cpu")):
        np.testing.assert_allclose(g, c, rtol=1e-4, atol=1e-4)


def test_fit_on_the_gpu_matches_the_cpu():
    rng = np.random.default_rng(0)
    x = rng.random((64, 8, 8, 1), dtype=np.float32)
    y = rng.integers(0, 3, 64)

    def train(device):
        ds.set_default_device(device)
        ds.manual_seed(0)
        m = ds.Sequential([L.Conv2D(4, 3, padding="same", activation="relu",
                                    input_shape=(8, 8, 1)),
                           L.MaxPooling2D(2), L.Flatten(), L.Dense(3)])
        m.compile(ds.optimizers.Adam(learning_rate=1e-2),
                  ds.losses.SparseCategoricalCrossentropy(from_logits=True))
        m.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
        return m.get_weights()
    try:
        gpu = train("gpu")
        cpu = train("cpu")
    finally:
        ds.set_default_device("gpu")
    for g, c in zip(gpu, cpu):
        np.testing.assert_allclose(g, c, rtol=1e-3, atol=1e-4)
