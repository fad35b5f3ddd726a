"""The CIFAR10 (K+1) track from the command line: each experiment's demo end to
end on the real CIFAR10 sample (a few steps, tiny widths), shared label splits,
each run's training signals, pictures and report, its model loaded back, and
refused input."""

import json

import numpy as np
import pytest

from conftest import assert_one_line_error, cli

EXPERIMENTS = {"cifar10-ssl": "ali-k1", "gan-fm": "gan-fm", "supervised": "supervised"}
TINY = ["--preset", "demo", "--labels", "100", "--seeds", "0,1", "--device", "cpu",
        "--set", "steps=3", "width=0.0625", "batch_size=20", "log_every=1", "checkpoint_every=3",
        "n_val=200", "eval_batch_size=250"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, shared_data):
    out = tmp_path_factory.mktemp("ssl-runs")
    for exp in EXPERIMENTS:
        proc = cli(exp, *TINY, "--data-dir", shared_data, "--out", out)
        assert proc.returncode == 0, proc.stderr
        assert f"| {EXPERIMENTS[exp]}" in proc.stdout
    return out


def _run_dirs(out, exp):
    return sorted(p for p in out.iterdir() if p.name.startswith(exp + "_"))


@pytest.mark.parametrize("exp", EXPERIMENTS)
def test_demo_writes_finished_runs_with_the_method_name(runs, exp):
    dirs = _run_dirs(runs, exp)
    assert len(dirs) == 2
    for run in dirs:
        meta = json.loads((run / "run.json").read_text())
        assert meta["state"] == "finished" and meta["preset"] == "demo"
        assert meta["config"]["n_labels"] == 100 and meta["total_steps"] == 3
        assert meta["dataset"]["name"] == "cifar10-sample-5k"
        lines = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
        assert {l["method"] for l in lines} == {EXPERIMENTS[exp]}
        assert {l["metric"] for l in lines} == {"val_error_pct", "test_error_pct"} | SIGNALS[exp]
        for l in lines:
            assert l["paper_dataset"] == "cifar10" and l["n_labels"] == 100
            assert 0 <= l["value"] <= 100
        test = next(l for l in lines if l["metric"] == "test_error_pct")
        assert test["n_images"] == 1000
        log = [json.loads(l) for l in (run / "train_log.jsonl").read_text().splitlines()]
        assert [r["step"] for r in log] == [1, 2, 3]


# What each method's run records and draws besides its error rates.
SIGNALS = {"cifar10-ssl": {"recon_mse", "sample_diversity", "acc_d_final"},
           "gan-fm": {"sample_diversity", "acc_d_final"}, "supervised": set()}
PICTURES = {"cifar10-ssl": {"samples.png", "reconstructions.png", "interpolations.png", "curves.png"},
            "gan-fm": {"samples.png", "curves.png"}, "supervised": {"curves.png"}}


@pytest.mark.parametrize("exp", EXPERIMENTS)
def test_every_run_reports_its_training_signals_and_pictures(runs, exp):
    for run in _run_dirs(runs, exp):
        pngs = {p.name for p in run.glob("*.png")}
        assert pngs == PICTURES[exp]
        report = (run / "report.md").read_text()
        assert "## Training signals" in report and "loss_lab" in report
        if exp == "supervised":
            assert "the GAN signals do not apply" in report and "D's final accuracy" not in report
            continue
        lines = {l["metric"]: l for l in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())}
        log = [json.loads(l) for l in (run / "train_log.jsonl").read_text().splitlines()]
        assert lines["acc_d_final"]["value"] == log[-1]["acc_d"]
        assert 0 <= lines["sample_diversity"]["value"] < 5
        assert "D's final accuracy" in report and "sample diversity" in report
        # three steps at width 1/16 do not learn: the verdict must say so
        assert "this run looks collapsed" in report
        if exp == "cifar10-ssl":
            rec = lines["recon_mse"]
            assert rec["n_images"] == 200 and rec["mse_of_mean_image"] > 0
            assert "log σ" in report


