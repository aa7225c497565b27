"""DCGAN / MLP builders: shapes, ranges, parameter counts against the PyTorch twin; LeakyReLU."""
import os
import sys

import numpy as np
import pytest

import deepsheet as ds
from deepsheet import gan, layers as L
from layer_contract import run_layer_test


def test_leaky_relu_layer_contract_and_torch():
    run_layer_test(L.LeakyReLU, {"negative_slope": 0.2}, input_shape=(3, 4, 5),
                   expected_output_shape=(3, 4, 5), expected_num_trainable_weights=0)
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
    x = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    np.testing.assert_allclose(L.LeakyReLU(0.2)(x).numpy(),
                               torch.nn.functional.leaky_relu(torch.from_numpy(x), 0.2).numpy())
    assert L.LeakyReLU().negative_slope == 0.3 and L.LeakyReLU(alpha=0.1).negative_slope == 0.1
    with pytest.raises(ValueError, match="negative_slope"):
        L.LeakyReLU(-1.0)


@pytest.mark.parametrize("f", [4, 8])
def test_dcgan_shapes_range_and_parameter_counts_match_the_torch_twin(f):
    G, D = gan.dcgan_generator(16, f), gan.dcgan_discriminator(f)
    z = np.random.default_rng(0).normal(size=(3, 16)).astype(np.float32)
    img = G(z, training=True)
    assert img.shape == (3, 28, 28, 1) and img.dtype == np.float32
    assert float(np.abs(img.numpy()).max()) <= 1.0
    assert D(img).shape == (3, 1)
    torch = pytest.importorskip("torch", reason="the PyTorch twin in benchmarks/")
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
    from bench_dcgan import torch_twin
    tg, td = torch_twin(16, f)
    count = lambda m: sum(p.numel() for p in m.parameters())   # noqa: E731
    assert sum(w.size for w in G.trainable_weights) == count(tg)
    assert sum(w.size for w in D.trainable_weights) == count(td)
    assert tuple(tg(torch.zeros(2, 16)).shape) == (2, 1, 28, 28)


def test_mlp_and_conditional_builders():
    G, D = gan.mlp_generator(8, units=16), gan.mlp_discriminator(units=16)
    out = G(np.zeros((2, 8), np.float32))
    assert out.shape == (2, 28, 28, 1) and D(out).shape == (2, 1)
    cg = gan.conditional_dcgan_generator(8, 10, 4)
    cd = gan.conditional_dcgan_discriminator(10, 4)
    m = gan.ConditionalGAN(cg, cd, 8, num_classes=10)
    assert m.generate(z=np.zeros((3, 8)), labels=[1, 2, 3]).shape == (3, 28, 28, 1)
    with pytest.raises(ValueError, match="multiples of 4"):
        gan.dcgan_generator(8, 4, image_shape=(30, 30, 1))
    with pytest.raises(ValueError, match="latent_dim"):
        gan.dcgan_generator(0)


def test_scale_images_round_trip():
    x = np.array([[[0, 255], [128, 64]]], np.uint8)
    s = gan.scale_images(x)
    assert s.shape == (1, 2, 2, 1) and s.dtype == np.float32
    assert s.min() == -1.0 and s.max() == 1.0
    np.testing.assert_allclose(gan.unscale_images(s)[..., 0], x / 255.0, atol=1e-6)


def _copy_dcgan_to_torch(G, D, tg, td, f, torch):
    """Our channels-last DCGAN weights into the channels-first PyTorch twin."""
    gw, dw = G.get_weights(), D.get_weights()
    c = lambda a: torch.from_numpy(np.ascontiguousarray(a))          # noqa: E731
    units = lambda v: v.reshape(7, 7, 2 * f).transpose(2, 0, 1).reshape(-1)   # noqa: E731
    with torch.no_grad():
        lat = gw[0].shape[0]
        tg.fc.weight.copy_(c(gw[0].reshape(lat, 7, 7, 2 * f).transpose(0, 3, 1, 2)
                             .reshape(lat, -1).T))
        tg.bn0.weight.copy_(c(units(gw[1])))
        tg.bn0.bias.copy_(c(units(gw[2])))
        tg.up1.weight.copy_(c(gw[5].transpose(3, 2, 0, 1)))    # (kh, kw, out, in) -> (in, out, kh, kw)
        tg.bn1.weight.copy_(c(gw[6]))
        tg.bn1.bias.copy_(c(gw[7]))
        tg.up2.weight.copy_(c(gw[10].transpose(3, 2, 0, 1)))
        tg.up2.bias.copy_(c(gw[11]))
        td[0].weight.copy_(c(dw[0].transpose(3, 2, 0, 1)))     # (kh, kw, in, out) -> (out, in, kh, kw)
        td[0].bias.copy_(c(dw[1]))
        td[2].weight.copy_(c(dw[2].transpose(3, 2, 0, 1)))
        td[3].weight.copy_(c(dw[3]))
        td[3].bias.copy_(c(dw[4]))
        td[6].weight.copy_(c(dw[7].reshape(7, 7, 2 * f, 1).transpose(2, 0, 1, 3).reshape(-1, 1).T))
        td[6].bias.copy_(c(dw[8]))


def test_dcgan_training_steps_match_the_pytorch_twin():
    # the whole DCGAN step (transposed convolutions, batch norm in both networks, LeakyReLU,
    # two Adams) against benchmarks/bench_dcgan.py's twin with copied weights
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
    from bench_dcgan import TorchGAN
    f, lat, n = 4, 8, 8
    G, D = gan.dcgan_generator(lat, f), gan.dcgan_discriminator(f)
    m = gan.GAN(G, D, lat)
    m.compile(d_optimizer=ds.optimizers.Adam(learning_rate=1e-3, beta_1=0.5),
              g_optimizer=ds.optimizers.Adam(learning_rate=1e-3, beta_1=0.5))
    twin = TorchGAN(lat, f, lr=1e-3)
    _copy_dcgan_to_torch(G, D, twin.G, twin.D, f, torch)
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = rng.uniform(-1, 1, (n, 28, 28, 1)).astype(np.float32)
        z = rng.standard_normal((n, lat)).astype(np.float32)
        m.sample_noise = lambda k, z=z: z
        d_before = m.d_loss_tracker.total
        g_before = m.g_loss_tracker.total
        m.train_step(x)
        d_loss, g_loss = twin.step(torch.from_numpy(x.transpose(0, 3, 1, 2).copy()),
                                   torch.from_numpy(z))
        assert m.d_loss_tracker.total - d_before == pytest.approx(d_loss, rel=1e-5)
        assert m.g_loss_tracker.total - g_before == pytest.approx(g_loss, rel=1e-5)
    # our weights after 3 steps, copied into a fresh twin, equal the trained twin's
    mirror = TorchGAN(lat, f)
    _copy_dcgan_to_torch(G, D, mirror.G, mirror.D, f, torch)
    for a, b in zip(list(twin.G.parameters()) + list(twin.D.parameters()),
                    list(mirror.G.parameters()) + list(mirror.D.parameters())):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-4, atol=2e-6)
