"""Saving and loading: round trips of every model kind, and a clear error for every broken file."""
import io
import json
import os
import pickle
import stat
import zipfile

import numpy as np
import pytest

import deepsheet as ds
from deepsheet import layers as L
from deepsheet import saving
from deepsheet.saving import SavingError


# ------------------------------------------------------------------ models
def _mlp():
    model = ds.Sequential([L.Dense(12, activation="relu", input_shape=(6,)),
                           L.BatchNormalization(), L.Dropout(0.3), L.Dense(3)])
    return model, (np.random.rand(24, 6).astype(np.float32),)


def _functional():
    """Two inputs, a layer shared by both, a nested model used as a layer, two outputs."""
    a, b = ds.Input((5,), name="a"), ds.Input((5,), name="b")
    shared = L.Dense(8, activation="tanh", name="shared")
    inner_in = ds.Input((8,))
    inner = ds.Model(inner_in, L.Dense(4, name="inner_dense")(L.Dropout(0.2)(inner_in)),
                     name="inner")
    h = L.Concatenate()([inner(shared(a)), inner(shared(b))])
    out1 = L.Dense(3, name="cls")(L.BatchNormalization()(h))
    out2 = L.Dense(1, name="reg")(h)
    model = ds.Model([a, b], [out1, out2])
    return model, (np.random.rand(24, 5).astype(np.float32),
                   np.random.rand(24, 5).astype(np.float32))


def _conv():
    model = ds.Sequential([
        ds.Input((8, 8, 1)),
        L.Conv2D(4, 3, padding="same", activation="relu"), L.BatchNormalization(),
        L.MaxPooling2D(2), L.Conv2D(6, 3, padding="valid"), L.Flatten(),
        L.Dropout(0.25, seed=3), L.Dense(3)])
    return model, (np.random.rand(24, 8, 8, 1).astype(np.float32),)


BUILDERS = {"mlp": _mlp, "functional": _functional, "conv": _conv}


def _compiled(kind):
    model, xs = BUILDERS[kind]()
    n = len(xs[0])
    y_cls = np.random.randint(0, 3, n)
    if kind == "functional":
        model.compile(ds.optimizers.Adam(learning_rate=0.01),
                      loss=["sparse_categorical_crossentropy", "mse"],
                      metrics={"cls": ["accuracy"]}, loss_weights=[1.0, 0.5])
        ys = [y_cls, np.random.rand(n, 1).astype(np.float32)]
    else:
        model.compile(ds.optimizers.SGD(learning_rate=0.05, momentum=0.9),
                      ds.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        ys = y_cls
    x = list(xs) if len(xs) > 1 else xs[0]
    return model, x, ys


def _equal_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) and all(u.dtype == v.dtype and np.array_equal(u, v)
                                      for u, v in zip(wa, wb))


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_round_trip_predicts_and_trains_identically(kind, tmp_path):
    model, x, y = _compiled(kind)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    path = model.save(tmp_path / "m")
    assert path.endswith(".deepsheet") and os.path.isfile(path)
    loaded = ds.load_model(path)
    assert type(loaded) is type(model)
    assert [w.name for w in loaded._ordered_weights()] == [w.name for w in model._ordered_weights()]
    assert _equal_weights(model, loaded)
    pa, pb = model.predict(x, verbose=0), loaded.predict(x, verbose=0)
    for u, v in zip(pa if isinstance(pa, list) else [pa], pb if isinstance(pb, list) else [pb]):
        assert u.dtype == np.float32 and np.array_equal(u, v)
    assert loaded.optimizer.iterations == model.optimizer.iterations == 3
    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.metrics_names == model.metrics_names
    # Continuing training: same RNG state in, same weights out (moments, dropout, BN stats).
    state = ds.backend.get_rng_state()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    ds.backend.set_rng_state(state)
    loaded.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert _equal_weights(model, loaded)


def test_exports_and_extension(tmp_path):
    assert ds.load_model is saving.load_model
    assert ds.models.load_model is saving.load_model
    model, x, y = _compiled("mlp")
    model.save(tmp_path / "named.model")
    assert os.path.exists(tmp_path / "named.model")      # an extension given is kept
    model.save(tmp_path / "plain")
    assert ds.load_model(tmp_path / "plain").count_params() == model.count_params()
    with pytest.raises(FileExistsError, match="overwrite"):
        model.save(tmp_path / "plain.deepsheet", overwrite=False)
    mode = stat.S_IMODE(os.stat(tmp_path / "plain.deepsheet").st_mode)
    assert mode == 0o666 & ~saving._umask()  # as open() would make it, not mkstemp's 0600


