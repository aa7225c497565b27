import numpy as np
import pytest

import deepsheet as ds
from deepsheet.diagnostics import activation_maximization, bar_images, grad_cam, saliency_map


@pytest.fixture(scope="module")
def trained():
    x, y, mask = bar_images(600)
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
    from deepsheet.functional.activations import logits_of
    model, x, _ = trained

    def logit(img):     # z_1, the input of the final softmax
        return float(logits_of(model(img, training=False), "softmax").data[0, 1])

    s = saliency_map(model, x[:1], class_index=1)
    eps = 1e-2
    for i, j in ((2, 3), (6, 6), (9, 4)):
        up, down = x[:1].copy(), x[:1].copy()
        up[0, i, j, 0] += eps
        down[0, i, j, 0] -= eps
        # conv + ReLU + average pooling + dense is piecewise linear: the difference is exact
        # inside one linear piece, so the tolerance only covers float32 rounding
        finite = (logit(up) - logit(down)) / (2 * eps)
        assert s[0, i, j] == pytest.approx(abs(finite), rel=2e-2, abs=1e-4)


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
