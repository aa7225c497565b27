"""The MODELS registry: every builder takes (input_shape, classes) for both datasets' sizes,
and its model survives a config round trip with the same layers and parameter counts."""
import json

import numpy as np
import pytest

import deepsheet as ds
from deepsheet.applications import MODELS

SMALL = {  # keep builds cheap; defaults are exercised in the per-architecture tests
    "lenet5": {}, "alexnet": {"width": 0.125}, "vgg": {"width": 0.125},
    "resnet": {"widths": (4, 8, 8, 16)}, "resnet18": {"widths": (4, 8, 8, 16)},
    "googlenet": {"width": 1 / 16}, "mobilenet": {"alpha": 0.125},
}


def test_registry_names():
    assert set(MODELS) == {"lenet5", "alexnet", "vgg", "resnet", "resnet18", "googlenet",
                           "mobilenet"}
    assert set(SMALL) == set(MODELS)


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("input_shape, classes", [((28, 28, 1), 10), ((32, 32, 3), 4)])
def test_builders_shapes_and_config_round_trip(name, input_shape, classes):
    model = MODELS[name](input_shape=input_shape, classes=classes, **SMALL[name])
    assert isinstance(model, ds.Model)
    assert model.input.shape == (None,) + input_shape
    assert model.output.shape == (None, classes)
    config = json.loads(json.dumps(model.get_config()))
    clone = ds.Model.from_config(config)
    assert [l.name for l in clone.layers] == [l.name for l in model.layers]
    assert clone.count_params() == model.count_params()
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(0).standard_normal((2,) + input_shape).astype(np.float32)
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
