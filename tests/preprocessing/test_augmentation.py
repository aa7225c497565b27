"""Augmentation functions: exact flips/translations/crops, rotations vs scipy, noise and erasing."""
import numpy as np
import pytest
from scipy import ndimage

import deepsheet as ds
from deepsheet.preprocessing import augmentation as aug


def batch(n=16, h=5, w=6, c=2, dtype=np.float32):
    # every pixel distinct, so an equality pins down the exact transformation
    return np.arange(n * h * w * c, dtype=dtype).reshape(n, h, w, c) + 1


def test_random_flip_is_exact_and_mixes():
    x = batch(64)
    for mode, flipper in (("horizontal", lambda a: a[:, ::-1]), ("vertical", lambda a: a[::-1])):
        out = aug.random_flip(x, mode)
        assert out.shape == x.shape and out.dtype == x.dtype
        flipped = [np.array_equal(o, flipper(a)) for o, a in zip(out, x)]
        kept = [np.array_equal(o, a) for o, a in zip(out, x)]
        assert all(f != k for f, k in zip(flipped, kept))  # each image: exactly one of the two
        assert 16 < sum(flipped) < 48
    out = aug.random_flip(x, "horizontal_and_vertical")
    variants = [(lambda a: a), (lambda a: a[:, ::-1]), (lambda a: a[::-1]), (lambda a: a[::-1, ::-1])]
    seen = {next(k for k, v in enumerate(variants) if np.array_equal(o, v(a))) for o, a in zip(out, x)}
    assert seen == {0, 1, 2, 3}


def test_translate_by_hand_on_a_small_image():
    x = np.arange(1.0, 13.0).reshape(1, 3, 4, 1)  # rows [1 2 3 4] [5 6 7 8] [9 10 11 12]
    expect = {
        "constant": [[0, 0, 0, 0], [3, 4, 0, 0], [7, 8, 0, 0]],
        "nearest": [[3, 4, 4, 4], [3, 4, 4, 4], [7, 8, 8, 8]],
        "wrap": [[11, 12, 9, 10], [3, 4, 1, 2], [7, 8, 5, 6]],
        "reflect": [[3, 4, 4, 3], [3, 4, 4, 3], [7, 8, 8, 7]],
    }
    for mode, e in expect.items():  # one row down, two columns left
        out = aug.translate(x, [(1, -2)], fill_mode=mode)
        np.testing.assert_array_equal(out[0, :, :, 0], e, err_msg=mode)
    out = aug.translate(x, [(-1, 1)], fill_value=-1.0)
    np.testing.assert_array_equal(out[0, :, :, 0], [[-1, 5, 6, 7], [-1, 9, 10, 11], [-1, -1, -1, -1]])
    np.testing.assert_array_equal(aug.translate(x, (0, 0)), x)


def _find_shift(out, img, max_dy, max_dx, fill=0.0):
    for dy in range(-max_dy, max_dy + 1):
        for dx in range(-max_dx, max_dx + 1):
            if np.array_equal(out, aug.translate(img[None], [(dy, dx)], fill_value=fill)[0]):
                return dy, dx
    return None


def test_random_translation_is_an_exact_shift_within_range():
    x = batch(32)
    out = aug.random_translation(x, 0.2, (0.0, 0.34))
    shifts = [_find_shift(o, a, 1, 2) for o, a in zip(out, x)]
    assert None not in shifts
    dys, dxs = zip(*shifts)
    assert set(dys) <= {-1, 0, 1} and set(dxs) <= {0, 1, 2} and len(set(shifts)) > 4


def test_random_crop_is_padding_then_an_exact_window():
    x = batch(32)
    out = aug.random_crop(x, padding=2)
    assert out.shape == x.shape
    shifts = [_find_shift(o, a, 2, 2) for o, a in zip(out, x)]
    assert None not in shifts and len(set(shifts)) > 5
    small = aug.random_crop(x, padding=0, size=(3, 4))
    assert small.shape == (32, 3, 4, 2)
    for o, a in zip(small, x):  # a window of the original
        assert any(np.array_equal(o, a[i:i + 3, j:j + 4]) for i in range(3) for j in range(3))


@pytest.mark.parametrize("fill_mode, scipy_mode", [("constant", "grid-constant"),
                                                   ("nearest", "nearest"),
                                                   ("reflect", "reflect"),
                                                   ("wrap", "grid-wrap")])
