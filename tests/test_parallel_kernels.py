"""Chunked kernels added for issue 20's second session: products split by columns, the
fused ReLU's mask inside the convolution's weight-gradient chunks, and the allocator."""
import sys

import numpy as np
import pytest

import deepsheet as ds
from deepsheet import backend, parallel
from deepsheet import functional as F
from deepsheet.functional import _kernels


def test_product_blocks_depend_on_the_shape_only(monkeypatch):
    """The longer side is split, into more blocks for more FLOPs; small products stay whole."""
    B = _kernels._product_blocks
    assert B(64, 256, 1e6, False) == [(slice(0, 64), slice(0, 256))]
    assert B(64, 256, 1e7, False) == [(slice(0, 64), slice(0, 128)), (slice(0, 64), slice(128, 256))]
    assert B(64, 256, 1e7, True) == [   # rows, contiguous, for an epilogue
        (slice(0, 32), slice(0, 256)), (slice(32, 64), slice(0, 256))]
    assert B(300, 20, 3e8, False) == [
        (slice(0, 100), slice(0, 20)), (slice(100, 200), slice(0, 20)),
        (slice(200, 300), slice(0, 20))]
    assert len(B(4096, 4096, 1e12, False)) == _kernels.MATMUL_MAX_BLOCKS


def _wide_dense(relu):
    """A few rows and many outputs: the products split by columns (dL/dx, the forward
    without an epilogue) and by rows (dL/dW)."""
    rng = np.random.default_rng(4)
    x = ds.tensor(rng.standard_normal((6, 40)).astype(np.float32), requires_grad=True)
    k = ds.tensor(rng.standard_normal((40, 90)).astype(np.float32), requires_grad=True)
    b = ds.tensor(rng.standard_normal(90).astype(np.float32), requires_grad=True)
    y = F.dense(x, k, b if relu else None, activation="relu" if relu else None)
    w = ds.tensor(rng.standard_normal((90, 50)).astype(np.float32), requires_grad=True)
    z = F.linear(y, w.T)  # PyTorch's layout: the transposed branch
    (z * z).sum().backward()
    return [np.array(a) for a in (y.data, z.data, x.grad, k.grad, w.grad)], (x, k, b, w)


@pytest.mark.parametrize("relu", [False, True])
def test_split_products_are_bit_identical_with_1_2_3_threads_and_right(threads, monkeypatch,
                                                                       relu):
    monkeypatch.setattr(_kernels, "MATMUL_MIN_FLOPS", 0)
    monkeypatch.setattr(_kernels, "MATMUL_BLOCK_FLOPS", 1e4)
    monkeypatch.setattr(_kernels, "MATMUL_MIN_ROWS", 4)
    monkeypatch.setattr(parallel, "MIN_PARALLEL_WORK", 0)
    threads(1)
    ref, (x, k, b, w) = _wide_dense(relu)
    for n in (2, 3):
        threads(n)
        for a, c in zip(ref, _wide_dense(relu)[0]):
            np.testing.assert_array_equal(a, c)
    # and the values themselves, against plain NumPy in float64
    x64, k64, w64 = (np.float64(t.data) for t in (x, k, w))
    y = x64 @ k64
    if relu:
        y = np.maximum(y + np.float64(b.data), 0)
    z = y @ w64
    gy = (2 * z) @ w64.T * (y > 0 if relu else 1)
    for got, want in zip(ref, (y, z, gy @ k64.T, x64.T @ gy, y.T @ (2 * z))):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-4 * np.abs(want).max())


def _fused_relu_conv_weight_grad(fused, x_needs_grad):
    rng = np.random.default_rng(5)
    x = ds.tensor(rng.standard_normal((9, 6, 7, 3)).astype(np.float32),
                  requires_grad=x_needs_grad)
    w = ds.tensor(rng.standard_normal((3, 3, 3, 4)).astype(np.float32), requires_grad=True)
    b = ds.tensor(rng.standard_normal(4).astype(np.float32), requires_grad=True)
    if fused:
        y = F.conv2d(x, w, b, padding="same", activation="relu")
    else:
        y = F.relu(F.conv2d(x, w, b, padding="same"))
    (y * y * y).sum().backward()
    return [np.array(a) for a in (w.grad, b.grad) + ((x.grad,) if x_needs_grad else ())]


@pytest.mark.parametrize("x_needs_grad", [False, True])
def test_fused_relu_mask_in_the_weight_gradient_chunks(threads, monkeypatch, x_needs_grad):
    """The mask is applied per chunk (into scratch without dL/dx, into a kept array with it):
    the same gradients as a separate ReLU, and bit-identical with 1 and 3 threads."""
    monkeypatch.setattr(_kernels, "CHUNK_BYTES", 5_000)  # 2-sample chunks
    monkeypatch.setattr(parallel, "MIN_PARALLEL_WORK", 0)
    threads(3)
    fused = _fused_relu_conv_weight_grad(True, x_needs_grad)
    for a, c in zip(fused, _fused_relu_conv_weight_grad(False, x_needs_grad)):
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-5 * np.abs(c).max())
    threads(1)
    for a, c in zip(fused, _fused_relu_conv_weight_grad(True, x_needs_grad)):
        np.testing.assert_array_equal(a, c)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_parallel_work_keeps_freed_memory_for_reuse():
    """After deepsheet's first parallel work, a freed 8 MiB array is reused, not unmapped
    and faulted in again page by page; glibc's own variables turn this off."""
    import subprocess
    code = ("import resource, numpy as np, deepsheet as ds\n"
            "from deepsheet import backend, parallel\n"
            "parallel.parallel_for(2, lambda i: None)\n"
            "def faults():\n"
            "    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
            "np.ones(2 << 20, np.float32)\n"
            "f = faults()\n"
            "for _ in range(20):\n"
            "    np.ones(2 << 20, np.float32)\n"
            "print(backend.keep_freed_memory(), faults() - f)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    if out[0] == "False":
        pytest.skip("not glibc")
    assert int(out[1]) < 200  # 20 fresh 8 MiB arrays would fault ~40,000 pages
    env = {**__import__("os").environ, "MALLOC_TRIM_THRESHOLD_": "131072"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env).stdout.split()
    assert out[0] == "False"
    assert backend.MMAP_THRESHOLD == 32 << 20


def test_parallel_work_takes_blas_threads_back_from_a_threadpool_limits_context(threads):
    """Inside threadpool_limits(2), each of deepsheet's pool threads would run 2 spinning
    BLAS threads (it made the DCGAN benchmark slower at 2 threads than at 1)."""
    import threadpoolctl
    threads(2)
    parallel.parallel_for(2, lambda i: None)

    def blas():
        return {i["num_threads"] for i in threadpoolctl.threadpool_info()
                if i["user_api"] == "blas"}
    if not blas():
        pytest.skip("no BLAS that threadpoolctl can control")
    assert blas() == {1}
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        assert blas() == {2}
        parallel.parallel_for(2, lambda i: None)
        assert blas() == {1}
