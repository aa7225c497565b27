"""The Optimizer contract: binding, learning rate, state, saving, config, errors."""
import json
import math

import numpy as np
import pytest

import deepsheet as ds
from deepsheet import optimizers as O
from deepsheet.optimizers import schedules as S

ALL = [O.SGD, O.Adagrad, O.RMSprop, O.Adam, O.AdamW]


def params(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [ds.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
            for s in shapes]


def set_grads(ps, seed=1):
    rng = np.random.default_rng(seed)
    for p in ps:
        p.grad = rng.standard_normal(p.shape).astype(p.dtype)


def test_torch_defaults():
    assert O.SGD().learning_rate == 1e-3
    assert (O.Adagrad().learning_rate, O.Adagrad().epsilon) == (1e-2, 1e-10)
    assert O.Adagrad().initial_accumulator_value == 0.0
    r = O.RMSprop()
    assert (r.learning_rate, r.rho, r.epsilon, r.momentum, r.centered) == (1e-2, 0.99, 1e-8, 0.0,
                                                                           False)
    a = O.Adam()
    assert (a.learning_rate, a.beta_1, a.beta_2, a.epsilon, a.amsgrad, a.weight_decay) == \
        (1e-3, 0.9, 0.999, 1e-8, False, 0.0)
    assert O.AdamW().weight_decay == 1e-2


@pytest.mark.parametrize("cls", ALL)
def test_number_first_is_the_learning_rate_and_lr_an_alias(cls):
    # Keras's Adam(1e-3) and PyTorch's Adam(params, lr=...) both work.
    assert cls(1e-3).learning_rate == 1e-3
    assert cls(np.float32(0.25)).learning_rate == 0.25
    w = ds.tensor(np.ones(3, np.float32), requires_grad=True)
    opt = cls([w], lr=0.5)
    assert opt.learning_rate == 0.5 and opt.params[0] is w
    with pytest.raises(ValueError, match=r"given twice.*0\.001.*learning_rate=0\.01"):
        cls(1e-3, learning_rate=0.01)
    with pytest.raises(ValueError, match="lr= or learning_rate="):
        cls(lr=0.1, learning_rate=0.1)
    with pytest.raises(ValueError, match=r"learning_rate=0\.001"):
        cls().bind(1e-3)


def test_pytorchs_names_of_the_hyperparameters():
    """torch.optim's ``betas``, ``eps`` and RMSprop's ``alpha`` as a PyTorch user writes them."""
    w = ds.tensor(np.ones(3, np.float32), requires_grad=True)
    for cls in (O.Adam, O.AdamW):
        opt = cls([w], lr=1e-3, betas=(0.8, 0.99), eps=1e-6)
        assert (opt.beta_1, opt.beta_2, opt.epsilon) == (0.8, 0.99, 1e-6)
        with pytest.raises(ValueError, match=r"betas must be a pair"):
            cls([w], betas=0.9)
        with pytest.raises(ValueError, match=r"betas= or beta_1=/beta_2="):
            cls([w], betas=(0.9, 0.99), beta_1=0.9)
    opt = O.RMSprop([w], lr=1e-2, alpha=0.9, eps=1e-6)
    assert (opt.rho, opt.epsilon) == (0.9, 1e-6)
    assert O.Adagrad([w], eps=1e-8).epsilon == 1e-8
    with pytest.raises(ValueError, match="eps= or epsilon="):
        O.Adam([w], eps=1e-6, epsilon=1e-7)
    with pytest.raises(TypeError, match="eps"):  # plain SGD has no epsilon to alias
        O.SGD([w], eps=1e-8)


@pytest.mark.parametrize("bad", [-1e-3, float("nan"), float("inf"), "0.1", True])
def test_bad_learning_rate(bad):
    with pytest.raises(ValueError, match="learning_rate"):
        O.Adam(learning_rate=bad)
    opt = O.SGD(learning_rate=0.1)
    with pytest.raises(ValueError, match="learning_rate"):
        opt.learning_rate = bad


@pytest.mark.parametrize("kwargs, name", [
    (dict(beta_1=1.0), "beta_1"), (dict(beta_1=-0.1), "beta_1"), (dict(beta_2=1.5), "beta_2"),
    (dict(beta_2=float("nan")), "beta_2"), (dict(epsilon=-1e-8), "epsilon"),
    (dict(weight_decay=-0.1), "weight_decay"), (dict(clipnorm=-1.0), "clipnorm"),
])
def test_bad_adam_hyperparameters(kwargs, name):
    with pytest.raises(ValueError, match=name):
        O.Adam(**kwargs)


def test_bad_other_hyperparameters():
    with pytest.raises(ValueError, match="momentum"):
        O.SGD(momentum=-0.5)
    with pytest.raises(ValueError, match="nesterov"):
        O.SGD(nesterov=True)
    with pytest.raises(ValueError, match="nesterov"):
        O.SGD(momentum=0.9, nesterov=True, dampening=0.1)
    with pytest.raises(ValueError, match="rho"):
        O.RMSprop(rho=1.5)
    with pytest.raises(ValueError, match="initial_accumulator_value"):
        O.Adagrad(initial_accumulator_value=-1)
    with pytest.raises(ValueError, match="at most one"):
        O.Adam(clipnorm=1.0, global_clipnorm=1.0)


def test_bad_params():
    w = ds.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="single Tensor"):
        O.Adam(w)
    with pytest.raises(TypeError, match=r"params\[1\].*ndarray"):
        O.Adam([w, np.zeros(2)])
    with pytest.raises(ValueError, match="twice"):
        O.Adam([w, w])
    with pytest.raises(TypeError, match="floating"):
        O.Adam([ds.tensor(np.arange(3))])
    with pytest.raises(TypeError, match="iterable"):
        O.Adam(object())


