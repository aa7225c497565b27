"""From what the user passes to ``fit``/``evaluate``/``predict`` to batches of checked arrays.

Inputs, targets and sample weights (arrays, lists or dicts per input/output, or an iterable
of batches) become lists of arrays, checked against the model's inputs and outputs, with
class weights turned into per-sample weights; then batches ``(xs, ys, w)`` moved to the
weights' device. ``pack_data`` / ``unpack_x_y_sample_weight`` convert a batch to and from
the ``data`` that ``train_step``/``test_step``/``predict_step`` receive (Keras's form).
"""
from __future__ import annotations

import numpy as np

from .. import backend
from .. import data as data_mod
from ..tensor import Tensor

__all__ = ["DataAdapter", "pack_data", "unpack_x_y_sample_weight"]


def unpack_x_y_sample_weight(data):
    """``(x, y, sample_weight)`` from a step's ``data``: ``x``, ``(x,)``, ``(x, y)`` or
    ``(x, y, sample_weight)`` (Keras's ``keras.utils.unpack_x_y_sample_weight``)."""
    return data_mod.unpack_batch(tuple(data) if isinstance(data, list) else data)


def pack_data(xs, ys, w):
    """A step's ``data`` from lists of arrays, as Keras 3 packs it: ``x`` itself when there
    are no targets (``(x,)`` when ``x`` is a list of inputs), else ``(x, y)`` or
    ``(x, y, sample_weight)``; ``x`` and ``y`` are single arrays for a single input/output
    and lists otherwise."""
    x = xs[0] if len(xs) == 1 else list(xs)
    if not ys:
        return x if len(xs) == 1 else (x,)
    y = ys[0] if len(ys) == 1 else list(ys)
    return (x, y) if w is None else (x, y, w)


def _first_leaf(x):
    """The first string of ``x`` (a str, a list of str, a string array), else None."""
    if isinstance(x, np.ndarray):
        if x.dtype.kind in "US":
            return ""
        x = x.reshape(-1)[:1].tolist() if x.dtype.kind == "O" else []
    while isinstance(x, (list, tuple)) and x:
        x = x[0]
    return x if isinstance(x, (str, bytes)) else None


