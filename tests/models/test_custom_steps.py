"""Keras 3's overridable steps, model subclassing and the engine's gradient API."""
import numpy as np
import pytest

import deepsheet as ds
from deepsheet import layers


def _regression(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3).astype(np.float32)
    return x, y


class Custom(ds.Model):
    """Keras 3's "customizing fit" example: its own step, its own trackers."""

    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(1)
        self.loss_tracker = ds.metrics.Mean(name="loss")
        self.mae = ds.metrics.MeanAbsoluteError(name="mae")
        self.steps_run = 0
        self.tests_run = 0

    def call(self, inputs):
        return self.dense(inputs)

    def train_step(self, data):
        x, y = data
        self.steps_run += 1
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = ds.functional.mean_squared_error(y, y_pred, reduction="sum_over_batch_size")
        loss.backward()
        weights = self.trainable_weights
        self.optimizer.apply([w.grad for w in weights], weights)
        self.loss_tracker.update_state(loss)
        self.mae.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, y = data
        self.tests_run += 1
        y_pred = self(x, training=False)
        self.loss_tracker.update_state(ds.functional.mean_squared_error(
            y, y_pred, reduction="sum_over_batch_size"))
        self.mae.update_state(y, y_pred)
        return {"loss": self.loss_tracker.result(), "mae": self.mae.result()}

    @property
    def metrics(self):
        return [self.loss_tracker, self.mae]


def test_overridden_train_step_and_test_step_are_what_fit_and_evaluate_run():
    x, y = _regression()
    model = Custom()
    model.compile(ds.optimizers.SGD(0.1))              # no loss: the step computes its own
    history = model.fit(x, y, batch_size=16, epochs=4, verbose=0, validation_data=(x, y))
    assert model.steps_run == 4 * 4 and model.tests_run == 4 * 4
    assert set(history.history) == {"loss", "mae", "val_loss", "val_mae"}
    assert history.history["loss"][-1] < history.history["loss"][0] / 2
    # reset_metrics before each pass: the tracker holds the last validation pass only
    # (4 batch losses), not everything since the start
    assert model.loss_tracker.count == 4
    before = model.tests_run
    result = model.evaluate(x, y, batch_size=32, verbose=0, return_dict=True)
    assert model.tests_run == before + 2 and set(result) == {"loss", "mae"}
    mse = float(((model.predict(x, verbose=0) - y) ** 2).mean())
    assert result["loss"] == pytest.approx(mse, rel=1e-5)


def test_compute_loss_and_default_step_pieces_in_a_custom_step():
    class WithComputeLoss(ds.Model):
        def __init__(self):
            super().__init__()
            self.hidden = [layers.Dense(8, activation="relu"), layers.Dense(1)]

        def call(self, inputs):
            for layer in self.hidden:
                inputs = layer(inputs)
            return inputs

        def train_step(self, data):
            x, y, w = ds.utils.unpack_x_y_sample_weight(data)
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=w)
            grads = ds.grad(loss, self.trainable_weights)
            self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
            for metric in self.metrics:      # as Keras's example: the loss tracker by name
                if metric.name == "loss":
                    metric.update_state(loss)
            return self.compute_metrics(x, y, y_pred, w)

    x, y = _regression(seed=1)
    model = WithComputeLoss()
    model.compile(ds.optimizers.Adam(1e-2), "mse", metrics=["mae"])
    h = model.fit(x, y, batch_size=16, epochs=5, verbose=0).history
    assert set(h) == {"loss", "mae"} and h["loss"][-1] < h["loss"][0]
    assert len(model.trainable_weights) == 4                 # list-held layers are tracked
    assert all(w.grad is None for w in model.trainable_weights)   # ds.grad left .grad alone
    assert model.optimizer.iterations == 5 * 4


def test_default_step_without_a_loss_names_compute_loss():
    model = ds.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile("sgd")
    with pytest.raises(ValueError, match=r"compiled without a loss.*compute_loss"):
        model.fit(*_regression(), verbose=0)


def test_train_step_with_a_wrong_return_type_names_the_model():
    class Bad(ds.Model):
        def __init__(self):
            super().__init__(name="bad_model")
            self.d = layers.Dense(1)

        def call(self, x):
            return self.d(x)

        def train_step(self, data):
            return 1.0

    model = Bad()
    model.compile("sgd")
    with pytest.raises(TypeError, match=r"'bad_model'\.train_step\(\) must return a dict.*float"):
        model.fit(*_regression(), verbose=0)


def test_no_gradient_for_any_weight_is_an_error():
    w = ds.tensor(np.ones(2, np.float32), requires_grad=True)
    w.name = "w"
    with pytest.raises(ValueError, match=r"no gradient.*\['w'\]"):
        ds.optimizers.Adam(1e-3).apply([None], [w])

    class Detached(ds.Model):
        def __init__(self):
            super().__init__(name="detached")
            self.d = layers.Dense(1)

        def call(self, x):
            return self.d(x)

    model = Detached()
    model.compile("sgd", loss=lambda y, p: ds.tensor((p.numpy() - y) ** 2).mean(axis=-1))
    with pytest.raises(ValueError, match=r"'detached'.*does not depend on any trainable"):
        model.fit(*_regression(), verbose=0)


