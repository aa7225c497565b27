"""``deepsheet rl``: the commands write their files and print the evaluation; bad names fail in one line."""
import os

import pytest

pytest.importorskip("gymnasium", reason="deepsheet rl runs Gymnasium environments")

from deepsheet.cli import main  # noqa: E402


def test_value_iteration_command(tmp_path, capsys):
    assert main(["rl", "value-iteration", "--env", "gridworld:sutton-4x4", "--out",
                 str(tmp_path), "--eval-episodes", "5"]) == 0
    out = capsys.readouterr().out
    assert "exact expected return" in out and "greedy policy over 5 episodes" in out
    rows = (tmp_path / "values.csv").read_text().splitlines()
    assert rows[0] == "state,value,action" and rows[2].startswith("1,-1,0")


def test_q_learning_and_dqn_commands(tmp_path, capsys):
    assert main(["rl", "q-learning", "--env", "FrozenLake-v1", "--episodes", "50", "--quiet",
                 "--out", str(tmp_path / "q"), "--eval-episodes", "5"]) == 0
    assert len((tmp_path / "q" / "returns.csv").read_text().splitlines()) == 51
    assert main(["rl", "dqn", "--env", "CartPole-v1", "--steps", "300", "--hidden", "8",
                 "--learning-starts", "100", "--train-freq", "50", "--gradient-steps", "2",
                 "--quiet", "--out", str(tmp_path / "d"), "--eval-episodes", "2",
                 "--threads", "1"]) == 0
    assert os.path.exists(tmp_path / "d" / "agent.deepsheet")
    out = capsys.readouterr().out
    assert out.count("mean return") == 2


def test_bad_environments_fail_in_one_line(tmp_path, capsys):
    assert main(["rl", "dqn", "--env", "NoSuchEnv-v0", "--out", str(tmp_path)]) == 1
    assert "unknown environment 'NoSuchEnv-v0'" in capsys.readouterr().err
    assert main(["rl", "q-learning", "--env", "CartPole-v1", "--out", str(tmp_path)]) == 1
    assert "Discrete observation space" in capsys.readouterr().err
    assert main(["rl", "value-iteration", "--env", "CartPole-v1", "--out", str(tmp_path)]) == 1
    assert "no model" in capsys.readouterr().err
