"""The thread pool: settings, parallel_for semantics, BLAS threads, floating-point mode."""
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import deepsheet as ds
from deepsheet import backend, parallel


def test_set_and_get_num_threads(threads):
    threads(3)
    assert ds.get_num_threads() == 3
    threads(1)
    assert ds.get_num_threads() == 1


@pytest.mark.parametrize("bad", [0, -1, 2.0, "2", True, None])
def test_set_num_threads_rejects_non_positive_integers(bad):
    with pytest.raises(ValueError, match="set_num_threads: n must be a positive integer"):
        ds.set_num_threads(bad)


def _in_fresh_process(code, **env):
    run_env = {**os.environ, **env}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=run_env, check=False)
    return out.returncode, out.stdout.strip(), out.stderr


def test_environment_variable_sets_the_default():
    rc, out, err = _in_fresh_process("import deepsheet as ds; print(ds.get_num_threads())",
                                     DEEPSHEET_NUM_THREADS="3")
    assert rc == 0, err
    assert out == "3"


def test_environment_variable_must_be_a_positive_integer():
    rc, _, err = _in_fresh_process("import deepsheet as ds; ds.get_num_threads()",
                                   DEEPSHEET_NUM_THREADS="many")
    assert rc != 0
    assert "DEEPSHEET_NUM_THREADS must be a positive integer, got 'many'" in err


def test_default_is_the_usable_cpu_count():
    env = {k: v for k, v in os.environ.items() if k != "DEEPSHEET_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", "import os, deepsheet as ds; "
                          "print(ds.get_num_threads(), len(os.sched_getaffinity(0)))"],
                         capture_output=True, text=True, env=env, check=True).stdout.split()
    assert out[0] == out[1]


@pytest.mark.parametrize("n", [1, 2, 3])
def test_parallel_for_runs_every_chunk_once(threads, n):
    threads(n)
    seen = np.zeros(50, np.int64)
    slots = set()

    def fn(i):
        seen[i] += 1
        slots.add(parallel.thread_slot())
    parallel.parallel_for(50, fn)
    np.testing.assert_array_equal(seen, 1)
    assert slots <= set(range(n))


def test_parallel_for_uses_several_threads(threads):
    threads(2)
    names = set()
    barrier = threading.Barrier(2, timeout=10)

    def fn(i):
        names.add(threading.current_thread().name)
        barrier.wait()  # only passes if two threads run chunks at the same time
    parallel.parallel_for(2, fn)
    assert len(names) == 2


def test_small_work_stays_on_the_calling_thread(threads):
    threads(2)
    names = set()
    parallel.parallel_for(8, lambda i: names.add(threading.current_thread().name),
                          work=parallel.MIN_PARALLEL_WORK - 1)
    assert names == {threading.current_thread().name}


def test_nested_parallel_for_runs_serially(threads):
    threads(2)
    inner = np.zeros((4, 4), np.int64)

    def outer(i):
        me = threading.current_thread().name
        names = set()

        def fn(j):
            inner[i, j] += 1
            names.add(threading.current_thread().name)
        parallel.parallel_for(4, fn)
        assert names == {me}
    parallel.parallel_for(4, outer)
    np.testing.assert_array_equal(inner, 1)


def test_the_first_failing_chunk_is_raised(threads):
    threads(2)

    def fn(i):
        if i in (3, 5):
            raise KeyError(f"chunk {i}")
    with pytest.raises(KeyError, match="chunk 3"):
        parallel.parallel_for(8, fn)
    # the pool still works afterwards
    out = []
    parallel.parallel_for(3, out.append)
    assert sorted(out) == [0, 1, 2]


def test_spans_do_not_depend_on_threads(threads):
    threads(1)
    a = parallel.spans(10, 4)
    threads(3)
    assert parallel.spans(10, 4) == a == [(0, 4), (4, 8), (8, 10)]
    assert parallel.spans(0, 4) == []


def test_blas_runs_single_threaded_after_parallel_work(threads):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    threads(2)
    parallel.parallel_for(2, lambda i: None)
    counts = [i["num_threads"] for i in threadpoolctl.threadpool_info()
              if i["user_api"] == "blas"]
    assert counts and all(c == parallel.get_blas_threads() == 1 for c in counts)
    info = parallel.threads_info()
    assert info["num_threads"] == 2 and info["blas_threads"] == 1


