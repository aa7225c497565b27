"""`deepsheet train / evaluate / summary / predict` through the real command line and in-process."""
import csv
import importlib.util
import json
import os
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest

import deepsheet as ds
from deepsheet import cli, recipes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADLINE = re.compile(r"^test accuracy: (0\.\d{4}|1\.0000)$", re.M)


def _run(*args, cwd):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "deepsheet", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """One real `deepsheet train --epochs 1` on the embedded digits, shared by the tests."""
    cwd = tmp_path_factory.mktemp("cli")
    result = _run("train", "--epochs", "1", "--out", "run", "--seed", "3", "--verbose", "2",
                  cwd=cwd)
    assert result.returncode == 0, result.stderr
    return cwd, cwd / "run", result.stdout


def test_train_writes_the_run_folder(run_folder):
    cwd, folder, out = run_folder
    figures = ["confusion_matrix.png", "history.png", "misclassified.png"] \
        if importlib.util.find_spec("matplotlib") else []
    assert sorted(os.listdir(folder)) == sorted(["history.csv", "metrics.json",
                                                 "model.deepsheet", *figures])
    headline = HEADLINE.search(out)
    assert headline, out
    assert "Epoch 1/1" in out and "mlp" in out and "digits" in out
    metrics = json.loads((folder / "metrics.json").read_text())
    assert f"{metrics['test_accuracy']:.4f}" == headline.group(1)
    assert metrics["dataset"] == "digits" and metrics["model"] == "mlp"
    assert metrics["epochs_run"] == 1 and metrics["seed"] == 3 and metrics["batch_size"] == 32
    assert metrics["train_samples"] + metrics["validation_samples"] == 1437
    assert metrics["test_samples"] == 360 and metrics["train_seconds"] > 0
    with open(folder / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and set(rows[0]) == {"epoch", "loss", "accuracy", "val_loss",
                                               "val_accuracy"}
    assert float(rows[0]["loss"]) == pytest.approx(metrics["last_epoch"]["loss"])
    # The saved model reproduces the reported accuracy on the prepared test split.
    model = ds.load_model(folder / "model.deepsheet")
    data = recipes.load_dataset("digits")
    pred = model.predict(data.x_test, verbose=0).argmax(axis=1)
    assert float((pred == data.y_test).mean()) == pytest.approx(metrics["test_accuracy"])
    assert model.checkpoint_metadata["preprocessing"]["scale"] == 1 / 16
    assert metrics["test_accuracy"] > 0.5   # one epoch of an MLP is already far above chance


def test_evaluate_summary_predict_in_fresh_processes(run_folder):
    cwd, folder, out = run_folder
    result = _run("evaluate", "run", cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert HEADLINE.search(result.stdout).group(1) == HEADLINE.search(out).group(1)
    result = _run("summary", "run/model.deepsheet", cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert "Total params: 50,826" in result.stdout and "dataset digits" in result.stdout
    (_, _), (x_test, y_test) = ds.datasets.load("digits")
    np.save(cwd / "images.npy", x_test[:7])
    result = _run("predict", "run", "images.npy", cwd=cwd)
    assert result.returncode == 0, result.stderr
    printed = [int(v) for v in result.stdout.split()]
    model = ds.load_model(folder / "model.deepsheet")
    expected = model.predict(recipes.prepare_images(x_test[:7], 1 / 16), verbose=0)
    assert printed == list(expected.argmax(axis=1))


def test_predict_outputs_and_input_forms(run_folder, tmp_path, capsys):
    _, folder, _ = run_folder
    (_, _), (x_test, _) = ds.datasets.load("digits")
    model = ds.load_model(folder / "model.deepsheet")
    probs = model.predict(recipes.prepare_images(x_test[:4], 1 / 16), verbose=0)
    np.save(tmp_path / "x.npy", x_test[:4])
    np.save(tmp_path / "one.npy", x_test[2])                     # a single (8, 8) image
    np.save(tmp_path / "chan.npy", x_test[:4, :, :, None])       # with the channel axis
    assert cli.main(["predict", str(folder), str(tmp_path / "x.npy"),
                     "--output", str(tmp_path / "c.npy")]) == 0
    classes = np.load(tmp_path / "c.npy")
    assert classes.dtype == np.int64 and list(classes) == list(probs.argmax(axis=1))
    assert cli.main(["predict", str(folder), str(tmp_path / "x.npy"), "--probabilities",
                     "--output", str(tmp_path / "p.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), probs)
    capsys.readouterr()
    assert cli.main(["predict", str(folder), str(tmp_path / "one.npy")]) == 0
    assert capsys.readouterr().out.split() == [str(classes[2])]
    assert cli.main(["predict", str(folder), str(tmp_path / "chan.npy")]) == 0
    assert capsys.readouterr().out.split() == [str(c) for c in classes]


def _fails(argv, capsys, *fragments):
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err
    return err


def _usage(argv, capsys, *fragments):
    """A usage error: argparse's convention, the usage line, one error line, status 2."""
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: deepsheet") and "Traceback" not in err, err
    assert err.strip().splitlines()[-1].startswith(f"deepsheet {argv[0]}: error:"), err
    for fragment in fragments:
        assert fragment in err, err
    return err


def test_user_errors_are_one_line_listing_what_exists(run_folder, tmp_path, capsys):
    _, folder, _ = run_folder
    _usage(["train", "--dataset", "mnist"], capsys, "unknown dataset 'mnist'", "digits",
           "fashion-mnist")
    _usage(["train", "--model", "transformer"], capsys, "unknown --model 'transformer'", "mlp",
           "cnn", "lenet5", "resnet")
    _fails(["train", "--model", "lenet5"], capsys, "does not fit", "28x28")
    _fails(["evaluate", str(tmp_path / "missing.deepsheet")], capsys, "no model file")
    _fails(["evaluate", str(folder.parent / "nope")], capsys, "model files in",
           "run/model.deepsheet")
    _usage(["evaluate", str(folder), "--dataset", "fashion_mnist_typo"], capsys,
           "unknown dataset")
    (tmp_path / "notes.txt").write_text("hello")
    _fails(["summary", str(tmp_path / "notes.txt")], capsys, "not a deepsheet model file")
    np.save(tmp_path / "wrong.npy", np.zeros((2, 28, 28), np.uint8))
    _fails(["predict", str(folder), str(tmp_path / "wrong.npy")], capsys, "(8, 8, 1)",
           "(2, 28, 28)")
    np.savez(tmp_path / "arch.npz", a=np.zeros(3))
    _fails(["predict", str(folder), str(tmp_path / "arch.npz")], capsys, ".npz")


def test_predict_refuses_a_pickled_npy(run_folder, tmp_path, capsys):
    class Payload:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    np.save(tmp_path / "evil.npy", np.array([Payload()], dtype=object), allow_pickle=True)
    _fails(["predict", str(run_folder[1]), str(tmp_path / "evil.npy")], capsys, "evil.npy")
    assert not (tmp_path / "pwned").exists()
    pickle.loads(pickle.dumps(Payload())).close()   # the control: it would have run
    assert (tmp_path / "pwned").exists()


def test_subprocess_error_has_no_traceback(tmp_path):
    result = _run("train", "--model", "nope", cwd=tmp_path)       # usage: status 2
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("usage: deepsheet train")
    assert "deepsheet train: error: unknown --model 'nope'" in result.stderr
    assert "Traceback" not in result.stderr
    result = _run("evaluate", "missing.deepsheet", cwd=tmp_path)   # runtime: status 1
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("deepsheet evaluate: error: no model file")
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


def test_default_run_folder_seed_and_cnn(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["train", "--epochs", "1", "--verbose", "2", "--validation-split", "0"]) == 0
    first = capsys.readouterr().out
    (run,) = os.listdir(tmp_path / "runs")
    assert re.fullmatch(r"digits-mlp-\d{8}-\d{6}", run)
    assert "validation" not in first.split("test accuracy")[0].split("loss")[-1]
    assert cli.main(["train", "--epochs", "1", "--verbose", "2", "--validation-split", "0",
                     "--out", "again"]) == 0
    second = capsys.readouterr().out
    assert HEADLINE.search(first).group(1) == HEADLINE.search(second).group(1)  # same seed
    a = ds.load_model(tmp_path / "runs" / run / "model.deepsheet")
    b = ds.load_model(tmp_path / "again" / "model.deepsheet")
    assert all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))
    assert cli.main(["train", "--model", "cnn", "--epochs", "1", "--batch-size", "64",
                     "--verbose", "2", "--out", "cnn"]) == 0
    out = capsys.readouterr().out
    assert HEADLINE.search(out) and "Training cnn (53,002 parameters)" in out
    metrics = json.loads((tmp_path / "cnn" / "metrics.json").read_text())
    assert metrics["model"] == "cnn" and metrics["batch_size"] == 64