class DataAdapter:
    """Data preparation, mixed into ``Model`` (see the module docstring)."""

    def _n_inputs(self):
        return len(self._inputs) if self._graph else 1

    def _prepare_x(self, x):
        if x is None:
            raise ValueError("x is None: pass the input data")
        n_in = self._n_inputs()
        if isinstance(x, dict):
            if not self._graph:
                raise ValueError(f"model '{self.name}' has no named inputs; pass an array")
            x = self._inputs_from_dict(x)
        if n_in == 1:
            if isinstance(x, (list, tuple)) and len(x) == 1 and hasattr(x[0], "shape"):
                x = x[0]
            xs = [self._input_array(x, "x", 0)]
        else:
            if not isinstance(x, (list, tuple)) or len(x) != n_in:
                raise ValueError(f"model '{self.name}' has {n_in} inputs "
                                 f"{[t.name for t in self._inputs]}; pass x as a list of "
                                 f"{n_in} arrays or a dict keyed by input name")
            xs = [self._input_array(a, f"x[{i}]", i) for i, a in enumerate(x)]
        self._check_input_shapes(xs)
        return xs

    def _input_array(self, x, what, i):
        """Input ``i``'s data as an array: numbers by ``data.as_array``'s rules; text (a string
        Input, or a Sequential starting with a text layer) as a string array, never cast."""
        graph = self._graph
        name = self._inputs[i].name if graph else "x"
        text = self._inputs[i].dtype == "string" if graph else self._string_input
        arr = x.data if isinstance(x, Tensor) else x
        if not text:
            if _first_leaf(arr) is not None:
                want = self._inputs[i].dtype if graph else "numbers"
                raise TypeError(f"model '{self.name}' input '{name}' takes {want}, got strings "
                                f"(dtype {np.asarray(arr).dtype}); a model takes raw text "
                                "through Input(shape=(1,), dtype='string') -> TextVectorization")
            return data_mod.as_array(x, what)
        if isinstance(arr, (list, tuple, str, bytes)):
            arr = np.asarray([arr] if isinstance(arr, (str, bytes)) else arr,
                             dtype=object if _first_leaf(arr) is not None else None)
        if not (isinstance(arr, np.ndarray) and arr.dtype.kind in "USO"):
            got = getattr(arr, "dtype", type(arr).__name__)
            raise TypeError(f"model '{self.name}' input '{name}' takes strings (dtype "
                            f"'string'), got {got} values; pass the raw texts (an array or "
                            "list of str)")
        if graph:  # one string per sample: (n,) and (n, 1) both fit shape (1,) or ()
            want = self._inputs[i].shape[1:]
            if want == (1,) and arr.ndim == 1:
                arr = arr[:, None]
            elif want == () and arr.ndim == 2 and arr.shape[1] == 1:
                arr = arr[:, 0]
        return arr

    def _check_input_shapes(self, xs):
        if not self._graph:
            return
        n = len(xs[0])
        for t, a in zip(self._inputs, xs):
            if len(a) != n:
                raise ValueError(f"the model inputs have different numbers of samples "
                                 f"({[len(b) for b in xs]})")
            want, got = t.shape[1:], tuple(a.shape[1:])
            if len(want) == len(got) and all(w is None or w == g for w, g in zip(want, got)):
                continue
            msg = (f"model '{self.name}' expects input '{t.name}' with samples of shape "
                   f"{want}, got an array of shape {tuple(a.shape)}")
            if len(want) == 1 and len(got) > 1 and want[0] == int(np.prod(got)):
                msg += (f"; its first layer takes flat vectors: add layers.Flatten() before it "
                        f"(e.g. Flatten(input_shape={got})) or reshape x to "
                        f"({len(a)}, {want[0]})")
            raise ValueError(msg)

    def _prepare_y(self, y, n):
        names = self.output_names
        if y is None:
            raise ValueError(f"model '{self.name}' needs targets y to compute its loss "
                             "(or pass x as a generator of (x, y) batches)")
        if isinstance(y, dict):
            missing = [e.name for e in self._compiled_loss.active if e.name not in y]
            if missing:
                raise ValueError(f"targets for outputs {missing} are missing from y "
                                 f"(keys: {sorted(y)})")
            ys = [None if k not in y else data_mod.as_array(y[k], f"y[{k!r}]") for k in names]
        elif len(names) > 1:
            if not isinstance(y, (list, tuple)) or len(y) != len(names):
                raise ValueError(f"model '{self.name}' has {len(names)} outputs {names}; pass y "
                                 f"as a list of {len(names)} arrays or a dict keyed by output")
            ys = [None if a is None else data_mod.as_array(a, f"y[{i}]")
                  for i, a in enumerate(y)]
        else:
            if isinstance(y, (list, tuple)) and len(y) == 1 and hasattr(y[0], "shape"):
                y = y[0]
            ys = [data_mod.as_array(y, "y")]
        for name, a in zip(names, ys):
            if a is not None and len(a) != n:
                raise ValueError(f"x and y have different numbers of samples: x has {n}, y"
                                 f"{'' if len(names) == 1 else f' for {name!r}'} has {len(a)}")
        return ys

    def _sample_weights(self, ys, n, sample_weight, class_weight):
        w = None
        if sample_weight is not None:
            w = data_mod.as_array(sample_weight, "sample_weight").astype(np.float32, copy=False)
            if w.ndim != 1 or len(w) != n:
                raise ValueError(f"sample_weight must have shape ({n},) (one weight per "
                                 f"sample), got {tuple(w.shape)}")
            bad = ~backend.array_module(w).isfinite(w)
            if bad.any():
                i = int(bad.nonzero()[0][0])
                raise ValueError(f"sample_weight holds {int(bad.sum())} NaN or infinite "
                                 f"value(s), the first at index {i} ({float(w[i])}); weights "
                                 "must be finite")
        if class_weight is not None:
            if len(ys) > 1:
                raise ValueError("class_weight is for single-output models; use sample_weight "
                                 "per output instead")
            cw = self._class_weights(ys[0], class_weight)
            w = cw if w is None else w * cw
        return w

    @staticmethod
    def _class_weights(y, class_weight):
        """Per-sample weights ``class_weight[label]`` (labels, one-hot rows or 0/1 targets)."""
        if not isinstance(class_weight, dict) or not class_weight:
            raise ValueError(f"class_weight must be a dict {{class index: weight}}, got "
                             f"{class_weight!r}")
        for k, v in class_weight.items():
            if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
                raise ValueError(f"class_weight keys must be class indices (integers >= 0), "
                                 f"got {k!r}")
            if not np.isfinite(float(v)):
                raise ValueError(f"class_weight[{k}] must be a finite number, got {v!r}")
        xp = backend.array_module(y)
        if y.ndim >= 2 and y.shape[-1] > 1:
            labels = y.argmax(axis=-1)
        else:
            labels = y.reshape(len(y), -1)[:, 0]
            labels = xp.rint(labels).astype(np.int64) if labels.dtype.kind == "f" \
                else labels.astype(np.int64)
        top = max(int(labels.max()) if labels.size else 0, max(int(k) for k in class_weight))
        table = np.ones(top + 1, dtype=np.float32)
        for k, v in class_weight.items():
            table[int(k)] = float(v)
        return xp.asarray(table)[labels].reshape(len(y), *labels.shape[1:])

    def _batches(self, x, y, sample_weight, class_weight, batch_size, shuffle, steps,
                 need_y=True, shard=None):
        """(iterable of (xs, ys, w) batches, number of steps or None)."""
        if data_mod.is_dataset(x):
            if y is not None or sample_weight is not None:
                raise ValueError("when x is a generator or iterable of batches, y and "
                                 "sample_weight come from it (pass y=None)")
            it = data_mod.IterableBatches(x, steps)
            try:
                n_steps = len(it)
            except TypeError:
                n_steps = None
            return self._iter_dataset(it, class_weight, need_y), n_steps
        xs, ys, w = self._prepare_batch(x, y, sample_weight, class_weight, need_y)
        return self._arrays_batches(xs, ys, w, batch_size, shuffle, steps, shard)

    def _arrays_batches(self, xs, ys, w, batch_size, shuffle, steps, shard=None):
        """(batches, steps); ``shard`` (deepsheet.distributed's FitShard): this rank's part
        of every global batch."""
        n = len(xs[0])
        b = data_mod.resolve_batch_size(batch_size, n)
        flat = data_mod.ArrayBatches(xs + ys + [w], b, shuffle, steps, shard=shard)
        nx, ny = len(xs), len(ys)
        move = self._device_mover()

        def gen():
            for parts in flat:
                if move is not None:
                    parts = [None if p is None else move(p) for p in parts]
                yield parts[:nx], parts[nx:nx + ny], parts[-1]
        return gen, len(flat)

    def _iter_dataset(self, it, class_weight, need_y):
        move = self._device_mover()

        def gen():
            for item in it:
                xb, yb, wb = data_mod.unpack_batch(item)
                yield self._prepare_batch(xb, yb, wb, class_weight, need_y, move)
        return gen

    def _prepare_batch(self, x, y, sample_weight, class_weight, need_y=True, move=None):
        """(inputs, targets, sample weights or None) of one batch or data set, as lists of
        checked arrays, moved to the weights' device by ``move`` when given. ``need_y``:
        True requires targets, False ignores them, None takes them when given (custom
        steps)."""
        xs = self._prepare_x(x)
        n = len(xs[0])
        if need_y is None:
            need_y = y is not None
            if not need_y and sample_weight is not None:
                raise ValueError("sample_weight was given without targets y")
        ys = self._prepare_y(y, n) if need_y else []
        w = self._sample_weights(ys, n, sample_weight, class_weight) if need_y else None
        if move is not None:
            xs = [move(a) for a in xs]
            ys = [None if a is None else move(a) for a in ys]
            w = None if w is None else move(w)
        return xs, ys, w

    def _device_mover(self):
        weights = self._ordered_weights()
        device = backend.device_of(weights[0].data) if weights else backend.get_default_device()
        if device == "cpu":
            return None
        return lambda a: a if a.dtype.kind in "USO" else backend.to_device(a, device)

    def _validation_batches(self, validation_data, batch_size, steps):
        if data_mod.is_dataset(validation_data):
            return self._iter_dataset(data_mod.IterableBatches(validation_data, steps), None,
                                      True)
        if not isinstance(validation_data, (list, tuple)) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be (x_val, y_val), (x_val, y_val, "
                             "sample_weight_val) or an iterable of batches")
        vx, vy = validation_data[0], validation_data[1]
        vw = validation_data[2] if len(validation_data) == 3 else None
        return self._batches(vx, vy, vw, None, batch_size, False, steps)[0]

