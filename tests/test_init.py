import json
import math

import numpy as np
import pytest

import deepsheet as ds
from deepsheet import init

# Large draws: sample mean/variance of n i.i.d. values have relative standard error about
# sqrt(2/n) for the variance; with n ~ 2e5 that is 0.3%, so 3% is over 9 standard errors.
VAR_RTOL = 0.03


def _stats(w):
    w = np.asarray(w, dtype=np.float64)
    return w.mean(), w.var()


@pytest.mark.parametrize("shape,fans", [
    ((), (1, 1)), ((7,), (7, 7)), ((3, 5), (3, 5)), ((4, 6, 8), (24, 32)),
    ((3, 3, 16, 32), (144, 288)), ((2, 3, 4, 5, 6), (120, 144)),
])
def test_compute_fans_keras_rule(shape, fans):
    assert init.compute_fans(shape) == fans


@pytest.mark.parametrize("name,shape,var", [
    ("glorot_uniform", (400, 600), 2 / 1000),
    ("xavier_normal", (400, 600), 2 / 1000),
    ("he_normal", (3, 3, 32, 64), 2 / (9 * 32)),
    ("kaiming_uniform", (500, 300), 2 / 500),
    ("lecun_normal", (5, 100, 400), 1 / 500),
    ("lecun_uniform", (500, 400), 1 / 500),
])
def test_variance_scaling_moments_match_formula(name, shape, var):
    w = init.get(name)(shape)
    assert w.dtype == np.float32 and w.shape == shape
    mean, v = _stats(w)
    assert abs(mean) < 4 * math.sqrt(var / w.size)
    assert v == pytest.approx(var, rel=VAR_RTOL)


def test_uniform_limits_are_sqrt_6_over_fans():
    w = init.GlorotUniform()((300, 500))
    limit = math.sqrt(6 / 800)
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.99 * limit
    w = init.he_uniform()((256, 10))
    assert np.abs(w).max() <= math.sqrt(6 / 256)


def test_normal_variants_are_truncated_at_two_stddev():
    # Keras's he_normal: stddev sqrt(2/fan_in)/0.8796 truncated at 2 of those stddevs.
    fan_in = 200
    w = init.he_normal()((fan_in, 1000))
    bound = 2 * math.sqrt(2 / fan_in) / 0.87962566103423978
    assert np.abs(w).max() <= bound * (1 + 1e-6)
    w = init.TruncatedNormal(mean=1.0, stddev=0.5)((200_000,))
    assert np.abs(w - 1.0).max() <= 1.0 + 1e-6
    assert np.var(w) == pytest.approx((0.5 * 0.87962566) ** 2, rel=VAR_RTOL)


def test_untruncated_variance_scaling():
    w = init.VarianceScaling(2.0, "fan_out", "untruncated_normal")((100, 400))
    assert np.var(w) == pytest.approx(2 / 400, rel=VAR_RTOL)
    assert np.abs(w).max() > 2 * math.sqrt(2 / 400)  # tails exist


def test_random_normal_uniform_constant():
    w = init.get("random_normal")((200_000,))
    assert w.std() == pytest.approx(0.05, rel=VAR_RTOL / 2)
    w = init.RandomNormal(mean=3.0, stddev=2.0)((200_000,))
    assert w.mean() == pytest.approx(3.0, abs=0.02) and w.std() == pytest.approx(2.0, rel=0.02)
    w = init.RandomUniform(-1.0, 3.0)((100_000,))
    assert w.min() >= -1.0 and w.max() < 3.0 and w.mean() == pytest.approx(1.0, abs=0.02)
    np.testing.assert_array_equal(init.constant(2.5)((2, 3)), np.full((2, 3), 2.5, np.float32))
    np.testing.assert_array_equal(init.get("zeros")((3,)), np.zeros(3, np.float32))
    np.testing.assert_array_equal(init.get("ones")((3,)), np.ones(3, np.float32))
    np.testing.assert_array_equal(init.Identity(2.0)((2, 3)), 2 * np.eye(2, 3))


