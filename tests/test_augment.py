"""methods/augment.py: DiffAugment's transformations (a demo deviation)."""

import pytest
import torch

from alibench.core.errors import UserError
from alibench.methods.augment import augment, parse_policy


def images(n=16):
    torch.manual_seed(0)
    return torch.rand(n, 3, 32, 32)


def test_parse_policy():
    assert parse_policy("") == ()
    assert parse_policy("color, translation,cutout") == ("color", "translation", "cutout")
    with pytest.raises(UserError, match="unknown part 'flip'"):
        parse_policy("color,flip")


def test_translation_moves_content_and_pads_with_zeros():
    x = images()
    torch.manual_seed(1)
    y = augment(x, ("translation",))
    # each image is a shifted copy: its nonzero part equals a window of the original
    for xi, yi in zip(x, y):
        found = False
        for dy in range(-4, 5):
            for dx in range(-4, 5):
                shifted = torch.zeros_like(xi)
                src = xi[:, max(dy, 0):32 + min(dy, 0), max(dx, 0):32 + min(dx, 0)]
                shifted[:, max(-dy, 0):32 + min(-dy, 0), max(-dx, 0):32 + min(-dx, 0)] = src
                found |= torch.equal(shifted, yi)
        assert found
    assert not torch.equal(x, y)   # 16 draws of 81 shifts: some image moved


def test_cutout_zeros_one_square_per_image():
    x = images() + 0.1   # no zeros before
    y = augment(x, ("cutout",))
    zero = (y == 0).all(dim=1)
    assert zero.any(dim=(1, 2)).all()                 # every image lost a patch
    assert zero.sum(dim=(1, 2)).max() <= 16 * 16      # at most a 16×16 square
    assert torch.equal(y[~zero.unsqueeze(1).expand_as(y)], x[~zero.unsqueeze(1).expand_as(x)])


def test_color_is_per_image_and_differentiable():
    x = images().requires_grad_()
    y = augment(x, ("color",))
    assert not torch.allclose(y, x)
    y.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_every_part_passes_gradients_to_generated_images():
    x = images().requires_grad_()
    augment(x, ("color", "translation", "cutout")).pow(2).sum().backward()
    assert x.grad.abs().sum() > 0


def test_data_policy_gives_the_encoder_the_images_d_sees(monkeypatch):
    """augment_data transforms the real batch before the encoder: D's encoder pair is
    (T(x), Gz(T(x))), in [0, 1]; augment (DiffAugment) transforms D's input only."""
    from alibench.methods.ali import ALI
    from alibench.models.ali import build_ali

    seen = {}
    nets = build_ali("svhn", width=0.0625, latent_dim=8)
    enc_forward, disc_forward = nets.encoder.forward, nets.discriminator.forward
    monkeypatch.setattr(nets.encoder, "forward",
                        lambda x, y=None: (seen.__setitem__("enc", x.detach()), enc_forward(x))[1])
    monkeypatch.setattr(nets.discriminator, "forward",
                        lambda x, z, y=None: (seen.__setitem__("disc", x.detach()), disc_forward(x, z))[1])
    x = images(8)
    for data_policy, augment_policy, same in ((("translation", "color"), (), True),
                                             ((), ("translation", "color"), False)):
        method = ALI(nets, 1e-4, 0.5, 0.999, torch.device("cpu"),
                     data_policy=data_policy, augment_policy=augment_policy)
        torch.manual_seed(2)
        method.train_step(x, 0)
        real_in_d = seen["disc"][:8]
        assert torch.equal(real_in_d, seen["enc"]) is same
        assert not torch.equal(real_in_d, x)        # something was transformed
        if same:
            assert real_in_d.min() >= 0 and real_in_d.max() <= 1
