"""Reinforcement-learning pictures: a value function and a policy on a grid, a learning curve."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._base import axes, host

__all__ = ["value_function", "policy", "returns", "FROZEN_LAKE_ACTIONS", "GRID_ACTIONS"]

# Action index -> direction. Gymnasium's CliffWalking and the textbook grid worlds number the
# moves up, right, down, left; FrozenLake numbers them left, down, right, up.
GRID_ACTIONS = ("up", "right", "down", "left")
FROZEN_LAKE_ACTIONS = ("left", "down", "right", "up")
_ARROWS = {"up": (0, 1), "down": (0, -1), "left": (-1, 0), "right": (1, 0),
           "north": (0, 1), "south": (0, -1), "west": (-1, 0), "east": (1, 0)}


def _grid_shape(shape, n):
    """(rows, cols) from a tuple, an array's shape or an environment (nrow/ncol or shape)."""
    if shape is None:
        side = int(round(np.sqrt(n)))
        if side * side != n:
            raise ValueError(f"{n} states do not form a square grid; pass shape=(rows, cols)")
        return side, side
    env = getattr(shape, "unwrapped", shape)
    if hasattr(env, "nrow") and hasattr(env, "ncol"):
        rows, cols = int(env.nrow), int(env.ncol)
    elif isinstance(getattr(env, "rows", None), int) and isinstance(getattr(env, "cols", None), int):
        rows, cols = env.rows, env.cols              # deepsheet.rl.GridWorld
    elif hasattr(env, "shape") and not isinstance(shape, tuple):
        rows, cols = (int(v) for v in tuple(env.shape)[:2])
    else:
        try:
            rows, cols = (int(v) for v in shape)
        except (TypeError, ValueError):
            raise ValueError(f"shape must be (rows, cols) or a grid environment, got "
                             f"{shape!r}") from None
    if rows * cols != n:
        raise ValueError(f"a {rows}x{cols} grid has {rows * cols} cells, the values have {n} "
                         f"states")
    return rows, cols


def _default_actions(shape):
    """The directions of an environment's action indices (a plain shape: the textbooks')."""
    if shape is None or isinstance(shape, (tuple, list)) or isinstance(shape, np.ndarray):
        return GRID_ACTIONS
    env = getattr(shape, "unwrapped", shape)
    return GRID_ACTIONS if "CliffWalking" in type(env).__name__ else FROZEN_LAKE_ACTIONS


def _default_terminals(shape):
    """An environment's terminal cells, where a policy has no action to show: FrozenLake's
    holes and goal (its ``desc``), ``rl.GridWorld``'s ``terminal``; None otherwise."""
    env = getattr(shape, "unwrapped", shape)
    terminal = getattr(env, "terminal", None)
    if isinstance(terminal, np.ndarray) and terminal.dtype == bool:
        return terminal.ravel()
    desc = getattr(env, "desc", None)
    if isinstance(desc, np.ndarray) and desc.ndim == 2:
        cells = [c.decode() if isinstance(c, bytes) else str(c) for c in desc.ravel()]
        return np.array([c in ("H", "G") for c in cells])
    return None


def _mask(states, n, name):
    m = np.zeros(n, dtype=bool)
    if states is not None:
        s = np.asarray(states)
        if s.dtype == bool:
            if s.size != n:
                raise ValueError(f"{name} mask has {s.size} entries for {n} states")
            m |= s.ravel()
        else:
            m[s.astype(int).ravel()] = True
    return m