def test_rotate_matches_scipy_affine_transform(fill_mode, scipy_mode):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 7, 9, 2))
    angles = np.array([0.3, -0.1, 1.2])
    out = aug.rotate(x, angles, fill_mode=fill_mode, fill_value=0.5)
    c = np.array([(7 - 1) / 2, (9 - 1) / 2])
    for n, t in enumerate(angles):
        R = np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])
        for ch in range(2):
            ref = ndimage.affine_transform(x[n, :, :, ch], R, offset=c - R @ c, order=1,
                                           mode=scipy_mode, cval=0.5)
            np.testing.assert_allclose(out[n, :, :, ch], ref, atol=1e-10)


def test_rotate_special_angles_and_random_rotation():
    x = batch(4, 5, 5, 1)
    np.testing.assert_array_equal(aug.rotate(x, 0.0), x)
    quarter = aug.rotate(x, np.pi / 2, interpolation="nearest")
    np.testing.assert_array_equal(quarter, np.rot90(x, axes=(1, 2)))  # counter-clockwise
    np.testing.assert_allclose(aug.rotate(x, np.pi / 2), np.rot90(x, axes=(1, 2)), atol=1e-4)
    assert aug.rotate(x, 0.1).dtype == np.float32
    np.testing.assert_array_equal(aug.random_rotation(x, 0.0), x)
    out = aug.random_rotation(x, 0.02)
    assert out.shape == x.shape and not np.array_equal(out, x)
    # small angles: the centre pixel stays put
    np.testing.assert_allclose(out[:, 2, 2], x[:, 2, 2], rtol=1e-5)


def test_gaussian_noise_statistics():
    x = np.zeros((8, 16, 16, 3), dtype=np.float32)
    out = aug.gaussian_noise(x, 0.5)
    assert out.dtype == np.float32 and out.shape == x.shape
    assert abs(out.mean()) < 0.02 and out.std() == pytest.approx(0.5, rel=0.03)
    np.testing.assert_array_equal(aug.gaussian_noise(x, 0.0), x)
    with pytest.raises(ValueError, match="stddev"):
        aug.gaussian_noise(x, -1)


def test_random_erasing_blanks_one_rectangle():
    x = batch(64, 12, 12, 2)
    out = aug.random_erasing(x, p=1.0, value=0.0)
    for o, a in zip(out, x):
        changed = np.any(o != a, axis=-1)
        rows, cols = np.flatnonzero(changed.any(1)), np.flatnonzero(changed.any(0))
        box = np.zeros_like(changed)
        box[rows.min():rows.max() + 1, cols.min():cols.max() + 1] = True
        np.testing.assert_array_equal(changed, box)  # a full rectangle, nothing else
        assert np.all(o[changed] == 0)
        assert 0.02 * 144 / 2 <= changed.sum() <= 0.33 * 144 * 2 + 12
    np.testing.assert_array_equal(aug.random_erasing(x, p=0.0), x)
    half = aug.random_erasing(x, p=0.5)
    n_erased = sum(not np.array_equal(o, a) for o, a in zip(half, x))
    assert 16 < n_erased < 48
    noisy = aug.random_erasing(x, p=1.0, value="random")
    assert noisy.dtype == np.float32


def test_reproducible_under_manual_seed_and_tensors():
    x = batch(8)
    outs = []
    for _ in range(2):
        ds.manual_seed(123)
        outs.append([aug.random_flip(x), aug.random_translation(x, 0.3, 0.3),
                     aug.random_crop(x, 1), aug.random_rotation(x, 0.05),
                     aug.gaussian_noise(x, 0.1), aug.random_erasing(x)])
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)
    t = aug.random_crop(ds.tensor(x), 2)
    assert isinstance(t, ds.Tensor) and t.dtype == np.float32 and t.shape == x.shape


def test_bad_input():
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        aug.random_flip(np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="mode"):
        aug.random_flip(batch(1), "diagonal")
    with pytest.raises(ValueError, match="fill_mode"):
        aug.translate(batch(1), (1, 1), fill_mode="mirror-ish")
    with pytest.raises(ValueError, match="fit in the padded image"):
        aug.random_crop(batch(1), padding=0, size=(9, 9))
    with pytest.raises(ValueError, match="probability"):
        aug.random_erasing(batch(1), p=2)
