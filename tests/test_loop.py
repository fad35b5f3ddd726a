"""Checkpoint and resume: a run stopped and resumed ends where an uninterrupted one does."""

import os
import signal
import time

import pytest
import torch

from alibench.core import checkpoint, signals as stop
from alibench.data.batches import EpochSampler, ResidentImages
from alibench.core.errors import UserError
from alibench.train.loop import Callback, Divergence, LoopSettings, resume_step, train
from alibench.methods.ali import ALI
from alibench.models import build_ali
from alibench.core.rundir import RunDir


def _setup(tmp_path, name):
    torch.manual_seed(0)
    nets = build_ali("svhn", width=0.0625, latent_dim=8)
    method = ALI(nets, 1e-3, 0.5, 0.999, torch.device("cpu"))
    images = ResidentImages(torch.randint(0, 256, (40, 32, 32, 3), dtype=torch.uint8).numpy(), "cpu")
    sampler = EpochSampler(len(images), 8, seed=0, device="cpu")
    run = RunDir.create(tmp_path, name, {"experiment": "test"})
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


class Poisoned:
    """A test double: the wrapped ALI with one logged loss replaced by NaN from
    training step ``at`` on (1-based, as in the train log)."""

    def __init__(self, method, at, loss):
        self.method, self.at, self.loss = method, at, loss
        self.loss_networks, self.device = method.loss_networks, method.device

    def state(self):
        return self.method.state()

    def train_step(self, batch, step):
        logs = self.method.train_step(batch, step)
        if step + 1 >= self.at:
            logs[self.loss] = logs[self.loss] * float("nan")
        return logs


def test_divergence_names_the_network_and_first_bad_step_and_keeps_the_good_checkpoint(tmp_path):
    method, batches, run = _setup(tmp_path, "nan")
    # log windows (10) longer than the checkpoint interval (4): the step-8 checkpoint
    # falls after the NaN at step 7 and must not be written.
    with pytest.raises(Divergence) as exc:
        train(Poisoned(method, 7, "loss_g"), batches, LoopSettings(12, log_every=10, checkpoint_every=4), run)
    assert str(exc.value) == "loss_g (the generators Gz(x) and Gx(z)) became NaN or inf at step 7"
    assert checkpoint.read(run.checkpoint_path)["step"] == 4
    assert run.train_log() == []


def test_divergence_reports_every_bad_loss_earliest_first(tmp_path):
    method, batches, run = _setup(tmp_path, "nan2")
    poisoned = Poisoned(Poisoned(method, 3, "loss_g"), 2, "loss_d")
    with pytest.raises(Divergence, match=r"^loss_d \(the discriminator D\(x, z\)\) became NaN or inf "
                                         r"at step 2 \(also loss_g .* at step 3\)$"):
        train(poisoned, batches, LoopSettings(6, log_every=3, checkpoint_every=6), run)
    assert not run.checkpoint_path.exists()


def test_non_finite_weights_are_never_checkpointed(tmp_path):
    method, batches, run = _setup(tmp_path, "nanw")
    train(method, batches, LoopSettings(2, log_every=2, checkpoint_every=2), run)

    def poison(step):   # finite losses up to here, but D's weights are gone
        next(method.nets.discriminator.parameters()).data.fill_(float("inf"))

    with pytest.raises(Divergence, match="the state of discriminator became NaN or inf by step 4"):
        train(method, batches, LoopSettings(6, log_every=2, checkpoint_every=2), run, start_step=2,
              callbacks=(Callback(4, poison),))
    assert checkpoint.read(run.checkpoint_path)["step"] == 2


def test_a_signal_during_training_checkpoints_the_current_step(tmp_path):
    method, batches, run = _setup(tmp_path, "sig")
    kill = Callback(5, lambda step: os.kill(os.getpid(), signal.SIGTERM))
    with stop.handling_signals(), pytest.raises(stop.Stopped) as exc:
        train(method, batches, LoopSettings(12, log_every=3, checkpoint_every=100), run, callbacks=(kill,))
    assert exc.value.step == 5 and exc.value.exit_code == 128 + signal.SIGTERM
    assert checkpoint.read(run.checkpoint_path)["step"] == 5
    assert [r["step"] for r in run.train_log()] == [3]


def test_a_signal_outside_training_stops_at_once():
    before = signal.getsignal(signal.SIGTERM)
    with stop.handling_signals(), pytest.raises(stop.Stopped, match="stopped by SIGTERM$"):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.parametrize("damage,fragment", [
    (lambda b: b[: len(b) // 2], r"unreadable \(truncated or corrupt"),
    (lambda b: b"", r"unreadable \(truncated or corrupt"),
    (lambda b: b"\x80\x04garbage" * 10, r"unreadable \(truncated or corrupt"),
    (lambda b: b[:len(b) // 2] + bytes(x ^ 0xFF for x in b[len(b) // 2:len(b) // 2 + 256])
     + b[len(b) // 2 + 256:], r"is corrupt \(its content does not match its digest\)"),
], ids=["truncated", "empty", "garbage", "flipped bytes"])
def test_damaged_checkpoints_are_refused(tmp_path, damage, fragment):
    method, batches, run = _setup(tmp_path, "dmg")
    checkpoint.save(run.checkpoint_path, 0, method.state())
    run.checkpoint_path.write_bytes(damage(run.checkpoint_path.read_bytes()))
    with pytest.raises(UserError, match=fragment):
        resume_step(run, method.state(), torch.device("cpu"))


def test_a_file_that_is_not_a_checkpoint_is_refused(tmp_path):
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(UserError, match="is not an alibench checkpoint"):
        checkpoint.read(tmp_path / "other.pt")


class Watching:
    """A test double: the wrapped ALI, which copies checkpoint.pt's bytes as each
    step begins (then the file holds the checkpoint of the step before, if any)."""

    def __init__(self, method, run):
        self.method, self.run, self.seen = method, run, {}
        self.loss_networks, self.device = method.loss_networks, method.device

    def state(self):
        return self.method.state()

    def train_step(self, batch, step):
        if self.run.checkpoint_path.exists():
            self.seen[step] = self.run.checkpoint_path.read_bytes()
        return self.method.train_step(batch, step)


def test_keep_every_keeps_a_loadable_copy_of_each_kept_step(tmp_path):
    method, batches, run = _setup(tmp_path, "keep")
    watched = Watching(method, run)
    train(watched, batches, LoopSettings(7, log_every=2, checkpoint_every=3, keep_every=2), run)
    kept = sorted(p.name for p in (run.path / "checkpoints").iterdir())
    assert kept == ["step_00000002.pt", "step_00000004.pt", "step_00000006.pt"]
    for step in (2, 4, 6):
        path = run.path / "checkpoints" / f"step_{step:08d}.pt"
        # identical to checkpoint.pt as it was at that step (read as step `step` began)
        assert path.read_bytes() == watched.seen[step]
        fresh, _, _ = _setup(tmp_path, f"load{step}")
        assert checkpoint.load(path, fresh.state(), restore_rng=False)["step"] == step
    assert checkpoint.read(run.checkpoint_path)["step"] == 7      # the final one, not kept


def test_keep_every_zero_keeps_nothing(tmp_path):
    method, batches, run = _setup(tmp_path, "nokeep")
    train(method, batches, LoopSettings(4, log_every=2, checkpoint_every=2), run)
    assert not (run.path / "checkpoints").exists()
