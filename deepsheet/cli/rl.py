"""``deepsheet rl``: value iteration, tabular TD control, DQN and REINFORCE on Gymnasium environments.

* ``rl value-iteration --env FrozenLake-v1 [--gamma 1.0]``: solves the environment's exact
  MDP, prints the values (as a grid where there is one), the policy, the policy's exact
  expected return under the time limit and a sampled evaluation; writes ``values.csv``
  (and ``values.png`` with matplotlib);
* ``rl q-learning --env Taxi-v4 [--method q-learning|sarsa|expected-sarsa] [--episodes N]``;
* ``rl dqn --env CartPole-v1 [--steps N]`` and ``rl reinforce --env CartPole-v1 [--episodes N]``:
  train with a progress bar, write ``returns.csv`` and ``returns.png`` (with matplotlib) to
  the run folder (default ``runs/rl-<command>-<env>-<time>``), the network as
  ``agent.deepsheet``, and print the greedy policy's evaluation.

``--env`` takes the names the installed Gymnasium registers (``FrozenLake8x8-v1``,
``CliffWalking-v1``, ``Taxi-v4``, ``CartPole-v1``, ...) or ``gridworld:LAYOUT`` for
``deepsheet.rl.GridWorld`` (sutton-4x4, sutton-5x5, cliff, maze).
"""
from __future__ import annotations

import os

from ._common import _new_run_folder, _positive_int
from ._registry import command


def _fraction(text):
    import argparse
    try:
        v = float(text)
    except ValueError:
        v = -1.0
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return v


def _positive_float(text):
    import argparse
    try:
        v = float(text)
    except ValueError:
        v = -1.0
    if not v > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return v


def _common_arguments(p, gamma):
    p.add_argument("--env", required=True,
                   help="a Gymnasium id (FrozenLake-v1, Taxi-v4, CartPole-v1, ...) or gridworld:LAYOUT")
    p.add_argument("--gamma", type=_fraction, default=gamma,
                   help=f"discount (default {gamma if gamma is not None else '1, or a grid world layout’s own'})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-episodes", type=_positive_int, default=100,
                   help="episodes of the final greedy evaluation (default 100)")
    p.add_argument("--out", default=None, help="run folder (default runs/rl-<command>-<env>-<time>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--threads", type=_positive_int, default=None,
                   help="threads for deepsheet's kernels (default: the library's choice)")


def _rl_arguments(parser):
    sub = parser.add_subparsers(dest="rl_command", metavar="ALGORITHM", required=True)
    p = sub.add_parser("value-iteration", help="solve a tabular environment's exact MDP")
    _common_arguments(p, None)
    p.add_argument("--tol", type=_positive_float, default=1e-8)
    p = sub.add_parser("q-learning", help="tabular Q-learning (or SARSA, Expected SARSA)")
    _common_arguments(p, 0.99)
    p.add_argument("--method", choices=("q-learning", "sarsa", "expected-sarsa"),
                   default="q-learning")
    p.add_argument("--episodes", type=_positive_int, default=5_000)
    p.add_argument("--learning-rate", type=_positive_float, default=0.1)
    p.add_argument("--epsilon", type=_fraction, default=1.0, help="ε at the start")
    p.add_argument("--epsilon-end", type=_fraction, default=0.01)
    p.add_argument("--epsilon-episodes", type=_positive_int, default=None,
                   help="episodes over which ε falls linearly (default: 2/3 of --episodes)")
    p = sub.add_parser("dqn", help="deep Q-network on a deepsheet MLP (defaults: CleanRL's "
                                   "CartPole recipe)")
    _common_arguments(p, 0.99)
    p.add_argument("--steps", type=_positive_int, default=500_000)
    p.add_argument("--hidden", type=_positive_int, nargs="+", default=[120, 84])
    p.add_argument("--learning-rate", type=_positive_float, default=2.5e-4)
    p.add_argument("--batch-size", type=_positive_int, default=128)
    p.add_argument("--buffer-size", type=_positive_int, default=10_000)
    p.add_argument("--learning-starts", type=_positive_int, default=10_000)
    p.add_argument("--train-freq", type=_positive_int, default=10)
    p.add_argument("--gradient-steps", type=_positive_int, default=1)
    p.add_argument("--target-update", type=_positive_int, default=500)
    p.add_argument("--epsilon-steps", type=_positive_int, default=None,
                   help="steps over which ε falls from 1 (default: half of --steps)")
    p.add_argument("--epsilon-end", type=_fraction, default=0.05)
    p.add_argument("--loss", choices=("mse", "huber"), default="mse")
    p.add_argument("--double", action="store_true", help="double DQN targets")
    p.add_argument("--max-grad-norm", type=_positive_float, default=None)
    p.add_argument("--target-return", type=float, default=None,
                   help="stop once the last 20 training episodes average this (CartPole: 495)")
    p = sub.add_parser("reinforce", help="REINFORCE policy gradient with a learned baseline")
    _common_arguments(p, 0.99)
    p.add_argument("--episodes", type=_positive_int, default=1_000)
    p.add_argument("--hidden", type=_positive_int, nargs="+", default=[64])
    p.add_argument("--learning-rate", type=_positive_float, default=1e-2)
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--target-return", type=float, default=None,
                   help="stop once the last 20 training episodes average this (CartPole: 495)")


