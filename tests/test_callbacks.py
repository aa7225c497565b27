"""Callbacks: hook order, History, EarlyStopping (both endings, baseline, state), LR
schedules, ReduceLROnPlateau, CSVLogger, LambdaCallback, and which batch hooks run."""
import csv
import json
import os

import numpy as np
import pytest

import deepsheet as ds
from deepsheet import callbacks as C
from deepsheet import layers as L


def _model():
    model = ds.Sequential([L.Dense(2, input_shape=(3,))])
    model.compile(ds.optimizers.SGD(learning_rate=0.01), "mse")
    return model


X = np.random.default_rng(0).normal(size=(16, 3)).astype(np.float32)
Y = np.random.default_rng(1).normal(size=(16, 2)).astype(np.float32)


class Scripted(C.Callback):
    """Puts a scripted 'score' into the epoch logs and remembers each epoch's weights."""

    def __init__(self, values):
        super().__init__()
        self.values = values
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = self.values[epoch]
        self.weights.append(self.model.get_weights())


def test_hooks_run_in_keras_order():
    calls = []
    names = ["on_train_begin", "on_epoch_begin", "on_train_batch_begin", "on_train_batch_end",
             "on_epoch_end", "on_train_end"]
    hooks = {n: (lambda n: lambda *a: calls.append(n))(n) for n in names}
    _model().fit(X, Y, batch_size=8, epochs=2, verbose=0, callbacks=[C.LambdaCallback(**hooks)])
    batch = ["on_train_batch_begin", "on_train_batch_end"] * 2
    epoch = ["on_epoch_begin"] + batch + ["on_epoch_end"]
    assert calls == ["on_train_begin"] + epoch * 2 + ["on_train_end"]
    with pytest.raises(TypeError, match="unknown hook"):
        C.LambdaCallback(on_epoch_finish=print)


def test_batch_hooks_only_for_callbacks_that_override_them():
    class EpochOnly(C.Callback):
        def on_epoch_end(self, epoch, logs=None):
            pass

    class Batchy(C.Callback):
        def on_batch_end(self, batch, logs=None):
            pass
    cbl = C.CallbackList([EpochOnly(), Batchy(), C.LambdaCallback(on_epoch_end=print)],
                         add_history=True, add_progbar=True, verbose=2)
    assert [type(c).__name__ for c in cbl.train_batch] == ["Batchy"]
    assert cbl.test_batch == [] and cbl.predict_batch == []
    with pytest.raises(TypeError, match="Callback objects"):
        C.CallbackList([print])


def test_history():
    model = _model()
    hist = model.fit(X, Y, epochs=3, verbose=0)
    assert hist is model.history and hist.epoch == [0, 1, 2]
    assert len(hist.history["loss"]) == 3 and hist.history["loss"][2] < hist.history["loss"][0]


@pytest.mark.parametrize("values,patience,stopped_epoch", [
    ([5.0, 3.0, 1.0, 2.0, 4.0, 6.0, 7.0, 8.0], 3, 5),   # stops early at epoch 5 of 8
    ([5.0, 3.0, 1.0, 2.0, 1.5, 1.2], 4, 0),             # runs all 6 epochs
])
def test_early_stopping_restores_best_weights_in_both_endings(values, patience, stopped_epoch):
    script = Scripted(values)
    stop = C.EarlyStopping(monitor="score", patience=patience, restore_best_weights=True)
    model = _model()
    hist = model.fit(X, Y, epochs=len(values), verbose=0, callbacks=[script, stop])
    assert stop.best == 1.0 and stop.best_epoch == 2
    assert stop.stopped_epoch == stopped_epoch and len(hist.epoch) == 6
    for a, b in zip(model.get_weights(), script.weights[2]):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(script.weights[-1][0], script.weights[2][0])


def test_early_stopping_patience_mode_and_min_delta():
    script = Scripted([0.5, 0.6, 0.605, 0.61, 0.9])
    stop = C.EarlyStopping(monitor="val_accuracy_like_score", patience=2)
    assert stop.mode == "max"
    stop = C.EarlyStopping(monitor="score", mode="max", min_delta=0.05, patience=2)
    hist = _model().fit(X, Y, epochs=5, verbose=0, callbacks=[script, stop])
    assert hist.epoch == [0, 1, 2, 3] and stop.stopped_epoch == 3 and stop.best == 0.6
    with pytest.raises(ValueError, match="mode"):
        C.EarlyStopping(mode="up")


def test_early_stopping_baseline_and_missing_monitor():
    for baseline, epochs in [(1.0, [0, 1]), (None, [0, 1, 2])]:
        stop = C.EarlyStopping(monitor="score", baseline=baseline, patience=2)
        hist = _model().fit(X, Y, epochs=4, verbose=0,
                            callbacks=[Scripted([2.0, 2.5, 2.5, 2.5]), stop])
        assert hist.epoch == epochs  # not beating the baseline counts against patience
    with pytest.warns(UserWarning, match="'val_loss', which is not in the logs"):
        _model().fit(X, Y, epochs=1, verbose=0, callbacks=[C.EarlyStopping()])


def test_early_stopping_state_is_json_and_resumes():
    stop = C.EarlyStopping(monitor="score", patience=3)
    _model().fit(X, Y, epochs=3, verbose=0, callbacks=[Scripted([3.0, 1.0, 2.0]), stop])
    state = json.loads(json.dumps(stop.get_state()))
    assert state == {"wait": 1, "stopped_epoch": 0, "best": 1.0, "best_epoch": 1}
    resumed = C.EarlyStopping(monitor="score", patience=3)
    resumed.set_state(state)
    hist = _model().fit(X, Y, epochs=6, initial_epoch=3, verbose=0,
                        callbacks=[Scripted([0, 0, 0, 2.5, 2.5, 2.5]), resumed])
    assert hist.epoch == [3, 4] and resumed.stopped_epoch == 4  # wait 1 -> 3 after two epochs
    assert json.dumps(C.EarlyStopping().get_state())  # infinite best stored as None


