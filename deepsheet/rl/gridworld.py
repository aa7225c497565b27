"""``GridWorld``: the grid worlds of Sutton & Barto as a Gymnasium environment with its exact MDP.

Importing this module imports Gymnasium (the ``rl`` extra); ``deepsheet.rl`` loads it on
first use of ``rl.GridWorld``.
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from .mdp import MDP

__all__ = ["GridWorld", "LAYOUTS"]

# Actions in Gymnasium's toy-text order (FrozenLake): left, down, right, up.
MOVES = ((0, -1), (1, 0), (0, 1), (-1, 0))
ACTION_NAMES = ("left", "down", "right", "up")

# Each layout: the map (S start, G goal: terminal with goal_reward, T terminal, C cliff:
# cliff_reward and back to the start, # wall, . free), its rewards, jumps, γ and time limit.
LAYOUTS = {
    # Sutton & Barto (2018) Example 4.1 / Figure 4.1: -1 per step, terminal corners, γ = 1,
    # episodes start in any non-terminal cell.
    "sutton-4x4": dict(grid=["T...", "....", "....", "...T"], step_reward=-1.0, gamma=1.0,
                       max_steps=100),
    # Example 3.5 / Figure 3.2: every action in A jumps to A' with +10, in B to B' with +5;
    # leaving the grid costs -1 and stays; a continuing task with γ = 0.9.
    "sutton-5x5": dict(grid=[".....", ".....", ".....", ".....", "....."], off_grid_reward=-1.0,
                       jumps={(0, 1): ((4, 1), 10.0), (0, 3): ((2, 3), 5.0)}, gamma=0.9,
                       max_steps=100),
    # Example 6.6: cliff walking, -1 per step, -100 and back to S for stepping on the cliff.
    "cliff": dict(grid=["............", "............", "............", "SCCCCCCCCCCG"],
                  step_reward=-1.0, cliff_reward=-100.0, gamma=1.0, max_steps=200),
    # A small maze with walls: 0 per step, +1 at the goal, γ = 0.95.
    "maze": dict(grid=["S..#....", ".#.#.##.", ".#...#..", ".####.#.", "......#G"],
                 goal_reward=1.0, gamma=0.95, max_steps=200),
}


class GridWorld(gym.Env):
    """A deterministic grid world from the books, on the Gymnasium API, with its exact MDP.

    Observations are cell indices ``row * width + col`` (``Discrete(rows · cols)``), actions
    0 left, 1 down, 2 right, 3 up (``Discrete(4)``). A move into a wall or off the grid
    stays in place. The reward of a step is ``step_reward`` plus ``off_grid_reward`` for a
    blocked move, ``goal_reward`` on entering G, or ``cliff_reward`` on entering C (which
    sends the agent back to S); a jump cell sends every action to its target with its
    reward. Entering G or T terminates the episode; ``max_steps`` truncates it.

    Formula::

        s' = move(s, a) (or the jump target),   r = R(s, a),   terminated = s' ∈ {G, T}

    Parameters
    ----------
    layout : str or list of str
        A name in ``LAYOUTS`` ("sutton-4x4", "sutton-5x5", "cliff", "maze") or rows of
        characters ``S G T C # .``.
    step_reward, off_grid_reward, goal_reward, cliff_reward : float, optional
        Override the layout's rewards (defaults 0, 0, 0, -100 for a custom grid).
    jumps : dict {(row, col): ((row', col'), reward)}, optional
    max_steps : int or None
        Truncate episodes after this many steps (None: never).
    render_mode : {None, "ansi"}

    Attributes
    ----------
    gamma : float
        The layout's discount (the book's), used by ``mdp()`` by default.

    Examples
    --------
    >>> from deepsheet import rl
    >>> env = rl.GridWorld("sutton-4x4")
    >>> V = rl.policy_evaluation(env.mdp(), [[0.25] * 4] * 16)
    >>> [round(v) for v in V[:4]]
    [0, -14, -20, -22]
    """

    metadata = {"render_modes": ["ansi"]}

    def __init__(self, layout="sutton-4x4", *, step_reward=None, off_grid_reward=None,
                 goal_reward=None, cliff_reward=None, jumps=None, gamma=None, max_steps="layout",
                 render_mode=None):
        spec = {}
        if isinstance(layout, str):
            if layout not in LAYOUTS:
                raise ValueError(f"GridWorld: layout must be one of {sorted(LAYOUTS)} or a list "
                                 f"of rows, got {layout!r}")
            spec = dict(LAYOUTS[layout])
            grid = spec["grid"]
        else:
            grid = list(layout)
        if not grid or any(not isinstance(r, str) for r in grid) or len({len(r) for r in grid}) != 1:
            raise ValueError("GridWorld: layout rows must be strings of equal length")
        bad = set("".join(grid)) - set("SGTC#.")
        if bad:
            raise ValueError(f"GridWorld: unknown layout characters {sorted(bad)}; use S G T C # .")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"GridWorld: render_mode must be None or 'ansi', got {render_mode!r}")

        def pick(name, value, default):
            return float(value if value is not None else spec.get(name, default))

        self.grid = [str(r) for r in grid]
        self.rows, self.cols = len(grid), len(grid[0])
        self.step_reward = pick("step_reward", step_reward, 0.0)
        self.off_grid_reward = pick("off_grid_reward", off_grid_reward, 0.0)
        self.goal_reward = pick("goal_reward", goal_reward, 0.0)
        self.cliff_reward = pick("cliff_reward", cliff_reward, -100.0)
        self.jumps = dict(spec.get("jumps", {}) if jumps is None else jumps)
        self.gamma = pick("gamma", gamma, 1.0)
        self.max_steps = spec.get("max_steps", 100) if max_steps == "layout" else max_steps
        if self.max_steps is not None and (not isinstance(self.max_steps, int) or self.max_steps < 1):
            raise ValueError(f"GridWorld: max_steps must be a positive int or None, got {max_steps!r}")
        self.render_mode = render_mode
        self._build()
        self.observation_space = spaces.Discrete(self.rows * self.cols)
        self.action_space = spaces.Discrete(4)
        self.s = int(self._starts[0])
        self.steps = 0

    def _cell(self, r, c):
        return self.grid[r][c]

    def _build(self):
        """Tabulate s' = next_state[s, a], reward[s, a] and the terminal mask."""
        R, C = self.rows, self.cols
        S = R * C
        cells = "".join(self.grid)
        self.terminal = np.array([ch in "GT" for ch in cells])
        starts = [i for i, ch in enumerate(cells) if ch == "S"]
        self._start = starts[0] if starts else None
        # Without an S, episodes start uniformly in the free, non-terminal cells (Sutton's 4×4).
        self._starts = np.array(starts or [i for i, ch in enumerate(cells) if ch in "."])
        if self._starts.size == 0:
            raise ValueError("GridWorld: the layout has no start cell (S) and no free cell")
        nxt = np.zeros((S, 4), dtype=np.int64)
        rew = np.zeros((S, 4))
        for s in range(S):
            r, c = divmod(s, C)
            for a, (dr, dc) in enumerate(MOVES):
                if (r, c) in self.jumps:
                    (jr, jc), bonus = self.jumps[(r, c)]
                    nxt[s, a], rew[s, a] = jr * C + jc, float(bonus)
                    continue
                r2, c2 = r + dr, c + dc
                reward = self.step_reward
                if not (0 <= r2 < R and 0 <= c2 < C) or self._cell(r2, c2) == "#":
                    r2, c2 = r, c
                    reward += self.off_grid_reward
                ch = self._cell(r2, c2)
                if ch == "G":
                    reward += self.goal_reward
                elif ch == "C":
                    reward += self.cliff_reward - self.step_reward
                    if self._start is None:
                        raise ValueError("GridWorld: a layout with cliffs (C) needs a start (S)")
                    r2, c2 = divmod(self._start, C)
                nxt[s, a], rew[s, a] = r2 * C + c2, reward
        self.next_state, self.reward = nxt, rew

    def mdp(self, gamma=None):
        """The exact model: P(s' | s, a) = 1 for the tabulated move, R(s, a), terminal cells."""
        S = self.rows * self.cols
        P = np.zeros((S, 4, S))
        P[np.arange(S)[:, None], np.arange(4)[None, :], self.next_state] = 1.0
        initial = np.zeros(S)
        initial[self._starts] = 1.0 / self._starts.size
        return MDP(P, self.reward, self.gamma if gamma is None else gamma,
                   terminal=self.terminal, initial=initial)

    # ------------------------------------------------------------ Gymnasium API
    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s = int(self._starts[self.np_random.integers(self._starts.size)])
        self.steps = 0
        return self.s, {}

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"GridWorld.step: action must be an int in [0, 4), got {action!r}")
        a = int(action)
        reward = float(self.reward[self.s, a])
        self.s = int(self.next_state[self.s, a])
        self.steps += 1
        terminated = bool(self.terminal[self.s])
        truncated = (not terminated and self.max_steps is not None
                     and self.steps >= self.max_steps)
        return self.s, reward, terminated, truncated, {}

    def render(self):
        if self.render_mode != "ansi":
            return None
        r, c = divmod(self.s, self.cols)
        rows = [list(row) for row in self.grid]
        rows[r][c] = "A"
        return "\n".join("".join(row) for row in rows) + "\n"


# gym.make("deepsheet/GridWorld-v0", layout=...) works once deepsheet.rl.GridWorld was touched.
if "deepsheet/GridWorld-v0" not in gym.registry:
    gym.register("deepsheet/GridWorld-v0", entry_point=GridWorld)
