"""compile/fit/evaluate/predict: steps per epoch, weights, penalties, freezing, logits,
progress output, errors, NaN handling, generators and exact resume."""
import math

import numpy as np
import pytest
from oracle import rand

import deepsheet as ds
from deepsheet import callbacks as C
from deepsheet import layers as L
from deepsheet.models.training import NaNLossWarning


def _data(n=40, d=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5)
    return x, y % classes


def _classifier(d=4, classes=3, activation=None, lr=0.1, **compile_kw):
    model = ds.Sequential([L.Dense(8, activation="relu", input_shape=(d,)),
                           L.Dense(classes, activation=activation)])
    compile_kw.setdefault("loss", ds.losses.SparseCategoricalCrossentropy(
        from_logits=activation is None))
    model.compile(ds.optimizers.SGD(learning_rate=lr), metrics=["accuracy"], **compile_kw)
    return model


# ------------------------------------------------------------------ steps per epoch
@pytest.mark.parametrize("batch_size,steps", [("full", 1), (1, 10), (3, 4), (4, 3), (None, 1)])
def test_batch_gd_sgd_minibatch_steps(batch_size, steps):
    x, y = _data(10)
    model = _classifier()
    sizes = []
    model.fit(x, y, batch_size=batch_size, epochs=2, verbose=0,
              callbacks=[C.LambdaCallback(on_train_batch_begin=lambda b, logs: sizes.append(b))])
    assert model.optimizer.iterations == 2 * steps
    assert sizes == list(range(steps)) * 2


def test_steps_per_epoch_bounds_arrays_and_generators():
    x, y = _data(40)
    model = _classifier()
    model.fit(x, y, batch_size=4, epochs=2, steps_per_epoch=3, verbose=0)
    assert model.optimizer.iterations == 6

    def endless():
        while True:
            yield x[:8], y[:8]
    model.fit(endless(), epochs=3, steps_per_epoch=5, verbose=0)
    assert model.optimizer.iterations == 6 + 15
    # a finite generator without steps_per_epoch runs out after one epoch
    batches = ((x[i:i + 10], y[i:i + 10]) for i in range(0, 40, 10))
    with pytest.warns(UserWarning, match="ran out"):
        hist = model.fit(batches, epochs=3, verbose=0)
    assert len(hist.epoch) == 1 and model.optimizer.iterations == 21 + 4


# ------------------------------------------------------------------ weights
def _hand_weighted_step(model, x, y, w, lr):
    """One SGD step on sum_i w_i * L_i / n, written out with per-sample losses."""
    out = model(x, training=True)
    per = ds.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")(y, out)
    loss = (per * ds.tensor(w)).sum() / len(x)
    loss.backward()
    with ds.no_grad():
        for p in model.trainable_weights:
            p.data -= lr * p.grad
            p.grad = None
    return loss.item()


@pytest.mark.parametrize("kind", ["sample_weight", "class_weight", "both"])
def test_sample_and_class_weights_equal_hand_weighted_loss(kind):
    x, y = _data(12)
    sw = np.linspace(0.2, 2.0, 12).astype(np.float32)
    cw = {0: 0.5, 1: 2.0, 2: 3.0}
    w = {"sample_weight": sw, "class_weight": np.array([cw[c] for c in y], np.float32),
         "both": sw * np.array([cw[c] for c in y], np.float32)}[kind]
    kwargs = {"sample_weight": sw if kind != "class_weight" else None,
              "class_weight": cw if kind != "sample_weight" else None}
    model, twin = _classifier(), _classifier()
    twin.set_weights(model.get_weights())
    expected = _hand_weighted_step(twin, x, y, w, lr=0.1)
    hist = model.fit(x, y, batch_size="full", epochs=1, shuffle=False, verbose=0, **kwargs)
    assert hist.history["loss"][0] == pytest.approx(expected, rel=1e-6)
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    # evaluate weighs the same way
    res = model.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)
    out = twin.predict(x, verbose=0)
    per = ds.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")(y, out)
    assert res["loss"] == pytest.approx(float((per.numpy() * w).sum() / 12), rel=1e-5)


def test_class_weight_with_one_hot_targets():
    x, y = _data(12)
    onehot = np.eye(3, dtype=np.float32)[y]
    model = ds.Sequential([L.Dense(3, input_shape=(4,))])
    model.compile("sgd", ds.losses.CategoricalCrossentropy(from_logits=True))
    per = ds.losses.CategoricalCrossentropy(from_logits=True, reduction="none")(
        onehot, model.predict(x, verbose=0)).numpy()
    hist = model.fit(x, onehot, batch_size="full", class_weight={0: 1.0, 1: 0.0, 2: 0.0},
                     shuffle=False, verbose=0)
    assert hist.history["loss"][0] == pytest.approx(float(per[y == 0].sum() / 12), rel=1e-5)
    with pytest.raises(ValueError, match="class_weight must be a dict"):
        model.fit(x, onehot, class_weight=[1, 2], verbose=0)


