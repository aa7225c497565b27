import numpy as np
import pytest

import deepsheet as ds
from deepsheet.diagnostics import activation_maximization, grad_cam, saliency_map


def _bars(n, size=12, seed=0):
    """Noise images with a horizontal bar (class 0), a vertical bar (1) or nothing (2)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.1, size=(n, size, size, 1)).astype(np.float32)
    y = rng.integers(0, 3, n)
    mask = np.zeros((n, size, size), bool)
    for i in range(n):
        r, c = rng.integers(0, size - 5, 2)
        if y[i] == 0:
            mask[i, r + 2, c:c + 5] = True
        elif y[i] == 1:
            mask[i, r:r + 5, c + 2] = True
    x[mask] += 1.0
    return x, y, mask


@pytest.fixture(scope="module")
def trained():
    x, y, mask = _bars(600)
    ds.manual_seed(0)
    inp = ds.Input((12, 12, 1))
    h = ds.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv")(inp)
    h = ds.layers.GlobalAveragePooling2D()(h)
    model = ds.Model(inp, ds.layers.Dense(3, activation="softmax")(h))
    model.compile(optimizer=ds.optimizers.Adam(learning_rate=0.01),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:500], y[:500], epochs=6, batch_size=32, verbose=0)
    assert model.evaluate(x[500:], y[500:], verbose=0)[1] > 0.9
    has = mask[500:].any(axis=(1, 2))
    return model, x[500:][has], mask[500:][has]


def _on_vs_off(maps, mask):
    return np.array([m[k].mean() > m[~k].mean() for m, k in zip(maps, mask)])


def test_saliency_is_larger_on_the_object(trained):
    model, x, mask = trained
    s = saliency_map(model, x)
    assert s.shape == x.shape[:3] and (s >= 0).all()
    assert _on_vs_off(s, mask).mean() >= 0.8


def test_saliency_is_the_gradient_of_the_logit(trained):
    model, x, _ = trained
    from deepsheet.tensor import Tensor
    eps, i, j = 1e-2, 5, 6
    probe = x[:1].astype(np.float64)
    s = saliency_map(model, probe, class_index=1)
    logit = lambda img: np.log(model.predict(img.astype(np.float32), verbose=0)[0, 1]) - \
        np.log(model.predict(img.astype(np.float32), verbose=0)[0]).mean()
    bumped = probe.copy()
    bumped[0, i, j, 0] += eps
    lowered = probe.copy()
    lowered[0, i, j, 0] -= eps
    # log p_1 − mean_k log p_k = z_1 − mean_k z_k: the logit up to a shift shared by classes
    finite = (logit(bumped) - logit(lowered)) / (2 * eps)
    assert Tensor  # the map uses |∂z_1/∂x|; the shift's gradient is small next to it here
    assert s[0, i, j] == pytest.approx(abs(finite), rel=0.35, abs=2e-3)


def test_grad_cam_points_at_the_object(trained):
    model, x, mask = trained
    cam = grad_cam(model, x, "conv")
    assert cam.shape == x.shape[:3] and cam.min() >= 0 and cam.max() <= 1
    assert _on_vs_off(cam, mask).mean() >= 0.8
    with pytest.raises(ValueError, match="convolution layer"):
        grad_cam(model, x, model.layers[-1].name)


def test_activation_maximization_raises_the_activation(trained):
    model, x, _ = trained
    image, trace = activation_maximization(model, "conv", 3, steps=25)
    assert image.shape == (12, 12, 1) and len(trace) == 26
    conv = ds.Model(model.input, model.get_layer("conv").output)
    on_data = conv.predict(x, verbose=0)[..., 3].mean(axis=(1, 2)).max()
    assert trace[-1] > 5 * max(trace[0], 1e-3) and trace[-1] > on_data
    with pytest.raises(ValueError, match=r"filter_index must be in \[0, 8\)"):
        activation_maximization(model, "conv", 8)
