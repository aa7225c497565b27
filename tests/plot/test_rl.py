import numpy as np
import pytest

from deepsheet import plot


def test_value_function_on_a_grid_with_walls(png):
    v = np.arange(12, dtype=float)
    fig = plot.value_function(v, (3, 4), walls=[5], terminals=[11])
    ax = fig.axes[0]
    grid = ax.images[0].get_array()
    assert grid.shape == (3, 4) and grid.mask[1, 1] and grid[2, 3] == 11
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 11 and "5.00" not in texts and "11.00" in texts
    png(fig)
    with pytest.raises(ValueError, match="3x5 grid has 15 cells, the values have 12"):
        plot.value_function(v, (3, 5))
    with pytest.raises(ValueError, match="square grid"):
        plot.value_function(v)


class FakeLake:      # the attributes a Gymnasium FrozenLake's unwrapped env has
    nrow, ncol = 2, 2


def test_policy_arrows_point_the_right_way(png):
    # states 0..3 on a 2x2 grid; actions up, right, down, left
    fig = plot.policy(np.array([1, 0, 2, 3]), (2, 2), terminals=[3])
    quiver = fig.axes[0].collections[0]
    u, v = np.asarray(quiver.U), np.asarray(quiver.V)
    # right: +x; up: toward row 0 (negative y in image coordinates); down: +y
    np.testing.assert_allclose(u, [0.4, 0.0, 0.0])
    np.testing.assert_allclose(v, [0.0, -0.4, 0.4])
    png(fig)
    stochastic = np.full((4, 4), 0.25)
    fig2 = plot.policy(stochastic, FakeLake(), actions=plot.rl.FROZEN_LAKE_ACTIONS,
                       values=np.arange(4.0))
    assert len(fig2.axes[0].collections[0].U) == 16
    assert fig2.axes[0].images                       # the values underneath
    with pytest.raises(ValueError, match=r"actions must be in \[0, 4\)"):
        plot.policy(np.array([0, 7, 0, 0]), (2, 2))
    with pytest.raises(ValueError, match="pi has 3 actions"):
        plot.policy(np.ones((4, 3)) / 3, (2, 2))


def test_returns_raw_and_moving_average(png):
    r = np.random.default_rng(0).normal(size=100).cumsum()
    fig = plot.returns({"q": r, "sarsa": r + 1}, window=10, target=5)
    lines = fig.axes[0].get_lines()
    assert len(lines) == 5
    np.testing.assert_allclose(lines[1].get_ydata(), np.convolve(r, np.ones(10) / 10, "valid"))
    np.testing.assert_array_equal(lines[1].get_xdata(), np.arange(10, 101))
    assert lines[1].get_label() == "q (mean of 10)"
    png(fig)
    with pytest.raises(ValueError, match="empty"):
        plot.returns([])
