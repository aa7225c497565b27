"""GAN training step: losses as written, a PyTorch twin, k steps, resume, mixture coverage, errors."""
import numpy as np
import pytest

import deepsheet as ds
from deepsheet import backend, gan, layers as L, optimizers


def small_pair(latent=3, dim=2, hidden=5, bn=False):
    g_layers = [ds.Input((latent,)), L.Dense(hidden)]
    if bn:
        g_layers.append(L.BatchNormalization(momentum=0.9, epsilon=1e-5))
    g_layers += [L.Activation("relu"), L.Dense(dim)]
    G = ds.Sequential(g_layers)
    D = ds.Sequential([ds.Input((dim,)), L.Dense(hidden), L.LeakyReLU(0.2), L.Dense(1)])
    return G, D


def adam_pair(lr=1e-2):
    return dict(d_optimizer=optimizers.Adam(learning_rate=lr, beta_1=0.5),
                g_optimizer=optimizers.Adam(learning_rate=lr, beta_1=0.5))


def softplus(v):
    return np.logaddexp(0.0, v)


@pytest.mark.parametrize("smoothing, generator_loss", [(0.0, "non_saturating"),
                                                      (0.1, "non_saturating"),
                                                      (0.0, "minimax")])
def test_losses_equal_a_hand_computation_on_fixed_weights(smoothing, generator_loss):
    # linear G and D, learning rate 0: the weights stay fixed, so every number below is
    # the loss of the same networks, computed by hand from the weights and the noise
    G = ds.Sequential([ds.Input((2,)), L.Dense(2)])
    D = ds.Sequential([ds.Input((2,)), L.Dense(1)])
    m = gan.GAN(G, D, latent_dim=2)
    m.compile(d_optimizer=optimizers.SGD(learning_rate=0.0),
              g_optimizer=optimizers.SGD(learning_rate=0.0), label_smoothing=smoothing,
              generator_loss=generator_loss)
    wg, bg = (w.numpy().astype(np.float64) for w in G.layers[0].weights)
    wd, bd = (w.numpy().astype(np.float64) for w in D.layers[0].weights)
    x = np.random.default_rng(0).normal(size=(6, 2)).astype(np.float32)
    ds.manual_seed(11)
    z = backend.random_normal((6, 2), dtype="float32")        # the draw train_step will make
    ds.manual_seed(11)
    logs = m.train_step(x)
    l_real = x.astype(np.float64) @ wd + bd
    l_fake = (np.asarray(z, np.float64) @ wg + bg) @ wd + bd
    t = 1.0 - smoothing            # BCE(t, l) = softplus(l) − t·l
    d_loss = np.mean(softplus(l_real) - t * l_real) + np.mean(softplus(l_fake))
    g_loss = (np.mean(softplus(-l_fake)) if generator_loss == "non_saturating"
              else -np.mean(softplus(l_fake)))                # minimax: E log(1 − D(G(z)))
    assert logs["d_loss"] == pytest.approx(d_loss, rel=1e-5)
    assert logs["g_loss"] == pytest.approx(g_loss, rel=1e-5)
    assert logs["real_accuracy"] == pytest.approx(np.mean(l_real > 0))
    assert logs["fake_accuracy"] == pytest.approx(np.mean(l_fake < 0))


