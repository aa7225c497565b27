"""Tabular agents and the learned model: known answers on FrozenLake, Taxi and hand-counted logs."""
import numpy as np
import pytest

from deepsheet import rl

gym = pytest.importorskip("gymnasium", reason="the agents learn on Gymnasium environments")


def test_mle_equals_hand_counts():
    # A log over 3 states and 2 actions; untried pairs get the uniform row (CS229's rule).
    log = [(0, 0, 1.0, 1), (0, 0, 0.0, 2), (0, 0, 1.0, 1), (0, 1, -1.0, 0),
           (1, 0, 5.0, 2, True), (1, 0, 3.0, 2, True)]
    mdp = rl.estimate_mdp(log, n_states=3, n_actions=2, gamma=0.9)
    np.testing.assert_allclose(mdp.P[0, 0], [0, 2 / 3, 1 / 3])
    np.testing.assert_allclose(mdp.P[0, 1], [1, 0, 0])
    np.testing.assert_allclose(mdp.P[1, 0], [0, 0, 1])
    np.testing.assert_allclose(mdp.P[1, 1], [1 / 3] * 3)
    np.testing.assert_allclose(mdp.R[:2], [[2 / 3, -1.0], [4.0, 0.0]])
    np.testing.assert_array_equal(mdp.terminal, [False, False, True])
    # Dirichlet(α = 1): (count + 1) / (n + 3).
    post = rl.estimate_mdp(log, 3, 2, 0.9, prior=1.0)
    np.testing.assert_allclose(post.P[0, 0], [1 / 6, 3 / 6, 2 / 6])
    np.testing.assert_allclose(post.P[1, 1], [1 / 3] * 3)
    with pytest.raises(ValueError, match="outside"):
        rl.estimate_mdp([(0, 5, 0.0, 1)], 3, 2, 0.9)
    with pytest.raises(ValueError, match="prior"):
        rl.estimate_mdp(log, 3, 2, 0.9, prior="laplace")


def test_mle_converges_to_the_true_model():
    env = gym.make("FrozenLake-v1")
    true = rl.MDP.from_gymnasium(env, gamma=1.0)
    agent = rl.ModelBasedAgent(gamma=1.0, epsilon=rl.LinearSchedule(1.0, 0.05, 150), replan_every=3,
                               seed=0)
    agent.train(env, episodes=300, seed=0)
    # The re-planned policy is optimal in the true MDP (exact success ≈ 0.74 in 100 steps).
    assert rl.expected_return(true, agent.policy(), horizon=100) >= 0.72
    tried = agent.counts.sum(axis=2) > 200
    assert np.abs(agent.mdp.P[tried] - true.P[tried]).max() < 0.15


def test_q_learning_frozenlake_4x4():
    env = gym.make("FrozenLake-v1")
    mdp = rl.MDP.from_gymnasium(env, gamma=1.0)
    agent = rl.QLearning(learning_rate=0.1, gamma=0.99,
                         epsilon=rl.LinearSchedule(1.0, 0.01, 2000), seed=0)
    returns = agent.train(env, episodes=3000, seed=0)
    assert returns.shape == (3000,) and returns[-500:].mean() > returns[:500].mean()
    assert rl.expected_return(mdp, agent.policy(), horizon=100) >= 0.70  # exact
    assert rl.evaluate(agent, env, episodes=300, seed=1).success_rate >= 0.65  # sampled


def test_q_learning_taxi_near_optimal():
    env = gym.make("Taxi-v4", max_episode_steps=200)
    mdp = rl.MDP.from_gymnasium(env, gamma=1.0)
    optimum = rl.expected_return(mdp, rl.value_iteration(mdp)[1], horizon=200)
    agent = rl.QLearning(learning_rate=0.5, gamma=0.99, epsilon=0.1, initial_q=0.0, seed=0)
    agent.train(env, episodes=3000, seed=0)
    assert optimum - rl.expected_return(mdp, agent.policy(), horizon=200) <= 0.15


@pytest.mark.parametrize("cls", [rl.SARSA, rl.ExpectedSARSA])
def test_sarsa_family_learns_the_4x4_grid(cls):
    env = rl.GridWorld("sutton-4x4")
    agent = cls(learning_rate=0.5, gamma=1.0, epsilon=rl.LinearSchedule(0.5, 0.0, 150), seed=0)
    agent.train(env, episodes=300, seed=0)
    V_opt, _ = rl.value_iteration(env.mdp())
    V = rl.policy_evaluation(env.mdp(), agent.policy())
    np.testing.assert_allclose(V, V_opt)


def test_sarsa_walks_the_safe_path_q_learning_the_edge():
    # Sutton & Barto Example 6.6: with ε = 0.1 SARSA learns the safer path away from the
    # cliff, Q-learning the optimal path along its edge.
    env = rl.GridWorld("cliff")
    mdp = env.mdp()
    q = rl.QLearning(learning_rate=0.5, gamma=1.0, epsilon=0.1, seed=0)
    q.train(env, episodes=500, seed=0)
    s = rl.SARSA(learning_rate=0.5, gamma=1.0, epsilon=0.1, seed=0)
    s.train(env, episodes=500, seed=0)
    # Greedy policies may loop in states never visited; evaluate from S under the time limit.
    assert rl.expected_return(mdp, q.policy(), horizon=200) == -13
    assert -200 < rl.expected_return(mdp, s.policy(), horizon=200) < -13


def test_seeded_runs_are_reproducible_and_act():
    env = rl.GridWorld("maze")
    a = rl.ExpectedSARSA(seed=3).train(env, episodes=20, seed=1)
    b = rl.ExpectedSARSA(seed=3).train(env, episodes=20, seed=1)
    np.testing.assert_array_equal(a, b)
    agent = rl.QLearning(16, 4)
    assert agent.act(5) == 0 and agent.q.shape == (16, 4)


def test_tabular_agents_reject_continuous_observations():
    with pytest.raises(TypeError, match="Discrete observation space"):
        rl.QLearning().train(gym.make("CartPole-v1"), episodes=1)
    with pytest.raises(ValueError, match="learning_rate"):
        rl.SARSA(learning_rate=0)
    with pytest.raises(ValueError, match="table has shape"):
        rl.QLearning(3, 2).train(rl.GridWorld(), episodes=1)
    with pytest.raises(ValueError, match="epsilon"):
        rl.QLearning(epsilon=2.0)
