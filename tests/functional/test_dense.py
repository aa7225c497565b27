"""functional.dense (the fused dense node) and functional.linear against
torch.nn.functional.linear, and functional.matmul against torch.matmul; all also against
finite differences."""
import numpy as np
import pytest
import torch

import deepsheet as ds
import deepsheet.functional as F
from oracle import F32, check_op, check_torch, rand


def _torch_dense(x, w, b=None, relu=False):
    y = torch.nn.functional.linear(x, w.T, b)
    return torch.relu(y) if relu else y


@pytest.mark.parametrize("xshape", [(4, 3), (2, 5, 3), (2, 2, 2, 3), (3,), (0, 3)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("relu", [False, True])
def test_dense_vs_torch(xshape, bias, relu):
    x, w, b = rand(*xshape, seed=1), rand(3, 4, seed=2), rand(4, seed=3)
    act = "relu" if relu else None
    if bias:
        check_op(lambda x, w, b: F.dense(x, w, b, activation=act),
                 lambda x, w, b: _torch_dense(x, w, b, relu), x, w, b)
    else:
        check_op(lambda x, w: F.dense(x, w, activation=act),
                 lambda x, w: _torch_dense(x, w, relu=relu), x, w)


def test_no_input_gradient_when_data_needs_none():
    x = ds.tensor(rand(4, 3, seed=1))
    w = ds.tensor(rand(3, 2, seed=2), requires_grad=True)
    y = F.dense(x, w)
    fn = y._ctx
    assert fn.w is None  # the kernel is not kept: dx is never computed
    y.sum().backward()
    assert x.grad is None and w.grad.shape == (3, 2)


def test_rank3_kernel_gradient_is_folded_rows():
    # (2, 5, 3) input: dW must equal the single GEMM over the 10 folded rows.
    x, w = rand(2, 5, 3, seed=4), rand(3, 4, seed=5)
    check_torch(lambda x, w: F.dense(x, w), lambda x, w: _torch_dense(x, w), x, w)


def test_dtype_float32_kept():
    y = F.dense(ds.tensor(rand(2, 3)), ds.tensor(rand(3, 4)), ds.tensor(rand(4)), activation="relu")
    assert y.dtype == np.float32


def test_bad_input():
    x, w = ds.tensor(rand(2, 3)), ds.tensor(rand(4, 5))
    with pytest.raises(ValueError, match=r"last dimension of 4.*\(4, 5\)"):
        F.dense(x, w)
    with pytest.raises(ValueError, match="bias must have shape"):
        F.dense(ds.tensor(rand(2, 4)), w, ds.tensor(rand(4)))
    with pytest.raises(ValueError, match="activation must be"):
        F.dense(ds.tensor(rand(2, 4)), w, activation="tanh")
    with pytest.raises(ValueError, match="2-D"):
        F.dense(ds.tensor(rand(2, 4)), ds.tensor(rand(4)))


def test_dense_relu_on_a_large_output_vs_torch():
    # Past 4096 output values the fused ReLU runs blockwise against zeros (another code path).
    x, w, b = rand(33, 5, seed=1), rand(5, 130, seed=2), rand(130, seed=3)
    check_op(lambda x, w, b: F.dense(x, w, b, activation="relu"),
             lambda x, w, b: _torch_dense(x, w, b, relu=True), x, w, b)


@pytest.mark.parametrize("xshape", [(4, 3), (2, 5, 3), (3,), (0, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_vs_torch(xshape, bias):
    # PyTorch's layout: weight (out, in); forward, backward (float32) and gradcheck (float64)
    x, w, b = rand(*xshape, seed=1), rand(4, 3, seed=2), rand(4, seed=3)
    if bias:
        check_op(F.linear, torch.nn.functional.linear, x, w, b)
    else:
        check_op(F.linear, torch.nn.functional.linear, x, w)


def test_linear_is_dense_with_the_kernel_transposed():
    x, w, b = rand(5, 3, seed=4), rand(4, 3, seed=5), rand(4, seed=6)
    np.testing.assert_array_equal(F.linear(ds.tensor(x), ds.tensor(w), ds.tensor(b)).numpy(),
                                  F.dense(ds.tensor(x), ds.tensor(w.T.copy()), ds.tensor(b)).numpy())
    wt = ds.tensor(w, requires_grad=True)
    F.linear(ds.tensor(x), wt).sum().backward()
    assert wt.grad.shape == (4, 3) and wt.grad.dtype == np.float32


def test_linear_bad_input():
    x = ds.tensor(rand(2, 3))
    with pytest.raises(ValueError, match=r"linear: inputs of shape \(2, 3\) need a last dimension of 5"):
        F.linear(x, ds.tensor(rand(4, 5)))
    with pytest.raises(ValueError, match=r"linear: bias must have shape \(4,\)"):
        F.linear(x, ds.tensor(rand(4, 3)), ds.tensor(rand(3)))
    with pytest.raises(ValueError, match=r"linear: weight must be 2-D \(out, in\)"):
        F.linear(x, ds.tensor(rand(3)))


@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (3, 4, 2)),
                                   ((4,), (4,)), ((4,), (2, 4, 3)), ((2, 3, 4), (4,)),
                                   ((0, 4), (4, 3)), ((3, 0), (0, 2)), ((1, 4), (4, 1))])
def test_matmul(sa, sb):
    check_op(F.matmul, torch.matmul, rand(*sa, seed=1), rand(*sb, seed=2))


def test_matmul_operator_and_rmatmul_with_ndarray():
    a, b = rand(3, 4, seed=1), rand(4, 2, seed=2)
    check_op(lambda x: x @ b, lambda x: x @ torch.from_numpy(b), a)
    check_op(lambda y: a @ y, lambda y: torch.from_numpy(a) @ y, b)


def test_matmul_mismatch_names_shapes():
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\).*\(4, 5\)"):
        ds.tensor(rand(2, 3)) @ ds.tensor(rand(4, 5))
    with pytest.raises(ValueError, match="matmul.*1-D"):
        F.matmul(ds.tensor(1.0), ds.tensor(rand(3)))


def test_fresh_gradients_are_taken_without_a_copy_and_stay_correct():
    """DenseOp's gradients become the leaves' .grad as they are (fresh_grads); a weight used
    twice, gradients accumulated over two backward calls and a .grad kept by the user from
    an earlier step are still right."""
    rng = np.random.default_rng(3)
    x = ds.tensor(rng.standard_normal((5, 4)).astype(np.float32))
    w = ds.tensor(rng.standard_normal((4, 4)).astype(np.float32), requires_grad=True)
    b = ds.tensor(rng.standard_normal(4).astype(np.float32), requires_grad=True)
    F.dense(F.dense(x, w, b, activation="relu"), w, b).sum().backward()  # w and b used twice
    tw = torch.tensor(w.data, requires_grad=True)
    tb = torch.tensor(b.data, requires_grad=True)
    tx = torch.from_numpy(x.data)
    (torch.relu(tx @ tw + tb) @ tw + tb).sum().backward()
    np.testing.assert_allclose(w.grad, tw.grad.numpy(), **F32)
    np.testing.assert_allclose(b.grad, tb.grad.numpy(), **F32)
    kept = w.grad
    first = kept.copy()
    F.dense(x, w, b).sum().backward()  # accumulates into .grad
    np.testing.assert_allclose(w.grad, first + x.data.sum(0)[:, None], **F32)
    w.grad = None
    F.dense(x, w, b).sum().backward()  # a new array: the kept one is not written again
    assert w.grad is not kept
    np.testing.assert_allclose(kept, first + x.data.sum(0)[:, None], **F32)
    assert w.grad.flags.writeable and w.grad.dtype == np.float32


def test_a_product_reports_no_floating_point_warning_and_keeps_the_nan():
    """OpenBLAS can raise the CPU's "invalid" flag spuriously; products do not turn it into a
    warning (an error under this suite's filter). A real NaN still reaches the result."""
    x = ds.tensor(np.array([[np.inf, 1.0]], np.float32))
    w = ds.tensor(np.array([[0.0], [1.0]], np.float32))   # inf * 0 = NaN
    y = F.dense(x, w)
    assert np.isnan(y.numpy()).all()
