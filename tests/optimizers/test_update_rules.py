"""Every optimizer against torch.optim on the same tiny network, data and weights, 50 steps.

The network is a 2-layer MLP with a squaring nonlinearity (built only from add, matmul,
mul, sub and mean), the same in deepsheet and in torch. Parameters are compared after
every step: float64 to 1e-6 relative, float32 to the shared F32 tolerances.
"""
import numpy as np
import pytest
import torch

import deepsheet as ds
from deepsheet import optimizers as O
from deepsheet.optimizers import schedules as S
from oracle import F32

STEPS = 50
F64 = dict(rtol=1e-6, atol=1e-12)


def make_problem(dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (8, 4)).astype(dtype)
    y = rng.uniform(-1, 1, (8, 3)).astype(dtype)
    weights = [rng.uniform(-0.7, 0.7, s).astype(dtype) for s in [(4, 6), (6,), (6, 3), (3,)]]
    return x, y, weights


def ds_loss(params, x, y):
    w1, b1, w2, b2 = params
    h = x @ w1 + b1
    d = (h * h) @ w2 + b2 - y
    return (d * d).mean()


def torch_loss(params, x, y):
    w1, b1, w2, b2 = params
    h = x @ w1 + b1
    d = (h * h) @ w2 + b2 - y
    return (d * d).mean()


def run_pair(make_ours, make_theirs, dtype, frozen=(), torch_pre_step=None, lr_at=None,
             steps=STEPS):
    """Train both sides in lockstep; yield (step, our params, their params)."""
    x, y, weights = make_problem(dtype)
    ours = [ds.tensor(w.copy(), requires_grad=i not in frozen) for i, w in enumerate(weights)]
    theirs = [torch.tensor(w.copy(), requires_grad=i not in frozen) for i, w in enumerate(weights)]
    opt = make_ours(ours)
    topt = make_theirs([t for t in theirs])
    dx, dy = ds.tensor(x), ds.tensor(y)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    for k in range(steps):
        ds_loss(ours, dx, dy).backward()
        opt.step()
        opt.zero_grad()
        if lr_at is not None:
            for group in topt.param_groups:
                group["lr"] = lr_at(k)
        topt.zero_grad()
        torch_loss(theirs, tx, ty).backward()
        if torch_pre_step is not None:
            torch_pre_step(theirs)
        topt.step()
        yield k, ours, theirs, opt


def compare(make_ours, make_theirs, dtype, **kw):
    tol = F64 if dtype == np.float64 else F32
    for k, ours, theirs, opt in run_pair(make_ours, make_theirs, dtype, **kw):
        for i, (o, t) in enumerate(zip(ours, theirs)):
            assert o.data.dtype == dtype, f"param {i} became {o.data.dtype}"
            np.testing.assert_allclose(o.data, t.detach().numpy(), **tol,
                                       err_msg=f"param {i} after step {k + 1}")
    for state in opt.state.values():
        for name, v in state.items():
            if name != "step":
                assert v.dtype == dtype, f"state {name} is {v.dtype}"
    _, _, weights = make_problem(dtype)
    moved = any(not np.allclose(o.data, w) for o, w in zip(ours, weights))
    assert moved, "the parameters never moved: the comparison proves nothing"
    return opt


def clip_each_norm(c):
    def clip(params):
        for p in params:
            if p.grad is not None:
                norm = p.grad.norm().item()
                if norm > c:
                    p.grad.mul_(c / norm)  # Keras's per-variable clip_by_norm
    return clip