def test_subclassed_model_tracks_attributes_lists_and_dicts_and_saves_weights(tmp_path):
    class Net(ds.Model):
        def __init__(self):
            super().__init__()
            self.stem = layers.Dense(6, activation="relu")
            self.blocks = []
            self.blocks.append(layers.Dense(6, activation="relu"))   # appended later
            self.heads = {"out": layers.Dense(1)}
            self.drop = layers.Dropout(0.5)

        def call(self, inputs):
            h = self.stem(inputs)
            for block in self.blocks:
                h = block(h)
            self.seen_training = self.drop(h) is not h   # dropout only while training
            return self.heads["out"](h)

    x, y = _regression(seed=2)
    net = Net()
    net.compile("adam", "mse")
    net.fit(x, y, epochs=1, batch_size=32, verbose=0)
    assert net.seen_training                     # fit's training=True reached the Dropout
    net.predict(x[:4], verbose=0)
    assert not net.seen_training
    assert len(net.trainable_weights) == 6
    path = tmp_path / "net.weights"
    net.save_weights(path)
    other = Net()
    other(x[:1])
    other.load_weights(path)
    np.testing.assert_array_equal(other.predict(x, verbose=0), net.predict(x, verbose=0))


def test_engine_gradients_zero_grad_step_and_apply_agree():
    x, y = _regression(seed=3)
    make = lambda: ds.Sequential([layers.Dense(1, input_shape=(3,))])  # noqa: E731
    a, b = make(), make()
    b.set_weights(a.get_weights())
    opt_a = ds.optimizers.SGD(a.trainable_weights, lr=0.1)
    opt_b = ds.optimizers.SGD(0.1)
    for _ in range(3):
        opt_a.zero_grad()
        ds.functional.mean_squared_error(y, a(x), reduction="sum_over_batch_size").backward()
        opt_a.step()
        loss = ds.functional.mean_squared_error(y, b(x), reduction="sum_over_batch_size")
        opt_b.apply(ds.grad(loss, b.trainable_weights), b.trainable_weights)
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(u, v, rtol=1e-6)
    a.zero_grad()
    assert all(w.grad is None for w in a.weights)


def test_grad_matches_torch_autograd_grad():
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
    rng = np.random.default_rng(4)
    xv, wv = rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=(3, 2)).astype(np.float32)
    x, w = ds.tensor(xv, requires_grad=True), ds.tensor(wv, requires_grad=True)
    h = x @ w
    outs = [(h * h).sum(), h.tanh()]
    g_out = rng.normal(size=(4, 2)).astype(np.float32)
    gx, gh = ds.grad(outs, [x, h], grad_outputs=[None, g_out])
    tx, tw = torch.tensor(xv, requires_grad=True), torch.tensor(wv, requires_grad=True)
    th = tx @ tw
    ex, eh = torch.autograd.grad([(th * th).sum(), th.tanh()], [tx, th],
                                 grad_outputs=[None, torch.tensor(g_out)])
    np.testing.assert_allclose(gx.numpy(), ex.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gh.numpy(), eh.numpy(), rtol=1e-5, atol=1e-6)
    assert x.grad is None and w.grad is None
    unused = ds.tensor(np.ones(2, np.float32), requires_grad=True)
    with pytest.raises(RuntimeError, match="not used"):
        ds.grad((x * 2).sum(), [unused])
    assert ds.grad((x * 2).sum(), [x, unused], allow_unused=True)[1] is None


def test_metrics_mean_and_sum_as_trackers():
    m, s = ds.metrics.Mean(name="t"), ds.metrics.Sum()
    m.update_state(ds.tensor(2.0))
    m.update_state(4.0, sample_weight=3)
    s.update_state(np.array([1.0, 2.0]), sample_weight=np.array([2.0, 0.5]))
    assert m.result() == pytest.approx(3.5) and s.result() == pytest.approx(3.0)
    m.reset_state()
    assert m.result() == 0.0


def test_fit_without_targets_passes_the_batch_itself_as_keras_3():
    seen = []

    class Recorder(ds.Model):
        def __init__(self):
            super().__init__()
            self.d = layers.Dense(1)

        def call(self, x):
            return self.d(x)

        def train_step(self, data):
            seen.append(data)
            loss = (self(data) ** 2).mean()
            self.optimizer.apply(ds.grad(loss, self.trainable_weights), self.trainable_weights)
            return {"loss": loss}

    model = Recorder()
    model.compile("sgd")
    model.fit(np.ones((6, 3), np.float32), batch_size=4, epochs=1, verbose=0)
    assert [tuple(d.shape) for d in seen] == [(4, 3), (2, 3)]     # not (x,) tuples