def test_generator_params_and_step_skips_missing_grads():
    ps = params((3,), (2,))
    opt = O.SGD((p for p in ps), learning_rate=0.1)
    before = [p.data.copy() for p in ps]
    ps[0].grad = np.ones(3, np.float32)
    opt.step()
    np.testing.assert_allclose(ps[0].data, before[0] - 0.1)
    np.testing.assert_array_equal(ps[1].data, before[1])
    assert opt.iterations == 1 and ps[1] not in opt.state


def test_step_is_in_place_and_zero_grad():
    ps = params((4, 3), (3,))
    arrays = [p.data for p in ps]
    opt = O.Adam(ps, learning_rate=0.1)
    set_grads(ps)
    grads = [p.grad.copy() for p in ps]
    opt.step()
    for p, a, g in zip(ps, arrays, grads):
        assert p.data is a and p.data.dtype == np.float32
        np.testing.assert_array_equal(p.grad, g)  # the user's gradient is untouched
    opt.zero_grad()
    assert all(p.grad is None for p in ps)
    set_grads(ps)
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in ps)


def test_unbound_then_bind_and_rebind_keeps_state():
    opt = O.Adam(learning_rate=0.01)
    with pytest.raises(RuntimeError, match="bind"):
        opt.step()
    a, b, c = params((2,), (3,), (4,))
    assert opt.bind([a, b]) is opt
    set_grads([a, b])
    opt.step()
    m_a = opt.state[a]["exp_avg"]
    opt.bind([c, a])  # b is dropped, a keeps its state, c starts fresh
    assert opt.state[a]["exp_avg"] is m_a and b not in opt.state and c not in opt.state
    set_grads([a, c])
    opt.step()
    assert opt.state[a]["step"] == 2 and opt.state[c]["step"] == 1
    assert sorted(k for k in opt.state_dict() if k.startswith("1.")) == \
        ["1.exp_avg", "1.exp_avg_sq", "1.step"]  # position 1 is now a


def test_empty_list_is_bound():
    opt = O.SGD([], learning_rate=0.1)
    opt.step()
    assert opt.iterations == 1


def test_learning_rate_property_with_schedule():
    sched = S.StepDecay(0.1, step_size=2, gamma=0.5)
    ps = params((2,))
    opt = O.SGD(ps, learning_rate=sched)
    seen = []
    for _ in range(5):
        seen.append(opt.learning_rate)
        set_grads(ps)
        opt.step()
    assert seen == [0.1, 0.1, 0.05, 0.05, 0.025]
    with pytest.raises(TypeError, match="schedule"):
        opt.learning_rate = 0.1
    opt.learning_rate = S.ConstantSchedule(0.3)  # another schedule is fine
    assert opt.learning_rate == 0.3


