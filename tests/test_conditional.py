"""Conditional ALI: y reaches Gz, Gx and D, and changes the image when only y
changes; the conditional figure's conditions; bad settings refused early."""

import numpy as np
import pytest
import torch

from alibench.data import conditioning as conditions
from alibench.data import ImageData
from alibench.data.celeba import ATTRIBUTES
from alibench.methods.conditional import ConditionalALI, make_embedder
from alibench.models import build_ali
from conftest import assert_one_line_error, cli


def _method(embed_dim, k=10, seed=0):
    torch.manual_seed(seed)
    nets = build_ali("cifar10", width=0.125, latent_dim=16, cond_dim=embed_dim or k)
    return ConditionalALI(nets, make_embedder(k, embed_dim), 1e-3, 0.5, 0.999, torch.device("cpu"))


def test_conditional_ali_takes_the_game_keys_plain_ali_takes():
    """d_lr_scale, the decay and the augmentation policies reach conditional ALI's
    step as they reach plain ALI's (they used to be dropped without a word)."""
    from alibench.experiments.conditional import ConditionalConfig, _build
    cfg = ConditionalConfig(arch="svhn", width=0.125, latent_dim=8, batch_size=4, steps=10,
                            lr=8e-4, d_lr_scale=0.25, lr_decay_steps=4, augment="color",
                            augment_data="translation", embed_dim=0)
    images = np.zeros((8, 32, 32, 3), dtype=np.uint8)
    m = _build(cfg, "class", 10, torch.device("cpu"), images)
    assert isinstance(m, ConditionalALI)
    assert m.opt_d.param_groups[0]["lr"] == pytest.approx(2e-4)
    assert (m.total_steps, m.decay_steps) == (10, 4)
    assert (m.augment_policy, m.data_policy) == (("color",), ("translation",))
    for step in range(10):
        m.train_step((torch.rand(4, 3, 32, 32), _one_hot([0, 1, 2, 3])), step)
    assert m.opt_g.param_groups[0]["lr"] == pytest.approx(8e-4 * 0.25)


def _one_hot(labels, k=10):
    return torch.eye(k)[torch.tensor(labels)]


@pytest.mark.parametrize("embed_dim", [0, 32])
def test_only_y_changes_and_the_image_changes(embed_dim):
    m = _method(embed_dim)
    # Batch statistics: an untrained net's population statistics (mean 0, variance 1)
    # would shrink every signal of its N(0, 0.01²) weights to nothing.
    m.nets.decoder.train()
    z = torch.randn(4, 16, 1, 1)
    with torch.no_grad():
        a = m.nets.decoder(z, m.embed(_one_hot([0, 1, 2, 3])))
        b = m.nets.decoder(z, m.embed(_one_hot([5, 6, 7, 8])))
        again = m.nets.decoder(z, m.embed(_one_hot([0, 1, 2, 3])))
    assert torch.equal(a, again)                    # same z and y: the same image
    assert (a - b).abs().amax(dim=(1, 2, 3)).min() > 0    # every image moved with y


def test_y_reaches_the_encoder_and_the_discriminator():
    m = _method(0)
    m.nets.discriminator.eval()    # no dropout; batch norm on batch statistics as above
    x, z = torch.rand(3, 3, 32, 32), torch.randn(3, 16, 1, 1)
    y1, y2 = _one_hot([1, 2, 3]), _one_hot([4, 5, 6])
    with torch.no_grad():
        assert not torch.equal(m.nets.encoder(x, y1)[0], m.nets.encoder(x, y2)[0])
        assert not torch.equal(m.nets.discriminator(x, z, y1), m.nets.discriminator(x, z, y2))


def test_training_step_learns_and_keeps_the_embedding_frozen():
    m = _method(32)
    frozen = m.embedder.weight.clone()
    x, y = torch.rand(8, 3, 32, 32), _one_hot([0, 1, 2, 3, 4, 5, 6, 7])
    before = m.nets.decoder.blocks[0].conv.weight.clone()
    logs = m.train_step((x, y), 0)
    assert set(logs) == {"loss_d", "loss_g", "acc_d", "log_sigma_mean", "sigma_small_frac"}
    assert torch.isfinite(logs["loss_d"])
    assert not torch.equal(before, m.nets.decoder.blocks[0].conv.weight)
    assert torch.equal(frozen, m.embedder.weight)        # as in the released code
    assert "embedder" in m.state()                       # saved with the checkpoint