@pytest.mark.parametrize("shape", [(64, 64), (100, 30), (30, 100), (3, 3, 8, 16)])
def test_orthogonal(shape):
    w = init.orthogonal(gain=1.5)(shape)
    assert w.dtype == np.float32
    m = w.reshape(-1, shape[-1]).astype(np.float64)
    gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    np.testing.assert_allclose(gram, 2.25 * np.eye(gram.shape[0]), atol=1e-5)


def test_orthogonal_needs_a_matrix():
    with pytest.raises(ValueError, match="rank >= 2"):
        init.Orthogonal()((5,))


def test_reproducible_under_manual_seed_and_float32_draws():
    ds.manual_seed(123)
    a = init.get("glorot_uniform")((20, 30))
    b = init.get("he_normal")((20, 30))
    ds.manual_seed(123)
    np.testing.assert_array_equal(a, init.get("glorot_uniform")((20, 30)))
    np.testing.assert_array_equal(b, init.get("he_normal")((20, 30)))
    # draws are made in float32 whatever the requested dtype: same numbers in float64
    ds.manual_seed(123)
    a64 = init.get("glorot_uniform")((20, 30), dtype=np.float64)
    assert a64.dtype == np.float64
    np.testing.assert_array_equal(a64, a.astype(np.float64))
    # successive unseeded calls differ
    assert not np.array_equal(a, init.get("glorot_uniform")((20, 30)))


def test_seeded_initializer_repeats_and_ignores_library_rng():
    g = init.GlorotNormal(seed=7)
    a = g((10, 10))
    ds.manual_seed(999)
    np.testing.assert_array_equal(a, g((10, 10)))
    assert not np.array_equal(a, init.GlorotNormal(seed=8)((10, 10)))


@pytest.mark.parametrize("ident", ["glorot_uniform", "GlorotUniform", "Xavier_Uniform",
                                   init.GlorotUniform, init.GlorotUniform(),
                                   {"class_name": "GlorotUniform", "config": {"seed": None}}])
def test_get_accepts_names_classes_objects_configs(ident):
    assert isinstance(init.get(ident), init.GlorotUniform)


def test_get_callable_and_none():
    def f(shape, dtype=None):
        return np.zeros(shape, dtype)
    assert init.get(f) is f
    assert init.get(None) is None


def test_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match="unknown initializer 'glorot'.*he_normal"):
        init.get("glorot")
    with pytest.raises(ValueError, match="cannot interpret"):
        init.get(3.0)


@pytest.mark.parametrize("obj", [init.Zeros(), init.Constant(0.3), init.RandomNormal(1.0, 2.0, 3),
                                 init.RandomUniform(-2, 2), init.TruncatedNormal(stddev=0.1),
                                 init.VarianceScaling(0.5, "fan_avg", "uniform", 4),
                                 init.HeNormal(seed=1), init.Orthogonal(gain=2.0),
                                 init.Identity(0.5)])
def test_serialize_round_trip(obj):
    spec = json.loads(json.dumps(init.serialize(obj)))
    back = init.deserialize(spec)
    assert type(back) is type(obj) and back.get_config() == obj.get_config()


def test_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        init.VarianceScaling(mode="fan")
    with pytest.raises(ValueError, match="distribution"):
        init.VarianceScaling(distribution="cauchy")
    with pytest.raises(ValueError, match="scale"):
        init.VarianceScaling(scale=-1.0)
    with pytest.raises(ValueError, match="stddev"):
        init.RandomNormal(stddev=float("nan"))
    with pytest.raises(ValueError, match="maxval"):
        init.RandomUniform(1.0, 0.0)
    with pytest.raises(ValueError, match="unknown initializer"):
        init.deserialize({"class_name": "Nope", "config": {}})
    with pytest.raises(ValueError, match="cannot serialize"):
        init.serialize(lambda shape, dtype=None: None)