CASES = {
    "sgd": (lambda p: O.SGD(p, learning_rate=0.05),
            lambda p: torch.optim.SGD(p, lr=0.05)),
    "sgd-default-lr": (lambda p: O.SGD(p),
                       lambda p: torch.optim.SGD(p)),
    "sgd-momentum": (lambda p: O.SGD(p, learning_rate=0.02, momentum=0.9),
                     lambda p: torch.optim.SGD(p, lr=0.02, momentum=0.9)),
    "sgd-dampening-wd": (lambda p: O.SGD(p, learning_rate=0.02, momentum=0.8, dampening=0.3,
                                         weight_decay=0.01),
                         lambda p: torch.optim.SGD(p, lr=0.02, momentum=0.8, dampening=0.3,
                                                   weight_decay=0.01)),
    "sgd-nesterov": (lambda p: O.SGD(p, learning_rate=0.02, momentum=0.9, nesterov=True),
                     lambda p: torch.optim.SGD(p, lr=0.02, momentum=0.9, nesterov=True)),
    "adagrad": (lambda p: O.Adagrad(p, learning_rate=0.05),
                lambda p: torch.optim.Adagrad(p, lr=0.05)),
    "adagrad-options": (lambda p: O.Adagrad(p, learning_rate=0.05, initial_accumulator_value=0.1,
                                            lr_decay=0.01, weight_decay=0.02, epsilon=1e-6),
                        lambda p: torch.optim.Adagrad(p, lr=0.05, initial_accumulator_value=0.1,
                                                      lr_decay=0.01, weight_decay=0.02, eps=1e-6)),
    "rmsprop": (lambda p: O.RMSprop(p, learning_rate=0.005),
                lambda p: torch.optim.RMSprop(p, lr=0.005)),
    "rmsprop-momentum": (lambda p: O.RMSprop(p, learning_rate=0.002, rho=0.9, momentum=0.5),
                         lambda p: torch.optim.RMSprop(p, lr=0.002, alpha=0.9, momentum=0.5)),
    "rmsprop-centered": (lambda p: O.RMSprop(p, learning_rate=0.002, centered=True,
                                             momentum=0.3, weight_decay=0.01),
                         lambda p: torch.optim.RMSprop(p, lr=0.002, centered=True, momentum=0.3,
                                                       weight_decay=0.01)),
    "adam": (lambda p: O.Adam(p, learning_rate=0.01),
             lambda p: torch.optim.Adam(p, lr=0.01)),
    "adam-default": (lambda p: O.Adam(p),
                     lambda p: torch.optim.Adam(p)),
    "adam-amsgrad-wd": (lambda p: O.Adam(p, learning_rate=0.01, beta_1=0.8, beta_2=0.99,
                                         epsilon=1e-6, amsgrad=True, weight_decay=0.05),
                        lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), eps=1e-6,
                                                   amsgrad=True, weight_decay=0.05)),
    "adamw": (lambda p: O.AdamW(p, learning_rate=0.01),
              lambda p: torch.optim.AdamW(p, lr=0.01)),
    "adamw-amsgrad": (lambda p: O.AdamW(p, learning_rate=0.01, weight_decay=0.1, amsgrad=True),
                      lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1, amsgrad=True)),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_torch(case, dtype):
    make_ours, make_theirs = CASES[case]
    compare(make_ours, make_theirs, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_frozen_parameter_is_skipped(dtype):
    # b1 (index 1) has no gradient: torch skips it and so must we, step counts included.
    opt = compare(lambda p: O.Adam(p, learning_rate=0.01),
                  lambda p: torch.optim.Adam(p, lr=0.01), dtype, frozen=(1,))
    assert opt.params[1] not in opt.state
    assert opt.state[opt.params[0]]["step"] == STEPS


def _clip_activated(c, dtype, each=False):
    x, y, weights = make_problem(dtype)
    ps = [torch.tensor(w, requires_grad=True) for w in weights]
    torch_loss(ps, torch.from_numpy(x), torch.from_numpy(y)).backward()
    norms = [p.grad.norm().item() for p in ps]
    return max(norms) > c if each else float(np.sqrt(sum(n * n for n in norms))) > c


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_global_clipnorm_matches_clip_grad_norm_(dtype):
    assert _clip_activated(0.5, dtype)
    compare(lambda p: O.SGD(p, learning_rate=0.05, momentum=0.9, global_clipnorm=0.5),
            lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9), dtype,
            torch_pre_step=lambda ps: torch.nn.utils.clip_grad_norm_(ps, 0.5))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_clipnorm_clips_each_gradient(dtype):
    assert _clip_activated(0.3, dtype, each=True)
    compare(lambda p: O.Adam(p, learning_rate=0.01, clipnorm=0.3),
            lambda p: torch.optim.Adam(p, lr=0.01), dtype, torch_pre_step=clip_each_norm(0.3))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_clipvalue_matches_clip_grad_value_(dtype):
    compare(lambda p: O.RMSprop(p, learning_rate=0.005, clipvalue=0.1),
            lambda p: torch.optim.RMSprop(p, lr=0.005), dtype,
            torch_pre_step=lambda ps: torch.nn.utils.clip_grad_value_(ps, 0.1))