def value_function(values, shape=None, *, walls=None, terminals=None, annotate=True, ax=None,
                   cmap="RdYlGn", fmt=".2f"):
    """A state-value function V(s) on a grid world as a heat map with the values written in.

    Formula
    -------
        V^π(s) = R(s) + γ Σ_{s'} P_{sπ(s)}(s') V^π(s')  (Bellman equation)

    Parameters
    ----------
    values : array (S,) or (rows, cols)
        V, states numbered row by row (as Gymnasium's grid worlds do).
    shape : (rows, cols) or an environment, optional
        The grid; an environment with ``nrow``/``ncol`` (FrozenLake, CliffWalking's
        ``shape``) works; default a square.
    walls, terminals : list of states or boolean mask, optional
        Walls are drawn grey without a value; terminal states are outlined.

    Returns
    -------
    matplotlib.figure.Figure
        The image's array is V on the grid (walls masked).
    """
    v = host(values, "values", np.float64)
    n = v.size
    rows, cols = (v.shape if v.ndim == 2 else _grid_shape(shape, n))
    wall = _mask(walls, n, "walls")
    grid = np.ma.masked_array(v.reshape(rows, cols), mask=wall.reshape(rows, cols))
    fig, ax = axes(ax, (max(3.0, 0.8 * cols + 1.2), max(2.5, 0.8 * rows)))
    from ._base import pyplot
    colours = pyplot().get_cmap(cmap).with_extremes(bad="0.4")
    image = ax.imshow(grid, cmap=colours, interpolation="nearest")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="V(s)")
    if annotate and rows * cols <= 400:
        for s in np.flatnonzero(~wall):
            r, c = divmod(int(s), cols)
            ax.text(c, r, format(v.ravel()[s], fmt), ha="center", va="center",
                    fontsize=8 if cols <= 8 else 6)
    for s in np.flatnonzero(_mask(terminals, n, "terminals")):
        r, c = divmod(int(s), cols)
        ax.add_patch(_square(c, r, "black"))
    ax.set_xticks(range(cols))
    ax.set_yticks(range(rows))
    ax.set_title("state values V(s)")
    return fig


def _square(c, r, colour):
    from matplotlib.patches import Rectangle
    return Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor=colour, lw=2)


def policy(pi, shape=None, *, actions=None, values=None, walls=None, terminals=None,
           ax=None):
    """A policy on a grid world as arrows: the greedy action, or each action's probability.

    Parameters
    ----------
    pi : array (S,) of actions or (S, A) of probabilities
        A deterministic policy, or a stochastic one (every action with π(a|s) > 0 gets an
        arrow whose length is its probability).
    shape : (rows, cols) or an environment, optional
        As in ``value_function``.
    actions : sequence of str
        Direction of each action index: "up", "down", "left", "right" (or north/south/west/
        east); anything else is drawn as a dot. Default: taken from ``shape`` when it is an
        environment (``FROZEN_LAKE_ACTIONS``, left, down, right, up, for FrozenLake,
        ``rl.GridWorld`` and Gymnasium's other toy-text grids; ``GRID_ACTIONS`` for
        CliffWalking), else ``GRID_ACTIONS`` (up, right, down, left: the textbooks).
    values : array (S,), optional
        V(s) drawn underneath (``value_function``).
    walls, terminals : list of states or boolean mask, optional
        No arrows there. ``terminals`` defaults to an environment's terminal cells
        (FrozenLake's holes and goal, ``rl.GridWorld``'s terminal cells).

    Returns
    -------
    matplotlib.figure.Figure
        A quiver (arrows) and, when some action has no direction, dots.
    """
    if actions is None:
        actions = _default_actions(shape)
    if terminals is None:
        terminals = _default_terminals(shape)
    p = host(pi, "pi")
    if p.ndim == 1:
        n = p.size
        if not np.issubdtype(p.dtype, np.integer) and not np.all(p == np.round(p)):
            raise ValueError("a 1-D policy holds one action index per state")
        probs = np.zeros((n, len(actions)))
        if p.size and (p.min() < 0 or p.max() >= len(actions)):
            raise ValueError(f"policy actions must be in [0, {len(actions)}), got "
                             f"{int(p.min())}..{int(p.max())}; pass actions= for each index")
        probs[np.arange(n), p.astype(int)] = 1.0
    elif p.ndim == 2:
        n = p.shape[0]
        if p.shape[1] != len(actions):
            raise ValueError(f"pi has {p.shape[1]} actions, actions= names {len(actions)}")
        probs = p.astype(np.float64)
    else:
        raise ValueError(f"pi must be (S,) actions or (S, A) probabilities, got shape {p.shape}")
    rows, cols = _grid_shape(shape, n)
    if values is not None:
        fig = value_function(values, (rows, cols), walls=walls, terminals=terminals,
                             annotate=False, ax=ax)
        ax = fig.axes[0] if ax is None else ax
    else:
        fig, ax = axes(ax, (max(3.0, 0.7 * cols), max(2.5, 0.7 * rows)))
        ax.set_xlim(-0.5, cols - 0.5)
        ax.set_ylim(rows - 0.5, -0.5)
        ax.set_aspect("equal")
        ax.set_xticks(np.arange(-0.5, cols, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, rows, 1), minor=True)
        ax.grid(which="minor", color="0.7")
        for s in np.flatnonzero(_mask(walls, n, "walls")):
            r, c = divmod(int(s), cols)
            ax.add_patch(_square(c, r, "0.4"))
    skip = _mask(walls, n, "walls") | _mask(terminals, n, "terminals")
    xs, ys, us, vs, dots = [], [], [], [], []
    for s in np.flatnonzero(~skip):
        r, c = divmod(int(s), cols)
        for a, name in enumerate(actions):
            if probs[s, a] <= 0:
                continue
            d = _ARROWS.get(str(name).lower())
            if d is None:
                dots.append((c, r))
                continue
            length = 0.4 * probs[s, a]
            xs.append(c - d[0] * length / 2)
            ys.append(r + d[1] * length / 2)
            us.append(d[0] * length)
            vs.append(d[1] * length)
    # angles="xy" with an inverted y axis: "up" (dy = +1) must point to the row above.
    ax.quiver(xs, ys, us, [-v for v in vs], angles="xy", scale_units="xy", scale=1,
              width=0.008, color="black")
    if dots:
        ax.plot(*zip(*dots), "o", color="black", ms=4)
    ax.set_title("policy π(s)")
    return fig


