import numpy as np
import pytest

import deepsheet as ds
from deepsheet.diagnostics import transfer_learning


def test_frozen_base_beats_scratch_on_little_data():
    try:
        (x, y), (xt, yt) = ds.datasets.load("fashion-mnist")
    except (FileNotFoundError, ValueError) as exc:
        pytest.skip(f"Fashion-MNIST files not installed here: {exc}")
    x = x.astype(np.float32) / 255
    xt = xt.astype(np.float32) / 255
    rng = np.random.default_rng(0)
    source = rng.choice(np.flatnonzero(y < 5), 3000, replace=False)
    # little data: 3 images of each target class (sandal, shirt, sneaker, bag, ankle boot)
    target = np.concatenate([rng.choice(np.flatnonzero(y == c), 3, replace=False)
                             for c in range(5, 10)])
    test = np.flatnonzero(yt >= 5)[:500]
    r = transfer_learning((x[source], y[source]), (x[target], y[target]), (xt[test], yt[test]),
                          source_test=(xt[yt < 5][:500], yt[yt < 5][:500]), seed=0,
                          source_epochs=2, target_epochs=100, batch_size=16)
    assert r.target_samples == 15 and r.source_accuracy > 0.7
    # on 1000 test images: 0.837 vs 0.772 (seeds 1 and 2: 0.732 vs 0.710, 0.757 vs 0.706)
    assert r.frozen_accuracy > r.scratch_accuracy + 0.02
    assert r.frozen_accuracy > 0.6
    assert set(r.histories) == {"source", "frozen", "scratch"}
    with pytest.raises(ValueError, match="target_test has class 3"):
        transfer_learning((x[source], y[source]), (x[target], y[target]), (xt[:5], np.full(5, 3)))