# ------------------------------------------------------------------ penalties
def test_regularization_penalties_reach_the_loss_and_gradient():
    x = rand(10, 3, seed=1)
    y = rand(10, 2, seed=2)
    reg = ds.Sequential([L.Dense(2, input_shape=(3,), kernel_regularizer=ds.regularizers.L2(0.3),
                                 bias_regularizer=ds.regularizers.L1(0.2))])
    reg.compile(ds.optimizers.SGD(learning_rate=0.1), "mse")
    k, b = reg.get_weights()
    b[:] = [0.5, -0.25]
    reg.set_weights([k, b])
    out = x @ k + b
    data_loss = float(((out - y) ** 2).mean())
    penalty = 0.3 * float((k ** 2).sum()) + 0.2 * float(np.abs(b).sum())
    assert reg.evaluate(x, y, verbose=0) == pytest.approx(data_loss + penalty, rel=1e-5)
    assert len(reg.losses) == 2
    hist = reg.fit(x, y, batch_size="full", epochs=1, shuffle=False, verbose=0)
    assert hist.history["loss"][0] == pytest.approx(data_loss + penalty, rel=1e-5)
    grad_k = 2 * x.T @ (out - y) / out.size + 2 * 0.3 * k
    np.testing.assert_allclose(reg.get_weights()[0], k - 0.1 * grad_k, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ freezing
def test_frozen_layers_and_batchnorm_statistics_stay_put():
    x, y = _data(64)
    model = ds.Sequential([L.Dense(6, input_shape=(4,)), L.BatchNormalization(),
                           L.Activation("relu"), L.Dense(3)])
    model.compile(ds.optimizers.Adam(learning_rate=0.05),
                  ds.losses.SparseCategoricalCrossentropy(from_logits=True))
    dense0, bn, _, head = model.layers
    dense0.trainable = False
    bn.trainable = False
    frozen = dense0.get_weights() + bn.get_weights()
    head_before = head.get_weights()
    assert len(model.trainable_weights) == 2
    assert model.count_params() == 30 + 24 + 21
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    for a, b in zip(frozen, dense0.get_weights() + bn.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(head_before[0], head.get_weights()[0])
    # unfreezing makes them move (so the check above can fail)
    dense0.trainable = bn.trainable = True
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert not np.array_equal(frozen[0], dense0.get_weights()[0])
    assert not np.array_equal(frozen[4], bn.get_weights()[2])  # moving mean


def test_fully_frozen_model_fits_without_updates():
    x, y = _data(16)
    model = _classifier()
    model.trainable = False
    before = model.get_weights()
    hist = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert len(hist.history["loss"]) == 2
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_hand_written_loop():
    x, y = _data(32)
    model = ds.Sequential([L.Dense(8, activation="relu", input_shape=(4,)), L.Dense(3)])
    opt = ds.optimizers.Adam(model.trainable_weights, learning_rate=0.05)
    loss_fn = ds.losses.SparseCategoricalCrossentropy(from_logits=True)
    losses = []
    for _ in range(30):
        loss = loss_fn(y, model(x, training=True))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


# ------------------------------------------------------------------ logits and accuracy
def test_softmax_output_trains_on_its_logits():
    x, y = _data(20)
    probs = _classifier(activation="softmax", loss="sparse_categorical_crossentropy")
    logits = _classifier(activation=None)
    k, b, k2, b2 = probs.get_weights()
    probs.set_weights([k, b, k2 * 400.0, b2])  # saturated softmax: p = 0 or 1 in float32
    logits.set_weights(probs.get_weights())
    lp = probs.evaluate(x, y, verbose=0, return_dict=True)
    ll = logits.evaluate(x, y, verbose=0, return_dict=True)
    assert math.isfinite(lp["loss"]) and lp["loss"] > 10
    assert lp["loss"] == pytest.approx(ll["loss"], rel=1e-5)
    assert lp["accuracy"] == ll["accuracy"]
    hp = probs.fit(x, y, batch_size="full", epochs=1, shuffle=False, verbose=0)
    hl = logits.fit(x, y, batch_size="full", epochs=1, shuffle=False, verbose=0)
    assert hp.history["loss"] == pytest.approx(hl.history["loss"], rel=1e-5)
    for a, b in zip(probs.get_weights(), logits.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("activation,loss,threshold", [
    ("sigmoid", "binary_crossentropy", 0.5),
    (None, ds.losses.BinaryCrossentropy(from_logits=True), 0.0),
])
def test_binary_accuracy_threshold_follows_the_loss(activation, loss, threshold):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 2)).astype(np.float32)
    y = (x[:, :1] > 0.2).astype(np.float32)
    model = ds.Sequential([L.Dense(1, activation=activation, input_shape=(2,))])
    model.compile("sgd", loss, metrics=["accuracy", "binary_accuracy"])
    # Keras 3's model.metrics: the loss tracker first, then the compiled metrics.
    assert model.metrics[0].name == "loss"
    assert [m.threshold for m in model.metrics[1:]] == [threshold, threshold]
    res = model.evaluate(x, y, verbose=0, return_dict=True)
    out = model.predict(x, verbose=0)
    assert res["accuracy"] == pytest.approx(float(((out > threshold) == (y > 0.5)).mean()))


def test_accuracy_resolution_by_loss():
    m = ds.Sequential([L.Dense(3, input_shape=(2,))])
    m.compile("sgd", "categorical_crossentropy", metrics=["acc"])
    # model.metrics[0] is the loss tracker (Keras 3); the compiled metrics follow it.
    assert type(m.metrics[1]).__name__ == "CategoricalAccuracy" and m.metrics[1].name == "acc"
    m.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy", "mae"])
    assert [type(k).__name__ for k in m.metrics] == ["Mean", "SparseCategoricalAccuracy",
                                                     "MeanAbsoluteError"]
    m.compile("sgd", "mse", metrics=["accuracy"])  # decided from the data's shapes
    x = rand(6, 2)
    m.evaluate(x, np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1, 2]], verbose=0)
    assert type(m.metrics[1].inner).__name__ == "CategoricalAccuracy"