def test_alternating_updates_match_a_pytorch_twin():
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
    G, D = small_pair(latent=3, dim=2, hidden=5)
    m = gan.GAN(G, D, latent_dim=3)
    m.compile(**adam_pair(1e-2), label_smoothing=0.1)

    def twin(model, act):
        mods = []
        dense = [l for l in model.layers if isinstance(l, L.Dense)]
        for i, layer in enumerate(dense):
            k, b = layer.get_weights()
            lin = torch.nn.Linear(*k.shape)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(k.T.copy()))
                lin.bias.copy_(torch.from_numpy(b))
            mods.append(lin)
            if i == 0:
                mods.append(act)
        return torch.nn.Sequential(*mods)

    tg, td = twin(G, torch.nn.ReLU()), twin(D, torch.nn.LeakyReLU(0.2))
    og = torch.optim.Adam(tg.parameters(), lr=1e-2, betas=(0.5, 0.999))
    od = torch.optim.Adam(td.parameters(), lr=1e-2, betas=(0.5, 0.999))
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    rng = np.random.default_rng(1)
    d_losses, g_losses = [], []
    for _ in range(4):
        x = rng.normal(size=(8, 2)).astype(np.float32)
        z = rng.normal(size=(8, 3)).astype(np.float32)
        m.sample_noise = lambda n, z=z: z
        logs = m.train_step(x)
        fake = tg(torch.from_numpy(z))
        od.zero_grad()
        real_logits = td(torch.from_numpy(x))
        d_loss = bce(real_logits, torch.full_like(real_logits, 0.9)) + \
            bce(td(fake.detach()), torch.zeros(8, 1))
        d_loss.backward()
        od.step()
        d_losses.append(float(d_loss.detach()))
        og.zero_grad()
        g_loss = bce(td(fake), torch.ones(8, 1))
        g_loss.backward()
        og.step()
        g_losses.append(float(g_loss.detach()))
    for model, tm in ((G, tg), (D, td)):
        mine = [w for l in model.layers if isinstance(l, L.Dense) for w in l.get_weights()]
        theirs = [p.detach().numpy() for mod in tm if isinstance(mod, torch.nn.Linear)
                  for p in (mod.weight.T, mod.bias)]
        for a, b in zip(mine, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert logs["d_loss"] == pytest.approx(np.mean(d_losses), rel=1e-5)
    assert logs["g_loss"] == pytest.approx(np.mean(g_losses), rel=1e-5)


def test_d_steps_update_the_generator_every_kth_step():
    G, D = small_pair()
    m = gan.GAN(G, D, latent_dim=3)
    m.compile(**adam_pair(), d_steps=3)
    g_before = [w.copy() for w in G.get_weights()]
    x = np.random.default_rng(0).normal(size=(8, 2)).astype(np.float32)
    m.train_step(x)
    m.train_step(x)
    assert m.g_optimizer.iterations == 0 and m.d_optimizer.iterations == 2
    for a, b in zip(g_before, G.get_weights()):
        np.testing.assert_array_equal(a, b)
    m.train_step(x)
    assert m.g_optimizer.iterations == 1 and m.d_optimizer.iterations == 3
    h = m.fit(np.tile(x, (3, 1)), epochs=2, batch_size=4, verbose=0)   # 6 steps an epoch
    assert m.d_optimizer.iterations == 15 and m.g_optimizer.iterations == 5
    assert len(h.history["g_loss"]) == 2


def _trained(backup_dir, epochs):
    ds.manual_seed(5)
    G, D = small_pair(bn=True)
    m = gan.GAN(G, D, latent_dim=3)
    m.compile(**adam_pair(5e-3))
    x = np.random.default_rng(2).normal(size=(40, 2)).astype(np.float32)
    backup = ds.callbacks.BackupAndRestore(str(backup_dir), delete_checkpoint=False)
    h = m.fit(x, epochs=epochs, batch_size=16, verbose=0, callbacks=[backup])
    return m, h


def _assert_same_run(a, b):
    for u, v in zip(a.generator.get_weights() + a.discriminator.get_weights(),
                    b.generator.get_weights() + b.discriminator.get_weights()):
        np.testing.assert_array_equal(u, v)            # BN moving statistics included
    for opt in ("d_optimizer", "g_optimizer"):
        sa, sb = getattr(a, opt).state_dict(), getattr(b, opt).state_dict()
        assert sa.keys() == sb.keys()
        for k in sa:
            np.testing.assert_array_equal(sa[k], sb[k])
    np.testing.assert_array_equal(a.generate(z=np.ones((2, 3))), b.generate(z=np.ones((2, 3))))


def test_checkpoint_with_both_optimizers_resumes_bit_for_bit(tmp_path):
    full, h_full = _trained(tmp_path / "a", 4)
    assert full.d_optimizer.iterations == 12 and full.g_optimizer.iterations == 12
    _trained(tmp_path / "b", 2)                          # "killed" after 2 epochs
    resumed, h_res = _trained(tmp_path / "b", 4)         # the same script, run again
    _assert_same_run(full, resumed)
    for k in h_full.history:
        assert h_full.history[k][2:] == h_res.history[k]


def test_save_and_load_checkpoint_by_hand(tmp_path):
    x = np.random.default_rng(2).normal(size=(40, 2)).astype(np.float32)

    def fresh():
        ds.manual_seed(5)
        m = gan.GAN(*small_pair(bn=True), latent_dim=3)
        m.compile(**adam_pair(5e-3), d_steps=2)
        return m

    full = fresh()
    full.fit(x, epochs=3, batch_size=16, verbose=0)
    part = fresh()
    part.fit(x, epochs=1, batch_size=16, verbose=0)
    path = part.save_checkpoint(tmp_path / "gan.deepsheet", epoch=1)
    resumed = fresh()
    assert resumed.load_checkpoint(path) == 1
    resumed.fit(x, epochs=3, batch_size=16, verbose=0, initial_epoch=1)
    _assert_same_run(full, resumed)


def test_checkpoint_errors(tmp_path):
    G, D = small_pair()
    m = gan.GAN(G, D, latent_dim=3)
    with pytest.raises(ValueError, match="compile"):
        m.load_checkpoint(tmp_path / "x.deepsheet")
    m.compile(**adam_pair())
    path = m.save_checkpoint(tmp_path / "x.deepsheet")
    G2, D2 = small_pair(hidden=6)
    other = gan.GAN(G2, D2, latent_dim=3)
    other.compile(**adam_pair())
    with pytest.raises(ValueError, match="shape"):
        other.load_checkpoint(path)
    (tmp_path / "bad.deepsheet").write_bytes(b"\x80\x04not a zip")
    with pytest.raises(ValueError, match="pickle"):
        m.load_checkpoint(tmp_path / "bad.deepsheet")


def test_toy_gan_covers_every_mode_of_a_gaussian_mixture():
    # 8 Gaussians on a ring of radius 2 (std 0.1): after a short fit every mode gets a
    # share of the samples (uniform would be 1/8) and most samples lie near some mode
    ds.manual_seed(2)
    rng = np.random.default_rng(2)
    k, std = 8, 0.1
    angle = 2 * np.pi * np.arange(k) / k
    modes = 2 * np.stack([np.cos(angle), np.sin(angle)], 1)
    x = (modes[rng.integers(0, k, 2048)] + std * rng.standard_normal((2048, 2))).astype(np.float32)
    G = ds.Sequential([ds.Input((4,)), L.Dense(64, activation="relu"),
                       L.Dense(64, activation="relu"), L.Dense(2)])
    D = ds.Sequential([ds.Input((2,)), L.Dense(64), L.LeakyReLU(0.2), L.Dense(64),
                       L.LeakyReLU(0.2), L.Dense(1)])
    m = gan.GAN(G, D, latent_dim=4)
    m.compile(d_optimizer=optimizers.Adam(learning_rate=2e-3, beta_1=0.5),
              g_optimizer=optimizers.Adam(learning_rate=2e-3, beta_1=0.5))
    m.fit(x, epochs=40, batch_size=64, verbose=0)
    s = m.generate(2000)
    dist = np.linalg.norm(s[:, None] - modes[None], axis=-1)
    near = dist.min(1) < 4 * std
    share = np.bincount(dist.argmin(1)[near], minlength=k) / len(s)
    assert near.mean() > 0.6, f"only {near.mean():.2f} of the samples lie near a mode"
    assert share.min() > 0.03, f"a mode is (nearly) missed: shares {np.round(share, 3)}"


def test_bad_input_errors():
    G, D = small_pair(latent=3, dim=2)
    with pytest.raises(ValueError, match="latent_dim is 4 but generator"):
        gan.GAN(G, D, latent_dim=4)
    D3 = ds.Sequential([ds.Input((3,)), L.Dense(1)])
    with pytest.raises(ValueError, match=r"makes samples of shape \(2,\) but discriminator"):
        gan.GAN(G, D3, latent_dim=3)
    D2 = ds.Sequential([ds.Input((2,)), L.Dense(2)])
    with pytest.raises(ValueError, match="one logit per sample"):
        gan.GAN(G, D2, latent_dim=3)
    m = gan.GAN(G, D, latent_dim=3)
    with pytest.raises(ValueError, match="two optimizers"):
        m.compile(optimizer="adam")
    with pytest.raises(ValueError, match="two optimizers"):
        m.compile(d_optimizer="adam")
    opt = optimizers.Adam()
    with pytest.raises(ValueError, match="same object"):
        m.compile(d_optimizer=opt, g_optimizer=opt)
    with pytest.raises(ValueError, match="label_smoothing"):
        m.compile(**adam_pair(), label_smoothing=1.0)
    with pytest.raises(RuntimeError, match="compile"):
        m.fit(np.zeros((4, 2)))
    with pytest.raises(RuntimeError, match="compile"):
        m.train_step(np.zeros((4, 2), np.float32))
    m.compile(**adam_pair())
    with pytest.raises(ValueError, match=r"samples of shape \(2,\)"):
        m.fit(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="y=None"):
        m.fit(np.zeros((4, 2)), np.zeros(4))
    # a tanh generator: the real images must be in [-1, 1]
    tg = ds.Sequential([ds.Input((3,)), L.Dense(4, activation="tanh"), L.Reshape((2, 2, 1))])
    td = ds.Sequential([ds.Input((2, 2, 1)), L.Flatten(), L.Dense(1)])
    t = gan.GAN(tg, td, latent_dim=3)
    t.compile(**adam_pair())
    with pytest.raises(ValueError, match=r"values in \[0, 255\].*tanh produces \[-1, 1\].*127.5"):
        t.fit(np.tile(np.array([0, 255, 3, 9], np.uint8).reshape(1, 2, 2), (4, 1, 1)))
    t.fit(np.zeros((4, 2, 2)), verbose=0)   # (N, H, W) gets its channel axis


def test_conditional_gan_trains_and_checks_labels():
    latent, k = 3, 4
    z, lab = ds.Input((latent,)), ds.Input((k,))
    G = ds.Model([z, lab], L.Dense(2)(L.Concatenate()([z, L.Dense(2, use_bias=False)(lab)])))
    xi, li = ds.Input((2,)), ds.Input((k,))
    D = ds.Model([xi, li], L.Dense(1)(L.LeakyReLU(0.2)(L.Dense(4)(L.Concatenate()([xi, li])))))
    m = gan.ConditionalGAN(G, D, latent, num_classes=k)
    m.compile(**adam_pair())
    x = np.random.default_rng(0).normal(size=(12, 2)).astype(np.float32)
    y = np.arange(12) % k
    h = m.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert m.g_optimizer.iterations == 6 and len(h.history["d_loss"]) == 2
    # the label changes the sample: same z, different classes
    s = m.generate(z=np.zeros((2, latent)), labels=[0, 1])
    assert s.shape == (2, 2) and not np.allclose(s[0], s[1])
    with pytest.raises(ValueError, match="needs the labels"):
        m.fit(x)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\)"):
        m.fit(x, y + 1)
    with pytest.raises(ValueError, match="12 integer labels"):
        m.fit(x, y[:5])