def make_env(name):
    """A Gymnasium environment by id, or ``gridworld:LAYOUT``; unknown names are a ValueError."""
    import gymnasium as gym
    from .. import rl
    if name.lower().startswith("gridworld"):
        layout = name.split(":", 1)[1] if ":" in name else "sutton-4x4"
        return rl.GridWorld(layout)
    try:
        return gym.make(name)
    except gym.error.Error as exc:
        raise ValueError(f"unknown environment {name!r} ({exc}); for example CartPole-v1, "
                         "FrozenLake-v1, FrozenLake8x8-v1, CliffWalking-v1, Taxi-v4 or "
                         "gridworld:LAYOUT") from None


def _grid_shape(env):
    base = env.unwrapped
    if hasattr(base, "rows") and hasattr(base, "cols"):
        return base.rows, base.cols
    desc = getattr(base, "desc", None)
    if desc is not None:
        return tuple(desc.shape)
    shape = getattr(base, "shape", None)
    return tuple(shape) if isinstance(shape, tuple) and len(shape) == 2 else None


def _plot(kind, data, path, title, shape=None, policy=None, actions=None, target=None,
          terminals=None):
    """A PNG drawn by ``deepsheet.plot`` (returns, or V with π's arrows); None without matplotlib."""
    from .. import plot
    try:
        if kind == "returns":
            fig = plot.returns(data, target=target)
        else:
            fig = plot.policy(policy, shape, values=data, actions=actions, terminals=terminals)
    except ImportError:
        return None
    fig.axes[0].set_title(title)
    return plot.save(fig, path, dpi=110)


def _write_returns(folder, returns, title, env=None):
    import numpy as np
    path = os.path.join(folder, "returns.csv")
    np.savetxt(path, np.asarray(returns), fmt="%.10g", header="return", comments="")
    target = getattr(getattr(env, "spec", None), "reward_threshold", None)
    png = _plot("returns", returns, os.path.join(folder, "returns.png"), title, target=target)
    print(f"returns: {path}" + (f", curve: {png}" if png else " (install matplotlib for a curve)"))


def _action_names(env):
    """Directions of the action indices for the arrows: CliffWalking numbers them up, right,
    down, left; FrozenLake and rl.GridWorld left, down, right, up."""
    from ..plot.rl import FROZEN_LAKE_ACTIONS, GRID_ACTIONS
    return GRID_ACTIONS if "CliffWalking" in type(env.unwrapped).__name__ else FROZEN_LAKE_ACTIONS


def _print_evaluation(agent, env, args):
    from .. import rl
    threshold = getattr(getattr(env, "spec", None), "reward_threshold", None)
    tabular = type(env.observation_space).__name__ == "Discrete"
    result = rl.evaluate(agent, env, episodes=args.eval_episodes, seed=args.seed + 10_000,
                         success_threshold=None if tabular else threshold)
    print(f"greedy policy over {args.eval_episodes} episodes: mean return {result.mean:.3f} "
          f"± {result.std:.3f}, success rate {result.success_rate:.3f}")
    return result


def _exact_comparison(env, policy, gamma):
    """The policy's exact expected return next to the optimum's, where the model is known."""
    from .. import rl
    try:
        mdp = rl.MDP.from_gymnasium(env, gamma=1.0)
    except (TypeError, ValueError):
        if not hasattr(env.unwrapped, "mdp"):
            return
        mdp = env.unwrapped.mdp(gamma=1.0)
    if mdp.initial is None:
        return
    horizon = getattr(getattr(env, "spec", None), "max_episode_steps", None) or getattr(
        env.unwrapped, "max_steps", None) or 1_000
    # The reference plans at the run's discount; both are scored undiscounted within the limit.
    plan = rl.MDP(mdp.P, mdp.R, gamma, terminal=mdp.terminal, initial=mdp.initial)
    _, best = rl.value_iteration(plan)
    mine = rl.expected_return(mdp, policy, horizon=horizon)
    opt = rl.expected_return(mdp, best, horizon=horizon)
    print(f"exact expected return in {horizon} steps: {mine:.4f} (optimal policy at γ = {gamma:g}: "
          f"{opt:.4f})")


