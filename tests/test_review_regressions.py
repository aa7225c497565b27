"""Regressions found by calling deepsheet the way Keras, PyTorch and scikit-learn users do."""
import numpy as np

import deepsheet as ds
from deepsheet import layers


def test_layer_inputs_by_the_name_of_calls_first_parameter():
    # Keras 3 users write mha(query=x, value=y): the inputs come by keyword.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 8)).astype(np.float32)
    y = rng.normal(size=(2, 7, 6)).astype(np.float32)
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=4)
    by_name, scores = mha(query=x, value=y, return_attention_scores=True)
    assert by_name.shape == (2, 5, 8) and scores.shape == (2, 2, 5, 7)
    np.testing.assert_array_equal(by_name.data, mha(x, y).data)
    # the same in a functional graph, and a Dense called with inputs=
    q, v = ds.Input((5, 8)), ds.Input((7, 6))
    model = ds.Model([q, v], layers.Dense(3)(inputs=mha(query=q, value=v)))
    assert model.predict([x, y], verbose=0).shape == (2, 5, 3)


def test_keras_variable_names_and_torch_parameters():
    # Keras 3's custom train_step reads self.trainable_variables; PyTorch users pass
    # model.parameters() to the optimizer.
    model = ds.Sequential([layers.Dense(4), layers.BatchNormalization(), layers.Dense(1)])
    model.build((None, 3))
    assert [id(w) for w in model.trainable_variables] == [id(w) for w in model.trainable_weights]
    assert [id(w) for w in model.non_trainable_variables] == \
        [id(w) for w in model.non_trainable_weights]
    assert len(model.variables) == len(model.weights) == 8
    params = list(model.parameters())
    assert [id(w) for w in params] == [id(w) for w in model.trainable_weights]
    x = ds.tensor(np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32))
    opt = ds.optimizers.SGD(model.parameters(), lr=0.1)
    before = [np.array(w.data) for w in params]
    opt.zero_grad()
    (model(x, training=True) ** 2).sum().backward()
    opt.step()
    assert all(not np.array_equal(b, w.data) for b, w in zip(before, params))


def test_every_sheet_formula_is_a_formula():
    # The sheet printed a bare "::" over the NumPy-section formulas and "see ..." instead
    # of the sinusoidal encoding's formula.
    from deepsheet import sheet
    for concept in sheet.concepts():
        text = sheet.formula(concept)
        if text is None:
            continue
        first = text.strip().splitlines()[0].strip()
        assert first != "::", concept.concept
        assert not text.strip().lower().startswith("see "), (concept.concept, text)
    assert "sin(pos" in sheet.formula(sheet.lookup("sinusoidal positional encoding"))


def test_mdp_row_sum_error_prints_a_plain_number():
    import pytest
    from deepsheet import rl
    P = np.array([[[0.5, 0.4], [1, 0]], [[1, 0], [0, 1]]])
    with pytest.raises(ValueError, match=r"P\[0, 0\]\.sum\(\) = 0\.9 ") as info:
        rl.MDP(P, np.zeros(2), gamma=0.9)
    assert "np.float64" not in str(info.value)


def test_unknown_time_axis_stays_unknown_in_the_functional_graph():
    # keras.io's bidirectional LSTM example: Input(shape=(None,)) -> Embedding -> LSTMs;
    # summary() showed (None, 1, 16), the stand-in's length, instead of (None, None, 16).
    inputs = ds.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(50, 16, mask_zero=True)(inputs)
    assert x.shape == (None, None, 16) and x._keras_mask.shape == (None, None)
    x = layers.Bidirectional(layers.LSTM(8, return_sequences=True))(x)
    assert x.shape == (None, None, 16)
    assert layers.MultiHeadAttention(2, 4)(x, x).shape == (None, None, 16)
    out = layers.Dense(1)(layers.Bidirectional(layers.LSTM(8))(x))
    assert out.shape == (None, 1)
    model = ds.Model(inputs, out)
    assert model.predict(np.array([[3, 4, 0]]), verbose=0).shape == (1, 1)
    # known sizes, a fixed batch included, are kept
    fixed = ds.Input((5, 3), batch_size=4)
    assert layers.LSTM(2, stateful=True, return_sequences=True)(fixed).shape == (4, 5, 2)


