"""TruePositives/FalsePositives/TrueNegatives/FalseNegatives against scikit-learn."""
import numpy as np
import pytest
from sklearn.metrics import confusion_matrix

import deepsheet as ds
from deepsheet import metrics as M


@pytest.mark.parametrize("threshold", [None, 0.3, 0.7])
def test_counts_match_sklearn_confusion_matrix_over_batches(threshold):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=(40, 1))
    p = rng.random((40, 1)).astype(np.float32)
    w = rng.random(40)
    cut = 0.5 if threshold is None else threshold
    tn, fp, fn, tp = confusion_matrix(y.ravel(), (p.ravel() > cut).astype(int),
                                      sample_weight=w, labels=[0, 1]).ravel()
    for cls, want in ((M.TruePositives, tp), (M.FalsePositives, fp), (M.TrueNegatives, tn),
                      (M.FalseNegatives, fn)):
        m = cls(thresholds=threshold)
        for s in (slice(0, 15), slice(15, 40)):   # streaming: two batches
            m.update_state(y[s], ds.tensor(p[s]), sample_weight=w[s])
        assert m.result() == pytest.approx(want, rel=1e-12)
        m.reset_state()
        assert m.result() == 0.0


def test_several_thresholds_and_names():
    m = M.TruePositives(thresholds=[0.2, 0.6])
    m.update_state([1, 1, 0, 1], [0.3, 0.9, 0.8, 0.1])
    np.testing.assert_array_equal(m.result(), [2.0, 1.0])
    assert M.get("false_negatives").name == "false_negatives"
    with pytest.raises(ValueError, match=r"TrueNegatives: thresholds must lie in \[0, 1\]"):
        M.TrueNegatives(thresholds=1.5)
