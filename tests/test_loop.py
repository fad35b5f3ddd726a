"""Checkpoint and resume: a run stopped and resumed ends where an uninterrupted one does."""

import torch

from alibench import checkpoint
from alibench.data.batches import EpochSampler, ResidentImages
from alibench.loop import LoopSettings, resume_step, train
from alibench.methods.ali import ALI
from alibench.models import build_ali
from alibench.rundir import Run


def _setup(tmp_path, name):
    torch.manual_seed(0)
    nets = build_ali("svhn", width=0.0625, latent_dim=8)
    method = ALI(nets, 1e-3, 0.5, 0.999, torch.device("cpu"))
    images = ResidentImages(torch.randint(0, 256, (40, 32, 32, 3), dtype=torch.uint8).numpy(), "cpu")
    sampler = EpochSampler(len(images), 8, seed=0, device="cpu")
    run = Run.create(tmp_path, name, {"experiment": "test"})
    return method, (lambda s: images.batch(sampler.indices(s))), run


def _params(method):
    return torch.cat([p.detach().flatten() for p in method.gen_params + method.disc_params])


def test_resume_matches_an_uninterrupted_run(tmp_path):
    torch.use_deterministic_algorithms(True)
    try:
        full, batches, run = _setup(tmp_path, "full")
        train(full, batches, LoopSettings(12, log_every=3, checkpoint_every=6), run)

        part, batches, run2 = _setup(tmp_path, "part")
        train(part, batches, LoopSettings(6, log_every=3, checkpoint_every=6), run2)
        resumed, batches, _ = _setup(tmp_path, "ignored")    # a fresh process, fresh weights
        start = resume_step(run2, resumed.state(), torch.device("cpu"))
        assert start == 6
        train(resumed, batches, LoopSettings(12, log_every=3, checkpoint_every=6), run2, start)
    finally:
        torch.use_deterministic_algorithms(False)
    assert torch.equal(_params(full), _params(resumed))
    assert [r["step"] for r in run2.train_log()] == [3, 6, 9, 12]


def test_checkpoint_holds_optimisers_and_rng(tmp_path):
    method, batches, run = _setup(tmp_path, "ck")
    train(method, batches, LoopSettings(4, log_every=2, checkpoint_every=2), run)
    payload = torch.load(run.checkpoint_path, weights_only=False)
    assert payload["step"] == 4
    assert {"encoder", "decoder", "discriminator", "opt_g", "opt_d"} <= set(payload["state"])
    assert "torch" in payload["rng"]
    assert checkpoint.load(run.checkpoint_path, method.state())["step"] == 4