def test_archive_layout_and_contents(tmp_path):
    model, x, y = _compiled("conv")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    path = model.save(tmp_path / "m.deepsheet")
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["config.json", "metadata.json", "model.safetensors",
                                         "optimizer.safetensors"]
        config = json.loads(zf.read("config.json"))
        meta = json.loads(zf.read("metadata.json"))
    assert config["model"]["class_name"] == "Sequential"
    assert config["compile"]["optimizer"]["class_name"] == "SGD"
    assert meta["format"] == "deepsheet.model" and meta["deepsheet_version"] == ds.__version__
    assert meta["rng_state"]["bit_generator"] == "PCG64"
    assert len(meta["weight_names"]) == len(model.get_weights())
    assert [n for n, _ in meta["layer_rng_states"]] == [model.layers[-2].name]


def test_seeded_dropout_generator_survives(tmp_path):
    model, x, y = _compiled("conv")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    loaded = ds.load_model(model.save(tmp_path / "m"))
    drop_a, drop_b = model.layers[-2], loaded.layers[-2]
    assert drop_a.seed == drop_b.seed == 3
    assert np.array_equal(drop_a._generator.random(5), drop_b._generator.random(5))


def test_uncompiled_and_compile_false(tmp_path):
    model, xs = _mlp()
    path = model.save(tmp_path / "raw")
    loaded = ds.load_model(path)
    assert not loaded._compiled and np.array_equal(model.predict(xs[0], verbose=0),
                                                   loaded.predict(xs[0], verbose=0))
    model, x, y = _compiled("mlp")
    loaded = ds.load_model(model.save(tmp_path / "c"), compile=False)
    assert not loaded._compiled and loaded.optimizer is None


def test_weights_only_round_trip(tmp_path):
    model, x, y = _compiled("functional")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    path = model.save_weights(tmp_path / "w.safetensors")
    fresh, _, _ = _compiled("functional")
    assert not _equal_weights(model, fresh)
    fresh.load_weights(path)
    assert _equal_weights(model, fresh)
    other, _, _ = _compiled("functional")
    other.load_weights(model.save(tmp_path / "full"))   # weights from a whole model file
    assert _equal_weights(model, other)


def test_unsaveable_models_say_why(tmp_path):
    lazy = ds.Sequential([L.Dense(3)])
    with pytest.raises(ValueError, match="not built"):
        lazy.save(tmp_path / "x")

    class Sub(ds.Model):
        def __init__(self):
            super().__init__()
            self.d = L.Dense(2)

        def call(self, x, training=False):
            return self.d(x)

    sub = Sub()
    sub(np.zeros((1, 3), np.float32))
    with pytest.raises(ValueError, match="subclassed model.*save_weights"):
        sub.save(tmp_path / "y")
    assert not os.listdir(tmp_path)
    sub.load_weights(sub.save_weights(tmp_path / "w.safetensors"))


# ------------------------------------------------------------------ broken files
@pytest.fixture
def saved(tmp_path):
    model, x, y = _compiled("mlp")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    return model, model.save(tmp_path / "good.deepsheet")


def _rewrite(src, dst, drop=(), **entries):
    """Copy archive ``src`` to ``dst`` with entries replaced (bytes, or a function of the JSON)."""
    with zipfile.ZipFile(src) as zf:
        blobs = {n: zf.read(n) for n in zf.namelist() if n not in drop}
    for name, value in entries.items():
        name = name.replace("__", ".")
        if callable(value):
            blobs[name] = json.dumps(value(json.loads(blobs[name]))).encode()
        else:
            blobs[name] = value
    with zipfile.ZipFile(dst, "w") as zf:
        for n, b in blobs.items():
            zf.writestr(n, b)
    return dst


