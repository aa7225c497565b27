"""The PyTorch-named losses against torch.nn.functional: values, dtype and gradients."""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
import torch.nn.functional as TF  # noqa: E402

import deepsheet as ds  # noqa: E402
import deepsheet.functional as F  # noqa: E402
from oracle import check_grad, check_torch, rand  # noqa: E402

REDUCTIONS = ["mean", "sum", "none"]


def _labels(shape, classes, seed, ignore=None):
    y = np.random.default_rng(seed).integers(0, classes, size=shape)
    if ignore is not None:
        y.flat[::3] = ignore
    return y


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_indices(reduction):
    z, y = rand(5, 4, seed=0), _labels((5,), 4, 1)
    check_torch(lambda a: F.cross_entropy(a, y, reduction=reduction),
                lambda a: TF.cross_entropy(a, torch.from_numpy(y), reduction=reduction), z)
    check_grad(lambda a: F.cross_entropy(a, y, reduction=reduction), z)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_spatial_weights_and_ignore_index(reduction):
    z, y = rand(3, 4, 2, 2, seed=2), _labels((3, 2, 2), 4, 3, ignore=-100)
    w = np.array([0.5, 2.0, 1.0, 3.0], np.float32)
    check_torch(lambda a: F.cross_entropy(a, y, weight=w, reduction=reduction),
                lambda a: TF.cross_entropy(a, torch.from_numpy(y), weight=torch.from_numpy(w),
                                           reduction=reduction), z)
    check_torch(lambda a: F.cross_entropy(a, y, reduction=reduction),
                lambda a: TF.cross_entropy(a, torch.from_numpy(y), reduction=reduction), z)


@pytest.mark.parametrize("smoothing", [0.1, 0.3])
def test_cross_entropy_label_smoothing_and_probabilities(smoothing):
    z, y = rand(6, 5, seed=4), _labels((6,), 5, 5, ignore=2)
    check_torch(lambda a: F.cross_entropy(a, y, ignore_index=2, label_smoothing=smoothing),
                lambda a: TF.cross_entropy(a, torch.from_numpy(y), ignore_index=2,
                                           label_smoothing=smoothing), z)
    p = np.random.default_rng(6).dirichlet(np.ones(5), size=6).astype(np.float32)
    check_torch(lambda a: F.cross_entropy(a, p, label_smoothing=smoothing),
                lambda a: TF.cross_entropy(a, torch.from_numpy(p), label_smoothing=smoothing),
                z)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(reduction):
    z, y = rand(5, 3, seed=7), _labels((5,), 3, 8, ignore=-100)
    w = np.array([1.0, 0.5, 2.0], np.float32)
    logp = lambda a: F.log_softmax(a, axis=1)  # noqa: E731
    check_torch(lambda a: F.nll_loss(logp(a), y, weight=w, reduction=reduction),
                lambda a: TF.nll_loss(TF.log_softmax(a, 1), torch.from_numpy(y),
                                      weight=torch.from_numpy(w), reduction=reduction), z)
    check_grad(lambda a: F.nll_loss(a, y, reduction=reduction), z)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ours,theirs", [(F.mse_loss, TF.mse_loss), (F.l1_loss, TF.l1_loss)])
def test_regression_losses(ours, theirs, reduction):
    x, t = rand(4, 3, seed=9), rand(4, 3, seed=10)
    check_torch(lambda a, b: ours(a, b.numpy(), reduction=reduction),
                lambda a, b: theirs(a, b.detach(), reduction=reduction), x, t)
    check_grad(lambda a: ours(a, t.astype(np.float64), reduction=reduction), x)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(reduction):
    p = rand(4, 3, low=0.05, high=0.95, seed=11)
    t = (rand(4, 3, seed=12) > 0).astype(np.float32)
    w = rand(4, 3, low=0.5, high=2.0, seed=13)
    check_torch(lambda a: F.binary_cross_entropy(a, t, reduction=reduction),
                lambda a: TF.binary_cross_entropy(a, torch.from_numpy(t), reduction=reduction),
                p)
    check_torch(lambda a: F.binary_cross_entropy(a, t, weight=w, reduction=reduction),
                lambda a: TF.binary_cross_entropy(a, torch.from_numpy(t),
                                                  weight=torch.from_numpy(w),
                                                  reduction=reduction), p)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits(reduction):
    z, t = rand(4, 3, low=-6, high=6, seed=14), rand(4, 3, low=0, high=1, seed=15)
    pw = np.array([1.0, 2.5, 0.5], np.float32)
    check_torch(lambda a: F.binary_cross_entropy_with_logits(a, t, reduction=reduction),
                lambda a: TF.binary_cross_entropy_with_logits(a, torch.from_numpy(t),
                                                              reduction=reduction), z)
    check_torch(lambda a: F.binary_cross_entropy_with_logits(a, t, pos_weight=pw,
                                                             reduction=reduction),
                lambda a: TF.binary_cross_entropy_with_logits(
                    a, torch.from_numpy(t), pos_weight=torch.from_numpy(pw),
                    reduction=reduction), z)
    check_grad(lambda a: F.binary_cross_entropy_with_logits(a, t, reduction=reduction), z)


def test_bad_inputs_name_the_function():
    z = ds.tensor(rand(3, 4, seed=0))
    with pytest.raises(ValueError, match=r"cross_entropy: class indices must lie in \[0, 4\)"):
        F.cross_entropy(z, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=r"cross_entropy: input of shape \(3, 4\).*\(2,\)"):
        F.cross_entropy(z, np.array([0, 1]))
    with pytest.raises(ValueError, match="mse_loss: target of shape"):
        F.mse_loss(z, np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError, match="reduction must be 'none', 'mean' or 'sum'"):
        F.l1_loss(z, np.zeros((3, 4), np.float32), reduction="sum_over_batch_size")