# ------------------------------------------------------------------ evaluate / predict
def test_evaluate_predict_and_batch_methods():
    x, y = _data(50)
    model = _classifier()
    loss, acc = model.evaluate(x, y, batch_size=7, verbose=0)
    assert model.evaluate(x, y, batch_size=50, verbose=0) == pytest.approx([loss, acc], rel=1e-6)
    assert model.evaluate(x, y, verbose=0, return_dict=True) == pytest.approx(
        {"loss": loss, "accuracy": acc}, rel=1e-6)
    full = model.predict(x.astype(np.float64), batch_size=50, verbose=0)
    assert full.dtype == np.float32 and full.shape == (50, 3)
    np.testing.assert_allclose(model.predict(x, batch_size=7, verbose=0), full, rtol=1e-6)
    assert model.predict_on_batch(x[:3]).shape == (3, 3)
    t_loss, t_acc = model.test_on_batch(x, y)
    assert t_loss == pytest.approx(loss, rel=1e-5) and t_acc == pytest.approx(acc)
    before = model.get_weights()[0].copy()
    out = model.train_on_batch(x, y, return_dict=True)
    assert set(out) == {"loss", "accuracy"} and out["loss"] == pytest.approx(loss, rel=1e-5)
    assert not np.array_equal(before, model.get_weights()[0])


class GradProbe(L.Layer):
    """Records whether a graph is being recorded when it runs."""

    seen = []

    def call(self, inputs, training=False):
        GradProbe.seen.append(ds.is_grad_enabled())
        return inputs


def test_predict_and_evaluate_build_no_graph():
    x, y = _data(20)
    model = ds.Sequential([L.Dense(3, input_shape=(4,)), GradProbe()])
    model.compile("sgd", ds.losses.SparseCategoricalCrossentropy(from_logits=True))
    GradProbe.seen.clear()
    model.predict(x, batch_size=8, verbose=0)
    model.evaluate(x, y, batch_size=8, verbose=0)
    assert GradProbe.seen == [False] * 6
    model.fit(x, y, batch_size=10, epochs=1, verbose=0)
    assert GradProbe.seen[6:] == [True, True]


