"""Saving and loading models: one zip file, no pickles, atomic writes, exact resume.

A saved model (``model.save("m.deepsheet")``) is a zip archive holding

* ``config.json``: the architecture as Keras-style ``{"class_name", "config"}`` (layers
  rebuilt through the one layer registry; unknown classes or keys are refused) and, if the
  model was compiled, its compile configuration (optimizer, loss, metrics);
* ``metadata.json``: format and library version, the library RNG state, the state of
  seeded layers' private generators and, in checkpoints, the epoch, the callbacks' state
  and the history so far;
* ``model.safetensors``: every weight keyed by its position in the model (``00000``,
  ``00001``, ... in ``get_weights`` order);
* ``optimizer.safetensors`` (optional): the optimizer's state as a flat name -> array map
  (step counts, moments, the learning rate);
* ``callbacks.safetensors`` (optional, checkpoints): arrays that callbacks keep, e.g.
  ``EarlyStopping``'s best weights.

Writes go to a temporary file in the same folder, are flushed to disk and renamed over
the target, so a crash mid-save leaves the previous file intact. Reading checks every
entry (names, JSON, shapes, dtypes, layer classes) and never unpickles or evaluates code:
the only decoders used are ``zipfile``, ``json`` and ``safetensors``.

Exact resume
------------
What a resumed run needs is one ``checkpoint.TrainingState`` (every optimizer, the RNGs,
the callbacks' state, epoch, history); this module only writes it (metadata.json,
optimizer.safetensors, callbacks.safetensors) and reads it back. ``load_model`` rebuilds
the model, restores its optimizers and seeded layers, and leaves the rest for the first
``fit(..., initial_epoch=k)`` (see ``deepsheet.checkpoint``).
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
import zlib

import numpy as np

from . import backend
from ._checked_read import (DEFAULT_MAX_BYTES, check_names, parse_json, read_json_entries,
                            read_tensor_entries, read_tensor_stream, safetensors_header)
from ._files import regular_file

__all__ = ["SavingError", "save_model", "load_model", "save_weights", "load_weights",
           "read_archive", "atomic_write", "save_checkpoint", "load_checkpoint", "EXTENSION"]

FORMAT = "deepsheet.model"
FORMAT_VERSION = 1
EXTENSION = ".deepsheet"
REQUIRED = ("config.json", "metadata.json", "model.safetensors")
OPTIONAL = ("optimizer.safetensors", "callbacks.safetensors")
CONFIG_KEYS = {"model", "compile"}


class SavingError(ValueError):
    """A model or weights file is empty, truncated, corrupt, foreign or does not fit the model."""


# ------------------------------------------------------------------ low level

def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


_TMP_PREFIX = ".tmp-"


def _remove_stale_temporaries(folder):
    """Delete temporary files that a killed save left in ``folder``.

    Their names carry the writing process's id; a file whose process is gone is a
    leftover (a live process may still be writing its own, so those stay).
    """
    try:
        names = [n for n in os.listdir(folder) if n.startswith(_TMP_PREFIX)]
    except OSError:
        return
    for name in names:
        pid = name[len(_TMP_PREFIX):].split("-", 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
            continue  # still running
        except ProcessLookupError:
            pass
        except (PermissionError, OverflowError, ValueError):
            continue
        try:
            os.unlink(os.path.join(folder, name))
        except OSError:
            pass


def atomic_write(path, write, overwrite=True):
    """Call ``write(fileobj)`` on a temporary file next to ``path``, then rename it over ``path``.

    The rename is atomic (POSIX and Windows), so readers see either the old file or the
    complete new one, never a partial write; if ``write`` raises, the temporary file is
    removed and ``path`` is untouched.
    """
    path = os.fspath(path)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path!r} exists; pass overwrite=True to replace it")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    _remove_stale_temporaries(folder)
    fd, tmp = tempfile.mkstemp(prefix=f"{_TMP_PREFIX}{os.getpid()}-",
                               suffix="-" + os.path.basename(path), dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable (POSIX; a no-op elsewhere)
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def _tensors_bytes(arrays):
    from safetensors.numpy import save
    # np.ascontiguousarray would turn 0-d arrays (step counts) into shape (1,).
    return save({k: np.require(backend.to_numpy(v), requirements="C") for k, v in arrays.items()})


def _read_tensors(blob, what, path):
    from safetensors.numpy import load
    try:
        return load(blob)
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types
        raise SavingError(f"{path!r}: {what} is corrupt or truncated ({exc})") from None


def _check_file(path, kind):
    path = regular_file(path, kind, SavingError)
    if os.path.getsize(path) == 0:
        raise SavingError(f"{path!r} is empty (0 bytes), not a {kind} file; was a save "
                          "interrupted?")
    return path


def _model_path(path):
    """``path`` with ``.deepsheet`` added when it has no extension."""
    path = os.fspath(path)
    return path if os.path.splitext(path)[1] else path + EXTENSION


def _weight_key(i):
    return f"{i:05d}"


def _model_weights(model):
    return model._ordered_weights()


def _describe(head):
    """A guess at what a non-zip file is, for the error message."""
    if head[:1] == b"\x80" or head[:1] in (b"(", b"c", b"]", b"}"):
        return " (it looks like a Python pickle, which deepsheet never loads)"
    if head.lstrip()[:1] in (b"{", b"["):
        return " (it looks like JSON text)"
    if head[:6] == b"\x93NUMPY":
        return " (it is a NumPy .npy file)"
    if head[:4] == b"\x89HDF":
        return " (it is an HDF5 file, e.g. a Keras .h5)"
    return ""


# ------------------------------------------------------------------ archives

def read_archive(path, max_bytes=DEFAULT_MAX_BYTES):
    """Open and validate a ``.deepsheet`` archive, reading nothing past its budgets.

    Sizes, names, JSON nesting and number lengths, and the safetensors headers are
    checked before the bytes are read (see ``deepsheet._checked_read``); all weights
    together may take at most ``max_bytes``.

    Returns ``(config, metadata, arrays)`` where ``arrays`` maps each ``.safetensors``
    entry's name (``"model"``, ``"optimizer"``, ``"callbacks"``) to its arrays. Raises
    ``FileNotFoundError`` or ``SavingError`` saying what is wrong with the file.
    """
    path = _check_file(path, "model")
    with open(path, "rb") as f:
        head = f.read(8)
    if head[:4] != b"PK\x03\x04":
        raise SavingError(f"{path!r} is not a deepsheet model file: not a zip archive"
                          f"{_describe(head)}")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise SavingError(f"{path!r} is corrupt or truncated: {exc}") from None
    with zf:
        infos = check_names(zf, REQUIRED, OPTIONAL, path, SavingError)
        raw = read_json_entries(zf, infos, path, SavingError)
        parsed = {}
        for name in ("config.json", "metadata.json"):
            parsed[name] = parse_json(raw[name], name, path, SavingError)
            if not isinstance(parsed[name], dict):
                raise SavingError(f"{path!r}: {name} must hold a JSON object, got "
                                  f"{type(parsed[name]).__name__}")
        config, metadata = parsed["config.json"], parsed["metadata.json"]
        if metadata.get("format") != FORMAT:
            raise SavingError(f"{path!r}: metadata.json does not declare format {FORMAT!r}; "
                              "not a deepsheet model file")
        version = metadata.get("format_version")
        if not isinstance(version, int) or version < 1:
            raise SavingError(f"{path!r}: metadata.json has no valid format_version ({version!r})")
        if version > FORMAT_VERSION:
            raise SavingError(f"{path!r} was written by a newer deepsheet (format version "
                              f"{version}, this one reads up to {FORMAT_VERSION}); upgrade deepsheet")
        unknown = set(config) - CONFIG_KEYS
        if unknown or "model" not in config:
            raise SavingError(f"{path!r}: config.json has unknown keys {sorted(unknown)}" if unknown
                              else f"{path!r}: config.json has no 'model' entry")
        raw = read_tensor_entries(zf, infos, path, SavingError, max_bytes)
    arrays = {name[:-len(".safetensors")]: _read_tensors(raw[name], name, path)
              for name in raw if name.endswith(".safetensors")}
    return config, metadata, arrays


def _assign_weights(model, arrays, path):
    """Check every array against the model's weights, then copy them all in."""
    own = _model_weights(model)
    expected = [_weight_key(i) for i in range(len(own))]
    if set(arrays) != set(expected):
        raise SavingError(f"{path!r} holds {len(arrays)} weight arrays, the model has "
                          f"{len(own)}; the file does not belong to this architecture")
    for i, w in enumerate(own):
        a = arrays[expected[i]]
        if tuple(a.shape) != tuple(w.shape):
            raise SavingError(f"{path!r}: weight {i} ('{w.name}') has shape {tuple(a.shape)} in "
                              f"the file, the model expects {tuple(w.shape)}")
        if a.dtype != w.data.dtype:
            raise SavingError(f"{path!r}: weight {i} ('{w.name}') has dtype {a.dtype} in the "
                              f"file, the model expects {w.data.dtype}")
    for i, w in enumerate(own):
        a = arrays[expected[i]]
        if isinstance(w.data, np.ndarray) and not w.data.flags.writeable:
            # a placeholder from deferred_initializers: the file's array takes its place
            w.data = backend.to_device(np.array(a, copy=True), backend.get_default_device())
        else:
            w.data[...] = backend.array_module(w.data).asarray(a)