def test_figures_off_draws_nothing(tmp_path, shared_data):
    proc = cli("cifar10-ssl", *TINY[:5], "0", *TINY[6:], "figures=false", "--data-dir", shared_data,
               "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    run = _run_dirs(tmp_path, "cifar10-ssl")[0]
    assert not list(run.glob("*.png")) and not (run / "report.md").exists()
    metrics = {json.loads(l)["metric"] for l in (run / "metrics.jsonl").read_text().splitlines()}
    assert metrics == {"val_error_pct", "test_error_pct"}


@pytest.mark.parametrize("exp", EXPERIMENTS)
def test_a_loaded_run_classifies_as_its_recorded_test_error(runs, exp, shared_data):
    """load_run(run).classify is the rule the run's test error was measured with."""
    import alibench
    from alibench.data import load_dataset
    data = load_dataset("cifar10-sample", shared_data)
    for run in _run_dirs(runs, exp):
        model = alibench.load_run(run, device="cpu")
        logits = model.classify(data.x_test)
        assert logits.shape == (len(data.x_test), 10)
        err = 100.0 * float((logits.argmax(1) != data.y_test).mean())
        recorded = next(json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()
                        if json.loads(l)["metric"] == "test_error_pct")
        assert err == pytest.approx(recorded["value"], abs=1e-9)


def test_runs_without_alis_networks_offer_classify_only(runs):
    import alibench
    from alibench.core.errors import UserError
    model = alibench.load_run(_run_dirs(runs, "gan-fm")[0], device="cpu")
    with pytest.raises(UserError, match="needs ALI's encoder and decoder.*offers classify"):
        model.encode(np.zeros((2, 32, 32, 3), np.uint8))
    with pytest.raises(UserError, match="needs ALI's encoder"):
        model.sample(4)


@pytest.mark.parametrize("exp", ["cifar10-ssl", "gan-fm"])
def test_figures_tool_redraws_a_kplus1_run_in_place(runs, tmp_path, shared_data, exp):
    import shutil
    run = tmp_path / "run"
    shutil.copytree(_run_dirs(runs, exp)[0], run)
    read = lambda: [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]  # noqa: E731
    before = read()
    for name in PICTURES[exp] | {"report.md"}:
        (run / name).unlink()
    proc = cli("figures", "--run", run, "--device", "cpu", "--data-dir", shared_data)
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in run.glob("*.png")} == PICTURES[exp] and (run / "report.md").exists()
    after = read()
    assert sorted(r["metric"] for r in after) == sorted(r["metric"] for r in before)  # replaced
    for old in before:
        new = next(r for r in after if r["metric"] == old["metric"])
        assert new["value"] == pytest.approx(old["value"], rel=1e-6), old["metric"]


def test_figures_tool_refuses_a_supervised_run(runs, shared_data):
    proc = cli("figures", "--run", _run_dirs(runs, "supervised")[0], "--device", "cpu",
               "--data-dir", shared_data)
    assert_one_line_error(proc, "'supervised' run, which draws no pictures")


def test_every_method_uses_the_same_labels_per_seed(runs):
    by_seed = {0: [], 1: []}
    for exp in EXPERIMENTS:
        for run in _run_dirs(runs, exp):
            seed = json.loads((run / "run.json").read_text())["seed"]
            with np.load(run / "label_draws.npz") as f:
                by_seed[seed].append(f["selection"])
    for seed, draws in by_seed.items():
        assert len(draws) == 3
        for d in draws[1:]:
            np.testing.assert_array_equal(draws[0], d)
    assert not np.array_equal(by_seed[0][0], by_seed[1][0])
    assert len(list((runs / "label-splits").glob("*.npz"))) == 2


def test_tables_show_the_three_methods_from_real_runs(runs, tmp_path):
    proc = cli("tables", "--runs", runs, "--save-dir", tmp_path)
    assert proc.returncode == 0, proc.stderr
    table = next(tmp_path.glob("cifar10_cifar10-sample-5k_demo*.md")).read_text()
    for method in EXPERIMENTS.values():
        row = next(l for l in table.splitlines() if l.startswith(f"| {method} "))
        assert "(n=2)" in row, row
    assert "ali-k1 − supervised" in table


@pytest.mark.parametrize("exp,labels,fragments", [
    *[(exp, "5000", ["n_labels=5000", "only", "lower --set n_labels"]) for exp in EXPERIMENTS],
    ("cifar10-ssl", "105", ["multiple of 10"]),
])
def test_impossible_label_counts_are_one_line_and_write_nothing(tmp_path, shared_data, exp,
                                                                 labels, fragments):
    out = tmp_path / "out"
    proc = cli(exp, "--preset", "demo", "--labels", labels, "--data-dir", shared_data,
               "--out", out)
    assert_one_line_error(proc, *fragments)
    assert not out.exists()