def test_validation_split_and_data():
    x, y = _data(50)
    model = _classifier()
    hist = model.fit(x, y, epochs=2, validation_split=0.2, verbose=0)
    assert set(hist.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert model.optimizer.iterations == 2 * math.ceil(40 / 32)
    val = model.evaluate(x[40:], y[40:], verbose=0, return_dict=True)
    assert hist.history["val_loss"][-1] == pytest.approx(val["loss"], rel=1e-6)
    hist = model.fit(x, y, epochs=1, validation_data=(x[:10], y[:10]), verbose=0)
    assert "val_accuracy" in hist.history
    gen_val = [(x[:10], y[:10]), (x[10:20], y[10:20])]
    hist = model.fit(x, y, epochs=1, validation_data=gen_val.__iter__(), verbose=0)
    assert np.isfinite(hist.history["val_loss"][0])


# ------------------------------------------------------------------ progress output
@pytest.mark.parametrize("verbose,lines", [(1, 3), (2, 3), ("auto", 3), (0, 0)])
def test_progress_is_one_line_per_epoch_off_terminal(capsys, verbose, lines):
    x, y = _data(64)
    model = _classifier()
    model.fit(x, y, epochs=3, batch_size=8, validation_split=0.25, verbose=verbose)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == lines
    if lines:
        assert out[0].startswith("Epoch 1/3") and "loss:" in out[0] and "val_accuracy:" in out[0]
    model.evaluate(x, y, verbose=verbose)
    assert len(capsys.readouterr().out.splitlines()) == (1 if lines else 0)
    with pytest.raises(ValueError, match="verbose"):
        model.fit(x, y, verbose=3)


# ------------------------------------------------------------------ errors
def test_clear_errors():
    x, y = _data(10)
    model = ds.Sequential([L.Dense(3, input_shape=(4,))])
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(x, y)
    with pytest.raises(RuntimeError, match="compile"):
        model.evaluate(x, y)
    model.compile("sgd", ds.losses.SparseCategoricalCrossentropy(from_logits=True))
    with pytest.raises(ValueError, match="x has 10, y has 9"):
        model.fit(x, y[:9], verbose=0)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\)"):
        model.fit(x, np.full(10, 3), verbose=0)
    with pytest.raises(ValueError, match="needs targets y"):
        model.fit(x, verbose=0)
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        model.fit(x, y, sample_weight=np.ones(3), verbose=0)
    with pytest.raises(ValueError, match="batch_size"):
        model.fit(x, y, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="samples of shape"):
        model.predict(np.zeros((2, 5)), verbose=0)


def test_nan_loss_is_reported_not_trained_on():
    x, y = _data(16)
    x[3, 0] = np.nan
    model = _classifier()
    before = model.get_weights()
    with pytest.warns(NaNLossWarning, match="input batch contains NaN.*TerminateOnNaN"):
        hist = model.fit(x, y, batch_size="full", epochs=2, verbose=0)
    assert all(math.isnan(v) for v in hist.history["loss"])
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # no update was applied
    assert model.optimizer.iterations == 0


def test_terminate_on_nan_stops_with_a_message(capsys):
    x, y = _data(16)
    x[9:, :] = np.nan
    model = _classifier()
    with pytest.warns(NaNLossWarning):
        hist = model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0,
                         callbacks=[C.TerminateOnNaN()])
    out = capsys.readouterr().out
    assert "TerminateOnNaN" in out and "epoch 1, batch 3" in out
    assert model.optimizer.iterations == 2 and len(hist.epoch) == 1


# ------------------------------------------------------------------ reproducibility
def _dropout_model(seed):
    ds.manual_seed(seed)
    model = ds.Sequential([L.Dense(8, activation="relu", input_shape=(4,)), L.Dropout(0.3),
                           L.Dense(3)])
    model.compile(ds.optimizers.Adam(learning_rate=0.01),
                  ds.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def test_resumed_run_replays_exactly():
    x, y = _data(40)
    straight = _dropout_model(7)
    straight.fit(x, y, batch_size=8, epochs=3, verbose=0)
    first = _dropout_model(7)
    first.fit(x, y, batch_size=8, epochs=1, verbose=0)
    weights, opt_state = first.get_weights(), first.optimizer.state_dict()
    rng_state = ds.backend.get_rng_state()
    resumed = _dropout_model(123)  # different init, overwritten below
    resumed.set_weights(weights)
    resumed.optimizer.bind(resumed.trainable_weights)
    resumed.optimizer.load_state_dict(opt_state)
    ds.backend.set_rng_state(rng_state)
    hist = resumed.fit(x, y, batch_size=8, epochs=3, initial_epoch=1, verbose=0)
    assert hist.epoch == [1, 2]
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_compile_config_round_trip():
    model = _classifier(loss="sparse_categorical_crossentropy", activation="softmax")
    config = model.get_compile_config()
    import json
    config = json.loads(json.dumps(config))
    clone = _classifier(activation="softmax")
    clone.compile_from_config(config)
    assert type(clone.optimizer).__name__ == "SGD" and clone.optimizer.learning_rate == 0.1
    assert clone.metrics_names == ["loss", "accuracy"]
    x, y = _data(10)
    clone.set_weights(model.get_weights())
    assert clone.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))
