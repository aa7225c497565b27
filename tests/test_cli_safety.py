"""The command line cannot lose a user's work or surprise them: interrupts, existing runs,
data paths, devices, leftovers of killed saves."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

import deepsheet as ds
from deepsheet import cli
from deepsheet.saving import atomic_write
from idx_files import write_idx_folder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _env(**extra):
    return dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
                **extra)


def _run(*args, cwd, **env):
    return subprocess.run([sys.executable, "-m", "deepsheet", *args], cwd=cwd, env=_env(**env),
                          capture_output=True, text=True, timeout=300)


def test_ctrl_c_keeps_the_last_finished_epoch(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "deepsheet", "train", "--epochs", "500",
                             "--batch-size", "16", "--out", "run", "--verbose", "0"],
                            cwd=tmp_path, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    model = tmp_path / "run" / "model.deepsheet"
    deadline = time.monotonic() + 120
    while not model.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert model.exists(), "no epoch finished within two minutes"
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
    line = err.strip().splitlines()[-1]
    assert re.fullmatch(r"deepsheet train: interrupted (in|after) epoch \d+ of 500; the model "
                        r"after epoch \d+ is in .*", line), line
    assert line.endswith(os.path.join("run", "model.deepsheet")), line
    when, epoch = line.split("interrupted ")[1].split()[:3:2]
    saved = int(line.split("the model after epoch ")[1].split()[0])
    # Interrupted inside an epoch: the previous one is saved; between epochs: the last one.
    assert saved == (int(epoch) - 1 if when == "in" else int(epoch)) and saved >= 1
    loaded = ds.load_model(model)
    run = loaded.checkpoint_metadata["run"]
    assert run["epochs_run"] == saved and run["finished"] is False
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["finished"] is False and metrics["epochs_run"] == saved
    assert not [n for n in os.listdir(tmp_path / "run") if n.startswith(".tmp-")]
    # The saved model is usable as it is.
    result = _run("evaluate", "run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_existing_run_is_not_overwritten_silently(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = ["train", "--epochs", "1", "--verbose", "0", "--out", "mine"]
    assert cli.main(args) == 0
    before = (tmp_path / "mine" / "model.deepsheet").read_bytes()
    capsys.readouterr()
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "already holds a run" in err and "--overwrite" in err
    assert (tmp_path / "mine" / "model.deepsheet").read_bytes() == before
    assert cli.main(args + ["--overwrite", "--seed", "1"]) == 0
    assert (tmp_path / "mine" / "model.deepsheet").read_bytes() != before
    metrics = json.loads((tmp_path / "mine" / "metrics.json").read_text())
    assert metrics["finished"] is True


def test_run_records_an_absolute_dataset_path(tmp_path, monkeypatch, capsys):
    write_idx_folder(tmp_path / "work" / "idx", n_train=40, n_test=10, image_shape=(8, 8))
    monkeypatch.chdir(tmp_path / "work")
    assert cli.main(["train", "--dataset", "idx", "--epochs", "1", "--verbose", "0",
                     "--out", "run", "--validation-split", "0"]) == 0
    run = json.loads((tmp_path / "work" / "run" / "metrics.json").read_text())
    assert run["dataset"] == str(tmp_path / "work" / "idx")
    monkeypatch.chdir(tmp_path)                     # elsewhere: evaluate still finds the data
    capsys.readouterr()
    assert cli.main(["evaluate", str(tmp_path / "work" / "run")]) == 0
    assert "10 images" in capsys.readouterr().out


@pytest.mark.parametrize("value, fragment", [
    ("tpu", "DEEPSHEET_DEVICE='tpu': expected one of"),
    ("gpu", "DEEPSHEET_DEVICE=gpu but"),
])
def test_unusable_device_is_one_line_from_every_command(tmp_path, value, fragment):
    if value == "gpu" and ds.backend.gpu_available():
        pytest.skip("this machine has a usable GPU")
    for args in (("train", "--epochs", "1"), ("summary", "x.deepsheet"),
                 ("predict", "x.deepsheet", "x.npy")):
        result = _run(*args, cwd=tmp_path, DEEPSHEET_DEVICE=value)
        assert result.returncode == 1, result.stderr
        assert result.stderr.count("\n") == 1 and fragment in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    result = _run("info", cwd=tmp_path, DEEPSHEET_DEVICE=value)
    assert result.returncode == 0, result.stderr
    assert ("invalid" if value == "tpu" else "none: DEEPSHEET_DEVICE=gpu") in result.stdout


def test_leftovers_of_killed_saves_are_removed_and_never_offered(tmp_path, capsys):
    dead = tmp_path / ".tmp-999999999-abc-model.deepsheet"      # no such process
    alive = tmp_path / f".tmp-{os.getpid()}-abc-model.deepsheet"  # a save in progress
    dead.write_bytes(b"PK\x03\x04partial")
    alive.write_bytes(b"PK\x03\x04partial")
    assert cli.main(["evaluate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert ".tmp-" not in err and "without a model.deepsheet" in err
    atomic_write(tmp_path / "other.bin", lambda f: f.write(b"x"))
    assert not dead.exists() and alive.exists()
    assert sorted(os.listdir(tmp_path)) == sorted([alive.name, "other.bin"])


def test_seed_must_be_non_negative(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "--seed", "-1"])
    assert info.value.code == 2
    assert "expected a non-negative integer, got -1" in capsys.readouterr().err


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("predict") / "run"
    assert cli.main(["train", "--epochs", "2", "--verbose", "0", "--out", str(folder)]) == 0
    (_, _), (x, _) = ds.datasets.digits.load_data()
    return folder, x[:5]


def test_predict_detects_images_scaled_twice(digits_run, tmp_path, capsys):
    import numpy as np
    folder, x = digits_run
    np.save(tmp_path / "scaled.npy", x.astype(np.float32) / 16)
    assert cli.main(["predict", str(folder), str(tmp_path / "scaled.npy")]) == 1
    err = capsys.readouterr().err
    assert "already scaled to [0, 1]" in err and "[0, 16]" in err
    np.save(tmp_path / "big.npy", x.astype(np.float32) * 16)
    assert cli.main(["predict", str(folder), str(tmp_path / "big.npy")]) == 1
    assert "raw pixels in [0, 16]" in capsys.readouterr().err
    np.save(tmp_path / "complex.npy", x.astype(np.complex64))
    assert cli.main(["predict", str(folder), str(tmp_path / "complex.npy")]) == 1
    assert "numeric image data, got dtype complex64" in capsys.readouterr().err


def test_predict_top_k_and_printed_probabilities(digits_run, tmp_path, capsys):
    import numpy as np
    folder, x = digits_run
    np.save(tmp_path / "x.npy", x)
    model = ds.load_model(folder / "model.deepsheet")
    probs = model.predict(x[..., None].astype(np.float32) / 16, verbose=0)
    capsys.readouterr()
    assert cli.main(["predict", str(folder), str(tmp_path / "x.npy"), "--probabilities"]) == 0
    printed = np.array([[float(v) for v in line.split()]
                        for line in capsys.readouterr().out.strip().splitlines()])
    np.testing.assert_allclose(printed, probs, atol=5e-5)
    assert cli.main(["predict", str(folder), str(tmp_path / "x.npy"), "--top-k", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 5
    for line, p in zip(lines, probs):
        best = np.argsort(-p, kind="stable")[:3]
        assert [int(part.split()[0]) for part in line.split(", ")] == list(best)
        assert f"({p[best[0]]:.4f})" in line


def test_predict_prints_fashion_class_names(tmp_path, capsys):
    from deepsheet.cli.predict import _class_names, _top_k_line
    import numpy as np
    names = _class_names("fashion-mnist")
    assert names[9] == "Ankle boot" and _class_names("digits") is None
    assert _top_k_line(np.array([0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.9]), 2,
                       names) == "9 Ankle boot (0.9000), 0 T-shirt/top (0.1000)"


def test_verbose_zero_is_silent(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["train", "--epochs", "1", "--verbose", "0", "--out", "quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert (tmp_path / "quiet" / "model.deepsheet").exists()