def test_policy_plot_reads_the_action_directions_from_the_environment():
    # plot.policy(pi, env) on FrozenLake drew action 0 (left) as an up arrow: the default
    # was the textbook order whatever the environment.
    import pytest
    pytest.importorskip("matplotlib", reason="plot extra")
    gym = pytest.importorskip("gymnasium", reason="rl extra")
    from deepsheet import plot, rl

    def arrows(fig):
        quiver = [c for c in fig.axes[0].collections if hasattr(c, "U")][0]
        return np.round(quiver.U, 6), np.round(quiver.V, 6)   # row 0 on top: up is V < 0

    env = gym.make("FrozenLake-v1")
    u, v = arrows(plot.policy(np.zeros(16, int), env))          # all "left"
    assert np.all(u < 0) and np.all(v == 0)
    assert u.size == 16 - 5                                      # none in the 4 holes and the goal
    u, v = arrows(plot.policy(np.full(16, 3), rl.GridWorld("sutton-4x4")))   # all "up"
    assert np.all(u == 0) and np.all(v < 0)
    assert u.size == 16 - 2                                      # none in the two terminal corners
    u, v = arrows(plot.policy(np.zeros(48, int), gym.make("CliffWalking-v1")))  # 0 = up there
    assert np.all(u == 0) and np.all(v < 0)
    u, v = arrows(plot.policy(np.zeros(4, int), (2, 2)))         # a plain shape: textbook order
    assert np.all(u == 0) and np.all(v < 0)


def test_grad_of_an_output_that_needs_no_grad_says_grad():
    # A custom train_step whose loss does not use the model: ds.grad said "backward() on a
    # tensor that does not require grad", naming a call the user never made.
    import pytest
    w = ds.tensor(np.ones(3, np.float32), requires_grad=True)
    loss = (ds.tensor(np.ones(3, np.float32)) * 2).sum()
    with pytest.raises(RuntimeError, match=r"grad: outputs\[0\] does not require grad"):
        ds.grad(loss, [w])


def test_cartpole_success_rate_by_default_is_reaching_the_reward_threshold():
    # rl.evaluate(agent, CartPole) called a pole that fell after 19 steps a success (it
    # terminated with a positive reward) and 500 balanced steps a failure.
    import pytest
    gym = pytest.importorskip("gymnasium", reason="rl extra")
    from deepsheet import rl
    env = gym.make("CartPole-v1")
    falls = rl.evaluate(lambda obs: 0, env, episodes=3, seed=0)
    balances = rl.evaluate(lambda obs: int(obs[2] + obs[3] > 0), env, episodes=3, seed=0)
    assert falls.mean < 50 and falls.success_rate == 0.0
    assert balances.returns.max() == 500
    assert balances.success_rate == np.mean(balances.returns >= 475) > 0
    lake = gym.make("FrozenLake-v1", is_slippery=False)         # tabular: the goal rule stays
    path = iter([2, 2, 1, 1, 1, 2])
    assert rl.evaluate(lambda obs: next(path), lake, episodes=1, seed=0).success_rate == 1.0


def test_train_says_one_epoch_not_one_epochs(tmp_path, capsys):
    from deepsheet.cli import main
    main(["train", "--epochs", "1", "--out", str(tmp_path / "run"), "--threads", "1"])
    out = capsys.readouterr().out
    assert "trained 1 epoch in" in out


def test_shakespeare_is_reachable_as_the_readme_writes_it():
    # README: ds.datasets.shakespeare.load_text() -> AttributeError (the module was not
    # imported by deepsheet.datasets).
    text = ds.datasets.shakespeare.load_text()
    assert isinstance(text, str) and len(text) > 10_000 and "hamlet" in text.lower()


def test_lambda_layer_trains_and_refuses_a_whole_model_save(tmp_path):
    import pytest
    from deepsheet import ops
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 4)).astype(np.float32)
    inp = ds.Input((4,))
    dense = layers.Dense(3)
    out = layers.Lambda(lambda t, scale: ops.square(t) * scale, arguments={"scale": 2.0})(dense(inp))
    model = ds.Model(inp, out)
    h = dense(ds.tensor(x))
    np.testing.assert_allclose(model.predict(x, verbose=0), 2 * h.data ** 2, rtol=1e-6)
    model.compile("sgd", "mse")
    before = dense.kernel.data.copy() if hasattr(dense, "kernel") else dense.weights[0].data.copy()
    model.fit(x, np.zeros((16, 3), np.float32), epochs=1, verbose=0)
    assert not np.array_equal(before, dense.weights[0].data)      # gradients flow through it
    with pytest.raises(ValueError, match="Lambda layer 'lambda.*save_weights"):
        model.save(str(tmp_path / "m.deepsheet"))
    with pytest.raises(TypeError, match="must be callable"):
        layers.Lambda(3)
