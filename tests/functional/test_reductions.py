"""deepsheet.functional reductions (reductions.py) against PyTorch (float32) and finite
differences (float64)."""
import numpy as np
import pytest
import torch

import deepsheet as ds
import deepsheet.functional as F
from oracle import check_op, check_torch, rand


def _dims(axis, ndim):
    """PyTorch's dim for NumPy's axis (torch reads dim=() as 'all axes' only for n-d input)."""
    return tuple(range(ndim)) if axis is None else axis


REDUCE_CASES = [((3, 4, 5), None), ((3, 4, 5), 0), ((3, 4, 5), -1), ((3, 4, 5), (0, 2)),
                ((3, 4, 5), (-1, -3)), ((1, 4), 0), ((), None), ((4,), 0), ((0, 3), 1),
                ((2, 0, 3), (0, 2))]

TORCH_REDUCE = {
    "sum": lambda x, d, k: torch.sum(x, dim=d, keepdim=k),
    "mean": lambda x, d, k: torch.mean(x, dim=d, keepdim=k),
    "max": lambda x, d, k: torch.amax(x, dim=d, keepdim=k),
    "min": lambda x, d, k: torch.amin(x, dim=d, keepdim=k),
    "logsumexp": lambda x, d, k: torch.logsumexp(x, dim=d, keepdim=k),
}


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape,axis", REDUCE_CASES)
@pytest.mark.parametrize("op", sorted(TORCH_REDUCE))
def test_reductions(op, shape, axis, keepdims):
    x = rand(*shape, seed=3)
    tfn = TORCH_REDUCE[op]
    check_op(lambda a: getattr(F, op)(a, axis=axis, keepdims=keepdims),
             lambda a: tfn(a, _dims(axis, len(shape)), keepdims), x)


@pytest.mark.filterwarnings("ignore:.*degrees of freedom:UserWarning")  # torch, empty slices
@pytest.mark.parametrize("ddof", [0, 1])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape,axis", [c for c in REDUCE_CASES if c[0] not in ((), (4,))
                                        and c != ((1, 4), 0)] + [((4,), 0)])
@pytest.mark.parametrize("op", ["var", "std"])
def test_var_std(op, shape, axis, keepdims, ddof):
    x = rand(*shape, seed=4)
    tfn = getattr(torch, op)
    check_op(lambda a: getattr(F, op)(a, axis=axis, ddof=ddof, keepdims=keepdims),
             lambda a: tfn(a, dim=_dims(axis, len(shape)), correction=ddof, keepdim=keepdims), x)


def test_var_std_defaults_are_numpy_population_statistics():
    x = rand(4, 6)
    np.testing.assert_allclose(F.var(ds.tensor(x)).numpy(), np.var(x), rtol=1e-6)
    np.testing.assert_allclose(ds.tensor(x).std(axis=1).numpy(), np.std(x, axis=1), rtol=1e-6)


def test_std_of_constant_has_zero_gradient_like_torch():
    check_torch(lambda a: F.std(a, axis=1), lambda a: torch.std(a, dim=1, correction=0),
                np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]], np.float32))


def test_max_min_ties_share_gradient_like_amax():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], np.float32)
    for axis in (None, 1, 0):
        check_torch(lambda a: F.max(a, axis=axis), lambda a: torch.amax(a, dim=_dims(axis, 2)), x)
        check_torch(lambda a: F.min(a, axis=axis), lambda a: torch.amin(a, dim=_dims(axis, 2)), x)


def test_logsumexp_is_stable():
    x = np.array([[1000.0, 1000.0], [-1000.0, -1000.0], [-np.inf, -np.inf]], np.float32)
    y = F.logsumexp(ds.tensor(x), axis=1)
    expected = torch.logsumexp(torch.from_numpy(x), dim=1).numpy()
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-6)
    assert np.isfinite(y.numpy()[:2]).all() and y.numpy()[2] == -np.inf
    check_torch(lambda a: F.logsumexp(a, axis=1), lambda a: torch.logsumexp(a, dim=1), x[:2])


def test_tensor_reduction_methods_match_functional():
    x = ds.tensor(rand(3, 4))
    for name in ("sum", "mean", "max", "min", "var", "std", "logsumexp"):
        np.testing.assert_array_equal(getattr(x, name)(axis=-1).numpy(),
                                      getattr(F, name)(x, axis=-1).numpy())


@pytest.mark.parametrize("op", ["sum", "mean", "max", "var"])
def test_reduction_bad_axis_names_the_operation(op):
    with pytest.raises(ValueError, match=op):
        getattr(F, op)(ds.tensor(rand(2, 3)), axis=2)
