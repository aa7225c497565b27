"""The five Keras-style example programs run on small data (the real runs are by hand)."""
import math
import os
import runpy

import numpy as np
import pytest

import deepsheet as ds

HERE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "keras_style")


def _main(name):
    return runpy.run_path(os.path.join(HERE, f"{name}.py"), run_name="example")["main"]


def _args(tmp_path, samples=128, epochs=1):
    return ["--dataset", "digits", "--samples", str(samples), "--epochs", str(epochs),
            "--workdir", str(tmp_path)]


def test_mnist_convnet(tmp_path, capsys):
    loss, acc = _main("mnist_convnet")(_args(tmp_path))
    assert math.isfinite(loss) and 0.0 <= acc <= 1.0
    assert "Total params" in capsys.readouterr().out


def test_conv_autoencoder_denoises(tmp_path):
    before, after = _main("conv_autoencoder")(_args(tmp_path, epochs=2))
    assert after < before


def test_imbalanced_classification_counts_and_checkpoints(tmp_path):
    logs = _main("imbalanced_classification")(_args(tmp_path, samples=400, epochs=2))
    for k in ("fn", "fp", "tn", "tp", "precision", "recall"):
        assert k in logs and f"val_{k}" in logs
    assert logs["tp"] + logs["fn"] + logs["fp"] + logs["tn"] == 320    # every training sample
    assert logs["val_tp"] + logs["val_fn"] + logs["val_fp"] + logs["val_tn"] == 80
    saved = ds.load_model(tmp_path / "fraud_model_at_epoch_2.keras")
    assert saved.checkpoint_metadata["epoch"] == 2


def test_timeseries_classification_reloads_the_best_model(tmp_path):
    loss, acc = _main("timeseries_classification")(_args(tmp_path, samples=96, epochs=2))
    assert (tmp_path / "best_model.keras").exists()
    assert math.isfinite(loss) and 0.0 <= acc <= 1.0


def test_custom_train_step_and_gan(tmp_path):
    history, logs, gan_history = _main("custom_train_step_and_gan")(_args(tmp_path, epochs=2))
    assert set(history) == {"loss", "mae"} and set(logs) == {"loss", "mae"}
    assert history["loss"][1] < history["loss"][0]
    assert set(gan_history) == {"d_loss", "g_loss"}
    assert all(np.isfinite(gan_history["d_loss"] + gan_history["g_loss"]))