def save_model(model, filepath, overwrite=True, include_optimizer=True, metadata=None,
               state=None):
    """Write ``model`` (architecture, weights, compile config, training state) to one zip file.

    Parameters
    ----------
    model : Model or Sequential
        Built (its input shape known), with a config (functional, Sequential, or a
        subclass with ``get_config``/``from_config``).
    filepath : str or path
        ``.deepsheet`` is appended when it has no extension.
    overwrite : bool
        False raises ``FileExistsError`` instead of replacing an existing file.
    include_optimizer : bool
        Store the optimizers' state (needed to continue training exactly).
    metadata : dict, optional
        JSON-able entries added to metadata.json.
    state : checkpoint.TrainingState, optional
        The training state to store (checkpoints capture epoch and callbacks); by default
        the model's own (RNGs and optimizers).

    Returns
    -------
    str : the path written.
    """
    from .layers import serialize
    name = getattr(model, "name", type(model).__name__)
    if not getattr(model, "built", False):
        raise ValueError(f"cannot save model '{name}': it is not built yet; give its first "
                         "layer input_shape=, start it with deepsheet.Input, or call it on data")
    try:
        config = {"model": serialize(model)}
    except NotImplementedError as exc:
        raise ValueError(f"cannot save model '{name}': {exc}; its weights can be saved with "
                         "save_weights()") from None
    compile_config = getattr(model, "get_compile_config", lambda: None)()
    if compile_config is not None:
        config["compile"] = compile_config
    return _write(model, _model_path(filepath), config, state, include_optimizer, metadata,
                  overwrite)


