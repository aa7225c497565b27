"""The loops around the steps: ``fit``, ``evaluate``, ``predict`` and the ``*_on_batch`` calls.

``fit`` is one loop over epochs and batches that calls the callbacks' hooks and one
``train_step`` per batch (``evaluate``: ``test_step``, ``predict``: ``predict_step``).
When a step is Keras's default, the loop calls its fast form on lists of arrays; when a
subclass overrides it, the loop calls the override with Keras's ``data`` and takes the
logs it returns. Epoch logs are the streaming metrics' results (``Model.metrics``), reset
at the start of each pass.
"""
from __future__ import annotations

import contextlib
import time
import warnings

import numpy as np

from .. import backend, parallel
from .. import data as data_mod
from ..autograd import no_grad
from ..functional import _team
from ..tensor import Tensor
from .data_adapter import pack_data

__all__ = ["Loops", "as_float"]


class _TeamTuner:
    """The size of the BLAS team a dense-only model's steps run in: the threads
    ``parallel.team_threads`` offers, or one, whichever its steps measure faster.

    OpenBLAS's idle team thread spins between products, and on some machines that slows the
    caller's serial work (Adam, the layers' glue) more than the second thread gains: on the
    2-vCPU VM this was measured on, the reference MLP's two-thread step switched between
    ~1.5 and ~2.4 ms for minutes at a time while one thread stayed at ~2.1 ms. So every
    RETUNE steps, after SKIP steps (the first ones of a run are slow: memory touched for the
    first time, threads waking), 2·TRIALS steps alternate the two sizes, and the best time of
    each decides: one thread is kept only where it is faster by more than MARGIN, so noise
    leaves the team as offered. The one-thread trials cost ~0.6 ms each where the team is
    faster, hence a round only every RETUNE steps (~1.4 s of the reference MLP; the machine's
    modes last minutes). Models run in a team only where its products are
    bit-identical at every size (``functional._team``), so this changes the speed, never the
    numbers.
    """

    SKIP, TRIALS, RETUNE, MARGIN = 3, 3, 1000, 0.97

    def __init__(self):
        self.calls, self.offered, self.choice = 0, None, None
        self.times = {}

    def size(self, n):
        """(team size for this step, whether it is a timed trial) when ``n`` are offered."""
        if n == 1:
            return 1, False
        if n != self.offered:  # another offer (the load changed): tune again
            self.offered, self.calls, self.times, self.choice = n, 0, {}, None
        k = self.calls % self.RETUNE - self.SKIP
        self.calls += 1
        if 0 <= k < 2 * self.TRIALS:
            return (n if k % 2 == 0 else 1), True
        return (self.choice or n), False

    def record(self, size, seconds):
        """Keep a trial's time; after the last trial of a round, choose."""
        times = self.times.setdefault(size, [])
        times.append(seconds)
        del times[:-self.TRIALS]
        if self.calls % self.RETUNE == self.SKIP + 2 * self.TRIALS and len(self.times) == 2:
            one = min(self.times.pop(1))
            team = min(self.times[self.offered])
            self.choice = 1 if one < self.MARGIN * team else self.offered
            self.times.clear()


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_fit_numbers(initial_epoch, steps_per_epoch, validation_split, validation_freq):
    """``fit``'s numeric arguments, each refused by name before any work is done."""
    if not _is_int(initial_epoch) or initial_epoch < 0:
        raise ValueError(f"initial_epoch must be an int >= 0, got {initial_epoch!r}")
    if steps_per_epoch is not None and (not _is_int(steps_per_epoch) or steps_per_epoch < 1):
        raise ValueError(f"steps_per_epoch must be None or an int >= 1, got {steps_per_epoch!r}")
    if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float,
                                                                                np.floating,
                                                                                np.integer)) \
            or not 0 <= validation_split < 1:
        raise ValueError(f"validation_split must be a number in [0, 1), got "
                         f"{validation_split!r}")
    if not _is_int(validation_freq) or validation_freq < 1:
        raise ValueError(f"validation_freq must be an int >= 1, got {validation_freq!r}")


def resolve_verbose(verbose):
    if verbose == "auto":
        return 1
    if verbose in (0, 1, 2) and not isinstance(verbose, float):
        return int(verbose)
    raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")


def overrides(model, name):
    """True when ``model``'s class replaces the default step ``name`` (a custom step)."""
    from .training import Trainer
    return getattr(type(model), name) is not getattr(Trainer, name)


def as_float(value):
    """A log value (number, array, 0-d Tensor) as a Python float."""
    data = value.data if isinstance(value, Tensor) else value
    return float(backend.to_numpy(data)) if hasattr(data, "shape") else float(data)


_NO_TEAM = contextlib.nullcontext()


def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


