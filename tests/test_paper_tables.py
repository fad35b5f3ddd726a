"""The paper's two tables, rebuilt from synthetic run directories made through
the real run-directory API (no training)."""

import pandas as pd

from alibench.reporting import paper_tables, tables
from alibench.core.rundir import RunDir
from conftest import cli

CIFAR = {"ali-k1": [20.0, 22.0, 24.0], "gan-fm": [25.0, 25.0, 28.0], "supervised": [30.0, 31.0, 35.0]}


def _run(root, method, seed, value, *, table="cifar10", dataset="cifar10-jpeg", n_labels=1000,
         state="finished", split=None, preset="paper"):
    run = RunDir.create(root, f"{method}_n{n_labels}_seed{seed}", {"experiment": method})
    run.add_metric({"experiment": method, "method": method, "dataset": dataset,
                    "dataset_full": True, "paper_dataset": table, "preset": preset,
                    "hardware": "GPU test", "n_labels": n_labels, "seed": seed,
                    "metric": "test_error_pct", "value": value, "run": run.path.name,
                    "label_split": split or f"{dataset}_n{n_labels}_seed{seed}.npz",
                    "dataset_description": "CIFAR10 (JPEG copy)", "overrides": ""})
    run.set_state(state)
    return run


def _build(root):
    records, skipped = tables.load_records(root)
    return {t.spec.key: t for t in paper_tables.build(records, skipped=skipped)}, skipped


def _row(t, method):
    return t.main.set_index("method").loc[method]


def test_cifar10_cells_are_mean_and_sample_std_over_seeds_beside_the_paper(tmp_path):
    for method, values in CIFAR.items():
        for seed, v in enumerate(values):
            _run(tmp_path, method, seed, v)
    _run(tmp_path, "ali-k1", 7, 99.0, state="failed")
    built, skipped = _build(tmp_path)
    t = built["cifar10"]
    assert skipped == 1 and t.meta["seeds"] == "0,1,2"
    assert _row(t, "ali-k1")["1000 ours"] == "22.00 ± 2.00 (n=3)"
    assert _row(t, "ali-k1")["1000 paper"] == "19.98 ± 0.89 (3 std)"
    assert _row(t, "gan-fm")["1000 paper"] == "21.83 ± 2.01"
    assert _row(t, "gan-fm")["8000 paper"] == "17.72 ± 1.82"
    assert _row(t, "supervised")["1000 paper"] == "—"
    # label counts with no runs of ours: implemented methods are "missing", never a number
    assert _row(t, "ali-k1")["4000 ours"] == paper_tables.MISSING
    assert _row(t, "ladder")["4000 ours"] == paper_tables.NOT_IMPLEMENTED
    assert _row(t, "ladder")["4000 paper"] == "20.40"
    diffs = t.diffs.set_index("difference")
    # per seed: 20−25, 22−25, 24−28 = −5, −3, −4
    assert diffs.loc["ali-k1 − gan-fm", "1000"] == "-4.00 ± 1.00 (n=3)"
    assert diffs.loc["ali-k1 − supervised", "1000"] == "-10.00 ± 1.00 (n=3)"


def test_differences_pair_only_seeds_on_the_same_label_split(tmp_path):
    _run(tmp_path, "ali-k1", 0, 20.0)
    _run(tmp_path, "ali-k1", 1, 21.0)
    _run(tmp_path, "gan-fm", 0, 22.0)
    _run(tmp_path, "gan-fm", 1, 30.0, split="another-split.npz")
    t = _build(tmp_path)[0]["cifar10"]
    assert t.diffs.set_index("difference").loc["ali-k1 − gan-fm", "1000"] == "-2.00 (n=1)"


def test_svhn_table_takes_dcgan_svm_rows_when_present(tmp_path):
    for seed, (a, d) in enumerate([(19.0, 22.0), (20.0, 24.0)]):
        _run(tmp_path, "ali", seed, a, table="svhn", dataset="svhn")
        _run(tmp_path, "dcgan-svm", seed, d, table="svhn", dataset="svhn")
    t = _build(tmp_path)[0]["svhn"]
    assert _row(t, "dcgan-svm")["1000 ours"] == "23.00 ± 1.41 (n=2)"
    assert _row(t, "dcgan-svm")["1000 paper"] == "22.18 ± 1.13"
    assert _row(t, "ali")["1000 paper"] == "19.14 ± 0.50"
    assert _row(t, "raw-pixels")["1000 ours"] == paper_tables.MISSING
    assert t.diffs.set_index("difference").loc["ali − dcgan-svm", "1000"] == "-3.50 ± 0.71 (n=2)"


def test_without_runs_both_tables_show_every_cell_of_ours_missing(tmp_path):
    built, _ = _build(tmp_path)
    assert set(built) == {"svhn", "cifar10"}
    t = built["svhn"]
    assert _row(t, "dcgan-svm")["1000 ours"] == paper_tables.MISSING
    assert (t.diffs.drop(columns="difference") == paper_tables.MISSING).all().all()


def test_data_and_presets_are_never_pooled(tmp_path):
    _run(tmp_path, "ali-k1", 0, 20.0)
    _run(tmp_path, "ali-k1", 0, 80.0, dataset="cifar10-sample-5k", preset="demo")
    built = paper_tables.build(tables.load_records(tmp_path)[0])
    cifar = [t for t in built if t.spec.key == "cifar10"]
    assert {(t.dataset, t.preset) for t in cifar} == {("cifar10-jpeg", "paper"),
                                                     ("cifar10-sample-5k", "demo")}
    for t in cifar:
        assert _row(t, "ali-k1")["1000 ours"].endswith("(n=1)")


def test_renders_in_every_format(tmp_path):
    for method, values in CIFAR.items():
        _run(tmp_path, method, 0, values[0])
    t = next(t for t in _build(tmp_path)[0].values() if t.spec.key == "cifar10")
    md = paper_tables.render(t, "markdown")
    assert "Table 2 (CIFAR10)" in md and "19.98 ± 0.89 (3 std)" in md and "GPU test" in md
    csv = paper_tables.render(t, "csv")
    assert pd.read_csv(pd.io.common.StringIO(csv))["method"].tolist()[:5] == \
        ["ladder", "catgan", "gan-fm", "ali-k1", "supervised"]
    assert "\\begin{tabular}" in paper_tables.render(t, "latex")


def test_tables_command_prints_and_saves_both_tables(tmp_path):
    runs = tmp_path / "runs"
    for method, values in CIFAR.items():
        for seed, v in enumerate(values):
            _run(runs, method, seed, v)
    proc = cli("tables", "--runs", runs, "--layout", "paper")
    assert proc.returncode == 0, proc.stderr
    assert "Table 1 (SVHN)" in proc.stdout and "Table 2 (CIFAR10)" in proc.stdout
    assert "22.00 ± 2.00 (n=3)" in proc.stdout
    saved = sorted(p.name for p in (tmp_path / "tables").iterdir())
    assert saved == ["cifar10_cifar10-jpeg_paper.md", "svhn_no-finished-runs_none.md"]