def test_learning_rate_scheduler():
    seen = []
    model = _model()
    sched = C.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
    hist = model.fit(X, Y, epochs=3, verbose=0, callbacks=[
        sched, C.LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(
            model.optimizer.learning_rate))])
    assert seen == pytest.approx([0.1, 0.05, 0.1 / 3])
    assert hist.history["learning_rate"] == pytest.approx(seen)
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[C.LearningRateScheduler(lambda e: 0.2)])
    assert model.optimizer.learning_rate == pytest.approx(0.2)


def test_reduce_lr_on_plateau():
    model = _model()
    script = Scripted([1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5])
    cb = C.ReduceLROnPlateau(monitor="score", factor=0.5, patience=2, cooldown=1,
                             min_lr=0.0026)
    hist = model.fit(X, Y, epochs=7, verbose=0, callbacks=[script, cb])
    # epochs 1, 2 no improvement -> halve at 2; cooldown ends at 3, which counts as a wait;
    # epoch 4 -> halve again, floored at min_lr
    assert hist.history["learning_rate"] == pytest.approx(
        [0.01, 0.01, 0.01, 0.005, 0.005, 0.0026, 0.0026])   # logged before each change
    assert model.optimizer.learning_rate == pytest.approx(0.0026)  # max(0.0025, min_lr)
    state = json.loads(json.dumps(cb.get_state()))
    assert set(state) == {"wait", "cooldown_counter", "best"}
    cb2 = C.ReduceLROnPlateau(monitor="score", patience=1, min_lr=0.004, factor=0.1)
    _model().fit(X, Y, epochs=3, verbose=0, callbacks=[Scripted([1, 1, 1]), cb2])
    assert cb2.model.optimizer.learning_rate == pytest.approx(0.004)  # floored at min_lr
    with pytest.raises(ValueError, match="factor"):
        C.ReduceLROnPlateau(factor=1.5)


def test_csv_logger(tmp_path):
    path = tmp_path / "log.csv"
    model = _model()
    model.fit(X, Y, epochs=2, validation_split=0.25, verbose=0, callbacks=[C.CSVLogger(path)])
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[C.CSVLogger(path, append=True)])
    rows = list(csv.reader(open(path)))
    assert rows[0] == ["epoch", "loss", "val_loss"] and len(rows) == 4
    assert [r[0] for r in rows[1:]] == ["0", "1", "0"]
    assert float(rows[1][1]) > 0


def test_progbar_line_format(capsys):
    _model().fit(X, Y, epochs=2, batch_size=4, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].startswith("Epoch 2/2 - 4/4 - ")
    assert C.format_logs({"loss": 0.123456, "lr": 1e-5}) == "loss: 0.1235 - lr: 1.0000e-05"


def test_live_bar_on_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr(C.progbar_logger, "_is_terminal", lambda stream: True)
    cbl = C.CallbackList(add_progbar=True, verbose=1)
    assert [type(c).__name__ for c in cbl.train_batch] == ["ProgbarLogger"]
    _model().fit(X, Y, epochs=2, batch_size=4, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "4/4" in out and "loss:" in out


def _pty(columns):
    import fcntl
    import pty
    import struct
    import termios
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    return master, slave


def test_zero_width_pseudo_terminal_is_not_a_terminal():
    for columns, live in ((0, False), (80, True)):
        master, slave = _pty(columns)
        with open(slave, "w", closefd=True) as stream:
            assert C.progbar_logger._is_terminal(stream) is live
        os.close(master)


def test_wrapped_logs_never_cut_metrics():
    logs = {"loss": 0.5, "accuracy": 0.75, "val_loss": 0.625, "val_accuracy": 0.6875}
    lines = C.progbar_logger.wrap_logs(logs, 30)
    assert all(len(line) <= 30 for line in lines)
    assert " - ".join(line.strip() for line in lines) == C.format_logs(logs)
    assert C.progbar_logger.wrap_logs(logs, 200) == ["  " + C.format_logs(logs)]


def test_validation_metrics_survive_a_narrow_terminal(tmp_path):
    import subprocess
    import sys
    script = (
        "import numpy as np, deepsheet as ds\n"
        "from deepsheet import layers\n"
        "ds.manual_seed(0)\n"
        "x = np.random.default_rng(0).normal(size=(64, 3)).astype('float32')\n"
        "y = (x[:, 0] > 0).astype('int64')\n"
        "m = ds.Sequential([layers.Input((3,)), layers.Dense(2)])\n"
        "m.compile(optimizer='adam', loss='sparse_categorical_crossentropy', "
        "metrics=['accuracy'])\n"
        "m.fit(x, y, epochs=1, batch_size=16, validation_split=0.25, verbose=1)\n")
    master, slave = _pty(40)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", script], stdout=slave, stderr=subprocess.PIPE,
                          env=env, timeout=120)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.returncode == 0, proc.stderr.decode()
    out = b"".join(chunks).decode(errors="replace")
    assert "val_accuracy:" in out and "val_loss:" in out, out
    tail = out.rsplit("\r", 1)[-1]  # what stays on screen after the bar's last redraw
    assert all(len(line.rstrip()) <= 40 for line in tail.splitlines()), tail
