"""CartPole-v1 with deepsheet's DQN or REINFORCE: train, then the greedy policy's mean return over 100 episodes.

    python examples/cartpole.py dqn --seeds 0 1 2
    python examples/cartpole.py reinforce --seeds 0 1 2

Prints, per seed, the training time (wall clock and CPU), the number of environment steps and the evaluation
(mean ± std over 100 episodes; the environment's "solved" threshold is 475), and writes
the returns of each run to ``runs/cartpole-<agent>-seed<N>.csv``.
"""
import argparse
import os
import time

import gymnasium as gym
import numpy as np

from deepsheet import rl


def make_agent(kind, seed):
    if kind == "dqn":
        # CleanRL's dqn.py recipe for CartPole-v1 (Huang et al. 2022): 120-84 MLP, Adam 2.5e-4,
        # batch 128, replay 10,000, learning after 10,000 steps, an update every 10 steps, a
        # hard target copy every 500 steps, MSE, no double DQN, no clipping, ε 1 -> 0.05 over
        # the first half of 500,000 steps.
        return rl.DQN(hidden=(120, 84), learning_rate=2.5e-4, batch_size=128, buffer_size=10_000,
                      learning_starts=10_000, gamma=0.99, train_freq=10, gradient_steps=1,
                      target_update=500, double=False, loss="mse", max_grad_norm=None,
                      epsilon=rl.LinearSchedule(1.0, 0.05, 250_000), seed=seed)
    return rl.REINFORCE(hidden=(64,), learning_rate=1e-2, baseline_learning_rate=1e-2,
                        gamma=0.99, batch_episodes=1, seed=seed)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("agent", choices=("dqn", "reinforce"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=500_000, help="DQN environment steps (at most)")
    parser.add_argument("--episodes", type=int, default=1_000, help="REINFORCE episodes (at most)")
    parser.add_argument("--threads", type=int, default=1, help="deepsheet.set_num_threads")
    args = parser.parse_args()
    import deepsheet as ds
    ds.set_num_threads(args.threads)
    os.makedirs("runs", exist_ok=True)
    solved = 0
    for seed in args.seeds:
        env = gym.make("CartPole-v1")
        agent = make_agent(args.agent, seed)
        t, cpu = time.perf_counter(), time.process_time()
        if args.agent == "dqn":
            # Also stop once the last 20 training episodes (ε-greedy) average 495.
            returns = agent.train(env, total_steps=args.steps, seed=seed, target_return=495,
                                  window=20)
        else:
            # Stop once the sampled policy averages 495 over 20 episodes (the greedy one is
            # then at least as good on CartPole).
            returns = agent.train(env, episodes=args.episodes, seed=seed, target_return=495,
                                  window=20)
        elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
        result = rl.evaluate(agent, gym.make("CartPole-v1"), episodes=100, seed=10_000 + seed,
                             success_threshold=475)
        solved += result.mean >= 475
        path = f"runs/cartpole-{args.agent}-seed{seed}.csv"
        np.savetxt(path, returns, fmt="%g", header="return", comments="")
        print(f"seed {seed}: {elapsed:.0f} s ({cpu:.0f} s CPU), {int(returns.sum())} steps, {len(returns)} episodes; "
              f"greedy return over 100 episodes {result.mean:.1f} ± {result.std:.1f} -> {path}",
              flush=True)
    print(f"{solved} of {len(args.seeds)} seeds reach a mean return >= 475")


if __name__ == "__main__":
    main()
