import os

import numpy as np
import pytest

from deepsheet.datasets import fashion_mnist, idx
from deepsheet.datasets.idx import IDXFormatError, write_idx
from idx_files import write_idx_folder


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """No environment variable and an empty default folder: only explicit paths can succeed."""
    monkeypatch.delenv(fashion_mnist.ENV_VAR, raising=False)
    monkeypatch.setattr(fashion_mnist, "DEFAULT_DIR", str(tmp_path / "no-default"))
    return tmp_path


@pytest.mark.parametrize("gz", [True, False])
def test_load_from_path(nowhere, gz):
    arrays = write_idx_folder(nowhere / "fm", gz=gz)
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data(nowhere / "fm")
    assert x_train.shape == (6, 28, 28) and x_test.shape == (3, 28, 28)
    assert y_train.shape == (6,) and y_test.shape == (3,)
    for a in (x_train, y_train, x_test, y_test):
        assert a.dtype == np.uint8
    np.testing.assert_array_equal(x_train, arrays["train_images"])
    np.testing.assert_array_equal(y_test, arrays["test_labels"])


def test_search_order_env_then_default(nowhere, monkeypatch):
    write_idx_folder(nowhere / "data" / "fashion-mnist", n_train=2, seed=1)
    write_idx_folder(nowhere / "default", n_train=3, seed=2)
    monkeypatch.setattr(fashion_mnist, "DEFAULT_DIR", str(nowhere / "default"))
    assert len(fashion_mnist.load_data()[0][0]) == 3
    monkeypatch.setenv(fashion_mnist.ENV_VAR, str(nowhere / "data"))
    assert len(fashion_mnist.load_data()[0][0]) == 2
    write_idx_folder(nowhere / "explicit", n_train=4, seed=3)
    assert len(fashion_mnist.load_data(nowhere / "explicit")[0][0]) == 4
    # A folder the user names is never swapped for another copy: missing or empty, it raises.
    with pytest.raises(FileNotFoundError, match=r"empty'\): no such folder"):
        fashion_mnist.load_data(nowhere / "empty")
    (nowhere / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"the folder lacks train-images-idx3-ubyte\[.gz\]"):
        fashion_mnist.load_data(nowhere / "empty")


def test_explicit_folder_lacking_one_file_names_it(nowhere, monkeypatch):
    write_idx_folder(nowhere / "default", n_train=3, seed=2)
    monkeypatch.setattr(fashion_mnist, "DEFAULT_DIR", str(nowhere / "default"))
    write_idx_folder(nowhere / "mine")
    os.remove(nowhere / "mine" / "train-labels-idx1-ubyte.gz")
    with pytest.raises(FileNotFoundError) as info:
        fashion_mnist.load_data(nowhere / "mine")
    assert "lacks train-labels-idx1-ubyte[.gz]" in str(info.value)
    assert "t10k" not in str(info.value).split("\n")[0]


def test_fifo_is_refused_before_opening(tmp_path):
    fifo = tmp_path / "train-images-idx3-ubyte"
    os.mkfifo(fifo)
    with pytest.raises(IDXFormatError, match="FIFO"):
        idx.read_idx(fifo)


def test_incomplete_folder_is_skipped(nowhere):
    write_idx_folder(nowhere / "fm")
    os.remove(nowhere / "fm" / "t10k-images-idx3-ubyte.gz")
    with pytest.raises(FileNotFoundError):
        fashion_mnist.load_data(nowhere / "fm")


def test_not_found_message_says_how_to_get_files(nowhere, monkeypatch):
    monkeypatch.setenv(fashion_mnist.ENV_VAR, str(nowhere / "envroot"))
    with pytest.raises(FileNotFoundError) as info:
        fashion_mnist.load_data()
    msg = str(info.value)
    assert "apt-get install dataset-fashion-mnist" in msg
    for stem in idx.FILE_STEMS.values():
        assert stem in msg
    # every searched folder is listed, in order
    places = [os.path.join(str(nowhere / "envroot"), "fashion-mnist"), fashion_mnist.DEFAULT_DIR]
    positions = [msg.index(p) for p in places]
    assert positions == sorted(positions)


def test_wrong_image_shape_is_rejected(nowhere):
    write_idx_folder(nowhere / "fm", image_shape=(8, 8))
    with pytest.raises(IDXFormatError, match=r"train-images.*\(6, 8, 8\).*\(n, 28, 28\)"):
        fashion_mnist.load_data(nowhere / "fm")


def test_label_out_of_range_is_rejected(nowhere):
    write_idx_folder(nowhere / "fm")
    write_idx(nowhere / "fm" / "t10k-labels-idx1-ubyte.gz", np.array([1, 2, 10], np.uint8))
    with pytest.raises(IDXFormatError, match=r"t10k-labels.*up to 10.*0-9"):
        fashion_mnist.load_data(nowhere / "fm")


def test_class_names():
    assert len(fashion_mnist.CLASS_NAMES) == 10
    assert fashion_mnist.CLASS_NAMES[0] == "T-shirt/top" and fashion_mnist.CLASS_NAMES[9] == "Ankle boot"


@pytest.mark.skipif(not os.path.isdir("/usr/share/datasets/fashion-mnist"),
                    reason="dataset-fashion-mnist is not installed")
def test_installed_copy_labels_only():
    # Only the small label files: reading the images costs about a second.
    y = idx.read_idx("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz")
    assert y.shape == (10000,) and y.dtype == np.uint8
    assert np.bincount(y).tolist() == [1000] * 10
