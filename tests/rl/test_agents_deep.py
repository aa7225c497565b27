"""DQN and REINFORCE on deepsheet models: the fused TD loss against PyTorch, learning, seeding, files."""
import numpy as np
import pytest

from deepsheet import rl
from deepsheet.rl._networks import td_loss

gym = pytest.importorskip("gymnasium", reason="the agents learn on Gymnasium environments")


@pytest.mark.parametrize("kind", ["huber", "mse"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_td_loss_matches_torch(kind, dtype):
    torch = pytest.importorskip("torch")
    import deepsheet as ds
    rng = np.random.default_rng(0)
    q = rng.normal(size=(16, 3)).astype(dtype) * 2
    a = rng.integers(0, 3, 16)
    y = rng.normal(size=16).astype(dtype) * 2
    tq = ds.tensor(q, requires_grad=True)
    loss = td_loss(tq, a, y, kind=kind)
    loss.backward()
    pq = torch.tensor(q, requires_grad=True)
    chosen = pq.gather(1, torch.tensor(a)[:, None])[:, 0]
    fn = torch.nn.functional.smooth_l1_loss if kind == "huber" else torch.nn.functional.mse_loss
    ref = fn(chosen, torch.tensor(y))
    ref.backward()
    tol = 1e-6 if dtype == np.float32 else 1e-12
    assert loss.dtype == dtype
    np.testing.assert_allclose(loss.data, ref.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(tq.grad, pq.grad.numpy(), rtol=tol, atol=tol)


def corridor():
    # S . . . G: +1 for reaching G, γ = 0.9; the optimal policy is "right" (action 2) everywhere.
    return rl.GridWorld(["S...G"], goal_reward=1.0, max_steps=30)


def test_dqn_learns_the_corridor_and_is_reproducible(tmp_path):
    env = corridor()
    kw = dict(hidden=(32,), learning_rate=1e-2, gamma=0.9, batch_size=32, learning_starts=100,
              target_update=100, epsilon=rl.LinearSchedule(1.0, 0.05, 500), seed=0)
    agent = rl.DQN(**kw)
    first = agent.train(env, total_steps=600, seed=0)
    again = rl.DQN(**kw)
    np.testing.assert_array_equal(again.train(env, total_steps=600, seed=0), first)
    for w1, w2 in zip(agent.model.get_weights(), again.model.get_weights()):
        np.testing.assert_array_equal(w1, w2)
    agent.train(env, total_steps=600)
    assert [agent.act(s) for s in range(4)] == [2, 2, 2, 2]
    assert rl.evaluate(agent, env, episodes=5, seed=0).success_rate == 1.0
    # Q of the state next to the goal approaches r = 1; two steps away, γ · 1.
    q = agent.q_values(np.array([3, 2]))
    np.testing.assert_allclose(q[:, 2], [1.0, 0.9], atol=0.15)
    path = tmp_path / "q.deepsheet"
    agent.save(path)
    fresh = rl.DQN(hidden=(32,), seed=5).setup(env).load(path)
    np.testing.assert_array_equal(fresh.q_values(np.array([0, 1])), agent.q_values(np.array([0, 1])))


def test_dqn_double_soft_mse_variants_and_targets():
    env = gym.make("CartPole-v1")
    agent = rl.DQN(hidden=(16,), learning_starts=32, batch_size=8, tau=0.5, double=False,
                   loss="mse", seed=1)
    agent.train(env, total_steps=60, seed=0)
    assert agent.updates == 60 - 32 and len(agent.losses) == agent.updates
    # Soft update: θ⁻ ← τθ + (1 − τ)θ⁻.
    before = [w.copy() for w in agent.target.get_weights()]
    agent._soft_update()
    for b, t, p in zip(before, agent.target.get_weights(), agent.model.get_weights()):
        np.testing.assert_allclose(t, 0.5 * p + 0.5 * b, rtol=1e-6)
    agent.sync_target()
    for t, p in zip(agent.target.get_weights(), agent.model.get_weights()):
        np.testing.assert_array_equal(t, p)


def test_reinforce_learns_the_corridor():
    env = corridor()
    agent = rl.REINFORCE(hidden=(16,), learning_rate=5e-2, gamma=0.9, seed=0)
    returns = agent.train(env, episodes=60, seed=0)
    assert returns.shape == (60,)
    assert [agent.act(s) for s in range(4)] == [2, 2, 2, 2]
    p = agent.probabilities(np.array([0, 3]))
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    no_base = rl.REINFORCE(hidden=(16,), baseline=False, normalize_returns=False, seed=0)
    no_base.train(env, total_steps=50, seed=0)
    assert no_base.value_model is None


def test_discounted_returns():
    from deepsheet.rl.reinforce import discounted_returns
    np.testing.assert_allclose(discounted_returns([1.0, 0.0, 2.0], 0.5), [1.5, 1.0, 2.0])


def test_evaluate_success_rules():
    env = corridor()
    right = rl.evaluate(lambda s: 2, env, episodes=3, seed=0)
    assert right == (1.0, 0.0, 1.0, right.returns) and right.returns.tolist() == [1, 1, 1]
    stuck = rl.evaluate(lambda s: 0, env, episodes=2, seed=0)
    assert stuck.mean == 0 and stuck.success_rate == 0
    assert rl.evaluate(lambda s: 0, env, 2, success_threshold=0.0).success_rate == 1.0
    with pytest.raises(TypeError, match="act"):
        rl.evaluate(42, env)


def test_deep_agents_bad_input():
    with pytest.raises(ValueError, match="hidden"):
        rl.DQN(hidden=(0,))
    with pytest.raises(ValueError, match="loss"):
        rl.DQN(loss="l1")
    with pytest.raises(ValueError, match="total_steps= or episodes="):
        rl.DQN().train(corridor())
    with pytest.raises(TypeError, match="Discrete action space"):
        rl.DQN().train(gym.make("Pendulum-v1"), total_steps=1)
    with pytest.raises(RuntimeError, match="before act"):
        rl.REINFORCE().act(np.zeros(4))
    import deepsheet as ds
    wrong = ds.Sequential([ds.layers.Input((4,)), ds.layers.Dense(3)])
    with pytest.raises(ValueError, match="model must map"):
        rl.DQN(wrong).train(gym.make("CartPole-v1"), total_steps=1)
