"""DQN on CartPole-v1: environment steps per second of deepsheet's ``rl.DQN`` against a minimal PyTorch DQN.

Same everything on both sides: CartPole-v1 reset with the same seed, an MLP 4-64-64-2 with
ReLU, Adam(5e-4), batch 64, replay of 50,000 (the same NumPy ring buffer class), learning
after 1,000 steps, one gradient step per environment step, double-DQN targets, a hard target
copy every 500 steps, Huber loss, global gradient-norm clipping at 10, ε from 1 to 0.05 over
10,000 steps. Small networks make the per-call overhead (acting on one observation, three
forward passes and a backward per update) decide the speed, not the arithmetic.

Rounds alternate ours / PyTorch (A B A B) at each thread count (``deepsheet.set_num_threads``,
which also keeps NumPy's BLAS at one thread inside its pool, and ``torch.set_num_threads``);
the report gives best and median steps/s and the
ratio ours / PyTorch (> 1: deepsheet is faster), by the wall clock and per CPU-second of the
process (the latter is far less sensitive to other jobs on a shared machine). Pass ``--config cleanrl`` for the CartPole
recipe of ``deepsheet rl dqn`` and ``examples/cartpole.py`` (CleanRL's: 120-84 network, MSE, no
double DQN, no clipping, an update every 10 steps after 10,000). On a loaded machine PyTorch's
OpenMP workers spin at barriers when it runs on 2 threads; ``OMP_WAIT_POLICY=PASSIVE`` stops that.

    python benchmarks/bench_dqn.py [--steps 6000] [--rounds 3] [--threads 1,2] [--config default|cleanrl]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from deepsheet import rl  # noqa: E402
from deepsheet.rl.dqn import ReplayBuffer  # noqa: E402

CONFIGS = {
    "default": dict(hidden=(64, 64), learning_rate=5e-4, batch_size=64, buffer_size=50_000,
                    learning_starts=1_000, train_freq=1, gradient_steps=1, target_update=500,
                    eps_steps=10_000, eps_end=0.05, double=True, loss="huber", clip=10.0),
    "cleanrl": dict(hidden=(120, 84), learning_rate=2.5e-4, batch_size=128, buffer_size=10_000,
                    learning_starts=10_000, train_freq=10, gradient_steps=1, target_update=500,
                    eps_steps=250_000, eps_end=0.05, double=False, loss="mse", clip=None),
}
GAMMA = 0.99


def run_ours(cfg, steps, seed):
    import gymnasium as gym
    agent = rl.DQN(hidden=cfg["hidden"], learning_rate=cfg["learning_rate"], gamma=GAMMA,
                   batch_size=cfg["batch_size"], buffer_size=cfg["buffer_size"],
                   learning_starts=cfg["learning_starts"], train_freq=cfg["train_freq"],
                   gradient_steps=cfg["gradient_steps"], target_update=cfg["target_update"],
                   epsilon=rl.LinearSchedule(1.0, cfg["eps_end"], cfg["eps_steps"]),
                   double=cfg["double"], loss=cfg["loss"], max_grad_norm=cfg["clip"], seed=seed)
    env = gym.make("CartPole-v1")
    t, c = time.perf_counter(), time.process_time()
    agent.train(env, total_steps=steps, seed=seed)
    return steps / (time.perf_counter() - t), steps / (time.process_time() - c)


def run_torch(cfg, steps, seed):
    """A minimal PyTorch DQN: the textbook loop, written as a PyTorch user would."""
    import gymnasium as gym
    import torch
    from torch import nn
    torch.manual_seed(seed)
    sizes = (4,) + tuple(cfg["hidden"])
    mods = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        mods += [nn.Linear(a, b), nn.ReLU()]
    q = nn.Sequential(*mods, nn.Linear(sizes[-1], 2))
    target = nn.Sequential(*[type(m)(m.in_features, m.out_features) if isinstance(m, nn.Linear)
                             else nn.ReLU() for m in q])
    target.load_state_dict(q.state_dict())
    opt = torch.optim.Adam(q.parameters(), lr=cfg["learning_rate"])
    buf = ReplayBuffer(cfg["buffer_size"], 4, seed=seed + 1)
    rng = np.random.default_rng(seed)
    eps = rl.LinearSchedule(1.0, cfg["eps_end"], cfg["eps_steps"])
    env = gym.make("CartPole-v1")
    t, c = time.perf_counter(), time.process_time()
    obs, _ = env.reset(seed=seed)
    for step in range(1, steps + 1):
        if rng.random() < eps(step - 1):
            a = int(rng.integers(2))
        else:
            with torch.no_grad():
                a = int(q(torch.as_tensor(obs)[None]).argmax())
        obs2, r, term, trunc, _ = env.step(a)
        buf.add(obs, a, r, obs2, term)
        obs = obs2
        if term or trunc:
            obs, _ = env.reset()
        if step > cfg["learning_starts"] and step % cfg["train_freq"] == 0:
            for _ in range(cfg["gradient_steps"]):
                o, act, rew, o2, d = (torch.as_tensor(x) for x in buf.sample(cfg["batch_size"]))
                with torch.no_grad():
                    if cfg["double"]:
                        best = q(o2).argmax(1, keepdim=True)
                        v = target(o2).gather(1, best)[:, 0]
                    else:
                        v = target(o2).max(1).values
                    y = rew + GAMMA * (1 - d) * v
                chosen = q(o).gather(1, act[:, None])[:, 0]
                loss = (nn.functional.smooth_l1_loss(chosen, y) if cfg["loss"] == "huber"
                        else nn.functional.mse_loss(chosen, y))
                opt.zero_grad()
                loss.backward()
                if cfg["clip"] is not None:
                    nn.utils.clip_grad_norm_(q.parameters(), cfg["clip"])
                opt.step()
        if step % cfg["target_update"] == 0:
            target.load_state_dict(q.state_dict())
    return steps / (time.perf_counter() - t), steps / (time.process_time() - c)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--config", choices=sorted(CONFIGS), default="default")
    args = parser.parse_args()
    import torch

    import deepsheet as ds
    cfg = CONFIGS[args.config]
    print(f"config {args.config}: {cfg}, {args.steps} steps per run; load average "
          f"{os.getloadavg()[0]:.2f}")
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        ds.set_num_threads(threads)
        ours, theirs = [], []
        for r in range(args.rounds):
            ours.append(run_ours(cfg, args.steps, seed=r))
            theirs.append(run_torch(cfg, args.steps, seed=r))
            print(f"  {threads} thread(s), round {r}: deepsheet {ours[-1][0]:,.0f}, PyTorch "
                  f"{theirs[-1][0]:,.0f} steps/s; per CPU-second {ours[-1][1]:,.0f} vs "
                  f"{theirs[-1][1]:,.0f} (load {os.getloadavg()[0]:.1f})", flush=True)
        for k, what in ((0, "steps/s"), (1, "steps per CPU-second")):
            a, b = [o[k] for o in ours], [o[k] for o in theirs]
            print(f"{threads} thread(s), {what}: deepsheet best {max(a):,.0f} median "
                  f"{statistics.median(a):,.0f} | PyTorch best {max(b):,.0f} median "
                  f"{statistics.median(b):,.0f} | ratio best {max(a) / max(b):.2f}, median "
                  f"{statistics.median(a) / statistics.median(b):.2f}", flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