def _image_gan(seed):
    ds.manual_seed(seed)
    G = ds.Sequential([ds.Input((3,)), L.Dense(16, activation="tanh"), L.Reshape((4, 4, 1))])
    D = ds.Sequential([ds.Input((4, 4, 1)), L.Flatten(), L.Dense(1)])
    m = gan.GAN(G, D, latent_dim=3)
    m.compile(**adam_pair())
    return m


def test_sample_grid_callback_keeps_the_grid_and_writes_png(tmp_path):
    x = np.random.default_rng(0).uniform(-1, 1, size=(8, 4, 4, 1))
    m = _image_gan(3)
    cb = gan.SampleGrid(str(tmp_path / "s_{epoch}.png"), n=6, every=2)
    m.fit(x, epochs=4, batch_size=4, verbose=0, callbacks=[cb])
    # the fixed noise comes from a private generator: training runs as without the callback
    plain = _image_gan(3)
    plain.fit(x, epochs=4, batch_size=4, verbose=0)
    for a, b in zip(m.generator.get_weights(), plain.generator.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert len(cb.grids) == 2 and cb.grids[0].shape == (2 + 2 * 6, 2 + 3 * 6)   # 2 rows of 3
    grid = gan.sample_grid(np.arange(6 * 16, dtype=np.float32).reshape(6, 4, 4, 1), ncols=3)
    np.testing.assert_array_equal(grid[2:6, 8:12], np.arange(16, 32).reshape(4, 4))
    assert (grid[:2] == 1.0).all()
    pytest.importorskip("matplotlib", reason="PNG files need matplotlib")
    assert [p.rsplit("/", 1)[-1] for p in cb.written] == ["s_2.png", "s_4.png"]
    assert (tmp_path / "s_4.png").read_bytes()[:4] == b"\x89PNG"


def test_non_saturating_generator_loss_keeps_its_gradient_where_minimax_saturates():
    # D confidently rejects the fakes (logit -6): d/dℓ of the minimax loss E log(1 − σ(ℓ)) is
    # −σ(ℓ)/N ≈ 0, while the non-saturating −E log σ(ℓ) gives −(1 − σ(ℓ))/N ≈ −1/N
    G, D = small_pair()
    m = gan.GAN(G, D, latent_dim=3)
    logits = np.full((4, 1), -6.0, np.float32)
    sig = 1.0 / (1.0 + np.exp(6.0))
    for kind, expect in (("minimax", -sig / 4), ("non_saturating", -(1 - sig) / 4)):
        m.compile(**adam_pair(), generator_loss=kind)
        t = ds.tensor(logits, requires_grad=True)
        m.generator_loss_value(t).backward()
        np.testing.assert_allclose(t.grad, np.full((4, 1), expect), rtol=1e-5)
