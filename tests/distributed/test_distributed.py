"""Data-parallel training under ``mpirun -n 2`` against single-process training.

The tests start the MPI jobs themselves (``mpi_job.py``) and are skipped, with the reason
printed, only when MPI cannot start here.
"""
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import deepsheet as ds

pytest.importorskip("mpi4py", reason="the distributed extra (mpi4py + mpich) is not installed")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import mpi_job  # noqa: E402


def _mpirun(*args, timeout=120):
    exe = shutil.which("mpirun") or shutil.which("mpiexec")
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    t = time.monotonic()
    out = subprocess.run([exe, "-n", "2", sys.executable, *args], capture_output=True,
                         text=True, env=env, timeout=timeout, check=False)
    return out, time.monotonic() - t


@pytest.fixture(scope="module")
def mpi():
    if not (shutil.which("mpirun") or shutil.which("mpiexec")):
        pytest.skip("no mpirun/mpiexec on PATH: MPI cannot start")
    out, _ = _mpirun("-c", "from mpi4py import MPI; assert MPI.COMM_WORLD.Get_size() == 2")
    if out.returncode:
        reason = f"mpirun -n 2 cannot start here: {out.stderr.strip()[-300:]}"
        print(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def results(mpi, tmp_path_factory):
    folder = tmp_path_factory.mktemp("mpi")
    out, _ = _mpirun(os.path.join(HERE, "mpi_job.py"), "train", str(folder))
    assert out.returncode == 0, out.stderr
    return dict(np.load(folder / "results.npz"))


def _single_process(name):
    m = mpi_job.model(mpi_job.optimizer(name))
    x, y = mpi_job.data()
    h = m.fit(x, y, batch_size=2 * mpi_job.BATCH, epochs=3, shuffle=True, verbose=0)
    return m.get_weights(), np.array(h.history["loss"])


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_two_ranks_equal_one_process_on_whole_batches(results, name):
    # 37 samples in global batches of 10: the last one splits 4/3 between the ranks, and the
    # sample-weighted average still gives the whole batch's mean-loss gradient.
    weights, loss = _single_process(name)
    for i, w in enumerate(weights):
        np.testing.assert_allclose(results[f"{name}_w{i}"], w, rtol=1e-5, atol=1e-6,
                                   err_msg=f"{name} weight {i}")
    # MetricAverageCallback: the logged loss is the whole job's, as one process logs it
    np.testing.assert_allclose(results[f"{name}_loss"], loss, rtol=1e-5)


def test_rank0_checkpoint_resumes_exactly(results):
    for i in range(4):
        np.testing.assert_array_equal(results[f"resumed_w{i}"], results[f"adam_w{i}"])


def test_a_nan_loss_on_one_rank_skips_its_batch_and_keeps_the_ranks_in_step(results):
    rank0, rank1 = results["nan_weights"]
    np.testing.assert_array_equal(rank0, rank1)
    assert np.isfinite(rank0).all()


def test_collectives_on_arrays(results):
    np.testing.assert_allclose(results["allreduce_mean"], [1.5, 3.0])
    np.testing.assert_array_equal(results["allreduce_max"], [1, 0])
    np.testing.assert_array_equal(results["allgather"], [[0, 0], [1, 1], [1, 1]])
    np.testing.assert_array_equal(results["broadcast"], [10.0, 11.0, 12.0])
    np.testing.assert_array_equal(results["local"], [0, 2, 2])
    # 11 samples over 2 ranks: 6 each (one index read twice), together every sample
    parts = results["shard"]
    assert len(parts) == 12 and set(parts.tolist()) == set(range(11))


def test_an_exception_on_one_rank_ends_the_job_with_its_message(mpi):
    out, seconds = _mpirun(os.path.join(HERE, "mpi_job.py"), "raise", "-", timeout=60)
    assert out.returncode != 0
    assert "[rank 1] RuntimeError: boom on rank 1" in out.stderr
    assert seconds < 30


def test_different_models_are_detected_at_start(mpi):
    out, _ = _mpirun(os.path.join(HERE, "mpi_job.py"), "mismatch", "-", timeout=60)
    assert out.returncode != 0
    assert "the ranks hold different models (weight 0 is dense/kernel (6, 9)" in out.stderr


def test_one_process_runs_unchanged():
    from deepsheet import distributed as dist
    dist.init()
    assert (dist.rank(), dist.size()) == (0, 1)
    opt = dist.DistributedOptimizer(ds.optimizers.SGD(learning_rate=0.1))
    assert isinstance(opt, ds.optimizers.SGD)
    assert ds.optimizers.serialize(opt)["class_name"] == "SGD"
    m = mpi_job.model(opt)
    x, y = mpi_job.data()
    m.fit(x, y, batch_size=10, epochs=1, verbose=0)
    ref = mpi_job.model(ds.optimizers.SGD(learning_rate=0.1))
    ref.fit(x, y, batch_size=10, epochs=1, verbose=0)
    for a, b in zip(m.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(dist.allgather(np.arange(3)), np.arange(3))
    with pytest.raises(ValueError, match="op must be one of"):
        dist.allreduce(np.ones(2), op="prod")
    with pytest.raises(TypeError, match="expected a deepsheet Optimizer"):
        dist.DistributedOptimizer("adam")


def test_command_line_trains_data_parallel(mpi, tmp_path):
    out, _ = _mpirun("-m", "deepsheet", "train", "--distributed", "--epochs", "1",
                     "--verbose", "2", "--out", str(tmp_path / "run"), timeout=180)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("Training mlp") == 1          # rank 0 alone prints
    assert "batch 32 per rank x 2 ranks = 64" in out.stdout
    import json
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["ranks"] == 2 and metrics["global_batch_size"] == 64
    assert metrics["test_accuracy"] > 0.5
