"""Read and write the IDX format of MNIST and Fashion-MNIST (gzipped or not).

An IDX file is a tiny header followed by one array, row-major, big-endian:

    bytes 0-1   0x00 0x00            (the magic number is these 4 bytes together)
    byte  2     type code            0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                                     0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    then        d sizes, each a big-endian unsigned 32-bit integer
    then        prod(sizes) items of the type, big-endian

Gzip is detected from the file's first two bytes (0x1f 0x8b), so a compressed file
without ``.gz`` in its name (or a plain one with it) still reads. Nothing is ever
unpickled: the header is parsed by hand and the payload goes straight into an array.

Examples
--------
>>> import numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte.gz")
>>> write_idx(path, np.array([3, 1, 4], dtype=np.uint8))
>>> read_idx(path)
array([3, 1, 4], dtype=uint8)
"""
from __future__ import annotations

import gzip
import math
import os
import struct
import zlib

import numpy as np

from .._files import regular_file

__all__ = ["IDXFormatError", "read_idx", "write_idx", "load_folder", "find_files", "FILE_STEMS"]

# type code -> big-endian dtype as stored in the file
_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in _TYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"

# The four files of an MNIST-style data set, by role, without extension.
FILE_STEMS = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


class IDXFormatError(ValueError):
    """A file is not a valid IDX file (bad magic, unknown type, truncated, trailing data)."""


def _open(path):
    """Open ``path`` for binary reading, through gzip when its first bytes say so."""
    path = regular_file(path, "IDX", IDXFormatError)
    with open(path, "rb") as raw:
        head = raw.read(2)
    if head == _GZIP_MAGIC:
        return gzip.open(path, "rb")
    return open(path, "rb")


def _read_exact(f, n, path, what):
    data = f.read(n)
    if len(data) != n:
        raise IDXFormatError(f"IDX file {path!r} is truncated: expected {n} bytes of {what}, "
                             f"found {len(data)}")
    return data


def _readinto_full(f, buffer):
    """Fill ``buffer`` from ``f``; return how many bytes arrived (less only at end of file)."""
    view = memoryview(buffer).cast("B")
    got = 0
    while got < len(view):
        n = f.readinto(view[got:])
        if not n:
            break
        got += n
    return got


