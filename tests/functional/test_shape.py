"""deepsheet.functional.shape against PyTorch (float32) and finite differences (float64)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import deepsheet as ds
import deepsheet.functional as F
from oracle import check_op, check_torch, rand


@pytest.mark.parametrize("shape,new", [((2, 3, 4), (6, 4)), ((2, 3, 4), (-1,)), ((2, 3), (3, 1, 2)),
                                       ((), (1, 1)), ((1,), ()), ((0, 3), (3, 0)), ((4,), (2, -1))])
def test_reshape(shape, new):
    check_op(lambda a: F.reshape(a, new), lambda a: torch.reshape(a, new), rand(*shape))
    check_op(lambda a: a.reshape(*new), lambda a: a.reshape(new), rand(*shape))


@pytest.mark.parametrize("shape,axes", [((2, 3), None), ((2, 3, 4), None), ((2, 3, 4), (1, 2, 0)),
                                        ((2, 3, 4), (-1, 0, -2)), ((), None),
                                        ((0, 2, 1), (2, 0, 1))])
def test_transpose_and_permute(shape, axes):
    perm = tuple(range(len(shape)))[::-1] if axes is None else axes
    check_op(lambda a: F.transpose(a, axes), lambda a: a.permute(perm), rand(*shape))
    check_op(lambda a: a.permute(perm), lambda a: a.permute(perm), rand(*shape))
    check_op(lambda a: F.permute(a, *perm), lambda a: a.permute(perm), rand(*shape))


def test_tensor_T_and_transpose_method():
    x = rand(3, 4)
    check_op(lambda a: a.T, lambda a: a.T, x)
    check_op(lambda a: a.transpose(), lambda a: a.permute(1, 0), x)
    check_op(lambda a: a.transpose(1, 0), lambda a: a.permute(1, 0), x)


def test_swapaxes_moveaxis():
    x = rand(2, 3, 4)
    check_op(lambda a: F.swapaxes(a, 0, -1), lambda a: a.transpose(0, -1), x)
    check_op(lambda a: F.moveaxis(a, 0, -1), lambda a: torch.movedim(a, 0, -1), x)


@pytest.mark.parametrize("shape,target", [((3, 1), (2, 3, 4)), ((4,), (3, 4)), ((), (2, 2)),
                                          ((1,), (0,)), ((2, 3), (2, 3))])
def test_broadcast_to(shape, target):
    check_op(lambda a: F.broadcast_to(a, target), lambda a: torch.broadcast_to(a, target),
             rand(*shape))
    check_op(lambda a: a.broadcast_to(target), lambda a: a.broadcast_to(target), rand(*shape))


@pytest.mark.parametrize("shape,axis", [((1, 3, 1), None), ((1, 3, 1), 0), ((1, 3, 1), -1),
                                        ((1, 3, 1), (0, 2)), ((), None), ((0, 1), 1)])
def test_squeeze(shape, axis):
    torch_fn = (lambda a: torch.squeeze(a)) if axis is None else (lambda a: torch.squeeze(a, axis))
    check_op(lambda a: F.squeeze(a, axis), torch_fn, rand(*shape))
    check_op(lambda a: a.squeeze(axis), torch_fn, rand(*shape))


@pytest.mark.parametrize("shape,axis", [((2, 3), 0), ((2, 3), -1), ((2, 3), 1), ((), 0),
                                        ((2, 3), (0, -1)), ((0,), 1)])
def test_unsqueeze_expand_dims(shape, axis):
    target = np.expand_dims(np.empty(shape), axis).shape
    check_op(lambda a: F.unsqueeze(a, axis), lambda a: a.reshape(target), rand(*shape))
    check_op(lambda a: F.expand_dims(a, axis), lambda a: a.reshape(target), rand(*shape))
    if isinstance(axis, int):
        check_op(lambda a: a.unsqueeze(axis), lambda a: a.unsqueeze(axis), rand(*shape))


@pytest.mark.parametrize("shape,s,e", [((2, 3, 4), 0, -1), ((2, 3, 4), 1, -1), ((2, 3, 4), 0, 1),
                                       ((2, 3, 4), -2, -2), ((), 0, -1), ((2, 0, 3), 1, 2)])
def test_flatten(shape, s, e):
    check_op(lambda a: F.flatten(a, s, e), lambda a: torch.flatten(a, s, e), rand(*shape))
    check_op(lambda a: a.flatten(s, e), lambda a: a.flatten(s, e), rand(*shape))


@pytest.mark.parametrize("shapes,axis", [([(2, 3), (1, 3), (4, 3)], 0), ([(2, 3), (2, 1)], -1),
                                         ([(2, 0), (2, 3)], 1), ([(3,)], 0),
                                         ([(2, 1, 2), (2, 3, 2)], 1)])
def test_concatenate(shapes, axis):
    xs = [rand(*s, seed=i) for i, s in enumerate(shapes)]
    check_op(lambda *a: F.concatenate(a, axis=axis), lambda *a: torch.cat(a, dim=axis), *xs)


def test_concatenate_axis_none_flattens_and_mixes_arrays():
    x, y = rand(2, 2), rand(3, seed=1)
    check_op(lambda a, b: F.concatenate([a, b], axis=None),
             lambda a, b: torch.cat([a.reshape(-1), b]), x, y)
    const = rand(1, 2, seed=5)
    check_op(lambda a: F.concatenate([a, const]), lambda a: torch.cat([a, torch.from_numpy(const)]),
             x)


@pytest.mark.parametrize("shape,axis,n", [((2, 3), 0, 3), ((2, 3), -1, 2), ((), 0, 2),
                                          ((0, 2), 1, 2), ((2, 3), 2, 1)])
def test_stack(shape, axis, n):
    xs = [rand(*shape, seed=i) for i in range(n)]
    check_op(lambda *a: F.stack(a, axis=axis), lambda *a: torch.stack(a, dim=axis), *xs)


@pytest.mark.parametrize("shape,ios,axis", [((6, 2), 3, 0), ((2, 6), 2, -1), ((5, 2), [1, 3], 0),
                                            ((5, 2), [0, 5], 0), ((4, 3), [2, 2], 0),
                                            ((0, 2), 2, 1), ((4,), 1, 0)])
def test_split(shape, ios, axis):
    def theirs(a):
        if isinstance(ios, int):
            return torch.tensor_split(a, ios, dim=axis)
        return torch.tensor_split(a, ios, dim=axis)
    check_op(lambda a: F.split(a, ios, axis=axis), theirs, rand(*shape))


def test_split_unused_piece_gets_zero_gradient():
    x = ds.tensor(rand(4, 2), requires_grad=True)
    first, second = F.split(x, 2)
    assert isinstance(F.split(x, 2), list)
    (first * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad, np.r_[np.full((2, 2), 3.0), np.zeros((2, 2))])
    assert x.grad.dtype == np.float32


def _t(index):
    """The same index for PyTorch (arrays become tensors)."""
    parts = index if isinstance(index, tuple) else (index,)
    conv = tuple(torch.from_numpy(k) if isinstance(k, np.ndarray) else k for k in parts)
    return conv if isinstance(index, tuple) else conv[0]


BASIC = [1, -1, slice(1, 3), (slice(None), slice(None, None, 2)), (None, Ellipsis, 1),
         (Ellipsis, None), (1, 2, 3), (slice(5, 9),), (slice(None), -2, None), ()]
ADVANCED = [np.array([0, 2, 0, 0]), np.array([[0, 1], [1, 1]]), (slice(None), np.array([1, 1, 0])),
            (np.array([0, 1]), np.array([1, 2])), np.array([-1, 0, -1]), np.array([], dtype=int),
            (np.array([0, 0]), slice(1, 3), np.array([2, 2])), np.array(1)]
MASKS = [np.array([True, False, True]), np.array([[True, False, True, False]] * 3),
         np.zeros((3, 4, 5), bool), (np.array([True, False, True]), slice(1, 3)),
         (Ellipsis, np.array([False, True, True, False, True]))]


@pytest.mark.parametrize("index", BASIC + ADVANCED + MASKS, ids=repr)
def test_getitem(index):
    check_op(lambda a: a[index], lambda a: a[_t(index)], rand(3, 4, 5))


def test_getitem_negative_step_and_0d():
    check_op(lambda a: a[::-1, 1], lambda a: a.flip(0)[:, 1], rand(4, 3))
    check_op(lambda a: a[None], lambda a: a[None], rand())
    check_op(lambda a: a[...], lambda a: a[...], rand())


@pytest.mark.parametrize("shape", [(6, 8), (6, 3), (6,), (6, 2, 5)])
def test_getitem_gather_rows_with_repeats(shape):
    # Rows of 8+ values take the sort+reduceat path, shorter ones np.add.at: both must agree.
    idx = np.array([[0, 5, 0], [2, 0, -1]])
    check_op(lambda a: a[idx], lambda a: a[torch.from_numpy(idx)], rand(*shape))


def test_getitem_with_tensor_and_list_indices():
    idx = ds.tensor(np.array([2, 0, 2]))
    check_op(lambda a: a[idx], lambda a: a[torch.tensor([2, 0, 2])], rand(3, 4))
    check_op(lambda a: a[[1, 1]], lambda a: a[[1, 1]], rand(3, 4))
    check_op(lambda a: a[a > 0], lambda a: a[a > 0], rand(3, 4))


def test_getitem_bad_index_is_clear():
    x = ds.tensor(rand(3))
    with pytest.raises(IndexError, match="getitem"):
        x[np.array([0.5])]
    with pytest.raises(IndexError):
        x[5]


def _torch_pad(widths, mode):
    # torch pads only the trailing axes, and wants them listed last axis first.
    padded = [ax for ax, (b, e) in enumerate(widths) if b or e]
    flat = []
    for b, e in reversed(widths[padded[0]:]):
        flat += [b, e]
    return lambda a: TF.pad(a, flat, mode=mode)


@pytest.mark.parametrize("shape,width", [((3, 4), 1), ((3, 4), (1, 2)), ((3, 4), ((0, 1), (2, 0))),
                                         ((2, 3, 4), ((0, 0), (1, 1), (2, 3))), ((0, 2), 1),
                                         ((3,), (2,))])
@pytest.mark.parametrize("value", [0, -1.5])
def test_pad_constant(shape, width, value):
    widths = np.broadcast_to(np.asarray(width), (len(shape), 2)).tolist()
    check_op(lambda a: F.pad(a, width, constant_values=value),
             lambda a: TF.pad(a, [w for pair in reversed(widths) for w in pair], value=value),
             rand(*shape))


@pytest.mark.parametrize("mode,torch_mode", [("reflect", "reflect"), ("edge", "replicate"),
                                             ("wrap", "circular")])
@pytest.mark.parametrize("shape,widths", [((2, 5), ((0, 0), (2, 3))),
                                          ((1, 2, 4, 5), ((0, 0), (0, 0), (1, 2), (3, 1)))])
def test_pad_index_modes_vs_torch(mode, torch_mode, shape, widths):
    check_op(lambda a: F.pad(a, widths, mode=mode), _torch_pad(widths, torch_mode), rand(*shape))


@pytest.mark.parametrize("mode", ["reflect", "symmetric", "edge", "wrap"])
@pytest.mark.parametrize("shape,width", [((3, 4), ((2, 1), (3, 5))), ((1,), 2), ((2, 3), 7),
                                         ((), 1)])
def test_pad_index_modes_match_numpy_and_fd(mode, shape, width):
    # Wider than the input on purpose (numpy repeats the reflection); torch refuses these.
    x = rand(*shape)
    y = F.pad(ds.tensor(x), width, mode=mode)
    np.testing.assert_array_equal(y.numpy(), np.pad(x, width, mode=mode))
    assert y.dtype == np.float32
    from oracle import check_grad
    check_grad(lambda a: F.pad(a, width, mode=mode), x)


def test_pad_reflect_backward_exact():
    x = ds.tensor([1.0, 2.0, 3.0], requires_grad=True)
    F.pad(x, 2, mode="reflect").sum().backward()  # y = 3 2 | 1 2 3 | 2 1
    assert x.grad.tolist() == [2.0, 3.0, 2.0]


def test_pad_bad_input():
    x = ds.tensor(rand(2, 3))
    with pytest.raises(ValueError, match="pad: mode"):
        F.pad(x, 1, mode="mean")
    with pytest.raises(ValueError, match="pad_width"):
        F.pad(x, ((1, 1), (1, 1), (1, 1)))
    with pytest.raises(ValueError, match="non-negative"):
        F.pad(x, -1)
    assert F.pad(x, 1, constant_values=np.float64(2.0)).dtype == np.float32


@pytest.mark.parametrize("call,match", [
    (lambda x: F.reshape(x, (4, 2)), r"reshape.*\(2, 3\).*\(4, 2\)"),
    (lambda x: F.transpose(x, (0, 0)), r"transpose.*permutation"),
    (lambda x: F.broadcast_to(x, (3, 3)), r"broadcast_to.*\(2, 3\).*\(3, 3\)"),
    (lambda x: F.squeeze(x, 0), r"squeeze.*size 2"),
    (lambda x: F.unsqueeze(x, 3), r"unsqueeze.*out of bounds"),
    (lambda x: F.flatten(x, 1, 0), r"flatten"),
    (lambda x: F.concatenate([x, ds.tensor(rand(3, 4))]), r"concatenate.*\(2, 3\).*\(3, 4\)"),
    (lambda x: F.stack([x, ds.tensor(rand(3, 2))]), r"stack.*\(2, 3\).*\(3, 2\)"),
    (lambda x: F.split(x, 4, axis=1), r"split.*length 3.*4"),
    (lambda x: F.concatenate(x), r"sequence"),
])
def test_shape_errors_name_the_operation(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call(ds.tensor(rand(2, 3)))


def test_shape_ops_keep_float32_gradients():
    x = ds.tensor(rand(2, 3, 4), requires_grad=True)
    y = F.concatenate([F.flatten(x, 1), F.reshape(x, (2, 12))], axis=1)
    z = F.stack(F.split(y, 2, axis=1))[:, 0, ::3]
    (F.pad(z, 1, mode="reflect") * 2.0).sum().backward()
    assert z.dtype == np.float32 and x.grad.dtype == np.float32