def save_checkpoint(model, filepath, state, overwrite=True):
    """Write weights and training ``state`` of any model, subclassed ones included (whose
    architecture is code: config.json then holds ``"model": null``). ``BackupAndRestore``
    writes these; ``load_checkpoint`` reads them back into a model built by the same code."""
    from .layers import serialize
    try:
        config = {"model": serialize(model)}
    except NotImplementedError:
        config = {"model": None}
    return _write(model, os.fspath(filepath), config, state, True, None, overwrite)


def _write(model, path, config, state, include_optimizer, metadata, overwrite):
    from . import __version__
    from .checkpoint import TrainingState
    if state is None:
        state = TrainingState.capture(model, include_optimizers=include_optimizer)
    state_meta, arrays = state.to_files()
    weights = _model_weights(model)
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "deepsheet_version": __version__,
            **state_meta, "weight_names": [w.name for w in weights]}
    meta.update(metadata or {})
    blobs = {"config.json": json.dumps(config, indent=1).encode(),
             "metadata.json": json.dumps(meta, indent=1).encode(),
             "model.safetensors": _tensors_bytes({_weight_key(i): w.data
                                                  for i, w in enumerate(weights)})}
    if arrays["optimizer"]:
        blobs["optimizer.safetensors"] = _tensors_bytes(arrays["optimizer"])
    if arrays["callbacks"]:
        blobs["callbacks.safetensors"] = _tensors_bytes(arrays["callbacks"])

    def write(f):
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for entry, blob in blobs.items():
                zf.writestr(entry, blob)

    atomic_write(path, write, overwrite=overwrite)
    return path


