"""Shared checks for the architecture tests: parameter counts against a torch twin, and a
few training steps on a small random batch with a decreasing loss."""
import numpy as np
import pytest


def _ours(model):
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    frozen = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    return trainable, frozen


def _theirs(module):
    import torch
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    # Keras counts a BN layer's moving mean and variance (2 per channel) as non-trainable
    # weights; torch keeps them (and a step counter, not a weight) as buffers.
    stats = sum(m.running_mean.numel() + m.running_var.numel() for m in module.modules()
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm))
    return trainable, stats


@pytest.fixture
def assert_counts():
    def check(model, twin, input_shape):
        import torch
        # Run the twin once: proves its layers fit together for this input size.
        h, w, c = input_shape
        with torch.no_grad():
            twin.eval()(torch.zeros(1, c, h, w))
        ours, theirs = _ours(model), _theirs(twin)
        assert ours == theirs, f"(trainable, non-trainable) ours {ours} != torch twin {theirs}"
        assert model.count_params() == sum(ours)
        return ours
    return check


@pytest.fixture
def assert_trains():
    def check(model, input_shape, classes=10, n=8, steps=5, lr=3e-3):
        import deepsheet as ds
        rng = np.random.default_rng(0)
        x = rng.standard_normal((n,) + tuple(input_shape)).astype(np.float32)
        y = rng.integers(0, classes, size=n)
        model.compile(optimizer=ds.optimizers.Adam(learning_rate=lr),
                      loss="sparse_categorical_crossentropy")
        losses = [float(model.train_on_batch(x, y)) for _ in range(steps)]
        assert all(np.isfinite(losses)), losses
        assert losses[-1] < losses[0], f"loss did not decrease: {losses}"
        out = model.predict(x[:2], verbose=0)
        assert out.shape == (2, classes) and out.dtype == np.float32
        np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
        return losses
    return check


@pytest.fixture
def summary_text():
    def run(model):
        lines = []
        model.summary(print_fn=lines.append)
        text = "\n".join(lines)
        assert model.name in text
        assert f"{model.count_params():,}" in text
        return text
    return run