def _value_iteration(args, env, folder):
    import numpy as np
    from .. import rl
    if args.gamma is None:
        args.gamma = getattr(env.unwrapped, "gamma", 1.0) if hasattr(env.unwrapped, "mdp") else 1.0
    try:
        mdp = rl.MDP.from_gymnasium(env, gamma=args.gamma)
    except TypeError:
        if not hasattr(env.unwrapped, "mdp"):
            raise ValueError(f"{args.env} has no model (env.unwrapped.P); value iteration needs "
                             "a tabular environment such as FrozenLake-v1, Taxi-v4, "
                             "CliffWalking-v1 or gridworld:LAYOUT") from None
        mdp = env.unwrapped.mdp(gamma=args.gamma)
    V, policy = rl.value_iteration(mdp, tol=args.tol)
    shape = _grid_shape(env)
    print(f"{mdp}")
    if shape and shape[0] * shape[1] == mdp.n_states:
        # local print options: the command may run inside a user's process (cli.main)
        with np.printoptions(precision=3, suppress=True, linewidth=120):
            print("V* (as the grid):")
            print(V.reshape(shape))
            print("greedy policy (" + ", ".join(f"{i} {a}" for i, a in
                                                 enumerate(_action_names(env))) + "):")
            print(policy.reshape(shape))
    else:
        print(f"V*: {mdp.n_states} states, min {V.min():.4f}, max {V.max():.4f}")
    path = os.path.join(folder, "values.csv")
    np.savetxt(path, np.column_stack([np.arange(mdp.n_states), V, policy]),
               fmt=["%d", "%.10g", "%d"], delimiter=",", header="state,value,action", comments="")
    png = None
    if shape and shape[0] * shape[1] == mdp.n_states:
        png = _plot("values", V, os.path.join(folder, "values.png"),
                    f"V* and π* of {args.env} (γ = {args.gamma})", shape=shape, policy=policy,
                    actions=_action_names(env), terminals=mdp.terminal)
    print(f"values: {path}" + (f", figure: {png}" if png else ""))
    _exact_comparison(env, policy, args.gamma)

    class Planned:
        def act(self, obs, greedy=True):
            return int(policy[int(obs)])
    _print_evaluation(Planned(), env, args)
    return 0


def _q_learning(args, env, folder):
    from .. import rl
    cls = {"q-learning": rl.QLearning, "sarsa": rl.SARSA,
           "expected-sarsa": rl.ExpectedSARSA}[args.method]
    decay = args.epsilon_episodes or max(1, 2 * args.episodes // 3)
    agent = cls(learning_rate=min(args.learning_rate, 1.0), gamma=args.gamma,
                epsilon=rl.LinearSchedule(args.epsilon, args.epsilon_end, decay), seed=args.seed)
    returns = agent.train(env, args.episodes, seed=args.seed, progress=not args.quiet)
    _write_returns(folder, returns, f"{args.method} on {args.env}", env)
    import numpy as np
    np.savetxt(os.path.join(folder, "q.csv"), agent.q, fmt="%.8g", delimiter=",")
    _exact_comparison(env, agent.policy(), args.gamma)
    _print_evaluation(agent, env, args)
    return 0


def _deep(args, env, folder):
    from .. import rl
    if args.rl_command == "dqn":
        agent = rl.DQN(hidden=tuple(args.hidden), learning_rate=args.learning_rate,
                       gamma=args.gamma, batch_size=args.batch_size, buffer_size=args.buffer_size,
                       learning_starts=args.learning_starts, train_freq=args.train_freq,
                       gradient_steps=args.gradient_steps, target_update=args.target_update,
                       epsilon=rl.LinearSchedule(1.0, args.epsilon_end,
                                                 args.epsilon_steps or max(1, args.steps // 2)),
                       loss=args.loss, double=args.double, max_grad_norm=args.max_grad_norm,
                       seed=args.seed)
        returns = agent.train(env, total_steps=args.steps, seed=args.seed, progress=not args.quiet,
                              target_return=args.target_return, window=20)
    else:
        agent = rl.REINFORCE(hidden=tuple(args.hidden), learning_rate=args.learning_rate,
                             baseline=not args.no_baseline, gamma=args.gamma, seed=args.seed)
        returns = agent.train(env, episodes=args.episodes, seed=args.seed, progress=not args.quiet,
                              target_return=args.target_return, window=20)
    _write_returns(folder, returns, f"{args.rl_command} on {args.env}", env)
    path = os.path.join(folder, "agent.deepsheet")
    agent.save(path)
    print(f"network: {path}")
    _print_evaluation(agent, env, args)
    return 0


@command("rl", "reinforcement learning on Gymnasium environments (value-iteration, q-learning, "
         "dqn, reinforce)", arguments=_rl_arguments)
def _run_rl(args):
    try:
        import gymnasium  # noqa: F401
    except ImportError:
        raise ValueError("deepsheet rl needs Gymnasium: pip install 'deepsheet[rl]'") from None
    if args.threads is not None:
        from .. import parallel
        parallel.set_num_threads(args.threads)
    env = make_env(args.env)
    name = args.env.replace("/", "-").replace(":", "-")
    folder = args.out or _new_run_folder(f"rl-{args.rl_command}", name)
    os.makedirs(folder, exist_ok=True)
    run = {"value-iteration": _value_iteration, "q-learning": _q_learning,
           "dqn": _deep, "reinforce": _deep}[args.rl_command]
    try:
        return run(args, env, folder)
    except TypeError as exc:  # a tabular method on continuous observations, and the like
        if "space" not in str(exc):
            raise
        raise ValueError(str(exc)) from None