def test_learning_rate_settable_and_used():
    ps = params((2,))
    opt = O.SGD(ps, learning_rate=0.1)
    opt.learning_rate = 0.5
    before = ps[0].data.copy()
    ps[0].grad = np.ones(2, np.float32)
    opt.step()
    np.testing.assert_allclose(ps[0].data, before - 0.5)
    assert isinstance(opt.learning_rate, float)


def test_closure_returns_loss():
    w = ds.tensor([3.0], requires_grad=True)
    opt = O.SGD([w], learning_rate=0.1)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss
    loss = opt.step(closure)
    assert float(loss) == 9.0
    np.testing.assert_allclose(w.data, [2.4])


def test_state_dict_keys_and_types():
    ps = params((3, 2), (2,), (5,))
    opt = O.Adam(ps, amsgrad=True)
    ps[0].grad = np.ones((3, 2), np.float32)
    ps[2].grad = np.ones(5, np.float32)
    opt.step()
    sd = opt.state_dict()
    assert sorted(sd) == sorted(["iterations", "learning_rate", "0.step", "0.exp_avg",
                                 "0.exp_avg_sq", "0.max_exp_avg_sq", "2.step", "2.exp_avg",
                                 "2.exp_avg_sq", "2.max_exp_avg_sq"])
    assert sd["0.exp_avg"].shape == (3, 2) and sd["0.exp_avg"].dtype == np.float32
    assert sd["iterations"].ndim == 0 and sd["0.step"].dtype == np.int64
    sd["0.exp_avg"][...] = 123  # a copy, not the live state
    assert not np.any(opt.state[ps[0]]["exp_avg"] == 123)
    assert sorted(O.SGD(ps).state_dict()) == ["iterations", "learning_rate"]


def test_state_dict_restores_learning_rate_and_iterations():
    ps = params((2,))
    opt = O.Adam(ps, learning_rate=0.1)
    set_grads(ps)
    opt.step()
    opt.learning_rate = 0.025  # e.g. ReduceLROnPlateau
    fresh = O.Adam(learning_rate=0.1).bind(ps)
    fresh.load_state_dict(opt.state_dict())
    assert fresh.learning_rate == 0.025 and fresh.iterations == 1


def test_state_dict_survives_safetensors():
    from safetensors.numpy import load, save
    ps = params((3, 2), (4,))
    opt = O.RMSprop(ps, momentum=0.9, centered=True)
    set_grads(ps)
    opt.step()
    again = O.RMSprop(momentum=0.9, centered=True).bind(ps)
    again.load_state_dict(load(save(opt.state_dict())))
    for k, v in opt.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[k], v, err_msg=k)


def test_load_state_dict_errors_change_nothing():
    ps = params((3,), (2,))
    opt = O.Adam(ps)
    set_grads(ps)
    opt.step()
    good = opt.state_dict()
    target = O.Adam(ps)

    def bad(edit, match):
        sd = {k: v.copy() for k, v in good.items()}
        edit(sd)
        with pytest.raises(ValueError, match=match):
            target.load_state_dict(sd)
        assert target.state == {} and target.iterations == 0

    bad(lambda sd: sd.pop("iterations"), "iterations")
    bad(lambda sd: sd.pop("1.exp_avg_sq"), r"'1\.exp_avg_sq'")
    bad(lambda sd: sd.__setitem__("0.momentum_buffer", np.zeros(3)), "unexpected key")
    bad(lambda sd: sd.__setitem__("5.step", np.array(1)), "parameter 5")
    bad(lambda sd: sd.__setitem__("0.exp_avg", np.zeros(4, np.float32)), r"shape \(4,\)")
    with pytest.raises(ValueError, match="max_exp_avg_sq"):  # amsgrad state needs its buffer
        O.Adam(ps, amsgrad=True).load_state_dict(good)
    with pytest.raises(TypeError, match="mapping"):
        target.load_state_dict([1, 2])


