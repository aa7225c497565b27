"""``_gemm.gemm_acc``: c += a @ b in one BLAS call, every layout it reads in place, and the
NumPy fallback for the rest."""
import numpy as np
import pytest

from deepsheet.functional import _gemm


def _layouts(rng, shape, dtype):
    """The same matrix as a row-major array, a transposed (column-major) view, a row-major
    view with a longer leading dimension and a column slice (offset start)."""
    r, c = shape
    m = rng.standard_normal(shape).astype(dtype)
    wide = np.zeros((r, c + 5), dtype)
    wide[:, 3:3 + c] = m
    return {"row-major": m.copy(), "transposed view": np.ascontiguousarray(m.T).T,
            "leading dimension": wide[:, 3:3 + c], "strided rows": np.repeat(m, 2, 0)[::2]}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_accumulates_the_product_for_every_layout(dtype):
    rng = np.random.default_rng(0)
    M, K, N = 7, 13, 9
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for na, a in _layouts(rng, (M, K), dtype).items():
        for nb, b in _layouts(rng, (K, N), dtype).items():
            c0 = rng.standard_normal((M, N)).astype(dtype)
            wide = np.zeros((M, N + 4), dtype)
            wide[:, 2:2 + N] = c0
            for nc, c in {"row-major": c0.copy(), "column slice": wide[:, 2:2 + N]}.items():
                want = c0.astype(np.float64) + a.astype(np.float64) @ b.astype(np.float64)
                before = c.copy()
                out = _gemm.gemm_acc(a, b, c)
                assert out is c
                np.testing.assert_allclose(c, want, rtol=tol, atol=tol,
                                           err_msg=f"a {na}, b {nb}, c {nc}")
                assert not np.array_equal(c, before)


def test_one_call_equals_product_then_add_bit_for_bit():
    """With OpenBLAS and an inner dimension within one of its blocks (the recurrent
    kernels' rows per chunk, <= 128), β = 1 adds exactly the product NumPy would store."""
    if not _gemm.available():
        pytest.skip("no OpenBLAS found behind NumPy: gemm_acc runs the NumPy fallback")
    rng = np.random.default_rng(1)
    for K in (1, 32, 64, 128):
        d = rng.standard_normal((512, K)).astype(np.float32)
        st = rng.standard_normal((157, K)).astype(np.float32)
        acc = rng.standard_normal((512, 157)).astype(np.float32)
        want = acc + np.dot(d, st.T)
        got = _gemm.gemm_acc(d, st.T, acc.copy())
        assert np.array_equal(got, want), K


def test_fallbacks_give_the_same_numbers():
    """Overlapping output, mixed dtypes, a non-writable layout BLAS cannot read, one row
    or column: NumPy runs it, with the value of c + a @ b."""
    rng = np.random.default_rng(2)
    a = rng.standard_normal((6, 4)).astype(np.float32)
    b = rng.standard_normal((4, 6)).astype(np.float32)
    c = rng.standard_normal((6, 6)).astype(np.float32)
    cases = [(a.astype(np.float64), b, c.copy()),            # mixed dtypes
             (a[::-1], b, c.copy()),                          # negative stride
             (a[:1], b, c[:1].copy()),                        # one row
             (a, b[:, :1], c[:, :1].copy()),                  # one column
             (a.astype(np.float16), b.astype(np.float16), c.astype(np.float16))]
    for x, y, z in cases:
        want = z + x @ y
        np.testing.assert_allclose(_gemm.gemm_acc(x, y, z), want, rtol=1e-3, atol=1e-3)
    sq = rng.standard_normal((5, 5)).astype(np.float32)
    want = sq + sq @ sq
    np.testing.assert_allclose(_gemm.gemm_acc(sq, sq, sq), want, rtol=1e-5, atol=1e-5)


def test_wrong_shapes_raise():
    a = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match=r"gemm_acc: shapes \(3, 4\) @ \(5, 2\)"):
        _gemm.gemm_acc(a, np.ones((5, 2), np.float32), np.ones((3, 2), np.float32))


def test_stepped_acc_matches_gemm_acc_and_declines_what_it_cannot_do():
    """The prepared per-step call adds exactly what ``gemm_acc`` adds for the same operands
    (a loop over time steps: stacks of matrices, the second read transposed)."""
    if not _gemm.available():
        pytest.skip("no OpenBLAS found behind NumPy: stepped_acc is never used")
    rng = np.random.default_rng(3)
    a = rng.standard_normal((5, 12, 8)).astype(np.float32)       # (steps, M, K)
    b = rng.standard_normal((6, 10, 8)).astype(np.float32)       # (steps, N, K): read as .T
    c0 = rng.standard_normal((12, 10)).astype(np.float32)
    step = _gemm.stepped_acc(c := c0.copy(), a, b, transpose_b=True)
    want = c0.copy()
    for i, j in ((0, 1), (4, 5), (2, 0)):
        step(i, j)
        _gemm.gemm_acc(a[i], b[j].T, want)
        assert np.array_equal(c, want)
    sub = _gemm.stepped_acc(c, a[:, 2:], b[:, :, :], transpose_b=True)   # a row slice
    assert sub is None                                                    # M mismatch
    assert _gemm.stepped_acc(c, a.astype(np.float64), b, True) is None    # mixed dtypes
    assert _gemm.stepped_acc(a[0], a, b, True) is None                    # c overlaps a
    view = _gemm.stepped_acc(c[:, :10], a[:, :, :], b, transpose_b=True)
    assert view is not None
