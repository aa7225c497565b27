"""``fit``'s step without graph nodes for a model of plain Dense layers (models._dense_step).

Every case trains the same model twice, with the graph-free step and with the usual graph
(``_dense_step`` answering None), and asserts bit-identical weights, optimizer state and
history: the step is an optimization, never another result. PyTorch oracles of such fits
are in test_blas_team and test_training.
"""
import numpy as np
import pytest

import deepsheet as ds
from deepsheet import layers
from deepsheet.models import _dense_step
from deepsheet.models.training import NaNLossWarning


def _data(n=96, d=12, classes=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x, rng.integers(0, classes, n), rng.standard_normal((n, 3)).astype(np.float32)


def _classifier(**first):
    return ds.Sequential([layers.Dense(16, activation="relu", input_shape=(12,), **first),
                          layers.Dense(8, activation="relu"), layers.Dense(4)])


def _compile_cce(model, opt=None):
    model.compile(optimizer=opt or ds.optimizers.Adam(1e-2),
                  loss=ds.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])


def _train(build, fit, graph):
    ds.manual_seed(0)
    model = build()
    taken = []
    if graph:
        model._dense_step = lambda xs: None
    else:
        begin = model._dense_step
        model._dense_step = lambda xs: taken.append(begin(xs)) or taken[-1]
    history = fit(model)
    state = model.optimizer.state_dict()
    return model.get_weights(), history.history, state, taken


def _assert_same(build, fit, fused_expected=True):
    w1, h1, s1, taken = _train(build, fit, graph=False)
    w2, h2, s2, _ = _train(build, fit, graph=True)
    assert taken, "no training step ran"
    assert all(t is not None for t in taken) is fused_expected, taken[:3]
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
    assert h1 == h2
    assert s1.keys() == s2.keys()
    for k in s1:
        np.testing.assert_array_equal(np.asarray(s1[k]), np.asarray(s2[k]), err_msg=k)
    ds.manual_seed(0)
    init = build().get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(w1, init)), "nothing trained"


x, labels, targets = _data()


def test_a_classifier_trains_bit_identically():
    def build():
        m = _classifier()
        _compile_cce(m)
        return m
    _assert_same(build, lambda m: m.fit(x, labels, batch_size=32, epochs=3, verbose=0))


@pytest.mark.parametrize("what", ["frozen", "regularized", "no_bias", "one_layer",
                                  "class_weight", "validation"])
def test_variants_train_bit_identically(what):
    def build():
        if what == "regularized":
            m = _classifier(kernel_regularizer=ds.regularizers.L2(0.01),
                            bias_regularizer="l1")
        elif what == "no_bias":
            m = ds.Sequential([layers.Dense(16, activation="relu", input_shape=(12,),
                                            use_bias=False), layers.Dense(4, use_bias=False)])
        elif what == "one_layer":
            m = ds.Sequential([layers.Dense(4, input_shape=(12,))])
        else:
            m = _classifier()
        if what == "frozen":
            m.layers[1].trainable = False
        _compile_cce(m, ds.optimizers.SGD(0.05, momentum=0.9))
        return m
    kw = {}
    if what == "class_weight":
        kw["class_weight"] = {0: 1.0, 1: 2.0, 2: 0.5, 3: 1.5}
    if what == "validation":
        kw["validation_split"] = 0.25
    _assert_same(build, lambda m: m.fit(x, labels, batch_size=32, epochs=2, verbose=0, **kw))


def test_regression_with_sample_weights():
    w = np.linspace(0.1, 2.0, len(x)).astype(np.float32)

    def build():
        m = ds.Sequential([layers.Dense(16, activation="relu", input_shape=(12,)),
                           layers.Dense(3)])
        m.compile(optimizer="rmsprop", loss="mse", metrics=["mae"])
        return m
    _assert_same(build, lambda m: m.fit(x, targets, sample_weight=w, batch_size=16, epochs=2,
                                        verbose=0))


def test_a_custom_compute_loss_that_reads_the_weights():
    """The loss reaches the first kernel directly (a penalty of its own) and through ŷ: the
    graph-free backward adds to the gradient the loss's backward left there."""
    class Penalized(ds.Sequential):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            base = super().compute_loss(x, y, y_pred, sample_weight, training)
            return base + 0.01 * (self.layers[0].kernel * self.layers[0].kernel).sum()

    def build():
        m = Penalized([layers.Dense(16, activation="relu", input_shape=(12,)), layers.Dense(4)])
        _compile_cce(m)
        return m
    _assert_same(build, lambda m: m.fit(x, labels, batch_size=32, epochs=2, verbose=0))


@pytest.mark.parametrize("what", ["dropout", "tanh", "float64", "3d"])
def test_other_models_and_inputs_take_the_graph(what):
    if what == "dropout":
        seq = [layers.Dense(8, activation="relu", input_shape=(12,)), layers.Dropout(0.5),
               layers.Dense(4)]
    elif what == "tanh":
        seq = [layers.Dense(8, activation="tanh", input_shape=(12,)), layers.Dense(4)]
    else:
        seq = [layers.Dense(8, activation="relu", input_shape=(12,)), layers.Dense(4)]
    model = ds.Sequential(seq)
    _compile_cce(model)
    xb = x[:8]
    if what == "float64":
        xb = xb.astype(np.float64)
    if what == "3d":
        xb = xb.reshape(2, 4, 12)
    assert model._dense_step([xb]) is None
    assert _dense_step.begin(model, [x[:8]]) is None or what in ("float64", "3d")
    if what != "3d":  # fit's input check refuses 3-D samples for a model built on (12,)
        model.train_on_batch(xb, labels[:8])


def test_a_nan_batch_is_skipped_as_in_the_graph():
    model = _classifier()
    _compile_cce(model)
    before = [w.copy() for w in model.get_weights()]
    bad = x[:32].copy()
    bad[3, 2] = np.nan
    assert model._dense_step([bad]) is not None
    with pytest.warns(NaNLossWarning, match="contains NaN"):
        model.train_on_batch(bad, labels[:32])
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    model.train_on_batch(x[:32], labels[:32])
    assert not np.array_equal(model.get_weights()[0], before[0])


def test_the_graph_is_used_where_no_weight_trains():
    model = _classifier()
    _compile_cce(model)
    model.trainable = False
    assert model._dense_step([x[:8]]) is None
