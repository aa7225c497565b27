"""Hostile model and weights files: each is refused with a SavingError quickly and cheaply.

Every case is generated here. The bound checked for each is the one a user relies on:
under a second and under 50 MiB of extra Python allocations (tracemalloc), whatever the
file claims to hold.
"""
import io
import json
import os
import struct
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import deepsheet as ds
from deepsheet import layers
from deepsheet.saving import SavingError

LIMIT_S, LIMIT_BYTES = 1.0, 50 * 2**20


def _refused(call, match):
    """Run ``call``; it must raise SavingError matching ``match`` within the bounds."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(SavingError, match=match) as info:
            call()
    finally:
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < LIMIT_S, f"took {elapsed:.2f} s to refuse"
    assert peak < LIMIT_BYTES, f"allocated {peak / 2**20:.0f} MiB to refuse"
    return str(info.value)


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    ds.manual_seed(0)
    model = ds.Sequential([layers.Input((4,)), layers.Dense(3, activation="relu", name="hidden"),
                           layers.Dense(2, name="out")])
    model.compile(optimizer="adam", loss="mse")
    path = model.save(tmp_path_factory.mktemp("good") / "good.deepsheet")
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _write(path, entries, infos=None):
    """A zip of ``entries`` ({name: bytes}); ``infos`` maps names to ZipInfo tweaks."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, blob in entries.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            for key, value in (infos or {}).get(name, {}).items():
                setattr(info, key, value)
            zf.writestr(info, blob)
    return path


def _config(good, edit):
    config = json.loads(good["config.json"])
    edit(config)
    return dict(good, **{"config.json": json.dumps(config).encode()})


def _layers_of(config):
    return config["model"]["config"]["layers"]


def test_the_untouched_file_loads(good, tmp_path):
    model = ds.load_model(_write(tmp_path / "ok.deepsheet", good))
    assert [w.shape for w in model.get_weights()] == [(4, 3), (3,), (3, 2), (2,)]


def test_huge_layer_is_refused_before_allocating(good, tmp_path):
    def edit(config):
        for layer in _layers_of(config):
            if layer["config"].get("name") == "hidden":
                layer["config"]["units"] = 10**8
    path = _write(tmp_path / "big.deepsheet", _config(good, edit))
    msg = _refused(lambda: ds.load_model(path), r"hidden.*\(4, 3\).*\(4, 100000000\)")
    assert "big.deepsheet" in msg


def test_config_that_inflates_past_the_limit(good, tmp_path):
    blob = b'{"model": ' + b" " * (40 * 2**20) + b"null}"
    path = _write(tmp_path / "bomb.deepsheet", dict(good, **{"config.json": blob}))
    assert os.path.getsize(path) < 2**20
    _refused(lambda: ds.load_model(path), r"config.json.*declares .* more than the limit")


def test_deep_json(good, tmp_path):
    blob = b'{"model": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    path = _write(tmp_path / "deep.deepsheet", dict(good, **{"config.json": blob}))
    _refused(lambda: ds.load_model(path), "config.json nests deeper than")
    shallow = b'{"model": ' + b"[" * 100 + b"]" * 100 + b"}"
    path = _write(tmp_path / "deep2.deepsheet", dict(good, **{"config.json": shallow}))
    _refused(lambda: ds.load_model(path), "config.json nests deeper than")


def test_huge_numbers(good, tmp_path):
    def edit(config):
        _layers_of(config)[1]["config"]["units"] = 0
    entries = _config(good, edit)
    blob = entries["config.json"].replace(b'"units": 0', b'"units": ' + b"9" * 5000)
    path = _write(tmp_path / "digits.deepsheet", dict(entries, **{"config.json": blob}))
    _refused(lambda: ds.load_model(path), "integer of 5000 digits")
    blob = entries["config.json"].replace(b'"units": 0', b'"units": 1e999')
    path = _write(tmp_path / "inf.deepsheet", dict(entries, **{"config.json": blob}))
    _refused(lambda: ds.load_model(path), "cannot rebuild the architecture")