@pytest.mark.skipif(not backend.flush_denormal.available, reason="needs x86-64 glibc MXCSR")
def test_workers_follow_the_callers_denormal_mode(threads):
    threads(3)  # a new pool, started inside the context below (threads inherit MXCSR)
    tiny = np.full(4, np.finfo(np.float32).tiny / 4, np.float32)  # subnormal
    out = np.empty((2, 4), np.float32)
    barrier = threading.Barrier(2, timeout=10)

    def fn(i):
        barrier.wait()  # both chunks run, one of them on a worker
        np.multiply(tiny, 1.0, out=out[i])
    with backend.flush_denormal():
        parallel.parallel_for(2, fn)
    np.testing.assert_array_equal(out, 0.0)   # flushed on the caller and the worker
    parallel.parallel_for(2, fn)
    assert np.all(out > 0)                    # and not outside the context


OPTIMIZERS = [
    lambda ps: ds.optimizers.Adam(ps, learning_rate=1e-2, weight_decay=0.1),
    lambda ps: ds.optimizers.AdamW(ps, learning_rate=1e-2, amsgrad=True),
    lambda ps: ds.optimizers.SGD(ps, learning_rate=1e-2, momentum=0.9, nesterov=True),
    lambda ps: ds.optimizers.RMSprop(ps, learning_rate=1e-3, momentum=0.5, centered=True),
    lambda ps: ds.optimizers.Adagrad(ps, learning_rate=1e-2),
]


def _optimizer_run(make, n_threads, subnormals):
    ds.set_num_threads(n_threads)
    rng = np.random.default_rng(0)
    shapes = [(300, 200), (70,), (3, 5, 40, 11)]
    ps = [ds.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
          for s in shapes]
    opt = make(ps)
    opt.subnormals = subnormals
    for _ in range(10):
        for p in ps:
            p.grad = rng.standard_normal(p.shape).astype(np.float32)
            p.grad[..., :3] = 0.0  # rows that never move: state decays toward subnormals
        opt.step()
    state = opt.state_dict()
    return [p.data.copy() for p in ps], state


@pytest.mark.parametrize("make", OPTIMIZERS)
@pytest.mark.parametrize("subnormals", ["flush", "zero"])
def test_optimizer_steps_are_identical_with_1_2_3_threads(threads, make, subnormals,
                                                          monkeypatch):
    from deepsheet.optimizers import _axpby, _blocks  # small blocks, so these shapes use them
    monkeypatch.setattr(_blocks, "MIN_ELEMENTS", 0)
    monkeypatch.setattr(_blocks, "BLOCK", 1 << 12)
    # BLAS's axpby (where NumPy's OpenBLAS has it) on the two larger parameters and their
    # blocks, NumPy passes on the (70,) one: each block must take its parameter's path.
    monkeypatch.setattr(_axpby, "MIN_SIZE", 2000)
    w1, s1 = _optimizer_run(make, 1, subnormals)  # one thread: the plain per-parameter loop
    for n in (2, 3):
        wn, sn = _optimizer_run(make, n, subnormals)
        for a, b in zip(w1, wn):
            np.testing.assert_array_equal(a, b)
        assert s1.keys() == sn.keys()
        for k in s1:
            np.testing.assert_array_equal(np.asarray(s1[k]), np.asarray(sn[k]), err_msg=k)


