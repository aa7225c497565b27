"""deepsheet.data: step counts for batch GD / SGD / mini-batch, shuffling with the library RNG,
generators, splits and dtype casts."""
import math

import numpy as np
import pytest

import deepsheet as ds
from deepsheet import data


@pytest.mark.parametrize("batch_size,steps", [("full", 1), (1, 10), (3, 4), (10, 1), (32, 1),
                                               (None, 1)])
def test_steps_per_epoch(batch_size, steps):
    b = data.batches(np.zeros((10, 2)), np.arange(10), batch_size=batch_size)
    assert len(b) == steps == len(list(b))
    sizes = [len(xb) for xb, _ in b]
    assert sum(sizes) == 10


def test_default_batch_size_is_32():
    assert data.resolve_batch_size(None, 1000) == 32
    assert len(data.batches(np.zeros((100, 1)))) == math.ceil(100 / 32)


@pytest.mark.parametrize("bad", [0, -1, 2.5, "half", True])
def test_bad_batch_size(bad):
    with pytest.raises(ValueError, match="batch_size"):
        data.resolve_batch_size(bad, 10)


def test_unshuffled_batches_are_views_in_order():
    x = np.arange(10, dtype=np.float32)[:, None]
    b = list(data.batches(x, batch_size=4))
    assert [xb[:, 0].tolist() for xb in b] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert np.shares_memory(b[0], x)


def test_shuffle_uses_library_rng_and_replays():
    x, y = np.arange(20), np.arange(20) * 10
    ds.manual_seed(3)
    state = ds.backend.get_rng_state()
    def epoch():
        return [(xb.tolist(), yb.tolist())
                for xb, yb in data.batches(x, y, batch_size=6, shuffle=True)]
    first = epoch()
    ds.backend.set_rng_state(state)
    again = epoch()
    assert first == again
    flat = sum((xb for xb, _ in first), [])
    assert sorted(flat) == list(range(20)) and flat != list(range(20))
    assert all(np.all(np.array(yb) == np.array(xb) * 10) for xb, yb in first)
    # each epoch (each iteration) draws a new order
    b = data.batches(x, batch_size=20, shuffle=True)
    assert list(next(iter(b))) != list(next(iter(b)))


def test_structure_lists_and_weights():
    x1, x2, y, w = np.zeros((5, 2)), np.ones((5, 3)), np.arange(5), np.ones(5)
    (xb, yb, wb), = list(data.batches([x1, x2], y, sample_weight=w, batch_size="full"))
    assert [a.shape for a in xb] == [(5, 2), (5, 3)] and yb.shape == (5,) and wb.shape == (5,)
    with pytest.raises(ValueError, match="different lengths"):
        data.batches(x1, np.arange(4))


def test_dtype_rules():
    assert data.as_array(np.zeros(3, np.float64)).dtype == np.float32
    assert data.as_array([1.5, 2.0]).dtype == np.float32
    assert data.as_array(np.arange(3)).dtype == np.arange(3).dtype  # labels keep int
    assert data.as_array(ds.tensor([1.0])).dtype == np.float32
    with pytest.raises(ValueError, match="batch axis"):
        data.as_array(np.float32(1.0))


def test_generators_and_steps():
    def gen():
        for i in range(100):
            yield np.full((2, 1), i), np.full(2, i)
    b = data.batches(gen(), steps=3)
    assert len(b) == 3
    assert [int(x[0, 0]) for x, _ in b] == [0, 1, 2]
    assert [int(x[0, 0]) for x, _ in b] == [3, 4, 5]  # a generator continues across epochs
    items = [(np.zeros((2, 1)), np.zeros(2))] * 4
    loader = data.batches(iter(items))
    assert len(list(loader)) == 4 and list(loader) == []  # a spent iterator yields nothing
    assert data.is_dataset(gen()) and not data.is_dataset(np.zeros(3)) and \
        not data.is_dataset([np.zeros(3)])
    with pytest.raises(ValueError, match="y must be None"):
        data.batches(gen(), np.zeros(3))


def test_unpack_batch():
    x = np.zeros(2)
    assert data.unpack_batch(x)[1] is None
    assert data.unpack_batch((x, 1))[1] == 1
    assert data.unpack_batch((x, 1, 2))[2] == 2
    with pytest.raises(ValueError, match="tuple of 4"):
        data.unpack_batch((x, 1, 2, 3))


def test_split_tail_takes_the_last_fraction():
    head, tail = data.split_tail([np.arange(10), None], 0.3)
    assert head[0].tolist() == list(range(7)) and tail[0].tolist() == [7, 8, 9]
    assert head[1] is None
    with pytest.raises(ValueError, match="validation_split"):
        data.split_tail([np.arange(10)], 1.0)
    with pytest.raises(ValueError, match="empty"):
        data.split_tail([np.arange(1)], 0.5)