def _celeba_like(n=6):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)
    a = rng.integers(0, 2, (n, 40), dtype=np.uint8)
    return ImageData("celeba", "fake", False, x, np.zeros(n, np.int64), x, np.zeros(n, np.int64),
                     n_classes=1, image_shape=(64, 64, 3), attr_train=a, attr_test=a,
                     attr_names=ATTRIBUTES, val_size=2)


def test_celeba_figure_follows_the_paper_sequence():
    data = _celeba_like()
    kind = conditions.resolve_kind("auto", data)
    fc = conditions.figure_conditions(kind, data)
    assert kind == "attributes" and fc.columns.shape == (12, 40) and fc.rows.shape == (4, 40)
    y, labels = conditions.figure_grid_conditions(fc, 5)
    assert y.shape == (5 * 12, 40) and len(labels) == 5
    on = lambda v: {ATTRIBUTES[i] for i in np.flatnonzero(v)}  # noqa: E731
    assert on(y[0]) == {"Male", "Attractive", "Young"}                     # row I, column (a)
    assert on(y[12 + 3]) == {"Male", "Attractive", "Blond_Hair"}          # row II, column (d)
    assert on(y[4 * 12 + 11]) == {"Male", "Attractive", "Young", "Black_Hair", "Smiling",
                                  "Mouth_Slightly_Open", "Eyeglasses", "Wearing_Hat"}  # row I again


def test_class_conditions_are_one_hot():
    data = _celeba_like()
    with pytest.raises(Exception, match="no class labels"):
        conditions.resolve_kind("class", data)
    x = np.zeros((20, 32, 32, 3), np.uint8)
    cifar = ImageData("cifar10-sample-5k", "s", False, x, np.arange(20) % 10, x, np.arange(20) % 10)
    y = conditions.train_vectors("class", cifar)
    np.testing.assert_array_equal(y.argmax(1), np.arange(20) % 10)
    fc = conditions.figure_conditions("class", cifar)
    assert fc.col_labels[0] == "airplane" and fc.columns.shape == (10, 10)
    with pytest.raises(Exception, match="no attributes"):
        conditions.resolve_kind("attributes", cifar)


@pytest.mark.parametrize("args,fragments", [
    (["--set", "arch=celeba"], ["arch celeba takes 64×64", "svhn-sample-800 has 32×32"]),
    (["--set", "condition=attributes"], ["no attributes to condition on"]),
    (["--set", "condition=colour"], ["condition must be one of"]),
    (["--set", "n_val=700"], ["n_val=700"]),
])
def test_bad_conditional_settings_are_refused_before_any_run_directory(tmp_path, args, fragments):
    out = tmp_path / "out"
    assert_one_line_error(cli("conditional", "--preset", "demo", *args, "--out", out), *fragments)
    assert not out.exists()


def test_conditional_celeba_end_to_end_on_files_in_the_real_layout(tmp_path):
    from fake_datasets import write_celeba
    write_celeba(tmp_path / "data", partition=(24, 4, 2))
    out = tmp_path / "out"
    proc = cli("conditional", "--data-dir", tmp_path / "data", "--out", out, "--device", "cpu",
               "--set", "width=0.0625", "steps=2", "batch_size=8", "log_every=1", "sample_every=0",
               "grid_rows=4", "interp_pairs=2", "interp_steps=2")
    assert proc.returncode == 0, proc.stderr
    (run,) = out.glob("conditional_celeba_paper_seed0_*")
    report = (run / "report.md").read_text()
    assert "(a) base only" in report and "IV: female, attractive, older" in report
    assert "the last 4 images of celeba's training split (its own validation split" in report
    image = __import__("matplotlib.image").image.imread(run / "samples.png")
    assert image.shape[:2] == (4 * 66 + 2, 10 * 66 + 2)    # 64×64 cells; the 4 validation y's cycled
