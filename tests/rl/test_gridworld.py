"""rl.GridWorld: Gymnasium's environment checker, its exact MDP against rollouts, the layouts."""
import numpy as np
import pytest

gym = pytest.importorskip("gymnasium", reason="rl.GridWorld is a Gymnasium environment")
from gymnasium.utils.env_checker import check_env  # noqa: E402

from deepsheet import rl  # noqa: E402


@pytest.mark.parametrize("layout", ["sutton-4x4", "sutton-5x5", "cliff", "maze"])
def test_passes_gymnasium_env_checker(layout):
    check_env(rl.GridWorld(layout, render_mode="ansi"), skip_render_check=False)


def test_mdp_matches_the_environment_step_by_step():
    env = rl.GridWorld("cliff")
    mdp = env.mdp()
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=0)
    assert obs == 36
    for _ in range(300):
        a = int(rng.integers(4))
        s = obs
        obs, r, terminated, truncated, _ = env.step(a)
        assert mdp.P[s, a, obs] == 1.0 and mdp.R[s, a] == r
        assert terminated == mdp.terminal[obs]
        if terminated or truncated:
            obs, _ = env.reset()


def test_cliff_and_time_limit_and_render():
    env = rl.GridWorld("cliff", max_steps=3, render_mode="ansi")
    env.reset(seed=0)
    obs, r, terminated, truncated, _ = env.step(2)  # right from S: into the cliff, back to S
    assert (obs, r, terminated, truncated) == (36, -100.0, False, False)
    env.step(0)
    *_, truncated, _ = env.step(0)
    assert truncated
    assert env.render().splitlines()[3].startswith("A")


def test_gym_make_and_custom_layout():
    env = gym.make("deepsheet/GridWorld-v0", layout=["S.G"], goal_reward=1.0, max_steps=None)
    env.reset(seed=0)
    env.step(2)
    _, r, terminated, _, _ = env.step(2)
    assert r == 1.0 and terminated


def test_bad_layouts_and_actions():
    with pytest.raises(ValueError, match="layout must be one of"):
        rl.GridWorld("sutton-9x9")
    with pytest.raises(ValueError, match="unknown layout characters"):
        rl.GridWorld(["S.X"])
    with pytest.raises(ValueError, match="equal length"):
        rl.GridWorld(["S..", "."])
    env = rl.GridWorld()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(7)