class Loops:
    """``fit``/``evaluate``/``predict``, mixed into ``Model`` through ``Trainer``."""

    def _check_ready(self, what, step):
        """Compiled, and with a loss where the default ``step`` needs one."""
        if not self._compiled:
            raise RuntimeError(f"model '{self.name}' must be compiled before {what}(): call "
                               "model.compile(optimizer=..., loss=..., metrics=[...]) first")
        if step is not None and not overrides(self, step) and not self._compiled_loss:
            raise ValueError(f"model '{self.name}' was compiled without a loss, and the default "
                             f"{step}() calls compute_loss(), which needs one: "
                             f"compile(loss=...) before {what}(), or override {step}()")

    def _needs_y(self, step):
        """Targets are required by the default steps, optional for overridden ones."""
        return None if overrides(self, step) else True

    def _blas_team_ok(self):
        """True when every layer is ``_blas_team_ok`` (products and light elementwise passes).

        The steps of such a model (an MLP) run inside ``parallel.blas_team``: its mid-sized
        products run whole on BLAS's own threads, which split them better than the pool's
        blocks, and nothing else of the step is worth a pool thread (measured in
        docs/notes/issue-20.md, session 3). Whether a model qualifies depends on its layers
        and on whether this machine's BLAS gives the same products at every team size
        (``functional._team``, probed once), never on the thread count, so neither do its
        results.
        """
        if not all(layer._blas_team_ok or isinstance(layer, Loops)
                   for layer in self._all_layers()):
            return False
        dtype = next((w.data.dtype for w in self.weights), backend.get_default_dtype())
        return _team.agree(dtype)

    def _run_step(self, step, xs, ys, w, team=None, custom=None):
        """One step (in a ``blas_team`` block where ``team``; None: ask the layers), the
        team's size chosen by timing (``_TeamTuner``); ``custom``: whether ``step`` is
        overridden (None: look)."""
        if team is None:
            team = self._blas_team_ok()
        if custom is None:
            custom = overrides(self, step)
        if team:
            tuner = vars(self).setdefault("_team_tuners", {}).get(step)
            if tuner is None:
                tuner = self._team_tuners[step] = _TeamTuner()
            n, trial = tuner.size(parallel.team_threads())
            start = time.perf_counter()
            with parallel.blas_team(n):
                logs = self._run_step_here(step, xs, ys, w, custom)
            if trial:
                tuner.record(n, time.perf_counter() - start)
            return logs
        return self._run_step_here(step, xs, ys, w, custom)

    def _run_step_here(self, step, xs, ys, w, custom):
        """One step: the fast default, or the override called with Keras's ``data``."""
        if not custom:
            (self._train_batch if step == "train_step" else self._test_batch)(xs, ys, w)
            return None
        logs = getattr(self, step)(pack_data(xs, ys, w))
        if not isinstance(logs, dict):
            raise TypeError(f"{type(self).__name__} '{self.name}'.{step}() must return a dict "
                            f"of logs {{name: value}} (e.g. self.get_metrics_result()), got "
                            f"{type(logs).__name__}")
        return {k: as_float(v) if not isinstance(v, str) else v for k, v in logs.items()}

    def _run_epoch(self, make_batches, train, cbl=None):
        """One pass over the batches; returns the epoch logs (the streaming metrics)."""
        self.reset_metrics()
        step_name = "train_step" if train else "test_step"
        hooks = None
        if cbl is not None:
            hooks = cbl.train_batch if train else cbl.test_batch
            begin = cbl.on_train_batch_begin if train else cbl.on_test_batch_begin
            end = cbl.on_train_batch_end if train else cbl.on_test_batch_end
        logs, seen = None, 0
        team, custom = self._blas_team_ok(), overrides(self, step_name)
        for step, (xs, ys, w) in enumerate(make_batches()):
            if hooks:
                begin(step)
            logs = self._run_step(step_name, xs, ys, w, team, custom)
            seen += len(xs[0])
            if hooks:
                end(step, logs if logs is not None else self.get_metrics_result())
            if train and self.stop_training:
                break
        self._last_epoch_seen = seen
        if logs is None:
            logs = self.get_metrics_result()
            if not seen:
                logs = {k: float("nan") if k == "loss" else v for k, v in logs.items()}
        return logs

    def _fit_data(self, x, y, sample_weight, class_weight, batch_size, shuffle, steps_per_epoch,
                  validation_split, validation_data, validation_batch_size, validation_steps):
        """``(train batches, steps per epoch, validation batches or None)`` for ``fit``."""
        need_y = self._needs_y("train_step")
        # A distributed optimizer (deepsheet.distributed) says which part of each global batch
        # this rank trains on; validation and prediction read everything.
        shard = getattr(self.optimizer, "data_shard", None)
        if validation_split and validation_data is None:
            if data_mod.is_dataset(x):
                raise ValueError("validation_split needs arrays; with a generator pass "
                                 "validation_data")
            xs, ys, w = self._prepare_batch(x, y, sample_weight, class_weight, need_y)
            (xs, ys, w), (vxs, vys, vw) = [
                (part[:len(xs)], part[len(xs):len(xs) + len(ys)], part[-1])
                for part in data_mod.split_tail(xs + ys + [w], validation_split)]
            train, steps = self._arrays_batches(xs, ys, w, batch_size, shuffle, steps_per_epoch,
                                                shard)
            val = self._arrays_batches(vxs, vys, vw, validation_batch_size or batch_size,
                                       False, validation_steps)[0]
            return train, steps, val
        train, steps = self._batches(x, y, sample_weight, class_weight, batch_size, shuffle,
                                     steps_per_epoch, need_y, shard)
        val = None
        if validation_data is not None:
            val = self._validation_batches(validation_data, validation_batch_size or batch_size,
                                           validation_steps)
        return train, steps, val

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Train for ``epochs`` passes over the data, one ``train_step`` per batch; returns a
        ``History``.

        Parameters
        ----------
        x, y : arrays (lists/dicts for several inputs/outputs), or ``x`` an iterable or
            generator of ``(x, y)`` / ``(x, y, sample_weight)`` batches with ``y=None``.
            ``y`` may be left out when ``train_step`` is overridden.
        batch_size : int, None or "full"
            None is 32 (Keras); "full" is batch gradient descent (one step per epoch);
            1 is stochastic gradient descent; b takes ``ceil(n / b)`` steps per epoch.
        epochs : int
            Index of the last epoch (training runs epochs ``initial_epoch .. epochs-1``).
        verbose : "auto", 0, 1 or 2
            0 silent; 1 a live bar on a terminal (one line per epoch otherwise); 2 one
            line per epoch.
        callbacks : list of Callback
        validation_split : float
            Hold out the last fraction of the arrays (before shuffling) for validation.
        validation_data : (x_val, y_val[, w_val]) or an iterable of batches
        shuffle : bool
            Reshuffle the arrays every epoch with the library RNG (reproducible).
        class_weight : dict, optional
            ``{class: weight}``; each sample's loss is scaled by its class's weight.
        sample_weight : array (n,), optional
            Per-sample loss weights (the loss divides the weighted sum by the batch size).
        initial_epoch : int
            Epoch to resume from. The first ``fit`` on a model from ``load_model`` whose
            checkpoint was written after ``initial_epoch`` epochs (``ModelCheckpoint``) first
            restores the training state (``deepsheet.checkpoint``: RNGs, every optimizer,
            the callbacks passed here), so the run continues bit for bit.
        steps_per_epoch : int, optional
            Batches per epoch (needed for endless generators).
        validation_freq : int
            Validate every ``validation_freq`` epochs.

        Examples
        --------
        >>> import numpy as np, deepsheet as ds
        >>> model = ds.Sequential([ds.layers.Dense(1, input_shape=(3,))])
        >>> model.compile("sgd", "mse")
        >>> history = model.fit(np.ones((8, 3)), np.ones((8, 1)), epochs=2, verbose=0)
        >>> len(history.history["loss"]), model.optimizer.iterations   # 1 step per epoch
        (2, 2)
        """
        self._check_ready("fit", "train_step")
        verbose = resolve_verbose(verbose)
        parallel.ensure_blas()  # BLAS single-threaded before the first product (no spinning)
        if not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative int, got {epochs!r}")
        _check_fit_numbers(initial_epoch, steps_per_epoch, validation_split, validation_freq)
        train, steps, val = self._fit_data(
            x, y, sample_weight, class_weight, batch_size, shuffle, steps_per_epoch,
            validation_split, validation_data, validation_batch_size, validation_steps)
        if steps == 0:
            raise ValueError("fit got no training samples (x is empty)")
        cbl = self._callback_list(callbacks, add_history=True, verbose=verbose, epochs=epochs,
                                  steps=steps)
        self.fit_callbacks = cbl.callbacks
        self.stop_training, self._nan_batches = False, 0
        self._needs_bind, self._penalty_sources = True, None
        from ..checkpoint import resume
        initial_epoch = resume(self, cbl.callbacks, initial_epoch)
        logs = {}
        cbl.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            self._current_epoch = epoch
            cbl.on_epoch_begin(epoch)
            logs = self._run_epoch(train, True, cbl)
            if self._last_epoch_seen == 0:
                warnings.warn("fit: the training data ran out (a generator is exhausted); "
                              "pass steps_per_epoch or a re-iterable loader", stacklevel=2)
                break
            if val is not None and (epoch + 1) % validation_freq == 0:
                with no_grad():
                    val_logs = self._run_epoch(val, False)
                logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cbl.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        self._current_epoch = None
        cbl.on_train_end(logs)
        self.fit_callbacks = None
        return cbl.history

    def _callback_list(self, callbacks, add_history, verbose, **params):
        from ..callbacks import CallbackList
        return CallbackList(callbacks, add_history=add_history, add_progbar=verbose != 0,
                            model=self, verbose=verbose, **params)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        """Loss and metrics on the given data, one ``test_step`` per batch, no graph recorded.

        Returns the loss alone when nothing else is tracked, else the values in
        ``model.metrics_names`` order, or a dict with ``return_dict=True``.
        """
        self._check_ready("evaluate", "test_step")
        verbose = resolve_verbose(verbose)
        parallel.ensure_blas()  # BLAS single-threaded before the first product (no spinning)
        batches, n_steps = self._batches(x, y, sample_weight, None, batch_size, False, steps,
                                         self._needs_y("test_step"))
        if n_steps == 0:
            raise ValueError(f"evaluate got no samples (x is empty); model '{self.name}' needs "
                             "at least one to compute a loss")
        cbl = self._callback_list(callbacks, add_history=False, verbose=verbose, steps=n_steps)
        self._penalty_sources = None
        cbl.on_test_begin()
        with no_grad():
            logs = self._run_epoch(batches, False, cbl)
        cbl.on_test_end(logs)
        return self._format_results(logs, return_dict)

    def _format_results(self, logs, return_dict):
        if return_dict:
            return dict(logs)
        names = self.metrics_names
        values = [logs[k] for k in names] if names and all(k in logs for k in names) \
            else list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Model outputs for ``x`` as NumPy arrays, one ``predict_step`` per batch under
        ``no_grad``. ``x`` may also be an iterable of batches (``x`` or ``(x, ...)`` items).
        """
        verbose = resolve_verbose(verbose)
        parallel.ensure_blas()  # BLAS single-threaded before the first product (no spinning)
        if data_mod.is_dataset(x):
            batches, n_steps = self._batches(x, None, None, None, batch_size, False, steps,
                                             need_y=False)
        else:
            xs = self._prepare_x(x)
            batches, n_steps = self._arrays_batches(xs, [], None, batch_size, False, steps)
        cbl = self._callback_list(callbacks, add_history=False, verbose=verbose, steps=n_steps)
        hooks = cbl.predict_batch
        custom = overrides(self, "predict_step")
        team = self._blas_team_ok()
        cbl.on_predict_begin()
        results = None
        with no_grad():
            for step, (xs, _, _) in enumerate(batches()):
                if hooks:
                    cbl.on_predict_batch_begin(step)
                with parallel.blas_team(parallel.team_threads()) if team else _NO_TEAM:
                    out = self.predict_step(pack_data(xs, [], None)) if custom else \
                        self(xs[0] if len(xs) == 1 else xs, training=False)
                outs = [o.data if isinstance(o, Tensor) else o for o in _as_list(out)]
                if results is None:
                    results = [[] for _ in outs]
                for r, o in zip(results, outs):
                    r.append(backend.to_numpy(o))
                if hooks:
                    cbl.on_predict_batch_end(step, {"outputs": outs})
        cbl.on_predict_end()
        if results is None:
            raise ValueError("predict got no samples")
        arrays = [r[0] if len(r) == 1 else np.concatenate(r) for r in results]
        nested = (self._graph and self._nested_outputs) or len(arrays) > 1
        return arrays if nested else arrays[0]

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """One ``train_step`` on one batch; returns its loss (and metrics)."""
        self._check_ready("train_on_batch", "train_step")
        xs, ys, w = self._prepare_batch(x, y, sample_weight, class_weight,
                                        self._needs_y("train_step"), self._device_mover())
        self._needs_bind, self._penalty_sources, self._nan_batches = True, None, 0
        self.reset_metrics()
        logs = self._run_step("train_step", xs, ys, w)
        return self._format_results(logs or self.get_metrics_result(), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """One ``test_step`` on one batch, without updating anything."""
        self._check_ready("test_on_batch", "test_step")
        xs, ys, w = self._prepare_batch(x, y, sample_weight, None, self._needs_y("test_step"),
                                        self._device_mover())
        self.reset_metrics()
        self._penalty_sources = None
        with no_grad():
            logs = self._run_step("test_step", xs, ys, w)
        return self._format_results(logs or self.get_metrics_result(), return_dict)

    def predict_on_batch(self, x):
        """Outputs for one batch as NumPy arrays."""
        xs = self._prepare_x(x)
        team = self._blas_team_ok()
        with no_grad(), parallel.blas_team(parallel.team_threads()) if team else _NO_TEAM:
            out = self(xs[0] if len(xs) == 1 else xs, training=False)
        if isinstance(out, (list, tuple)):
            return [backend.to_numpy(o.data) for o in out]
        return backend.to_numpy(out.data)
