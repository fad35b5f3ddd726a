"""svhn-ssl: the (K+1) track on SVHN (Table 1's K+1 rows), its three methods on
the shipped SVHN sample, shared labels, Table 1, Salimans' SVHN discriminator."""

import json

import numpy as np
import pytest

from alibench.core.config import build_config
from alibench.core.errors import UserError
from alibench.experiments.svhn_ssl import SvhnSslConfig
from alibench.models.gan_fm import FMDiscriminator
from alibench.models.layers import count_params
from conftest import assert_one_line_error, cli

METHODS = ("ali-k1", "gan-fm", "supervised")
TINY = ["--preset", "demo", "--seeds", "0", "--device", "cpu",
        "--set", "steps=2", "width=0.0625", "batch_size=20", "log_every=1", "checkpoint_every=2"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("svhn-ssl")
    for m in METHODS:
        proc = cli("svhn-ssl", *TINY, f"method={m}", "--out", out)
        assert proc.returncode == 0, proc.stderr
    return out


def test_each_method_records_its_name_on_the_same_labels(runs):
    dirs = sorted(p for p in runs.iterdir() if p.name.startswith("svhn-ssl_"))
    assert len(dirs) == 3
    methods, draws = set(), []
    for run in dirs:
        lines = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
        methods |= {l["method"] for l in lines}
        assert {l["paper_dataset"] for l in lines} == {"svhn"}
        with np.load(run / "label_draws.npz") as f:
            draws.append(f["selection"])
    assert methods == set(METHODS)
    for d in draws[1:]:
        np.testing.assert_array_equal(draws[0], d)


def test_table_1_shows_the_kplus1_rows(runs, tmp_path):
    proc = cli("tables", "--runs", runs, "--save-dir", tmp_path)
    assert proc.returncode == 0, proc.stderr
    table = next(tmp_path.glob("svhn_*_demo*.md")).read_text()
    for method in METHODS:
        row = next(l for l in table.splitlines() if l.startswith(f"| {method} "))
        assert "(n=1)" in row, row
    assert "ali-k1 − gan-fm" in table


def test_paper_preset_is_salimans_svhn_setting():
    cfg = build_config(SvhnSslConfig, {"paper": {}}, "paper", [])
    assert (cfg.data, cfg.arch, cfg.n_labels, cfg.epochs, cfg.batch_size, cfg.lr) == \
        ("svhn", "svhn", 1000, 900.0, 100, 3e-4)
    assert abs(cfg.decay_fraction * 900 - 300) < 1e-9 and cfg.fm_disc == "svhn"
    assert cfg.adam_eps == "in-sqrt"


def test_svhn_fm_discriminator_parameter_count():
    # hand count, weight norm (v, g) + bias per layer: 3×3 convs 3→64, 64→64, 64→64,
    # 64→128, 128→128, 128→128, 3×3 128→128 (no pad), 1×1 128→128 twice, dense 128→10
    convs = [(3, 64, 9), (64, 64, 9), (64, 64, 9), (64, 128, 9), (128, 128, 9), (128, 128, 9),
             (128, 128, 9), (128, 128, 1), (128, 128, 1)]
    expected = sum(i * o * k + 2 * o for i, o, k in convs) + (128 * 10 + 2 * 10)
    assert count_params(FMDiscriminator(1.0, 10, "svhn")) == expected


def test_bad_method_is_one_line(tmp_path):
    with pytest.raises(UserError, match="unknown method 'vae'; valid: ali-k1, gan-fm, supervised"):
        build_config(SvhnSslConfig, {"paper": {}}, "paper", ["method=vae"])
    out = tmp_path / "out"
    proc = cli("svhn-ssl", "--preset", "demo", "--set", "fm_disc=mnist", "--out", out)
    assert_one_line_error(proc, "unknown fm_disc 'mnist'")
    assert not out.exists()
