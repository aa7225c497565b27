import numpy as np

from deepsheet.diagnostics import gradient_descent_variants


def test_sgd_curve_wiggles_more_than_batch_gd():
    runs = gradient_descent_variants(epochs=3)
    batch, mini, sgd = runs["batch"], runs["mini-batch"], runs["stochastic"]
    assert (batch.batch_size, mini.batch_size, sgd.batch_size) == (256, 32, 1)
    assert (batch.updates_per_epoch, mini.updates_per_epoch, sgd.updates_per_epoch) == (1, 8, 256)
    # batch GD: smooth, strictly decreasing; SGD: wiggling, a larger total variation
    assert batch.increases == 0 and np.all(np.diff(batch.losses) < 0)
    assert sgd.increases > 0.2 and mini.increases > 0
    assert sgd.total_variation > batch.total_variation
    tv = np.abs(np.diff(sgd.losses)).sum()
    assert sgd.total_variation == tv
    # fewer epochs for SGD, fewer updates for batch GD (the sheet's trade-off)
    assert 0 <= sgd.epochs_to_target < batch.epochs_to_target
    assert 0 <= batch.updates_to_target < sgd.updates_to_target
    assert len(sgd.losses) == 3 * 256 + 1 and len(batch.epoch_losses) == 3
    table = runs.table()
    assert "strictly decreasing" in table and table.count("\n") == 3
