import numpy as np
import pytest
from sklearn import metrics as skm

from deepsheet import plot


@pytest.fixture
def three_classes():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)
    scores = rng.random((60, 3)) + 1.5 * np.eye(3)[y]
    scores /= scores.sum(axis=1, keepdims=True)
    return y, scores


def test_confusion_matrix_counts_and_normalized(three_classes, png):
    y, scores = three_classes
    pred = scores.argmax(axis=1)
    fig = plot.confusion_matrix(y, pred, class_names=["cat", "dog", "emu"])
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.images[0].get_array(), skm.confusion_matrix(y, pred))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog", "emu"]
    assert len(ax.texts) == 9
    png(fig)
    fig2 = plot.confusion_matrix(y, pred, normalize="true")
    shown = fig2.axes[0].images[0].get_array()
    np.testing.assert_allclose(shown, skm.confusion_matrix(y, pred, normalize="true"))
    np.testing.assert_allclose(shown.sum(axis=1), 1.0)
    c = skm.confusion_matrix(y, pred)
    assert fig2.axes[0].texts[0].get_text() == f"{c[0, 0]}\n({100 * shown[0, 0]:.0f}%)"
    with pytest.raises(ValueError, match="class_names has 1 entries, need 3"):
        plot.confusion_matrix(y, pred, class_names=["a"])


def test_roc_curve_binary_matches_scikit_learn(png):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 80)
    s = rng.random(80) + 0.5 * y
    fig = plot.roc_curve(y, s)
    ax = fig.axes[0]
    curve, chance = ax.get_lines()
    fpr, tpr, _ = skm.roc_curve(y, s)
    np.testing.assert_allclose(curve.get_xdata(), fpr)
    np.testing.assert_allclose(curve.get_ydata(), tpr)
    assert curve.get_label() == f"1 (AUC = {skm.roc_auc_score(y, s):.3f})"
    assert list(chance.get_xdata()) == [0, 1]
    png(fig)


def test_roc_and_pr_one_vs_rest(three_classes, png):
    y, scores = three_classes
    fig = plot.roc_curve(y, scores, class_names=["a", "b", "c"])
    lines = fig.axes[0].get_lines()
    assert len(lines) == 4
    for k, line in enumerate(lines[:3]):
        auc = skm.roc_auc_score(y == k, scores[:, k])
        assert line.get_label() == f"{'abc'[k]} (AUC = {auc:.3f})"
    assert "one-vs-rest" in fig.axes[0].get_title()
    png(fig)
    fig2 = plot.precision_recall_curve(y, scores)
    for k, line in enumerate(fig2.axes[0].get_lines()):
        ap = skm.average_precision_score(y == k, scores[:, k])
        assert line.get_label() == f"{k} (AP = {ap:.3f})"
        p, r, _ = skm.precision_recall_curve(y == k, scores[:, k])
        np.testing.assert_allclose(np.sort(line.get_xdata()), np.sort(r))
    png(fig2, "pr.png")
    with pytest.raises(ValueError, match="y_score must be"):
        plot.roc_curve(y, scores[:10])


def test_precision_recall_binary_draws_the_chance_line():
    y = np.array([0, 0, 1, 1, 1])
    fig = plot.precision_recall_curve(y, np.array([0.1, 0.6, 0.4, 0.8, 0.9]))
    curve, chance = fig.axes[0].get_lines()
    assert list(chance.get_ydata()) == [0.6, 0.6]
    assert "AP = " in curve.get_label()


def test_decision_boundary_regions_follow_the_classifier(png):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(50, 2))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)

    def linear(points):            # probability of class 1
        return 1 / (1 + np.exp(-4 * (points[:, 0] + points[:, 1])))

    fig = plot.decision_boundary(linear, x, y, resolution=50)
    ax = fig.axes[0]
    assert len(ax.collections) >= 3                    # regions, boundary, 2 scatter groups
    offsets = np.concatenate([c.get_offsets() for c in ax.collections[-2:]])
    assert len(offsets) == 50
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0", "1"]
    png(fig)
    with pytest.raises(ValueError, match=r"x must be \(n_samples, 2\)"):
        plot.decision_boundary(linear, np.zeros((5, 3)))
    with pytest.raises(TypeError, match="predict"):
        plot.decision_boundary(3, x)


def test_decision_boundary_of_a_deepsheet_model():
    import deepsheet as ds
    ds.manual_seed(0)
    model = ds.Sequential([ds.layers.Dense(3, activation="softmax", input_shape=(2,))])
    x = np.random.default_rng(3).normal(size=(20, 2))
    fig = plot.decision_boundary(model, x, resolution=20)
    assert fig.axes[0].collections


def test_decision_boundary_of_a_scikit_learn_classifier():
    lm = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(4)
    x = rng.normal(size=(60, 2))
    y = (x[:, 0] > 0.3).astype(int)
    clf = lm.LogisticRegression().fit(x, y)
    fig = plot.decision_boundary(clf, x, y, resolution=30, class_names=["left", "right"])
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["left", "right"]
    # the regions come from predict_proba's argmax: left of x0 = 0.3 class 0, right class 1
    from deepsheet.plot.classification import _predict
    assert _predict(clf, np.array([[-2.0, 0.0], [2.0, 0.0]])).tolist() == [0, 1]
    assert _predict(lambda p: (p[:, 0] > 0).astype(np.int64), np.array([[-1.0, 0], [1, 0]])
                    ).tolist() == [0, 1]