def load_checkpoint(model, filepath, max_bytes=DEFAULT_MAX_BYTES):
    """Read ``save_checkpoint``'s file into ``model`` (weights now); returns its
    ``checkpoint.TrainingState`` for the caller to restore."""
    from .checkpoint import TrainingState
    path = os.fspath(filepath)
    _, metadata, arrays = read_archive(path, max_bytes)
    _assign_weights(model, arrays["model"], path)
    return TrainingState.from_files(metadata, arrays)


def load_model(filepath, compile=True, max_bytes=DEFAULT_MAX_BYTES):  # noqa: A002 - Keras's name
    """Rebuild a model saved by ``model.save``, ready to predict or to continue training.

    Architecture, weights, and (with ``compile=True``, if it was compiled) the compile
    configuration and the optimizer's state. The file's metadata is kept on
    ``model.checkpoint_metadata``; the first ``fit(..., initial_epoch=epoch)`` uses it to
    resume exactly (see the module docstring).

    Raises
    ------
    FileNotFoundError
        No file at ``filepath`` (nor at ``filepath + ".deepsheet"``).
    SavingError
        The file is empty, truncated, corrupt, foreign, or names unknown layer classes
        or config keys.
    """
    from . import models  # noqa: F401 - registers Model and Sequential with the layer registry
    from .layers import deserialize
    from .layers.base import deferred_initializers
    path = os.fspath(filepath)
    if not os.path.exists(path) and os.path.exists(path + EXTENSION):
        path += EXTENSION
    config, metadata, arrays = read_archive(path, max_bytes)
    try:
        # Weights are placeholders until their shapes are checked against the file: a
        # config asking for 10**8 units costs nothing before it is refused.
        with deferred_initializers():
            model = deserialize(config["model"])
    except (TypeError, KeyError, ValueError, IndexError, AttributeError, OverflowError,
            RecursionError, MemoryError) as exc:
        raise SavingError(f"{path!r}: cannot rebuild the architecture: {exc}") from None
    if not hasattr(model, "_ordered_weights") or not hasattr(model, "compile"):
        raise SavingError(f"{path!r}: config.json describes a {type(model).__name__}, not a model")
    _assign_weights(model, arrays["model"], path)
    from .checkpoint import TrainingState, attach
    state = TrainingState.from_files(metadata, arrays)
    if compile and config.get("compile") is not None:
        try:
            model.compile_from_config(config["compile"])
        except (TypeError, KeyError, ValueError) as exc:
            raise SavingError(f"{path!r}: cannot restore the compile configuration: {exc}") from None
    else:
        state.optimizers = {}
    try:
        state.restore_model(model)
    except (KeyError, ValueError, TypeError) as exc:
        raise SavingError(f"{path!r}: the saved training state (optimizer state, layer "
                          f"generators) does not fit the model ({exc})") from None
    attach(model, state, metadata)
    return model


def save_weights(model, filepath, overwrite=True):
    """Write only the weights (a safetensors file keyed by weight position), atomically."""
    path = os.fspath(filepath)
    weights = _model_weights(model)
    if not weights and not getattr(model, "built", False):
        raise ValueError(f"cannot save the weights of model '{model.name}': it is not built "
                         "yet (no weights exist)")
    blob = _tensors_bytes({_weight_key(i): w.data for i, w in enumerate(weights)})
    atomic_write(path, lambda f: f.write(blob), overwrite=overwrite)
    return path


def load_weights(model, filepath, max_bytes=DEFAULT_MAX_BYTES):
    """Load weights written by ``save_weights`` (or a whole model file) into ``model``.

    The safetensors header is read and checked first; no more than it declares (and at
    most ``max_bytes``) is read.
    """
    path = _check_file(filepath, "weights")
    with open(path, "rb") as f:
        head = f.read(8)
        if head[:4] == b"PK\x03\x04":
            arrays = None
        else:
            f.seek(0)
            what = "the weights file"
            try:
                blob, _ = read_tensor_stream(f, what, max_bytes, max_bytes, path, SavingError)
            except SavingError as exc:
                raise SavingError(f"{exc}; {path!r} is not a deepsheet weights file "
                                  f"(safetensors) nor a model file{_describe(head)}") from None
            safetensors_header(blob, what, path, SavingError)
            arrays = _read_tensors(blob, what, path)
    if arrays is None:
        arrays = read_archive(path, max_bytes)[2]["model"]
    _assign_weights(model, arrays, path)