def test_the_default_is_dynamic_and_an_explicit_count_pins_it():
    code = ("import deepsheet as ds; from deepsheet import parallel as p; a = p.get_dynamic(); "
            "ds.set_num_threads(2); print(a, p.get_dynamic(), p.active_threads())")
    env = {k: v for k, v in os.environ.items() if k != "DEEPSHEET_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True).stdout.split()
    assert out == ["True", "False", "2"]
    rc, out, err = _in_fresh_process("from deepsheet import parallel as p; print(p.get_dynamic())",
                                     DEEPSHEET_NUM_THREADS="2")
    assert (rc, out) == (0, "False"), err


def test_dynamic_count_leaves_busy_cpus_to_other_processes(threads, monkeypatch):
    threads(4)
    parallel.set_dynamic(True)
    monkeypatch.setattr(parallel, "_usable_cpus", lambda: 4)
    for others, expected in ((0, 4), (1, 3), (3, 1), (9, 1)):
        monkeypatch.setattr(parallel, "_runnable_others", lambda o=others: o)
        parallel._samples[:] = [others]          # one sample taken before
        parallel._sampled_at = -1.0
        assert parallel.active_threads() == expected
    parallel.set_dynamic(False)
    assert parallel.active_threads() == 4


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunk sizes small enough that test-sized tensors split into many chunks."""
    from deepsheet.functional import _kernels, conv_pool, pooling
    monkeypatch.setattr(_kernels, "CHUNK_BYTES", 40_000)
    monkeypatch.setattr(_kernels, "MATMUL_MIN_FLOPS", 0)
    monkeypatch.setattr(_kernels, "MATMUL_MIN_ROWS", 3)
    monkeypatch.setattr(pooling, "POOL_CHUNK_BYTES", 3_000)
    monkeypatch.setattr(conv_pool, "MIN_CHUNK_FLOPS", 0)
    monkeypatch.setattr(conv_pool, "FORWARD_CHUNK_FLOPS", 0)
    monkeypatch.setattr(parallel, "MIN_PARALLEL_WORK", 0)


def _conv_net_grads(stride, relu, fused=False):
    from deepsheet import functional as F
    rng = np.random.default_rng(1)
    x = ds.tensor(rng.standard_normal((23, 9, 10, 5)).astype(np.float32), requires_grad=True)
    w = ds.tensor(rng.standard_normal((3, 3, 5, 6)).astype(np.float32), requires_grad=True)
    b = ds.tensor(rng.standard_normal(6).astype(np.float32), requires_grad=True)
    k = ds.tensor(rng.standard_normal((6 * 2 * 2, 7)).astype(np.float32), requires_grad=True)
    if fused:  # the Conv2D + MaxPooling2D node Sequential runs (functional/conv_pool.py)
        from deepsheet.functional.conv_pool import conv2d_max_pool2d
        y = conv2d_max_pool2d(x, w, b, padding="same", activation="relu" if relu else None)
    else:
        y = F.conv2d(x, w, b, strides=stride, padding="same",
                     activation="relu" if relu else None)
        y = F.max_pool2d(y, 2)
    z = F.dense(y.reshape(23, -1)[:, :24], k, activation="relu")
    (z * z).sum().backward()
    return [np.array(t.data if hasattr(t, "data") and not isinstance(t, np.ndarray) else t)
            for t in (y, z, x.grad, w.grad, b.grad, k.grad)]


@pytest.mark.parametrize("stride,relu,fused", [(1, True, False), (2, False, False),
                                               (1, True, True), (1, False, True)])
def test_kernels_are_bit_identical_with_1_2_3_threads(threads, small_chunks, stride, relu,
                                                      fused):
    threads(1)
    ref = _conv_net_grads(stride, relu, fused)
    for n in (2, 3):
        threads(n)
        for a, b in zip(ref, _conv_net_grads(stride, relu, fused)):
            np.testing.assert_array_equal(a, b)


def test_chunked_kernels_match_one_chunk(threads, monkeypatch):
    """Many small chunks against one chunk per call: the same values up to float rounding."""
    from deepsheet.functional import _kernels, pooling
    threads(2)
    whole = _conv_net_grads(1, True)
    monkeypatch.setattr(_kernels, "CHUNK_BYTES", 40_000)
    monkeypatch.setattr(_kernels, "MATMUL_MIN_FLOPS", 0)
    monkeypatch.setattr(_kernels, "MATMUL_MIN_ROWS", 3)
    monkeypatch.setattr(pooling, "POOL_CHUNK_BYTES", 3_000)
    monkeypatch.setattr(parallel, "MIN_PARALLEL_WORK", 0)
    for a, b in zip(whole, _conv_net_grads(1, True)):
        # Partial sums added in another order: float32 rounding relative to the magnitudes.
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * np.abs(a).max())


def _fit_cnn(n_threads):
    from deepsheet import layers
    ds.set_num_threads(n_threads)
    ds.manual_seed(3)
    model = ds.Sequential([
        layers.Conv2D(4, 3, padding="same", activation="relu", input_shape=(8, 8, 2)),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(16, activation="relu"),
        layers.Dropout(0.25),
        layers.Dense(3),
    ])
    model.compile(optimizer=ds.optimizers.Adam(learning_rate=1e-2),
                  loss=ds.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x = rng.random((40, 8, 8, 2), dtype=np.float32)
    y = rng.integers(0, 3, 40)
    model.fit(x, y, batch_size=20, epochs=2, verbose=0)
    return model.get_weights()


def test_fit_is_bit_identical_with_1_2_3_threads(threads, small_chunks):
    ref = _fit_cnn(1)
    for n in (2, 3):
        for a, b in zip(ref, _fit_cnn(n)):
            np.testing.assert_array_equal(a, b)


def _batch_norm_run(training):
    from deepsheet import functional as F
    rng = np.random.default_rng(2)
    x = ds.tensor(rng.standard_normal((16, 8, 8, 32)).astype(np.float32) * 3 + 1,
                  requires_grad=True)
    gamma = ds.tensor(rng.standard_normal(32).astype(np.float32), requires_grad=True)
    beta = ds.tensor(rng.standard_normal(32).astype(np.float32), requires_grad=True)
    mm, mv = np.zeros(32, np.float32), np.ones(32, np.float32)
    y = F.batch_norm(x, mm, mv, gamma, beta, training=training)
    (y * y * ds.tensor(np.linspace(-1, 1, 32, dtype=np.float32))).sum().backward()
    return [np.array(a) for a in (y.data, x.grad, gamma.grad, beta.grad, mm, mv)]


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_blocks_match_one_block_and_any_thread_count(threads, monkeypatch, training):
    from deepsheet.functional.normalization import _Features
    threads(2)
    whole = _batch_norm_run(training)
    monkeypatch.setattr(_Features, "BLOCK_BYTES", 20_000)  # 32768 values: 7 row blocks
    monkeypatch.setattr(parallel, "MIN_PARALLEL_WORK", 0)
    blocked = _batch_norm_run(training)
    # dL/dx = γ·inv·(g − mean(g) − x̂·mean(g·x̂)) cancels terms of size |g| ~ 10: float32
    # rounding of the reordered sums is ~1e-6 of that, absolute.
    for a, b in zip(whole, blocked):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=2e-5)
    for n in (1, 3):
        threads(n)
        for a, b in zip(blocked, _batch_norm_run(training)):
            np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_gets_its_own_pool(threads):
    threads(2)
    parallel.parallel_for(2, lambda i: None)  # the parent's pool exists
    pid = os.fork()
    if pid == 0:  # child: must not wait for the parent's workers
        try:
            names = set()
            barrier = threading.Barrier(2, timeout=10)

            def fn(i):
                names.add(threading.current_thread().name)
                barrier.wait()
            parallel.parallel_for(2, fn)
            os._exit(0 if len(names) == 2 else 3)
        except BaseException:  # noqa: BLE001
            os._exit(4)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "leaky_relu"])
def test_large_activations_in_blocks_equal_one_call(threads, monkeypatch, name):
    from deepsheet import functional as F
    from deepsheet.functional import _kernels
    rng = np.random.default_rng(4)
    x0 = (rng.standard_normal(3 * _kernels.MAP_BLOCK + 5) * 4).astype(np.float32)
    g0 = rng.standard_normal(x0.shape).astype(np.float32)

    def run():
        x = ds.tensor(x0.copy(), requires_grad=True)
        y = getattr(F, name)(x)
        y.backward(ds.tensor(g0))
        return np.array(y.data), np.array(x.grad)
    threads(1)
    monkeypatch.setattr(_kernels, "MAP_BLOCK", 10 ** 9)  # one call: the plain NumPy expression
    whole = run()
    monkeypatch.undo()
    for n in (1, 2, 3):
        threads(n)
        for a, b in zip(whole, run()):
            np.testing.assert_array_equal(a, b)


def test_the_pool_keeps_no_array_alive_after_a_call(threads):
    import gc
    import weakref
    threads(2)
    big = np.ones(1 << 16, np.float32)
    ref = weakref.ref(big)
    barrier = threading.Barrier(2, timeout=10)

    def fn(i, big=big):
        barrier.wait()
        big[i] += 1
    parallel.parallel_for(2, fn)
    del fn, big
    for _ in range(50):  # the worker drops its job right after finishing it
        gc.collect()
        if ref() is None:
            break
        threading.Event().wait(0.02)
    assert ref() is None


def test_one_sample_of_load_is_not_enough_to_drop_a_thread(threads, monkeypatch):
    """A task runnable at this process's start (another one exiting) must not cost the first
    steps a thread: the count drops from two samples on, by their lower median."""
    threads(2)
    parallel.set_dynamic(True)
    monkeypatch.setattr(parallel, "_usable_cpus", lambda: 2)
    loads = iter([1, 0, 1, 1])
    monkeypatch.setattr(parallel, "_runnable_others", lambda: next(loads))
    parallel._samples.clear()
    got = []
    for _ in range(4):
        parallel._sampled_at = -1.0
        got.append(parallel.active_threads())
    # [1]: one sample; [1, 0]: lower median 0; [1, 0, 1] and [1, 0, 1, 1]: median 1
    assert got == [2, 2, 1, 1]
    parallel._samples.clear()
    parallel.set_dynamic(False)