def read_idx(path):
    """Read one IDX file (gzipped or not) into a NumPy array in native byte order.

    Parameters
    ----------
    path : str or os.PathLike
        The file. Gzip compression is recognised by its magic bytes, not by the name.

    Returns
    -------
    numpy.ndarray
        A writable array of the file's dtype (uint8 for images and labels) and shape.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    IDXFormatError
        Wrong magic number, unsupported type code, fewer bytes than the header
        promises, bytes after the data, or a corrupt gzip stream. The message names the file.

    Examples
    --------
    >>> x = read_idx("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz")  # doctest: +SKIP
    >>> x.shape, x.dtype  # doctest: +SKIP
    ((10000,), dtype('uint8'))
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"IDX file {path!r} does not exist")
    try:
        with _open(path) as f:
            magic = _read_exact(f, 4, path, "header")
            if magic[:2] != b"\x00\x00":
                raise IDXFormatError(
                    f"{path!r} is not an IDX file: magic number 0x{magic.hex()} does not start "
                    f"with 0x0000 (expected e.g. 0x00000803 for uint8 images, 0x00000801 for labels)")
            code, ndim = magic[2], magic[3]
            if code not in _TYPES:
                known = ", ".join(f"0x{c:02X} {dt.name}" for c, dt in _TYPES.items())
                raise IDXFormatError(f"IDX file {path!r} has unsupported type code 0x{code:02X}; "
                                     f"known: {known}")
            shape = struct.unpack(f">{ndim}I", _read_exact(f, 4 * ndim, path, "dimension sizes"))
            dtype = _TYPES[code]
            expected = math.prod(shape) * dtype.itemsize
            # Check the promise against the file before allocating, so a corrupt header
            # gives this error instead of a MemoryError. Deflate expands at most ~1032:1.
            stored = os.path.getsize(path)
            available = stored * 1032 if isinstance(f, gzip.GzipFile) else stored - 4 - 4 * ndim
            if expected > available:
                raise IDXFormatError(
                    f"IDX file {path!r} is truncated: header promises shape {shape} of {dtype.name} "
                    f"({expected} bytes of data), the file cannot hold more than {available}")
            out = np.empty(shape, dtype=dtype.newbyteorder("="))
            got = _readinto_full(f, out) if expected else 0
            if got != expected:
                raise IDXFormatError(
                    f"IDX file {path!r} is truncated: header promises shape {shape} of {dtype.name} "
                    f"({expected} bytes of data), found {got}")
            if f.read(1):
                raise IDXFormatError(f"IDX file {path!r} has bytes after the {expected} bytes of data "
                                     f"its header (shape {shape}) announces")
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise IDXFormatError(f"IDX file {path!r} is a corrupt or truncated gzip stream: {exc}") from exc
    if not dtype.isnative:
        out.byteswap(inplace=True)  # file is big-endian; the bytes were copied as they are
    return out


def write_idx(path, array, compress=None):
    """Write ``array`` as an IDX file; gzip it when ``compress`` (default: name ends in ``.gz``).

    Parameters
    ----------
    path : str or os.PathLike
    array : array_like
        Of dtype uint8, int8, int16, int32, float32 or float64, with at most 255 dimensions.
    compress : bool, optional

    Examples
    --------
    >>> write_idx("/tmp/x-idx3-ubyte", np.zeros((2, 28, 28), np.uint8))  # doctest: +SKIP
    """
    path = os.fspath(path)
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=") if array.dtype.byteorder in "<>" else array.dtype
    if native not in _CODES:
        raise ValueError(f"write_idx: dtype {array.dtype} has no IDX type code; "
                         f"use one of {sorted(d.name for d in _CODES)}")
    if array.ndim > 255:
        raise ValueError(f"write_idx: at most 255 dimensions, got {array.ndim}")
    header = bytes([0, 0, _CODES[native], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = np.ascontiguousarray(array, dtype=_TYPES[_CODES[native]]).tobytes()
    if compress is None:
        compress = path.endswith(".gz")
    with (gzip.open(path, "wb") if compress else open(path, "wb")) as f:
        f.write(header)
        f.write(payload)


def find_files(folder):
    """The paths of the four MNIST-style files in ``folder``, or None where one is missing.

    Each role accepts the standard name (``train-images-idx3-ubyte``), with ``.gz`` or
    without, and the dotted variant of some mirrors (``train-images.idx3-ubyte``).
    """
    found = {}
    for role, stem in FILE_STEMS.items():
        dotted = stem.replace("-idx", ".idx")
        found[role] = next((os.path.join(folder, name)
                            for name in (stem + ".gz", stem, dotted + ".gz", dotted)
                            if os.path.isfile(os.path.join(folder, name))), None)
    return found


def _check_pair(images, labels, images_path, labels_path):
    if labels.ndim != 1:
        raise IDXFormatError(f"labels file {labels_path!r} holds shape {labels.shape}; expected one "
                             f"dimension (one label per image)")
    if images.ndim < 2:
        raise IDXFormatError(f"images file {images_path!r} holds shape {images.shape}; expected "
                             f"(n, height, width)")
    if len(images) != len(labels):
        raise IDXFormatError(f"{images_path!r} holds {len(images)} images but {labels_path!r} "
                             f"holds {len(labels)} labels")


def load_folder(folder):
    """Load the four MNIST-style IDX files of ``folder`` as ``(x_train, y_train), (x_test, y_test)``.

    Parameters
    ----------
    folder : str or os.PathLike
        Holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each may end in ``.gz``).

    Raises
    ------
    FileNotFoundError
        ``folder`` is not a folder, or one of the four files is missing (all missing names are listed).
    IDXFormatError
        A file is broken, or image and label counts disagree.
    """
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{folder!r} is not a folder")
    files = find_files(folder)
    missing = [FILE_STEMS[role] + "[.gz]" for role, p in files.items() if p is None]
    if missing:
        raise FileNotFoundError(f"folder {folder!r} lacks the IDX file(s) {', '.join(missing)}")
    arrays = {role: read_idx(p) for role, p in files.items()}
    for split in ("train", "test"):
        _check_pair(arrays[f"{split}_images"], arrays[f"{split}_labels"],
                    files[f"{split}_images"], files[f"{split}_labels"])
    return ((arrays["train_images"], arrays["train_labels"]),
            (arrays["test_images"], arrays["test_labels"]))