def test_missing_and_empty(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model file"):
        ds.load_model(tmp_path / "nope.deepsheet")
    (tmp_path / "empty.deepsheet").write_bytes(b"")
    with pytest.raises(SavingError, match="empty"):
        ds.load_model(tmp_path / "empty.deepsheet")
    with pytest.raises(SavingError, match="folder"):
        ds.load_model(tmp_path)


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_truncated(saved, tmp_path, keep):
    _, path = saved
    blob = open(path, "rb").read()
    bad = tmp_path / "cut.deepsheet"
    bad.write_bytes(blob[:int(len(blob) * keep)])
    with pytest.raises(SavingError, match="corrupt or truncated"):
        ds.load_model(bad)


def test_corrupt_bytes(saved, tmp_path):
    _, path = saved
    blob = bytearray(open(path, "rb").read())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("model.safetensors")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for i in range(start + 10, start + min(info.compress_size, 200) - 10):
        blob[i] ^= 0x5A
    bad = tmp_path / "flipped.deepsheet"
    bad.write_bytes(bytes(blob))
    with pytest.raises(SavingError, match="corrupt"):
        ds.load_model(bad)


def test_corrupt_entries(saved, tmp_path):
    _, path = saved
    with pytest.raises(SavingError, match="config.json is not valid JSON"):
        ds.load_model(_rewrite(path, tmp_path / "a.deepsheet", config__json=b"{not json"))
    with pytest.raises(SavingError, match="model.safetensors is corrupt"):
        ds.load_model(_rewrite(path, tmp_path / "b.deepsheet", model__safetensors=b"\x10" * 40))
    with pytest.raises(SavingError, match="format"):
        ds.load_model(_rewrite(path, tmp_path / "c.deepsheet",
                               metadata__json=lambda m: {**m, "format": "other"}))
    with pytest.raises(SavingError, match="newer deepsheet"):
        ds.load_model(_rewrite(path, tmp_path / "d.deepsheet",
                               metadata__json=lambda m: {**m, "format_version": 99}))
    with pytest.raises(SavingError, match=r"lacks \['model.safetensors'\]"):
        ds.load_model(_rewrite(path, tmp_path / "e.deepsheet", drop=("model.safetensors",)))
    with pytest.raises(SavingError, match="unexpected entries"):
        ds.load_model(_rewrite(path, tmp_path / "f.deepsheet", **{"payload.pkl": b"x"}))


def test_foreign_files(tmp_path):
    zpath = tmp_path / "random.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(SavingError, match="not a deepsheet model file"):
        ds.load_model(zpath)
    npz = tmp_path / "arrays.npz"
    np.savez(npz, a=np.zeros(3))
    with pytest.raises(SavingError, match="not a deepsheet model file.*a.npy"):
        ds.load_model(npz)
    text = tmp_path / "notes.txt"
    text.write_text("just some text\n")
    with pytest.raises(SavingError, match="not a zip archive"):
        ds.load_model(text)
    js = tmp_path / "config.json"
    js.write_text('{"class_name": "Sequential"}')
    with pytest.raises(SavingError, match="JSON"):
        ds.load_model(js)
    model, _ = _mlp()
    for f in (text, npz, js):
        with pytest.raises(SavingError):
            model.load_weights(f)


class _Payload:
    """Unpickling this creates the marker file: proof that the pickle was executed."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_pickle_is_refused_without_running_it(tmp_path, protocol):
    marker = tmp_path / "pwned"
    blob = pickle.dumps(_Payload(str(marker)), protocol=protocol)
    bad = tmp_path / "model.deepsheet"
    bad.write_bytes(blob)
    with pytest.raises(SavingError, match="pickle"):
        ds.load_model(bad)
    model, _ = _mlp()
    with pytest.raises(SavingError):
        model.load_weights(bad)
    # The same pickle hidden inside an otherwise valid archive, as the weights entry.
    path = _mlp()[0].save(tmp_path / "ok")
    with pytest.raises(SavingError, match="model.safetensors is corrupt"):
        ds.load_model(_rewrite(path, tmp_path / "inner.deepsheet", model__safetensors=blob))
    assert not marker.exists()
    pickle.loads(blob).close()  # the control: unpickling really would have created it
    assert marker.exists()


def _edit_first_layer(edit):
    def change(config):
        edit(config["model"]["config"]["layers"][1])
        return config
    return change


def test_unknown_layer_class_or_key(saved, tmp_path):
    _, path = saved
    bad = _rewrite(path, tmp_path / "cls.deepsheet",
                   config__json=_edit_first_layer(lambda l: l.update(class_name="EvilLayer")))
    with pytest.raises(SavingError, match="unknown layer class 'EvilLayer'"):
        ds.load_model(bad)
    bad = _rewrite(path, tmp_path / "key.deepsheet",
                   config__json=_edit_first_layer(lambda l: l["config"].update(exec="print(1)")))
    with pytest.raises(SavingError, match="exec"):
        ds.load_model(bad)
    bad = _rewrite(path, tmp_path / "top.deepsheet",
                   config__json=lambda c: {**c, "code": "import os"})
    with pytest.raises(SavingError, match="unknown keys \\['code'\\]"):
        ds.load_model(bad)
    bad = _rewrite(path, tmp_path / "opt.deepsheet", config__json=lambda c: {
        **c, "compile": {**c["compile"], "optimizer": {"class_name": "os.system", "config": {}}}})
    with pytest.raises(SavingError, match="compile configuration"):
        ds.load_model(bad)


def _weights_blob(arrays):
    from safetensors.numpy import save
    return save({f"{i:05d}": a for i, a in enumerate(arrays)})


def test_wrong_weight_shapes_dtypes_and_counts(saved, tmp_path):
    model, path = saved
    weights = model.get_weights()
    cases = {
        "shape": ([np.zeros((6, 13), np.float32)] + weights[1:], r"weight 0 .* shape \(6, 13\)"),
        "dtype": ([weights[0].astype(np.float64)] + weights[1:], "dtype float64"),
        "count": (weights[:-1], f"holds {len(weights) - 1} weight arrays"),
    }
    for name, (arrays, message) in cases.items():
        bad = _rewrite(path, tmp_path / f"{name}.deepsheet", model__safetensors=_weights_blob(arrays))
        with pytest.raises(SavingError, match=message):
            ds.load_model(bad)
        wfile = tmp_path / f"{name}.safetensors"
        wfile.write_bytes(_weights_blob(arrays))
        before = model.get_weights()
        with pytest.raises(SavingError, match=message):
            model.load_weights(wfile)
        assert _equal_weights_lists(before, model.get_weights())  # nothing half-loaded


def _equal_weights_lists(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a, b))


def test_optimizer_state_mismatch(saved, tmp_path):
    _, path = saved
    from safetensors.numpy import save
    bad = _rewrite(path, tmp_path / "o.deepsheet", optimizer__safetensors=save(
        {"iterations": np.array(1, np.int64), "7.momentum_buffer": np.zeros(3, np.float32)}))
    with pytest.raises(SavingError, match="optimizer state"):
        ds.load_model(bad)


# ------------------------------------------------------------------ atomic writes
def test_crash_during_save_keeps_previous_file(saved, tmp_path, monkeypatch):
    model, path = saved
    before = open(path, "rb").read()
    calls = []
    real = zipfile.ZipFile.writestr

    def failing(self, name, data, *args, **kwargs):
        calls.append(name)
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        return real(self, name, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", failing)
    model.fit(*_compiled("mlp")[1:], epochs=1, verbose=0)   # change the weights
    with pytest.raises(OSError, match="simulated"):
        model.save(path)
    assert len(calls) == 2
    assert open(path, "rb").read() == before
    assert sorted(os.listdir(tmp_path)) == ["good.deepsheet"]
    calls.clear()
    with pytest.raises(OSError, match="simulated"):
        model.save(tmp_path / "new.deepsheet")
    assert sorted(os.listdir(tmp_path)) == ["good.deepsheet"]
    monkeypatch.undo()
    ds.load_model(path)  # still valid


def test_crash_during_weights_save(saved, tmp_path, monkeypatch):
    model, _ = saved
    target = tmp_path / "w.safetensors"
    model.save_weights(target)
    before = target.read_bytes()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(KeyboardInterrupt):
        model.save_weights(target)
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["good.deepsheet", "w.safetensors"]


def test_read_archive_on_an_in_memory_zip_is_rejected_cleanly(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("config.json", "{}")
        zf.writestr("metadata.json", "[]")
        zf.writestr("model.safetensors", b"")
    path = tmp_path / "x.deepsheet"
    path.write_bytes(buf.getvalue())
    with pytest.raises(SavingError, match="metadata.json must hold a JSON object"):
        ds.load_model(path)
