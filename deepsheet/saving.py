"""Saving and loading models: one zip file, no pickles, atomic writes.

A saved model (``model.save("m.deepsheet")``) is a zip archive holding

* ``config.json``: the architecture as Keras-style ``{"class_name", "config"}`` (layers
  rebuilt through the one layer registry; unknown classes or keys are refused) and, if the
  model was compiled, its compile configuration (optimizer, loss, metrics);
* ``metadata.json``: format and library version, epoch, the library RNG state and callback
  state, so a run can resume exactly;
* ``model.safetensors``: every weight keyed by its position in the model;
* ``optimizer.safetensors`` (optional): the optimizer's state as a flat name -> array map.

Writes go to a temporary file in the same folder, are flushed to disk and renamed over
the target, so a crash mid-save leaves the previous file intact. Reading checks every
entry (names, JSON, shapes, dtypes) and never unpickles or evaluates code.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile

import numpy as np

from . import backend

FORMAT = "deepsheet.model"
FORMAT_VERSION = 1
REQUIRED = ("config.json", "metadata.json", "model.safetensors")
OPTIONAL = ("optimizer.safetensors",)


class SavingError(ValueError):
    """A model or weights file is missing, empty, truncated, corrupt or foreign."""


# ------------------------------------------------------------------ low level

def atomic_write(path, write):
    """Call ``write(fileobj)`` on a temporary file next to ``path``, then rename it over ``path``.

    The rename is atomic on POSIX and Windows, so readers see either the old file or the
    complete new one, never a partial write.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.basename(path), dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _tensors_bytes(arrays):
    from safetensors.numpy import save
    return save({k: np.ascontiguousarray(backend.to_numpy(v)) for k, v in arrays.items()})


def _read_tensors(blob, what, path):
    from safetensors.numpy import load
    try:
        return load(blob)
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error type
        raise SavingError(f"{path}: {what} is corrupt or truncated ({exc})") from None


def _check_file(path, kind):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no {kind} file at {path!r}")
    if os.path.isdir(path):
        raise SavingError(f"{path!r} is a folder, expected a {kind} file")
    if os.path.getsize(path) == 0:
        raise SavingError(f"{path!r} is empty (0 bytes): not a {kind} file; was a save interrupted?")
    return path


def _weight_key(i):
    return f"{i:05d}"


def _model_weights(model):
    return model._ordered_weights()


# ------------------------------------------------------------------ archives

def read_archive(path):
    """Open and validate a ``.deepsheet`` archive; returns (config, metadata, weights, opt_state)."""
    path = _check_file(path, "model")
    with open(path, "rb") as f:
        head = f.read(4)
    if head[:2] != b"PK":
        hint = " (it looks like a pickle, which deepsheet never loads)" if head[:1] == b"\x80" else ""
        raise SavingError(f"{path!r} is not a deepsheet model file: not a zip archive{hint}")
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise SavingError(f"{path!r} is corrupt or truncated: {exc}") from None
    with zf:
        names = set(zf.namelist())
        missing = [n for n in REQUIRED if n not in names]
        extra = sorted(names - set(REQUIRED) - set(OPTIONAL))
        if missing:
            raise SavingError(f"{path!r} is not a deepsheet model file: missing {missing} "
                              f"(found {sorted(names)})")
        if extra:
            raise SavingError(f"{path!r} holds unexpected entries {extra}; refusing to load it")
        try:
            raw = {n: zf.read(n) for n in names}
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
            raise SavingError(f"{path!r} is corrupt or truncated: {exc}") from None
    try:
        config = json.loads(raw["config.json"])
        metadata = json.loads(raw["metadata.json"])
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SavingError(f"{path!r}: config or metadata is not valid JSON ({exc})") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise SavingError(f"{path!r}: metadata does not declare format {FORMAT!r}; "
                          "not a deepsheet model file")
    if metadata.get("format_version", 0) > FORMAT_VERSION:
        raise SavingError(f"{path!r} was written by a newer deepsheet (format version "
                          f"{metadata['format_version']}, this one reads {FORMAT_VERSION})")
    weights = _read_tensors(raw["model.safetensors"], "model.safetensors", path)
    opt_state = None
    if "optimizer.safetensors" in raw:
        opt_state = _read_tensors(raw["optimizer.safetensors"], "optimizer.safetensors", path)
    return config, metadata, weights, opt_state


