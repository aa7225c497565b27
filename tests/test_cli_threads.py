"""``--threads N`` and the thread lines of ``deepsheet info``."""
import json

import pytest

import deepsheet as ds
from deepsheet import cli, parallel


@pytest.fixture
def restore_threads():
    saved = (parallel._num_threads, parallel._dynamic, parallel._auto)
    yield
    parallel._num_threads, parallel._dynamic, parallel._auto = saved


@pytest.mark.parametrize("command", ["train", "evaluate", "predict"])
def test_threads_option_pins_the_thread_count(restore_threads, command):
    args = cli.build_parser().parse_args(
        [command, "--threads", "3"] + (["m.deepsheet"] if command != "train" else [])
        + (["x.npy"] if command == "predict" else []))
    from deepsheet.cli._registry import OPTIONS
    for commands, _, apply in OPTIONS:
        if command in commands:
            apply(args)
    assert ds.get_num_threads() == 3 and not parallel.get_dynamic()


@pytest.mark.parametrize("bad", ["0", "-2", "two"])
def test_threads_option_rejects_non_positive_counts(bad, capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["train", "--threads", bad])
    assert "--threads: expected a positive integer" in capsys.readouterr().err


def test_info_reports_deepsheet_and_blas_threads(restore_threads, capsys):
    ds.set_num_threads(2)
    assert cli.main(["info", "--json"]) == 0
    threads = json.loads(capsys.readouterr().out)["threads"]
    assert threads["num_threads"] == 2 and threads["dynamic"] is False
    assert threads["active_threads"] == 2
    assert threads["blas_threads"] and set(threads["blas_threads"].values()) == {1}
    assert cli.main(["info"]) == 0
    assert "deepsheet threads: 2 (fixed;" in capsys.readouterr().out
