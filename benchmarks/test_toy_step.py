"""Training-step time of the toy-mixture methods at the paper's width (batch
100), and of the CPU choices behind them: the one-pass D backward and fused
Adam against the plain two-pass, single-tensor-Adam step. A round is STEPS
steps as the loop runs them.

    ALIBENCH_BENCH_THREADS=1 python -m pytest benchmarks/test_toy_step.py --benchmark-only
"""

import pytest
import torch

from conftest import record

from alibench.data.mixture import make_mixture
from alibench.experiments.toy_mixture import ToyMixtureConfig, builder, draw_hyper
from alibench.models import mixture as nets

STEPS = 20
VARIANTS = {"default": {}, "two-pass-d": {"one_pass_d": False}, "single-tensor-adam": {"fused_adam": "off"},
            "plain": {"one_pass_d": False, "fused_adam": "off"}}


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("method", ["ali", "gan", "gan-inverse", "gan-posthoc", "vae"])
def test_toy_step(benchmark, method, variant):
    if method in ("gan-inverse", "vae") and VARIANTS[variant].get("one_pass_d") is False:
        pytest.skip("no discriminator: nothing to do in one pass")
    cpu = torch.device("cpu")
    cfg = ToyMixtureConfig(random_search=False, **VARIANTS[variant])
    torch.manual_seed(0)
    frozen = nets.decoder() if method in ("gan-inverse", "gan-posthoc") else None
    m = builder(method, cfg, draw_hyper(cfg, 0), cpu, frozen)()
    x = torch.from_numpy(make_mixture(1, 100 * STEPS, 10).x_train)
    batches = [x[i * 100:(i + 1) * 100] for i in range(STEPS)]

    def run():
        for i, b in enumerate(batches):
            m.train_step(b, i)

    run()   # warm-up: first-call allocations
    benchmark.pedantic(run, rounds=5, iterations=1)
    record(benchmark, {"method": method, "variant": variant, "batch": 100, "steps_per_round": STEPS,
                       "threads": torch.get_num_threads()})
    benchmark.extra_info["ms_per_step"] = round(1000 * benchmark.stats.stats.mean / STEPS, 2)
