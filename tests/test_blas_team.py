"""BLAS's own threads for models made of dense layers (``parallel.blas_team``, issue 20 session 3).

A model whose layers are all ``_blas_team_ok`` (Dense, Dropout, activations, reshapes) runs each
step inside ``blas_team(team_threads())``: products whole on BLAS's threads, the pool idle.
Results must not depend on the thread count, and must match PyTorch.
"""
import threading

import numpy as np
import pytest

import deepsheet as ds
from deepsheet import layers, parallel
from deepsheet.functional import _team
from deepsheet import functional as F

from oracle import F32, check_torch

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_counts():
    return {i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"}


@pytest.fixture
def free_cpus(monkeypatch):
    """``team_threads()`` as on an idle machine with 4 CPUs, whatever the load here."""
    monkeypatch.setattr(parallel, "_usable_cpus", lambda: 4)
    monkeypatch.setattr(parallel, "_runnable_others", lambda: 0)
    parallel._samples.clear()
    parallel._sampled_at = -1.0
    yield
    parallel._samples.clear()
    parallel._sampled_at = -1.0


def test_blas_team_sets_and_restores_the_blas_threads(threads):
    threads(2)
    parallel.parallel_for(2, lambda i: None)
    assert _blas_counts() == {1} and not parallel.in_blas_team()
    with parallel.blas_team(2):
        assert _blas_counts() == {2} and parallel.in_blas_team()
        with parallel.blas_team(1):
            assert _blas_counts() == {1} and parallel.in_blas_team()
        assert _blas_counts() == {2}
    assert _blas_counts() == {1} and not parallel.in_blas_team()
    with pytest.raises(ValueError, match="positive integer"):
        with parallel.blas_team(0):
            pass


def test_inside_a_team_parallel_for_runs_on_the_caller(threads, monkeypatch):
    """The pool stays idle (OpenBLAS's spinning threads would fight it) and BLAS keeps the
    team's count (parallel_for would otherwise take the threads back)."""
    threads(3)
    monkeypatch.setattr(parallel, "MIN_PARALLEL_WORK", 0)
    seen = []
    with parallel.blas_team(2):
        parallel.parallel_for(6, lambda i: seen.append(threading.get_ident()))
        assert _blas_counts() == {2}
    assert seen == [threading.get_ident()] * 6


def test_team_threads_follow_the_load_even_when_pinned(threads, monkeypatch):
    threads(2)
    monkeypatch.setattr(parallel, "_usable_cpus", lambda: 2)
    monkeypatch.setattr(parallel, "_runnable_others", lambda: 1)
    parallel._samples[:] = [1]               # one sample taken before
    parallel._sampled_at = -1.0
    assert parallel.active_threads() == 2  # pinned: the pool keeps its count
    assert parallel.team_threads() == 1    # a static split would wait for a busy core
    parallel._samples.clear()


def test_this_process_is_not_counted_as_another_ones_load():
    own = parallel._runnable_own()
    assert own >= 1  # at least the calling thread
    others = parallel._runnable_others()
    assert others is None or others >= 0


def _dense_chain(x, k1, b1, k2, b2):
    h = F.dense(x, k1, b1, activation="relu")
    return F.linear(h, k2.T, b2)  # PyTorch's layout: the transposed branch


@pytest.mark.parametrize("rows,n_in,hidden,n_out", [
    (128, 784, 256, 10),   # the reference MLP's first products (> 4 MFLOP: blocks outside a team)
    (1, 300, 257, 3),      # batch 1
    (67, 129, 33, 131),    # odd sizes
])
def test_products_are_bit_identical_with_1_2_3_blas_threads(threads, rows, n_in, hidden, n_out):
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in
              ((rows, n_in), (n_in, hidden), (hidden,), (hidden, n_out), (n_out,))]

    def run(n):
        with parallel.blas_team(n):
            ts = [ds.tensor(a, requires_grad=True) for a in arrays]
            y = _dense_chain(*ts)
            (y * y).sum().backward()
            return [y.data] + [t.grad for t in ts]
    threads(1)
    ref = run(1)
    for n in (2, 3):
        for a, b in zip(ref, run(n)):
            if _team.agree(np.float32):  # the probe's promise, on shapes beyond its own
                np.testing.assert_array_equal(a, b)
            else:  # these kernels round differently per team size: models keep off the team
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6 * np.abs(a).max())
                assert not _mlp()._blas_team_ok()


