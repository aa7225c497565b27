import numpy as np
import pytest

from deepsheet import diagnostics, plot


def test_images_titles_true_and_predicted_wrong_ones_red(png):
    x = np.random.default_rng(0).random((5, 8, 8))
    fig = plot.images(x, [0, 1, 2, 1, 0], [0, 2, 2, 1, 1], class_names=["a", "b", "c"], ncols=3)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 5 and len(fig.axes) == 6
    assert [ax.get_title() for ax in panels] == ["a → a", "b → c", "c → c", "b → b", "a → b"]
    reds = [ax.title.get_color() == "crimson" for ax in panels]
    assert reds == [False, True, False, False, True]
    np.testing.assert_array_equal(panels[1].images[0].get_array(), x[1])
    png(fig)


def test_images_colour_and_single_channel_and_errors():
    rgb = np.random.default_rng(1).normal(size=(2, 4, 4, 3))
    fig = plot.images(rgb, y_true=[3, 4])
    shown = fig.axes[0].images[0].get_array()
    assert shown.min() == 0 and shown.max() == 1           # scaled into [0, 1]
    assert fig.axes[1].get_title() == "4"
    fig1 = plot.images(np.zeros((3, 5, 5, 1)), max_images=2)
    assert sum(1 for ax in fig1.axes if ax.images) == 2
    with pytest.raises(ValueError, match=r"channels-last \(N, H, W, C\)"):
        plot.images(np.zeros((2, 3, 5, 5)))
    with pytest.raises(ValueError, match="y_true has 1 labels for 3 images"):
        plot.images(np.zeros((3, 5, 5)), [1])
    with pytest.raises(ValueError, match="no images"):
        plot.images(np.zeros((0, 5, 5)))


def test_filters_and_feature_maps_and_their_old_names(png):
    w = np.random.default_rng(2).random((6, 3, 3, 1))
    fig = plot.filters(w, ncols=4)
    assert sum(1 for ax in fig.axes if ax.images) == 6
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), w[0, ..., 0])
    png(fig)
    maps = np.random.default_rng(3).random((2, 5, 5, 4))
    fig2 = plot.feature_maps({"conv": maps}, sample=1, ncols=2)
    np.testing.assert_allclose(fig2.axes[3].images[0].get_array(), maps[1, ..., 3])
    assert diagnostics.plot_filters(w).axes[0].images
    assert len(diagnostics.plot_feature_maps(maps, max_channels=2).axes) == 2
    with pytest.raises(ValueError, match="pass layer="):
        plot.feature_maps({"a": maps, "b": maps})


def test_attention_heads_and_token_labels(png):
    rng = np.random.default_rng(4)
    w = rng.random((2, 2, 3, 4))
    w /= w.sum(axis=-1, keepdims=True)
    fig = plot.attention(w, x_labels=list("abcd"), y_labels=["x", "y", "z"])
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels] == ["head 0", "head 1"]
    np.testing.assert_allclose(panels[1].images[0].get_array(), w[0, 1])
    assert [t.get_text() for t in panels[0].get_xticklabels()] == list("abcd")
    png(fig)
    one = plot.attention(w[0, 0])
    assert one.axes[0].get_title() == "attention" and len(one.axes) == 2   # + colour bar
    with pytest.raises(ValueError, match="pass head="):
        plot.attention(w, ax=one.axes[0])
    with pytest.raises(ValueError, match="attention expects"):
        plot.attention(np.zeros(3))


def test_filters_straight_from_a_model():
    import deepsheet as ds
    ds.manual_seed(0)
    model = ds.Sequential([ds.layers.Conv2D(4, 3, input_shape=(6, 6, 1), name="conv"),
                           ds.layers.Flatten(), ds.layers.Dense(2)])
    fig = plot.filters(model, layer="conv")
    shown = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    expected = diagnostics.conv_filters(model, "conv")
    assert len(shown) == 4
    np.testing.assert_allclose(shown[2], expected[2, ..., 0])