@pytest.mark.parametrize("tweak, match", [
    ({"compress_type": zipfile.ZIP_BZIP2}, "compression method 12"),
    ({"compress_type": zipfile.ZIP_LZMA}, "compression method 14"),
])
def test_zip_oddities(good, tmp_path, tweak, match):
    path = _write(tmp_path / "odd.deepsheet", good, {"model.safetensors": tweak})
    _refused(lambda: ds.load_model(path), match)


def test_encrypted_entry(good, tmp_path):
    path = _write(tmp_path / "enc.deepsheet", good)
    data = bytearray(path.read_bytes())
    name = b"model.safetensors"
    # zipfile never writes the encryption bit, so set it in both headers by hand.
    for signature, flag_at, name_at in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
        pos = data.find(signature)
        while pos >= 0:
            if data[pos + name_at:pos + name_at + len(name)] == name:
                data[pos + flag_at] |= 0x1
            pos = data.find(signature, pos + 1)
    path.write_bytes(bytes(data))
    _refused(lambda: ds.load_model(path), "model.safetensors' is encrypted")


def test_duplicated_entries(good, tmp_path):
    path = tmp_path / "dup.deepsheet"
    with zipfile.ZipFile(path, "w") as zf:
        for name, blob in good.items():
            zf.writestr(name, blob)
        with pytest.warns(UserWarning, match="Duplicate name"):
            zf.writestr("model.safetensors", good["model.safetensors"])
    _refused(lambda: ds.load_model(path), r"duplicated entries \['model.safetensors'\]")


def _safetensors(header, data=b""):
    head = json.dumps(header).encode()
    return struct.pack("<Q", len(head)) + head + data


def test_tensor_header_declaring_terabytes(good, tmp_path):
    blob = _safetensors({"00000": {"dtype": "F32", "shape": [2**20, 2**20],
                                   "data_offsets": [0, 4 * 2**40]}})
    path = _write(tmp_path / "tb.deepsheet", dict(good, **{"model.safetensors": blob}))
    _refused(lambda: ds.load_model(path), "declares 4,398,046,511,104 bytes of tensors")
    weights = tmp_path / "tb.weights"
    weights.write_bytes(blob)
    model = ds.load_model(_write(tmp_path / "ok.deepsheet", good))
    _refused(lambda: model.load_weights(weights), "declares 4,398,046,511,104 bytes")


def test_max_bytes_can_be_lowered_and_raised(good, tmp_path):
    path = _write(tmp_path / "ok.deepsheet", good)
    _refused(lambda: ds.load_model(path, max_bytes=16), "pass max_bytes= to raise")
    assert ds.load_model(path, max_bytes=10**6) is not None


def test_tensor_header_lying_about_its_data(good, tmp_path):
    short = _safetensors({"00000": {"dtype": "F32", "shape": [4, 3], "data_offsets": [0, 48]}},
                         b"\0" * 20)
    path = _write(tmp_path / "short.deepsheet", dict(good, **{"model.safetensors": short}))
    _refused(lambda: ds.load_model(path), "fewer bytes than its header declares")
    lying = _safetensors({"00000": {"dtype": "F32", "shape": [4, 3], "data_offsets": [0, 8]}},
                         b"\0" * 8)
    path = _write(tmp_path / "lying.deepsheet", dict(good, **{"model.safetensors": lying}))
    _refused(lambda: ds.load_model(path), r"declares shape \[4, 3\] of F32 but bytes \[0, 8\)")


@pytest.mark.parametrize("make", ["fifo", "folder", "device"])
def test_non_regular_files_are_refused_before_opening(tmp_path, make):
    if make == "fifo":
        path = tmp_path / "model.deepsheet"
        os.mkfifo(path)
        match = "FIFO"
    elif make == "folder":
        path = tmp_path / "model.deepsheet"
        path.mkdir()
        match = "folder"
    else:
        path = "/dev/zero"
        match = "device"
    _refused(lambda: ds.load_model(path), match)
    model = ds.Sequential([layers.Input((4,)), layers.Dense(2)])
    _refused(lambda: model.load_weights(path), match)


def test_corrupt_deflate_stream(good, tmp_path):
    path = _write(tmp_path / "ok.deepsheet", good)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo("model.safetensors")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start:start + info.compress_size] = np.random.default_rng(0).integers(
        0, 256, info.compress_size, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    _refused(lambda: ds.load_model(path), "model.safetensors")
