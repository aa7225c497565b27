"""Learning-rate schedules against torch.optim.lr_scheduler (stepped once per update)."""
import math

import pytest
import torch

from deepsheet.optimizers import schedules as S


def torch_rates(make_scheduler, lr0, n):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr0)
    sched = make_scheduler(opt)
    rates = []
    for _ in range(n):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return rates


def assert_rates(schedule, expected):
    ours = [schedule(t) for t in range(len(expected))]
    assert all(isinstance(r, float) for r in ours)
    for t, (a, b) in enumerate(zip(ours, expected)):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-15), f"step {t}: {a} != {b}"


def test_constant():
    assert_rates(S.ConstantSchedule(0.3), [0.3] * 5)


def test_step_decay_is_steplr():
    assert_rates(S.StepDecay(0.1, step_size=7, gamma=0.3),
                 torch_rates(lambda o: torch.optim.lr_scheduler.StepLR(o, 7, gamma=0.3), 0.1, 40))


def test_exponential_decay_is_exponentiallr_per_step():
    assert_rates(S.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.9),
                 torch_rates(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.9), 0.1, 30))


def test_exponential_decay_keras_values():
    s = S.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert math.isclose(s(5), 0.1 * 0.5 ** 0.5) and math.isclose(s(20), 0.025)
    s = S.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)
    assert [s(9), s(10), s(25)] == [0.1, 0.05, 0.025]


def test_cosine_decay_is_cosineannealinglr():
    # torch's recursive form equals the closed form up to rounding; CosineDecay stays at
    # alpha * lr0 after decay_steps where torch would climb back up.
    lr0, T, alpha = 0.2, 20, 0.1
    theirs = torch_rates(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(
        o, T_max=T, eta_min=alpha * lr0), lr0, T + 1)
    assert_rates(S.CosineDecay(lr0, T, alpha=alpha), theirs)
    assert S.CosineDecay(lr0, T, alpha=alpha)(10 * T) == pytest.approx(alpha * lr0)


def test_warmup_cosine_is_linear_then_cosine():
    peak, W, T, start = 0.1, 5, 20, 0.01
    theirs = torch_rates(lambda o: torch.optim.lr_scheduler.SequentialLR(o, [
        torch.optim.lr_scheduler.LinearLR(o, start_factor=start / peak, end_factor=1.0,
                                          total_iters=W),
        torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=T, eta_min=0.0)],
        milestones=[W]), peak, W + T + 1)
    ours = S.WarmupCosineDecay(peak, warmup_steps=W, decay_steps=T, initial_learning_rate=start)
    assert_rates(ours, theirs)
    keras_form = S.CosineDecay(start, T, warmup_target=peak, warmup_steps=W)
    assert [ours(t) for t in range(40)] == [keras_form(t) for t in range(40)]
    assert ours(0) == start and ours(W) == peak and ours(W + T + 100) == 0.0


def test_piecewise_constant():
    s = S.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    assert [s(0), s(10), s(11), s(20), s(21)] == [1.0, 1.0, 0.5, 0.5, 0.1]
    with pytest.raises(ValueError, match="one more"):
        S.PiecewiseConstantDecay([10], [1.0])


@pytest.mark.parametrize("make, match", [
    (lambda: S.StepDecay(0.1, step_size=0), "step_size"),
    (lambda: S.StepDecay(-0.1, step_size=2), "initial_learning_rate"),
    (lambda: S.ExponentialDecay(0.1, 10, 0.0), "decay_rate"),
    (lambda: S.CosineDecay(0.1, 0), "decay_steps"),
    (lambda: S.CosineDecay(float("nan"), 10), "initial_learning_rate"),
    (lambda: S.WarmupCosineDecay(0.1, 0, 10), "warmup_steps"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("schedule", [
    S.ConstantSchedule(0.1), S.StepDecay(0.1, 3), S.ExponentialDecay(0.1, 10, 0.9, True),
    S.PiecewiseConstantDecay([5], [0.1, 0.01]), S.CosineDecay(0.1, 50, 0.1, 0.5, 5),
    S.WarmupCosineDecay(0.1, 5, 50, 0.1, 0.01),
])
def test_serialize_round_trip(schedule):
    again = S.deserialize(S.serialize(schedule))
    assert type(again) is type(schedule) and again.get_config() == schedule.get_config()
    assert [again(t) for t in range(0, 80, 7)] == [schedule(t) for t in range(0, 80, 7)]
    assert S.get(schedule) is schedule
    assert type(schedule).__name__ in repr(schedule)


def test_deserialize_rejects_unknown():
    with pytest.raises(ValueError, match="unknown schedule 'Cyclic'"):
        S.deserialize({"class_name": "Cyclic", "config": {}})
    with pytest.raises(ValueError, match="bad config"):
        S.deserialize({"class_name": "StepDecay", "config": {"lr": 0.1}})