def _moving_average(v, window):
    kernel = np.ones(window) / window
    return np.convolve(v, kernel, mode="valid")


def returns(returns, *, window=None, target=None, ax=None, xlabel="episode"):
    """An RL learning curve: the return of each episode (faint) and its moving average.

    Formula
    -------
        G = Σ_t γ^t r_t per episode;  smoothed_i = (1/w) Σ_{j=i−w+1..i} G_j

    Parameters
    ----------
    returns : array (episodes,) or mapping label -> array
        One run, or several to compare (e.g. {"Q-learning": ..., "SARSA": ...}).
    window : int, optional
        Moving-average width; default about a twentieth of the episodes.
    target : float, optional
        A horizontal line, e.g. 475 for CartPole-v1's "solved".

    Returns
    -------
    matplotlib.figure.Figure
        Per run: the raw line, then the smoothed one (when the window fits).
    """
    series = dict(returns) if isinstance(returns, Mapping) else {"return": returns}
    fig, ax = axes(ax, (6.0, 3.5))
    for i, (label, values) in enumerate(series.items()):
        v = host(values, f"returns {label!r}", np.float64).ravel()
        if v.size == 0:
            raise ValueError(f"returns {label!r} is empty")
        w = window or max(1, v.size // 20)
        if not isinstance(w, (int, np.integer)) or w < 1:
            raise ValueError(f"window must be a positive integer, got {window!r}")
        colour = f"C{i}"
        x = np.arange(1, v.size + 1)
        ax.plot(x, v, color=colour, alpha=0.3, lw=0.8,
                label=str(label) if w == 1 or w > v.size else None)
        if 1 < w <= v.size:
            ax.plot(x[w - 1:], _moving_average(v, w), color=colour, lw=2,
                    label=f"{label} (mean of {w})")
    if target is not None:
        ax.axhline(float(target), ls="--", color="0.3", lw=1, label=f"target {target:g}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("return")
    ax.set_title("returns")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return fig