SCHEDULED = {
    "adam-warmup-cosine": (lambda s: (lambda p: O.Adam(p, learning_rate=s)),
                           lambda p: torch.optim.Adam(p, lr=0.0),
                           S.WarmupCosineDecay(0.02, warmup_steps=10, decay_steps=30, alpha=0.1)),
    "sgd-step-decay": (lambda s: (lambda p: O.SGD(p, learning_rate=s, momentum=0.9)),
                       lambda p: torch.optim.SGD(p, lr=0.0, momentum=0.9),
                       S.StepDecay(0.02, step_size=10, gamma=0.5)),
    "rmsprop-exponential": (lambda s: (lambda p: O.RMSprop(p, learning_rate=s)),
                            lambda p: torch.optim.RMSprop(p, lr=0.0),
                            S.ExponentialDecay(0.005, decay_steps=5, decay_rate=0.8)),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", sorted(SCHEDULED))
def test_schedule_matches_manual_torch_lr(case, dtype):
    make, make_theirs, sched = SCHEDULED[case]
    # torch gets the rate the schedule gives for the number of steps already taken
    compare(make(sched), make_theirs, dtype, lr_at=sched)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_learning_rate_set_between_steps(dtype):
    # a callback (ReduceLROnPlateau-like) halves the rate every 10 steps
    def make_ours(p):
        opt = O.Adam(p, learning_rate=0.02)
        step = opt.step

        def stepping():
            step()
            if opt.iterations % 10 == 0:
                opt.learning_rate = opt.learning_rate * 0.5
        opt.step = stepping
        return opt
    compare(make_ours, lambda p: torch.optim.Adam(p, lr=0.0), dtype,
            lr_at=lambda k: 0.02 * 0.5 ** (k // 10))


@pytest.mark.parametrize("case", ["sgd-momentum", "adagrad-options", "rmsprop-centered",
                                  "adam-amsgrad-wd", "adamw"])
def test_state_dict_round_trip_continues_identically(case):
    make_ours, _ = CASES[case]
    x, y, weights = make_problem(np.float32)
    dx, dy = ds.tensor(x), ds.tensor(y)
    a = [ds.tensor(w.copy(), requires_grad=True) for w in weights]
    opt_a = make_ours(a)
    for _ in range(10):
        ds_loss(a, dx, dy).backward()
        opt_a.step()
        opt_a.zero_grad()
    saved = opt_a.state_dict()
    assert saved["iterations"].shape == () and int(saved["iterations"]) == 10
    assert saved["0.step"].dtype == np.int64 and int(saved["0.step"]) == 10
    b = [ds.tensor(t.data.copy(), requires_grad=True) for t in a]
    opt_b = make_ours(None)
    opt_b.bind(b)
    opt_b.load_state_dict(saved)
    saved["0.step"][...] = 999  # the loaded state must not alias the saved arrays
    for _ in range(10):
        for params, opt in ((a, opt_a), (b, opt_b)):
            ds_loss(params, dx, dy).backward()
            opt.step()
            opt.zero_grad()
    for pa, pb in zip(a, b):
        np.testing.assert_array_equal(pa.data, pb.data)
    sa, sb = opt_a.state_dict(), opt_b.state_dict()
    assert sorted(sa) == sorted(sb)
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)