def test_load_state_dict_casts_to_parameter_dtype():
    p64 = ds.tensor(np.ones(2), requires_grad=True)
    opt = O.Adam([p64])
    opt.load_state_dict({"iterations": np.array(3), "0.step": np.array(3),
                         "0.exp_avg": np.ones(2, np.float32),
                         "0.exp_avg_sq": np.ones(2, np.float32)})
    assert opt.state[p64]["exp_avg"].dtype == np.float64 and opt.state[p64]["step"] == 3


@pytest.mark.parametrize("opt", [
    O.SGD(learning_rate=0.2, momentum=0.9, nesterov=True, clipvalue=0.5),
    O.Adagrad(initial_accumulator_value=0.1, global_clipnorm=2.0),
    O.RMSprop(rho=0.9, centered=True, weight_decay=1e-4, name="rms"),
    O.Adam(learning_rate=S.WarmupCosineDecay(1e-3, 10, 100), amsgrad=True, clipnorm=1.0),
    O.AdamW(learning_rate=S.ExponentialDecay(0.01, 100, 0.9, staircase=True)),
])
def test_config_round_trip(opt):
    text = json.dumps(O.serialize(opt))
    again = O.from_config(json.loads(text))
    assert type(again) is type(opt)
    assert again.get_config() == opt.get_config()
    assert again.learning_rate == opt.learning_rate
    assert type(again).from_config(opt.get_config()).get_config() == opt.get_config()


def test_config_errors():
    with pytest.raises(ValueError, match="unknown keys.*'betas'"):
        O.Adam.from_config({"betas": [0.9, 0.99]})
    with pytest.raises(ValueError, match="unknown optimizer class 'Nadam'"):
        O.from_config({"class_name": "Nadam", "config": {}})
    with pytest.raises(ValueError, match="cannot save"):
        O.Adam(learning_rate=lambda step: 0.1).get_config()


def test_get():
    assert isinstance(O.get("adam"), O.Adam) and isinstance(O.get("AdamW"), O.AdamW)
    assert isinstance(O.get("sgd"), O.SGD) and isinstance(O.get("rmsprop"), O.RMSprop)
    assert isinstance(O.get("adagrad"), O.Adagrad) and isinstance(O.get(O.SGD), O.SGD)
    opt = O.Adam(learning_rate=0.5)
    assert O.get(opt) is opt
    assert O.get(O.serialize(opt)).learning_rate == 0.5
    with pytest.raises(ValueError, match="adagrad, adam, adamw, rmsprop, sgd"):
        O.get("nadam")
    with pytest.raises(TypeError):
        O.get(3)
    assert ds.optimizers is O


def test_callable_schedule_and_repr():
    opt = O.SGD(params((2,)), learning_rate=lambda step: 0.1 / (1 + step))
    assert opt.learning_rate == 0.1
    assert "SGD(" in repr(opt) and "params=1" in repr(opt)


def test_grad_shape_mismatch():
    ps = params((3,))
    ps[0].grad = np.ones(4, np.float32)
    with pytest.raises(ValueError, match=r"shape \(3,\).*\(4,\)"):
        O.Adam(ps).step()


def test_float64_params_stay_float64():
    p = ds.tensor(np.ones(3), requires_grad=True)
    p.grad = np.full(3, 0.5)
    opt = O.RMSprop([p], centered=True, momentum=0.9)
    opt.step()
    assert p.data.dtype == np.float64
    assert all(v.dtype == np.float64 for k, v in opt.state[p].items() if k != "step")


def test_state_follows_parameter_device(monkeypatch):
    # model.to(device) swaps p.data for an array of another type; the state must follow.
    class Fake(np.ndarray):
        pass
    p = ds.tensor(np.ones(3, np.float32), requires_grad=True)
    p.grad = np.ones(3, np.float32)
    opt = O.Adam([p])
    opt.step()
    moved = []
    monkeypatch.setattr(ds.backend, "to_device",
                        lambda a, device: moved.append(device) or a.view(Fake))
    p.data = p.data.view(Fake)
    opt.step()
    assert moved and all(type(v) is Fake for k, v in opt.state[p].items() if k != "step")
    assert math.isfinite(float(p.data[0]))
