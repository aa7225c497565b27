import numpy as np

from deepsheet.diagnostics import universal_approximation


def test_error_falls_with_width():
    r = universal_approximation(widths=(1, 4, 16), steps=1000, n_train=64, learning_rate=0.03)
    # the theorem's picture: the same training budget, a wider hidden layer, a closer fit
    assert r.errors[0] > r.errors[1] > r.errors[2]
    assert r.errors[2] < r.errors[0] / 20
    assert r.predictions.shape == (3, 400) and np.allclose(r.target, np.sin(2 * r.x) + 0.3 * r.x)
    assert r.table().splitlines()[1].split()[0] == "1"
