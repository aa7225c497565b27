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
A checkpoint written by ``callbacks.ModelCheckpoint`` at the end of epoch ``k`` records
``epoch = k`` (epochs completed), the library RNG state at that moment and the state of
every callback that has ``get_state``/``set_state`` (keyed by class name, ``_1``, ``_2``
for repeats). ``load_model`` rebuilds the model and its optimizer (step counts, moments,
learning rate); the first ``fit(..., initial_epoch=k)`` on the loaded model then restores
the RNG and the matching callbacks' state before training, so shuffling and dropout draw
the same numbers as an uninterrupted run and the weights come out bit for bit the same.
"""
from __future__ import annotations

import json
import os
import tempfile
import warnings
import zipfile
import zlib

import numpy as np

from . import backend
from ._checked_read import (DEFAULT_MAX_BYTES, check_names, parse_json, read_json_entries,
                            read_tensor_entries, read_tensor_stream, safetensors_header)
from ._files import regular_file

__all__ = ["SavingError", "save_model", "load_model", "save_weights", "load_weights",
           "read_archive", "atomic_write", "training_state", "restore_training_state",
           "EXTENSION"]

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


def _unique_layers(model):
    out, seen = [], set()
    for layer in model._all_layers():
        if id(layer) not in seen:
            seen.add(id(layer))
            out.append(layer)
    return out


def _seeded_generators(model):
    """Private generators of seeded layers (``Dropout(seed=...)``), in layer order."""
    return [(layer.name, layer._generator) for layer in _unique_layers(model)
            if getattr(layer, "_generator", None) is not None]


def _generator_state(gen):
    s = gen.bit_generator.state
    return {"bit_generator": s["bit_generator"],
            "state": {k: int(v) for k, v in s["state"].items()},
            "has_uint32": int(s["has_uint32"]), "uinteger": int(s["uinteger"])}


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
               extra_arrays=None):
    """Write ``model`` (architecture, weights, compile config, optimizer state) to one zip file.

    Parameters
    ----------
    model : Model or Sequential
        Built (its input shape known), with a config (functional or Sequential).
    filepath : str or path
        ``.deepsheet`` is appended when it has no extension.
    overwrite : bool
        False raises ``FileExistsError`` instead of replacing an existing file.
    include_optimizer : bool
        Store the optimizer's state (needed to continue training exactly).
    metadata : dict, optional
        JSON-able entries added to metadata.json (checkpoints store the epoch and
        callback state there).
    extra_arrays : dict, optional
        Name -> array stored in ``callbacks.safetensors``.

    Returns
    -------
    str : the path written.
    """
    from . import __version__
    from .layers import serialize
    path = _model_path(filepath)
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
    weights = _model_weights(model)
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "deepsheet_version": __version__,
            "rng_state": backend.get_rng_state(),
            "layer_rng_states": [[n, _generator_state(g)] for n, g in _seeded_generators(model)],
            "weight_names": [w.name for w in weights]}
    meta.update(metadata or {})
    blobs = {"config.json": json.dumps(config, indent=1).encode(),
             "metadata.json": json.dumps(meta, indent=1).encode(),
             "model.safetensors": _tensors_bytes({_weight_key(i): w.data
                                                  for i, w in enumerate(weights)})}
    opt = getattr(model, "optimizer", None) if include_optimizer else None
    if opt is not None and hasattr(opt, "state_dict"):
        blobs["optimizer.safetensors"] = _tensors_bytes(opt.state_dict())
    if extra_arrays:
        blobs["callbacks.safetensors"] = _tensors_bytes(extra_arrays)

    def write(f):
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for entry, blob in blobs.items():
                zf.writestr(entry, blob)

    atomic_write(path, write, overwrite=overwrite)
    return path


def _restore_generators(model, states, path):
    gens = _seeded_generators(model)
    if not isinstance(states, list) or len(states) != len(gens):
        raise SavingError(f"{path!r}: metadata.json holds {len(states) if isinstance(states, list) else states!r} "
                          f"seeded-layer generator states, the model has {len(gens)}")
    for (name, gen), entry in zip(gens, states):
        try:
            state = entry[1]
            gen.bit_generator.state = {
                "bit_generator": state["bit_generator"],
                "state": {k: int(v) for k, v in state["state"].items()},
                "has_uint32": int(state["has_uint32"]), "uinteger": int(state["uinteger"])}
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise SavingError(f"{path!r}: bad generator state for layer '{name}' ({exc})") from None


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
    _restore_generators(model, metadata.get("layer_rng_states", []), path)
    model.checkpoint_metadata = metadata
    model._checkpoint_arrays = arrays.get("callbacks", {})
    model._checkpoint_resumed = False
    if compile and config.get("compile") is not None:
        try:
            model.compile_from_config(config["compile"])
        except (TypeError, KeyError, ValueError) as exc:
            raise SavingError(f"{path!r}: cannot restore the compile configuration: {exc}") from None
        opt_state = arrays.get("optimizer")
        if opt_state is not None and model.optimizer is not None:
            # The same parameter list, in the same order, that fit binds: state_dict keys
            # are positions in it.
            model._bind_optimizer()
            try:
                model.optimizer.load_state_dict(opt_state)
            except (KeyError, ValueError, TypeError) as exc:
                raise SavingError(f"{path!r}: the optimizer state does not fit the model "
                                  f"({exc})") from None
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


# ------------------------------------------------------------------ resuming training

def _stateful_callbacks(callbacks):
    """``[(key, callback)]`` for callbacks with get_state/set_state: keys are the class name,
    then ``Name_1``, ``Name_2`` for later instances of the same class."""
    out, counts = [], {}
    for cb in callbacks or []:
        if not (callable(getattr(cb, "get_state", None)) and
                callable(getattr(cb, "set_state", None))):
            continue
        name = type(cb).__name__
        n = counts.get(name, 0)
        counts[name] = n + 1
        out.append((name if n == 0 else f"{name}_{n}", cb))
    return out


def training_state(model, callbacks, epoch, batch=None, logs=None):
    """Checkpoint metadata and arrays for a run that has completed ``epoch`` epochs.

    Returns ``(metadata, arrays)`` for ``save_model``: the epoch, the callbacks' states
    (and their best weights, as arrays), the history so far and this epoch's logs. The
    RNG state is added by ``save_model`` itself.
    """
    states, arrays = {}, {}
    history = None
    for cb in callbacks or []:
        if type(cb).__name__ == "History" and getattr(cb, "history", None) is not None:
            history = {"epoch": list(cb.epoch), "history": cb.history}
    for key, cb in _stateful_callbacks(callbacks):
        states[key] = cb.get_state()
        best = getattr(cb, "best_weights", None)
        if isinstance(best, (list, tuple)):
            for i, a in enumerate(best):
                arrays[f"{key}.best_weights.{i:05d}"] = a
    meta = {"epoch": int(epoch), "callbacks": states, "history": history,
            "logs": {k: float(v) for k, v in (logs or {}).items()
                     if isinstance(v, (int, float, np.floating))}}
    if batch is not None:
        meta["batch"] = int(batch)
    return meta, arrays


def restore_training_state(model, callbacks, initial_epoch):
    """Called by ``fit`` before training: if ``model`` came from a checkpoint written after
    ``initial_epoch`` epochs, restore the library RNG and the callbacks' states (once).

    Returns True when it restored something.
    """
    meta = getattr(model, "checkpoint_metadata", None)
    if not initial_epoch or not isinstance(meta, dict) or meta.get("epoch") != initial_epoch \
            or getattr(model, "_checkpoint_resumed", True):
        return False
    model._checkpoint_resumed = True
    if meta.get("batch"):
        warnings.warn(f"the checkpoint was written after batch {meta['batch']} of epoch "
                      f"{initial_epoch + 1}, not at an epoch's end; fit restarts that epoch "
                      "and cannot replay the uninterrupted run exactly", stacklevel=3)
        return False
    backend.set_rng_state(meta["rng_state"])
    saved = meta.get("callbacks") or {}
    arrays = getattr(model, "_checkpoint_arrays", None) or {}
    for key, cb in _stateful_callbacks(callbacks):
        if key not in saved:
            continue
        cb.set_state(saved[key])
        prefix = f"{key}.best_weights."
        best = sorted(k for k in arrays if k.startswith(prefix))
        if best:
            cb.best_weights = [np.array(arrays[k]) for k in best]
    return True
