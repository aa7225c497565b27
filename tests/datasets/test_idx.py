import gzip
import os

import numpy as np
import pytest

from deepsheet.datasets import idx
from deepsheet.datasets.idx import IDXFormatError, read_idx, write_idx
from idx_files import write_idx_folder


@pytest.mark.parametrize("name", ["imgs-idx3-ubyte", "imgs-idx3-ubyte.gz"])
def test_uint8_images_round_trip(tmp_path, name):
    x = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    path = tmp_path / name
    write_idx(path, x)
    assert (open(path, "rb").read(2) == b"\x1f\x8b") == name.endswith(".gz")
    y = read_idx(path)
    assert y.dtype == np.uint8 and y.shape == (5, 28, 28)
    np.testing.assert_array_equal(y, x)
    assert y.flags.writeable and y.flags.c_contiguous


def test_header_bytes_are_the_standard_ones(tmp_path):
    write_idx(tmp_path / "l", np.array([7, 2, 1], np.uint8))
    raw = open(tmp_path / "l", "rb").read()
    assert raw == bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 2, 1])


def test_labels_hand_written_file(tmp_path):
    # Bytes written by hand, not by write_idx, so the reader is not only checked against itself.
    path = tmp_path / "labels"
    path.write_bytes(bytes([0, 0, 0x08, 1, 0, 0, 0, 4, 9, 0, 0, 3]))
    y = read_idx(path)
    assert y.dtype == np.uint8 and y.shape == (4,)
    assert y.tolist() == [9, 0, 0, 3]


def test_gzip_detected_by_magic_not_name(tmp_path):
    x = np.arange(12, dtype=np.uint8).reshape(3, 4)
    write_idx(tmp_path / "plain-but-named.gz", x, compress=False)
    write_idx(tmp_path / "gzipped-no-suffix", x, compress=True)
    np.testing.assert_array_equal(read_idx(tmp_path / "plain-but-named.gz"), x)
    np.testing.assert_array_equal(read_idx(tmp_path / "gzipped-no-suffix"), x)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
def test_every_type_code_big_endian(tmp_path, dtype):
    x = (np.arange(24).reshape(2, 3, 4) * 37 - 300).astype(dtype)
    write_idx(tmp_path / "a", x)
    y = read_idx(tmp_path / "a")
    assert y.dtype == np.dtype(dtype) and y.dtype.isnative
    np.testing.assert_array_equal(y, x)
    # The payload is big-endian in the file.
    payload = open(tmp_path / "a", "rb").read()[4 + 4 * 3:]
    assert payload == x.astype(np.dtype(dtype).newbyteorder(">")).tobytes()


def test_empty_and_zero_dim(tmp_path):
    write_idx(tmp_path / "e", np.zeros((0, 28, 28), np.uint8))
    assert read_idx(tmp_path / "e").shape == (0, 28, 28)
    write_idx(tmp_path / "s", np.array(5, np.uint8))
    assert read_idx(tmp_path / "s").shape == ()


def test_wrong_magic(tmp_path):
    path = tmp_path / "bad-magic"
    path.write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x01\x05")
    with pytest.raises(IDXFormatError, match=r"bad-magic.*not an IDX file.*0x01020801"):
        read_idx(path)


def test_wrong_magic_gzipped(tmp_path):
    path = tmp_path / "bad.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"PK\x03\x04 not idx")
    with pytest.raises(IDXFormatError, match="not an IDX file"):
        read_idx(path)


def test_unsupported_type_code(tmp_path):
    path = tmp_path / "weird-type"
    path.write_bytes(bytes([0, 0, 0x0A, 1, 0, 0, 0, 1, 0]))
    with pytest.raises(IDXFormatError, match=r"weird-type.*unsupported type code 0x0A"):
        read_idx(path)


@pytest.mark.parametrize("compress", [False, True])
def test_truncated_data(tmp_path, compress):
    path = tmp_path / "trunc"
    x = np.ones((4, 28, 28), np.uint8)
    raw = bytes([0, 0, 8, 3, 0, 0, 0, 4, 0, 0, 0, 28, 0, 0, 0, 28]) + x.tobytes()[:-100]
    path.write_bytes(gzip.compress(raw) if compress else raw)
    with pytest.raises(IDXFormatError, match=r"trunc.*truncated.*\(4, 28, 28\).*3136 bytes.*3036"):
        read_idx(path)


@pytest.mark.parametrize("compress", [False, True])
def test_absurd_header_fails_before_allocating(tmp_path, compress):
    # 2**31 x 2**31 bytes could never be allocated: the error must come from the size check.
    raw = bytes([0, 0, 8, 2, 0x80, 0, 0, 0, 0x80, 0, 0, 0]) + b"\x00" * 10
    path = tmp_path / "huge"
    path.write_bytes(gzip.compress(raw) if compress else raw)
    with pytest.raises(IDXFormatError, match=r"huge.*truncated.*\(2147483648, 2147483648\)"):
        read_idx(path)


def test_truncated_header(tmp_path):
    path = tmp_path / "short"
    path.write_bytes(bytes([0, 0, 8, 3, 0, 0, 0, 4]))
    with pytest.raises(IDXFormatError, match="truncated.*dimension sizes"):
        read_idx(path)
    path.write_bytes(b"\x00\x00")
    with pytest.raises(IDXFormatError, match="truncated.*header"):
        read_idx(path)


def test_truncated_gzip_stream(tmp_path):
    path = tmp_path / "cut.gz"
    write_idx(path, np.random.default_rng(1).integers(0, 256, (50, 28, 28), dtype=np.uint8))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IDXFormatError, match=r"cut\.gz.*(truncated|corrupt)"):
        read_idx(path)


def test_trailing_bytes(tmp_path):
    path = tmp_path / "long"
    path.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 2, 1, 2, 3]))
    with pytest.raises(IDXFormatError, match="long.*bytes after"):
        read_idx(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope-idx1-ubyte"):
        read_idx(tmp_path / "nope-idx1-ubyte")


def test_write_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(ValueError, match="int64"):
        write_idx(tmp_path / "x", np.zeros(3, np.int64))


@pytest.mark.parametrize("gz", [True, False])
def test_load_folder(tmp_path, gz):
    arrays = write_idx_folder(tmp_path, n_test=4, gz=gz, image_shape=(5, 3), seed=2)
    (x_train, y_train), (x_test, y_test) = idx.load_folder(tmp_path)
    np.testing.assert_array_equal(x_train, arrays["train_images"])
    np.testing.assert_array_equal(y_train, arrays["train_labels"])
    np.testing.assert_array_equal(x_test, arrays["test_images"])
    np.testing.assert_array_equal(y_test, arrays["test_labels"])


def test_load_folder_lists_missing_files(tmp_path):
    write_idx_folder(tmp_path, n_test=4, seed=2)
    os.remove(tmp_path / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(FileNotFoundError, match=r"lacks.*t10k-labels-idx1-ubyte\[\.gz\]"):
        idx.load_folder(tmp_path)


def test_load_folder_count_mismatch(tmp_path):
    write_idx_folder(tmp_path, n_test=4, seed=2)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(5, np.uint8))
    with pytest.raises(IDXFormatError, match="6 images.*5 labels"):
        idx.load_folder(tmp_path)


def test_find_files_accepts_dotted_mirror_names(tmp_path):
    write_idx(tmp_path / "train-images.idx3-ubyte", np.zeros((1, 2, 2), np.uint8))
    found = idx.find_files(tmp_path)
    assert found["train_images"] == os.path.join(tmp_path, "train-images.idx3-ubyte")
    assert found["test_images"] is None
