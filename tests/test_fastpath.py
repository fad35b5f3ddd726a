"""The fast training path: what each switch resolves to, that impossible ones are
refused before anything is written, and that the parts testable on a CPU train
like the plain eager float32 step. The CUDA parts are `gpu` tests."""

import functools
import json

import pytest
import torch

from conftest import assert_one_line_error, cli
from deterministic_ali import fixed_noise_ali, params

from alibench.core.errors import UserError
from alibench.train import fastpath
from alibench.train.fastpath import SWITCHES, FastPath, resolve, training_step
from alibench.methods.base import adam

AUTO = {k: "auto" for k in SWITCHES}


def test_auto_is_bf16_channels_last_on_a_bf16_cpu_and_everything_on_cuda(monkeypatch):
    native = fastpath.cpu_bf16_native()
    cpu = torch.device("cpu")
    # load_threads is opt-in: auto never makes the arithmetic depend on the machine's load
    assert resolve(AUTO, cpu) == FastPath(amp_bf16=native, channels_last=native)
    monkeypatch.setattr(fastpath, "cpu_bf16_native", lambda: True)
    assert resolve(AUTO, cpu) == FastPath(amp_bf16=True, channels_last=True)
    assert resolve({**AUTO, "amp_bf16": "off"}, cpu) == FastPath(channels_last=True)
    assert resolve({**AUTO, "load_threads": "on"}, cpu).load_threads
    monkeypatch.setattr(fastpath, "cpu_bf16_native", lambda: False)   # bf16 emulated: float32
    assert resolve(AUTO, cpu) == FastPath()
    on = resolve(AUTO, torch.device("cuda"))
    assert on == FastPath(True, True, True, True, True, True)
    assert not resolve(AUTO, torch.device("cuda"), distributed=True).cuda_graphs
    assert resolve({**AUTO, "compile": "on"}, torch.device("cpu")).compile
    assert not resolve({**AUTO, "amp_bf16": "off"}, torch.device("cuda")).amp_bf16


def test_impossible_switches_are_refused():
    with pytest.raises(UserError, match="cuda_graphs"):
        resolve({**AUTO, "cuda_graphs": "on"}, torch.device("cpu"))
    with pytest.raises(UserError, match="torchrun"):
        resolve({**AUTO, "cuda_graphs": "on"}, torch.device("cuda"), distributed=True)
    with pytest.raises(UserError, match="auto, on, off"):
        resolve({**AUTO, "compile": "yes"}, torch.device("cpu"))


@pytest.mark.parametrize("setting, fragment", [("cuda_graphs=on", "cuda_graphs=on needs a CUDA"),
                                               ("amp_bf16=maybe", "amp_bf16 must be one of")])
def test_cli_refuses_bad_switches_before_writing(tmp_path, setting, fragment):
    proc = cli("svhn-svm", "--preset", "demo", "--device", "cpu", "--set", setting, "--out", tmp_path)
    assert_one_line_error(proc, fragment)
    assert not any(tmp_path.iterdir())


@functools.lru_cache(maxsize=None)
def _train(fast: FastPath, steps: int = 4):
    """(method, losses) after ``steps`` steps on ``fast``; cached: several tests
    compare against the same eager run, and none changes what it gets."""
    g = torch.Generator().manual_seed(1)
    x = torch.rand(steps, 8, 3, 32, 32, generator=g)
    prior = torch.randn(steps, 8, 8, 1, 1, generator=g)
    method = fixed_noise_ali(prior, fast=fast)
    step = training_step(method, fast)
    fmt = torch.channels_last if fast.channels_last else torch.contiguous_format
    logs = [step.train_step(x[s].contiguous(memory_format=fmt), s) for s in range(steps)]
    return method, torch.stack([l["loss_d"] for l in logs])