@pytest.mark.parametrize("rows", [128, 1])
def test_whole_products_in_a_team_match_torch(rows):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    arrays = [rng.standard_normal(s).astype(np.float32) * 0.1 for s in
              ((rows, 784), (784, 256), (256,), (256, 10), (10,))]

    def theirs(x, k1, b1, k2, b2):
        return torch.nn.functional.linear(torch.relu(x @ k1 + b1), k2.T, b2)
    with parallel.blas_team(2):
        check_torch(_dense_chain, theirs, *arrays)


def _mlp(dropout=True):
    return ds.Sequential([layers.Dense(64, activation="relu", input_shape=(300,)),
                          layers.Dropout(0.2) if dropout else layers.Identity(),
                          layers.Dense(32, activation="tanh"),
                          layers.Dense(5)])


def _fit_mlp(n_threads):
    ds.set_num_threads(n_threads)
    ds.manual_seed(4)
    model = _mlp()
    model.compile(optimizer=ds.optimizers.Adam(learning_rate=1e-2),
                  loss=ds.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.random((257, 300), dtype=np.float32)   # 2 batches of 128 and a batch of 1
    y = rng.integers(0, 5, 257)
    history = model.fit(x, y, batch_size=128, epochs=2, verbose=0)
    return model.get_weights() + [model.predict(x[:9], verbose=0),
                                  np.array(history.history["loss"])]


def test_mlp_fit_is_bit_identical_with_1_2_3_threads(threads, free_cpus, monkeypatch):
    teams = []
    real = parallel.blas_team

    def spy(n):
        teams.append(n)
        return real(n)
    monkeypatch.setattr(parallel, "blas_team", spy)
    ref = _fit_mlp(1)
    for n in (2, 3):
        for a, b in zip(ref, _fit_mlp(n)):
            np.testing.assert_array_equal(a, b)
    # every step ran in a team of the thread count (none where team products differ here)
    assert set(teams) == ({1, 2, 3} if _team.agree(np.float32) else set())


def test_which_models_run_their_steps_on_the_blas_team():
    team = _team.agree(np.float32)
    assert _mlp()._blas_team_ok() is team
    inp = ds.Input((8,))
    functional = ds.Model(inp, layers.Dense(3)(layers.Activation("relu")(layers.Dense(4)(inp))))
    assert functional._blas_team_ok() is team
    nested = ds.Sequential([functional, layers.Flatten(), layers.Dense(2)])
    assert nested._blas_team_ok() is team
    cnn = ds.Sequential([layers.Conv2D(2, 3, input_shape=(6, 6, 1)), layers.Flatten(),
                         layers.Dense(2)])
    assert not cnn._blas_team_ok()  # its convolutions are chunked on the pool
    norm = ds.Sequential([layers.Dense(4, input_shape=(3,)), layers.BatchNormalization()])
    assert not norm._blas_team_ok()


def test_mlp_fit_in_a_team_matches_torch(threads, free_cpus):
    """Three Adam steps of fit (team of 2, products whole) against PyTorch's loop."""
    torch = pytest.importorskip("torch")
    threads(2)
    ds.manual_seed(2)
    model = _mlp(dropout=False)
    model.compile(optimizer=ds.optimizers.Adam(learning_rate=1e-3),
                  loss=ds.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(1)
    x = rng.random((257, 300), dtype=np.float32)
    y = rng.integers(0, 5, 257)
    model.build((None, 300))
    start = model.get_weights()
    net = torch.nn.Sequential(torch.nn.Linear(300, 64), torch.nn.ReLU(),
                              torch.nn.Linear(64, 32), torch.nn.Tanh(), torch.nn.Linear(32, 5))
    with torch.no_grad():
        for lin, (k, b) in zip(net[::2], zip(start[::2], start[1::2])):
            lin.weight.copy_(torch.from_numpy(k.T.copy()))
            lin.bias.copy_(torch.from_numpy(b))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for i in range(0, 257, 128):
        loss = torch.nn.functional.cross_entropy(net(torch.from_numpy(x[i:i + 128])),
                                                 torch.from_numpy(y[i:i + 128]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.fit(x, y, batch_size=128, epochs=1, shuffle=False, verbose=0)
    theirs = [t.detach().numpy() for lin in net[::2] for t in (lin.weight.T, lin.bias)]
    for ours, t in zip(model.get_weights(), theirs):
        np.testing.assert_allclose(ours, t, **F32)


def test_team_size_is_tuned_by_timing_the_steps():
    """After SKIP steps, 2·TRIALS steps alternate the offered size and one thread, timed; the
    faster is kept until the next round of trials (one thread only when faster by more than
    MARGIN); a new offer (the load changed) starts again."""
    from deepsheet.models.loops import _TeamTuner
    tuner = _TeamTuner()
    for _ in range(_TeamTuner.SKIP):
        assert tuner.size(2) == (2, False)        # the first steps of a run are not timed
    slow_team = {2: 2.4e-3, 1: 2.1e-3}           # a machine where the idle team thread hurts
    sizes = []
    for _ in range(2 * _TeamTuner.TRIALS):
        n, trial = tuner.size(2)
        assert trial
        sizes.append(n)
        tuner.record(n, slow_team[n])
    assert sizes == [2, 1] * _TeamTuner.TRIALS
    assert tuner.size(2) == (1, False)            # one thread measured faster: kept
    for _ in range(_TeamTuner.RETUNE - 2 * _TeamTuner.TRIALS - 1):
        assert tuner.size(2) == (1, False)        # the next round's SKIP steps included
    fast_team = {2: 1.5e-3, 1: 2.1e-3}
    for _ in range(2 * _TeamTuner.TRIALS):        # the next round of trials
        n, trial = tuner.size(2)
        assert trial
        tuner.record(n, fast_team[n])
    assert tuner.size(2) == (2, False)
    for _ in range(_TeamTuner.RETUNE - 1):      # a round where one thread is barely faster
        tuner.size(2)
    for _ in range(2 * _TeamTuner.TRIALS):
        n, _ = tuner.size(2)
        tuner.record(n, {2: 2.0e-3, 1: 1.98e-3}[n])
    assert tuner.size(2) == (2, False)            # within MARGIN: the offered team stays
    assert tuner.size(1) == (1, False)            # one thread offered: nothing to tune
    assert [tuner.size(3) for _ in range(_TeamTuner.SKIP + 2)] == \
        [(3, False)] * _TeamTuner.SKIP + [(3, True), (1, True)]  # another offer: trials again


def test_the_probe_finds_a_piece_size_or_keeps_models_off_the_team(threads):
    """``_team.max_k``: a candidate piece size whose products agree bit for bit at team sizes
    1 and 2 (on K that needs pieces, odd sizes, both operands transposed), or None; a model
    in a dtype without one does not run on the team, and its fit does not depend on the
    thread count either."""
    from deepsheet.functional import _kernels
    rng = np.random.default_rng(7)
    for dtype in (np.float32, np.float64):
        k = _team.max_k(dtype)
        assert k in _team.CANDIDATES + (None,)
        if k is None:
            continue
        for m, kk, n in ((128, 2 * k + 17, 256), (33, k, 65), (1, 3 * k, 7)):
            a = rng.standard_normal((m, kk)).astype(dtype)
            b = rng.standard_normal((kk, n)).astype(dtype)
            out = []
            for size in (1, 2):
                with parallel.blas_team(size):
                    o = np.empty((m, n), dtype)
                    _kernels._team_product(np, a, b, o)
                    out.append(o)
            np.testing.assert_array_equal(out[0], out[1])
    ds.set_default_dtype("float64")
    try:
        model = _mlp()
        assert model._blas_team_ok() is _team.agree(np.float64)
        runs = []
        for n in (1, 2):
            threads(n)
            ds.manual_seed(4)
            model = _mlp()
            model.compile(optimizer="adam", loss=ds.losses.SparseCategoricalCrossentropy(
                from_logits=True))
            rng = np.random.default_rng(0)
            model.fit(rng.random((129, 300)), rng.integers(0, 5, 129), batch_size=64,
                      epochs=1, verbose=0)
            runs.append(model.get_weights())
        for a, b in zip(*runs):
            np.testing.assert_array_equal(a, b)
    finally:
        ds.set_default_dtype("float32")
