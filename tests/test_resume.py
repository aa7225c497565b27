"""ModelCheckpoint and exact resume: an interrupted run, reloaded, equals the uninterrupted one."""
import json
import os
import zipfile

import numpy as np
import pytest

import deepsheet as ds
from deepsheet import callbacks as C
from deepsheet import layers as L


def _data(n=48):
    rs = np.random.RandomState(1)
    x = rs.rand(n, 6).astype(np.float32)
    y = ((x[:, 0] + x[:, 1] > 1).astype(np.int64) + (x[:, 2] > 0.5)).astype(np.int64)
    return x, y


def _model(seed, dropout_seed=None):
    ds.manual_seed(seed)
    model = ds.Sequential([L.Dense(16, activation="relu", input_shape=(6,)),
                           L.BatchNormalization(), L.Dropout(0.3, seed=dropout_seed),
                           L.Dense(12, activation="relu"), L.Dropout(0.2), L.Dense(3)])
    schedule = ds.optimizers.schedules.ExponentialDecay(0.02, decay_steps=4, decay_rate=0.9)
    model.compile(ds.optimizers.Adam(learning_rate=schedule),
                  ds.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


def _fit(model, epochs, callbacks, initial_epoch=0):
    x, y = _data()
    return model.fit(x, y, batch_size=8, epochs=epochs, initial_epoch=initial_epoch,
                     validation_split=0.25, shuffle=True, verbose=0, callbacks=callbacks)


def _same(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    return all(np.array_equal(u, v) for u, v in zip(wa, wb)) and len(wa) == len(wb)


def _interrupt_and_resume(tmp_path, make_callbacks, epochs=4, stop_after=2, dropout_seed=None,
                          restore=True):
    straight = _model(7, dropout_seed)
    h_straight = _fit(straight, epochs, make_callbacks(tmp_path / "straight.deepsheet"))
    first = _model(7, dropout_seed)
    _fit(first, stop_after, make_callbacks(tmp_path / "ckpt.deepsheet"))
    del first                                      # a new process: nothing survives but the file
    ds.manual_seed(12345)
    ds.backend.random_normal((17,))
    resumed = ds.load_model(tmp_path / "ckpt.deepsheet")
    assert resumed.checkpoint_metadata["epoch"] == stop_after
    if not restore:
        resumed.checkpoint_metadata = None
    cbs = make_callbacks(tmp_path / "resumed.deepsheet")
    h_resumed = _fit(resumed, epochs, cbs, initial_epoch=stop_after)
    return straight, h_straight, resumed, h_resumed, cbs


def test_resumed_run_equals_uninterrupted_bit_for_bit(tmp_path):
    def callbacks(path):
        # Two of one class: their states are keyed "EarlyStopping" and "EarlyStopping_1".
        return [C.ModelCheckpoint(path), C.EarlyStopping(monitor="val_loss", patience=10),
                C.EarlyStopping(monitor="loss", patience=10)]

    straight, hs, resumed, hr, _ = _interrupt_and_resume(tmp_path, callbacks, dropout_seed=5)
    assert hs.epoch == [0, 1, 2, 3] and hr.epoch == [2, 3]
    assert _same(straight, resumed)
    assert resumed.optimizer.iterations == straight.optimizer.iterations == 4 * 5
    assert hr.history["loss"] == hs.history["loss"][2:]
    assert hr.history["val_loss"] == hs.history["val_loss"][2:]
    # The checkpoints written at the last epoch of both runs are equal too.
    a, b = (ds.load_model(tmp_path / f"{n}.deepsheet") for n in ("straight", "resumed"))
    assert _same(a, b) and a.checkpoint_metadata["epoch"] == b.checkpoint_metadata["epoch"] == 4
    assert a.checkpoint_metadata["callbacks"] == b.checkpoint_metadata["callbacks"]


def test_without_the_restored_state_the_runs_differ(tmp_path):
    """The control: restoring weights and optimizer alone is not enough (the RNG matters)."""
    def callbacks(path):
        return [C.ModelCheckpoint(path)]

    straight, _, resumed, _, _ = _interrupt_and_resume(tmp_path, callbacks, restore=False)
    assert not _same(straight, resumed)


def test_early_stopping_state_and_best_weights_resume(tmp_path):
    """Mode "max" on val_loss: the best epoch is the first, so the wait carried over from
    before the interruption decides when training stops, and restore_best_weights needs the
    best weights saved in the checkpoint."""
    def callbacks(path):
        return [C.ModelCheckpoint(path),
                C.EarlyStopping(monitor="val_loss", mode="max", patience=2,
                                restore_best_weights=True)]

    straight, hs, resumed, hr, cbs = _interrupt_and_resume(tmp_path, callbacks, epochs=6)
    assert hs.epoch == [0, 1, 2] and hr.epoch == [2]          # stopped at the same epoch
    assert cbs[1].stopped_epoch == 2 and cbs[1].best_epoch == 0
    assert _same(straight, resumed)                           # both back at epoch 0's weights
    with zipfile.ZipFile(tmp_path / "ckpt.deepsheet") as zf:
        assert "callbacks.safetensors" in zf.namelist()


def test_reduce_lr_state_and_learning_rate_resume(tmp_path):
    def make(seed):
        ds.manual_seed(seed)
        model = ds.Sequential([L.Dense(8, activation="relu", input_shape=(6,)), L.Dropout(0.2),
                               L.Dense(3)])
        model.compile(ds.optimizers.SGD(learning_rate=0.1, momentum=0.9),
                      ds.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model

    def callbacks(path):
        return [C.ReduceLROnPlateau(monitor="loss", patience=1, factor=0.5, min_delta=10.0),
                C.ModelCheckpoint(path)]

    x, y = _data()
    straight = make(3)
    straight.fit(x, y, batch_size=16, epochs=5, verbose=0, callbacks=callbacks(tmp_path / "a"))
    first = make(3)
    first.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=callbacks(tmp_path / "b"))
    lr_at_3 = first.optimizer.learning_rate
    resumed = ds.load_model(tmp_path / "b.deepsheet")
    assert resumed.optimizer.learning_rate == lr_at_3 < 0.1
    cbs = callbacks(tmp_path / "c")
    resumed.fit(x, y, batch_size=16, epochs=5, initial_epoch=3, verbose=0, callbacks=cbs)
    assert resumed.optimizer.learning_rate == straight.optimizer.learning_rate
    assert _same(straight, resumed)


def test_checkpoint_runs_after_the_callbacks_it_records(tmp_path):
    stop = C.EarlyStopping(monitor="loss", patience=5)
    ckpt = C.ModelCheckpoint(tmp_path / "m.deepsheet")
    model = _model(0)
    _fit(model, 2, [ckpt, stop])                     # listed first, still saved last
    meta = ds.load_model(tmp_path / "m.deepsheet").checkpoint_metadata
    assert meta["callbacks"]["EarlyStopping"] == json.loads(json.dumps(stop.get_state()))
    assert meta["history"]["epoch"] == [0, 1]       # History has seen this epoch already
    assert meta["logs"]["loss"] == model.history.history["loss"][-1]


def test_filepath_fields_and_save_best_only(tmp_path):
    pattern = str(tmp_path / "ep{epoch:02d}-{val_loss:.4f}.deepsheet")
    seen = []
    ckpt = C.ModelCheckpoint(pattern, monitor="val_loss", mode="max", save_best_only=True)
    log = C.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(logs["val_loss"]))
    model = _model(0)
    _fit(model, 3, [ckpt, log])
    files = sorted(os.listdir(tmp_path))
    best_so_far, expected = -np.inf, []
    for epoch, v in enumerate(seen):
        if v > best_so_far:
            best_so_far = v
            expected.append(f"ep{epoch + 1:02d}-{v:.4f}.deepsheet")
    assert files == expected and ckpt.best == max(seen)
    assert ds.load_model(tmp_path / expected[-1]).checkpoint_metadata["epoch"] == \
        int(expected[-1][2:4])


def test_weights_only_and_batch_frequency(tmp_path):
    model = _model(0)
    _fit(model, 1, [C.ModelCheckpoint(tmp_path / "w{epoch}.safetensors", save_weights_only=True)])
    other = _model(1)
    other.load_weights(tmp_path / "w1.safetensors")
    assert _same(model, other)
    ckpt = C.ModelCheckpoint(tmp_path / "b.deepsheet", save_freq=2)
    _fit(model, 2, [ckpt])                        # 5 steps an epoch: saves after steps 2, 4, 6, 8, 10
    meta = ds.load_model(tmp_path / "b.deepsheet").checkpoint_metadata
    assert meta["epoch"] == 1 and meta["batch"] == 5 and ckpt._batches_seen == 10
    resumed = ds.load_model(tmp_path / "b.deepsheet")
    x, y = _data()
    with pytest.warns(UserWarning, match="not at an epoch's end"):
        resumed.fit(x, y, epochs=2, initial_epoch=1, verbose=0)


def test_checkpoint_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="save_freq"):
        C.ModelCheckpoint(tmp_path / "x", save_freq=0)
    with pytest.raises(ValueError, match="mode"):
        C.ModelCheckpoint(tmp_path / "x", mode="best")
    model = _model(0)
    with pytest.raises(ValueError, match=r"available fields: epoch, .*val_loss"):
        _fit(model, 1, [C.ModelCheckpoint(tmp_path / "{val_acc:.2f}")])
    with pytest.warns(UserWarning, match="monitors 'nope'"):
        _fit(model, 1, [C.ModelCheckpoint(tmp_path / "y", monitor="nope", save_best_only=True)])
    assert not (tmp_path / "y.deepsheet").exists()


def test_attach_keeps_the_metadata_object_on_a_subclassed_model():
    import deepsheet as ds
    from deepsheet import checkpoint

    class Sub(ds.Model):
        def __init__(self):
            super().__init__()
            self.dense = ds.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    model, metadata = Sub(), {"epoch": 1}
    checkpoint.attach(model, object(), metadata)
    assert model.checkpoint_metadata is metadata