def _assign_weights(model, arrays, path):
    own = _model_weights(model)
    expected = {_weight_key(i) for i in range(len(own))}
    if set(arrays) != expected:
        raise SavingError(f"{path!r} holds {len(arrays)} weight arrays, the model has "
                          f"{len(own)}; the file does not belong to this architecture")
    for i, w in enumerate(own):
        a = arrays[_weight_key(i)]
        if tuple(a.shape) != tuple(w.shape):
            raise SavingError(f"{path!r}: weight {i} ({w.name}) has shape {a.shape} in the file, "
                              f"the model expects {tuple(w.shape)}")
        if a.dtype != w.data.dtype:
            raise SavingError(f"{path!r}: weight {i} ({w.name}) has dtype {a.dtype} in the file, "
                              f"the model expects {w.data.dtype}")
    for i, w in enumerate(own):
        xp = backend.array_module(w.data)
        w.data[...] = xp.asarray(arrays[_weight_key(i)])


def save_model(model, path, include_optimizer=True, metadata=None):
    """Write ``model`` (architecture, weights, compile config, optimizer state) to one zip file.

    ``metadata`` adds entries to metadata.json (the training loop stores the epoch and
    callback state there for exact resume).
    """
    from . import __version__
    from .layers import serialize
    if not getattr(model, "built", False) or not _model_weights(model) and not model.layers:
        raise ValueError("cannot save a model that has not been built; call it on data or "
                         "give its first layer input_shape")
    config = {"model": serialize(model)}
    compile_config = getattr(model, "get_compile_config", lambda: None)()
    if compile_config is not None:
        config["compile"] = compile_config
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "deepsheet_version": __version__,
            "rng_state": backend.get_rng_state(),
            "weight_names": [w.name for w in _model_weights(model)]}
    meta.update(metadata or {})
    weights = {_weight_key(i): w.data for i, w in enumerate(_model_weights(model))}
    opt = getattr(model, "optimizer", None) if include_optimizer else None
    opt_blob = None
    if opt is not None and hasattr(opt, "state_dict"):
        opt_blob = _tensors_bytes({k: np.asarray(backend.to_numpy(v))
                                   for k, v in opt.state_dict().items()})
    blobs = {"config.json": json.dumps(config, indent=1).encode(),
             "metadata.json": json.dumps(meta, indent=1).encode(),
             "model.safetensors": _tensors_bytes(weights)}
    if opt_blob is not None:
        blobs["optimizer.safetensors"] = opt_blob

    def write(f):
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, blob in blobs.items():
                zf.writestr(name, blob)

    atomic_write(path, write)


def load_model(path, compile=True):  # noqa: A002 - Keras's argument name
    """Rebuild a model saved by ``model.save``: architecture, weights and (if saved) its
    compile configuration and optimizer state, ready to predict or to continue training.

    The file's metadata (epoch, RNG and callback state) is kept on ``model.checkpoint_metadata``;
    ``fit(..., initial_epoch=epoch)`` uses it to resume exactly.
    """
    from .layers import deserialize
    config, metadata, weights, opt_state = read_archive(path)
    if not isinstance(config, dict) or "model" not in config:
        raise SavingError(f"{path!r}: config.json has no 'model' entry")
    try:
        model = deserialize(config["model"])
    except (TypeError, KeyError) as exc:
        raise SavingError(f"{path!r}: cannot rebuild the architecture ({exc})") from None
    _assign_weights(model, weights, path)
    model.checkpoint_metadata = metadata
    if compile and config.get("compile") is not None and hasattr(model, "compile_from_config"):
        model.compile_from_config(config["compile"])
        if opt_state is not None and getattr(model, "optimizer", None) is not None:
            opt = model.optimizer
            if hasattr(opt, "bind"):
                opt.bind(model.trainable_weights)
            try:
                opt.load_state_dict(opt_state)
            except (KeyError, ValueError) as exc:
                raise SavingError(f"{path!r}: optimizer state does not match the model ({exc})") from None
    return model


def save_weights(model, path):
    """Write only the weights (a safetensors file), atomically."""
    blob = _tensors_bytes({_weight_key(i): w.data for i, w in enumerate(_model_weights(model))})
    atomic_write(path, lambda f: f.write(blob))


def load_weights(model, path):
    """Load weights written by ``save_weights`` (or a full model file) into ``model``."""
    path = _check_file(path, "weights")
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:2] == b"PK":
        _, _, arrays, _ = read_archive(path)
    else:
        arrays = _read_tensors(blob, "the weights file", path)
    _assign_weights(model, arrays, path)