def test_channels_last_trains_like_contiguous_memory():
    plain, loss_plain = _train(FastPath())
    nhwc, loss_nhwc = _train(FastPath(channels_last=True))
    w = nhwc.nets.encoder.blocks[0].conv.weight
    assert w.is_contiguous(memory_format=torch.channels_last) and not w.is_contiguous()
    assert (params(plain) - params(fixed_noise_ali(torch.zeros(1, 8, 8, 1, 1)))).abs().max() > 1e-3
    torch.testing.assert_close(params(nhwc), params(plain), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(loss_nhwc, loss_plain, atol=1e-5, rtol=1e-5)


def test_bf16_autocast_trains_close_to_float32():
    plain, loss_plain = _train(FastPath())
    bf16, loss_bf16 = _train(FastPath(amp_bf16=True))
    assert bf16.nets.encoder.blocks[0].conv.weight.dtype == torch.float32   # master weights
    torch.testing.assert_close(loss_bf16, loss_plain, atol=2e-2, rtol=0)
    assert (params(bf16) - params(plain)).abs().max() < 0.05


def test_every_switch_off_is_the_plain_eager_step_even_on_cuda():
    off = {k: "off" for k in SWITCHES}
    assert resolve(off, torch.device("cuda")) == FastPath()
    method = fixed_noise_ali(torch.zeros(1, 8, 8, 1, 1), fast=FastPath())
    step = training_step(method, FastPath())
    assert step is method                                    # no wrapper of any kind
    assert all(method.train_nets.modules()[k] is net for k, net in method.nets.modules().items())
    assert not method.opt_g.param_groups[0]["fused"] and not method.opt_g.param_groups[0]["capturable"]
    assert not torch.backends.cudnn.benchmark


def test_fused_adam_trains_like_the_default_adam():
    plain, loss_plain = _train(FastPath())
    fused, loss_fused = _train(FastPath(fused_adam=True))
    assert fused.opt_d.param_groups[0]["fused"]
    torch.testing.assert_close(params(fused), params(plain), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(loss_fused, loss_plain, atol=1e-6, rtol=1e-6)


def test_every_cpu_capable_switch_together_follows_the_eager_loss_trajectory():
    """bf16 + channels_last + fused Adam at once, six steps: the discriminator's loss
    follows eager float32's trajectory to within a tenth of how far it moved.
    (Single weights may differ by a few learning rates: Adam's first steps are
    nearly sign steps, so bf16 rounding flips those with tiny gradients.)"""
    plain, loss_plain = _train(FastPath(), steps=6)
    fast, loss_fast = _train(FastPath(amp_bf16=True, channels_last=True, fused_adam=True), steps=6)
    moved = (loss_plain[-1] - loss_plain[0]).abs()
    assert moved > 5e-3                                      # training did something to compare
    torch.testing.assert_close(loss_fast, loss_plain, atol=float(moved) / 10, rtol=0)
    assert (params(fast) - params(plain)).abs().max() < 0.05


def test_the_cpu_default_follows_the_eager_fp32_loss_trajectory():
    """The CPU ``auto`` (bf16 autocast + channels_last where oneDNN has native bf16)
    against plain eager float32, eight steps from the same weights and noise:
    both losses stay within a tenth of how far eager's discriminator loss moved
    (stated tolerance: bf16 rounds the forward pass to 8 mantissa bits), and no
    weight drifts more than 0.05 (a few lr-1e-3 Adam steps)."""
    cpu_bf16 = FastPath(amp_bf16=True, channels_last=True)   # what auto is on a bf16 CPU
    auto = resolve({**AUTO, "load_threads": "off"}, torch.device("cpu"))
    assert auto in (cpu_bf16, FastPath())
    plain, loss_plain = _train(FastPath(), steps=8)
    fast, loss_fast = _train(cpu_bf16, steps=8)
    moved = (loss_plain[-1] - loss_plain[0]).abs()
    assert moved > 5e-3
    torch.testing.assert_close(loss_fast, loss_plain, atol=float(moved) / 10, rtol=0)
    assert (params(fast) - params(plain)).abs().max() < 0.05


def test_load_threads_leave_busy_cores_to_others(monkeypatch):
    monkeypatch.setattr(fastpath.os, "cpu_count", lambda: 2)
    for load, threads in ((0.2, 2), (0.7, 1), (1.2, 1), (7.5, 1)):
        monkeypatch.setattr(fastpath.os, "getloadavg", lambda load=load: (load, 0.0, 0.0))
        assert fastpath.load_aware_threads() == threads, load
    old = torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", str(old))       # an explicit setting wins
    fastpath.prepare_modules({}, FastPath(load_threads=True))
    assert torch.get_num_threads() == old


def test_paper_presets_train_in_float32():
    """Until a GPU run shows bf16 changes nothing beyond noise, ``paper`` is float32
    on every device (TF32 as PyTorch allows on CUDA); ``fast`` may use bf16."""
    import alibench.experiments  # noqa: F401  (registers them)
    from alibench.core import registry
    checked = 0
    for exp in map(registry.get, registry.names()):
        for name, preset in exp.presets.items():
            cfg = exp.config_cls(**preset)
            if not hasattr(cfg, "amp_bf16") or name not in ("paper", "tiny-imagenet"):
                continue
            checked += 1
            for device in ("cpu", "cuda"):
                fast = resolve(fastpath.switch_values(cfg), torch.device(device))
                assert not fast.amp_bf16, (exp.name, name, device)
            cuda = resolve(fastpath.switch_values(cfg), torch.device("cuda"))
            assert cuda.cuda_graphs and cuda.compile and cuda.fused_adam, (exp.name, name)
    assert checked >= 3


@pytest.mark.slow
def test_compiled_networks_train_like_eager():
    import torch._inductor.config as inductor
    old = inductor.fallback_random
    inductor.fallback_random = True       # nothing random here anyway; keep eager's kernels' RNG
    try:
        plain, loss_plain = _train(FastPath(), steps=3)
        comp, loss_comp = _train(FastPath(compile=True), steps=3)
    finally:
        inductor.fallback_random = old
    torch.testing.assert_close(params(comp), params(plain), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(loss_comp, loss_plain, atol=1e-5, rtol=1e-5)
    assert not any(k.startswith("_orig_mod") for k in comp.nets.encoder.state_dict())


def test_resumed_optimizer_keeps_its_implementation_and_memory_format():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 4, 3)
    plain = adam(list(conv.parameters()), 1e-3, 0.5, 0.999, torch.device("cpu"))
    for _ in range(2):
        conv(torch.rand(2, 3, 8, 8)).sum().backward()
        plain.step()
    saved = plain.state_dict()
    conv.to(memory_format=torch.channels_last)
    fused = adam(list(conv.parameters()), 1e-3, 0.5, 0.999, torch.device("cpu"), fused=True)
    fused.load_state_dict(saved)
    assert fused.param_groups[0]["fused"] is True
    moment = fused.state[conv.weight]["exp_avg"]
    assert moment.is_contiguous(memory_format=torch.channels_last) and not moment.is_contiguous()
    torch.testing.assert_close(moment, saved["state"][0]["exp_avg"])


@pytest.mark.gpu
def test_cuda_graph_step_matches_the_eager_step():
    g = torch.Generator().manual_seed(1)
    steps = 8                                   # 3 eager warm-up steps, capture, replays
    x = torch.rand(steps, 8, 3, 32, 32, generator=g).cuda()
    prior = torch.randn(1, 8, 8, 1, 1, generator=g).cuda()   # one table: a static graph input
    results = []
    for fast in (FastPath(fused_adam=True), FastPath(fused_adam=True, cuda_graphs=True)):
        method = fixed_noise_ali(prior, "cuda", fast)
        step = training_step(method, fast)
        logs = [step.train_step(x[s], s) for s in range(steps)]
        results.append((params(method), torch.stack([l["loss_d"] for l in logs]).cpu(), step))
    (p_eager, l_eager, _), (p_graph, l_graph, graphed) = results
    assert graphed.graph is not None and not graphed.failed
    torch.testing.assert_close(p_graph, p_eager, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(l_graph, l_eager, atol=1e-5, rtol=1e-4)


@pytest.mark.gpu
def test_fast_path_steps_never_sync_with_the_host():
    from alibench.bench.train_step import TrainBench
    fast = resolve(AUTO, torch.device("cuda"))
    bench = TrainBench("svhn", 0.25, 100, torch.device("cuda"), fast)
    bench.run(12)                        # warm-up: compilation, capture (these may sync)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        bench.run(20)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert bench.step_fn.graph is not None


@pytest.mark.gpu
@pytest.mark.slow
def test_fast_path_gives_the_eager_error_rates_within_noise(tmp_path):
    """The demo preset on the GPU, fast path vs plain eager float32 (one seed each):
    a smoke check only; the real check is the README's multi-seed comparison."""
    eager = ["amp_bf16=off", "channels_last=off", "compile=off", "cuda_graphs=off"]
    values = []
    for name, extra in (("fast", []), ("eager", eager)):
        out = tmp_path / name
        proc = cli("svhn-svm", "--preset", "demo", "--device", "cuda", "--out", out,
                   *(["--set", *extra] if extra else []))
        assert proc.returncode == 0, proc.stderr
        run = next(p for p in out.iterdir() if p.name.startswith("svhn-svm_"))
        lines = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
        values.append(next(l["value"] for l in lines if l["method"] == "ali"
                           and l["metric"] == "test_error_pct"))
    assert abs(values[0] - values[1]) < 5.0
