"""An ALI without randomness, for tests that compare two execution paths exactly:
dropout off, a deterministic encoder, and prior samples read from a table."""

import torch

from alibench.methods.ali import ALI
from alibench.models import build_ali


class FixedNoiseALI(ALI):
    def __init__(self, *args, prior: torch.Tensor, **kwargs):
        super().__init__(*args, **kwargs)
        self.prior, self.calls = prior, 0

    def sample_prior(self, like):
        z = self.prior[self.calls % len(self.prior)].to(like.device)
        self.calls += 1
        return z


def fixed_noise_ali(prior: torch.Tensor, device="cpu", fast=None, width=0.0625) -> FixedNoiseALI:
    torch.manual_seed(0)
    nets = build_ali("svhn", width=width, latent_dim=prior.shape[2])
    for m in nets.discriminator.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    for net in nets.modules().values():
        net.to(device)
    return FixedNoiseALI(nets, 1e-3, 0.5, 0.999, torch.device(device), stochastic_encoder=False,
                         fast=fast, prior=prior)


def params(method) -> torch.Tensor:
    return torch.cat([p.detach().flatten().cpu() for p in method.gen_params + method.disc_params])
