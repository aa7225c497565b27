import numpy as np
import pytest

import deepsheet as ds
from deepsheet import plot


def test_activation_sigmoid_lines_hold_f_and_its_autograd_derivative(png):
    fig = plot.activation("sigmoid")
    ax = fig.axes[0]
    (f, d) = ax.get_lines()[:2]
    x = f.get_xdata()
    np.testing.assert_allclose(f.get_ydata(), 1 / (1 + np.exp(-x)), rtol=1e-6)
    np.testing.assert_allclose(d.get_ydata(), np.exp(-x) / (1 + np.exp(-x)) ** 2, atol=1e-6)
    assert d.get_ydata().max() == pytest.approx(0.25)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["sigmoid(x)", "sigmoid'(x)"]
    png(fig)


def test_activation_of_a_numpy_function_uses_central_differences():
    fig = plot.activation(lambda z: np.maximum(z, 0) ** 2, np.linspace(-2, 2, 41), label="sq")
    f, d = fig.axes[0].get_lines()[:2]
    # central differences: the kink of max(z, 0)² at 0 gives h/2 = 5e-5 there
    np.testing.assert_allclose(d.get_ydata(), 2 * np.maximum(f.get_xdata(), 0), atol=1e-4)


def test_activation_into_given_axes_and_bad_names():
    fig0 = plot.pyplot().figure()
    ax = fig0.add_subplot(1, 2, 2)
    assert plot.activation("relu", derivative=False, ax=ax) is fig0
    assert [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")] \
        == ["relu(x)"]
    with pytest.raises(ValueError, match="unknown activation 'relux'"):
        plot.activation("relux")


def test_history_marks_the_best_validation_epoch(png, tmp_path):
    logs = {"loss": [1.0, 0.6, 0.4, 0.3], "accuracy": [0.5, 0.7, 0.8, 0.9],
            "val_loss": [1.1, 0.7, 0.8, 0.9], "val_accuracy": [0.4, 0.6, 0.75, 0.7]}
    fig = plot.history(logs)
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_ylabel() == "loss" and acc_ax.get_ylabel() == "accuracy"
    train, val, best = loss_ax.get_lines()[0], loss_ax.get_lines()[1], loss_ax.get_lines()[-1]
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3, 4])
    np.testing.assert_array_equal(val.get_ydata(), logs["val_loss"])
    assert list(best.get_xdata()) == [2] and list(best.get_ydata()) == [0.7]
    assert list(acc_ax.get_lines()[-1].get_xdata()) == [3]   # accuracy: the highest
    png(fig)
    # the CSV that CSVLogger writes (epochs from 0) gives the same picture
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss,val_loss\n0,1.0,1.1\n1,0.6,0.7\n2,0.4,0.8\n")
    fig2 = plot.history(str(path))
    assert list(fig2.axes[0].get_lines()[-1].get_xdata()) == [2]


def test_history_learning_rate_panel_has_no_best_epoch():
    fig = plot.history({"loss": [2.0, 1.0], "learning_rate": [1e-3, 1e-4]})
    lr_ax = fig.axes[1]
    assert lr_ax.get_ylabel() == "learning_rate"
    assert [line.get_label() for line in lr_ax.get_lines()] == ["training"]


def test_history_without_validation_and_bad_requests():
    fig = plot.history({"loss": [3.0, 2.0, 2.5]})
    ax = fig.axes[0]
    assert "no validation data" in ax.get_title()
    assert list(ax.get_lines()[-1].get_xdata()) == [2]
    with pytest.raises(ValueError, match="no metric 'auc'.*loss"):
        plot.history({"loss": [1.0]}, metrics="auc")
    with pytest.raises(ValueError, match="2 panels"):
        plot.history({"loss": [1.0], "accuracy": [0.5]}, ax=ax)
    with pytest.raises(TypeError, match="History"):
        plot.history(3)
    with pytest.raises(FileNotFoundError, match="no history file"):
        plot.history("/nonexistent/history.csv")


def test_history_of_a_real_fit():
    ds.manual_seed(0)
    model = ds.Sequential([ds.layers.Dense(4, activation="relu", input_shape=(3,)),
                           ds.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    h = model.fit(x, (x[:, 0] > 0).astype(int), epochs=3, validation_split=0.25, verbose=0)
    fig = plot.history(h)
    assert [a.get_ylabel() for a in fig.axes] == ["loss", "accuracy"]
    np.testing.assert_allclose(fig.axes[0].get_lines()[1].get_ydata(), h.history["val_loss"])


def test_gradient_flow_bars_from_a_model_after_backward(png):
    ds.manual_seed(0)
    model = ds.Sequential([ds.layers.Dense(8, activation="sigmoid", input_shape=(4,)),
                           ds.layers.Dense(8, activation="sigmoid"), ds.layers.Dense(1)])
    x = ds.tensor(np.random.default_rng(1).normal(size=(16, 4)).astype(np.float32))
    (model(x) ** 2).mean().backward()
    fig = plot.gradient_flow(model)
    ax = fig.axes[0]
    bars = ax.patches
    assert len(bars) == len(model.trainable_weights) == 6
    expected = [np.linalg.norm(w.grad) for w in model.trainable_weights]
    np.testing.assert_allclose([b.get_height() for b in bars], expected, rtol=1e-6)
    assert ax.get_yscale() == "log"
    png(fig)


def test_gradient_flow_marks_missing_gradients_and_draws_per_step_lines():
    fig = plot.gradient_flow({"a": np.ones(4), "b": 0.0, "c": 1e-3})
    ax = fig.axes[0]
    assert len(ax.patches) == 2
    assert list(ax.get_lines()[0].get_xdata()) == [1]          # the zero one, marked
    fig2 = plot.gradient_flow({"rnn": 0.5 ** np.arange(10), "lstm": np.ones(10)}, per_step=True)
    lines = fig2.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["rnn", "lstm"]
    np.testing.assert_array_equal(lines[0].get_xdata(), np.arange(1, 11))
    with pytest.raises(TypeError, match="gradient_flow expects"):
        plot.gradient_flow(5)
