import json

import pandas as pd

from alibench.reporting import tables
from alibench.core.rundir import RunDir
from alibench.cli import main


def _run(root, seed, value, state="finished", method="ali"):
    run = RunDir.create(root, f"r{seed}{method}", {"experiment": "svhn-svm"})
    run.add_metric({"experiment": "svhn-svm", "method": method, "dataset": "svhn", "paper_dataset": "svhn",
                    "preset": "paper", "hardware": "cpu", "n_labels": 1000, "seed": seed,
                    "metric": "test_error_pct", "value": value, "std_over_draws": 0.5})
    run.set_state(state)


def test_mean_and_sample_std_over_finished_seeds_only(tmp_path):
    for seed, value in [(0, 20.0), (1, 22.0), (2, 24.0)]:
        _run(tmp_path, seed, value)
    _run(tmp_path, 3, 99.0, state="running")
    _run(tmp_path, 4, 99.0, state="failed")
    records, skipped = tables.load_records(tmp_path)
    assert skipped == 2
    s = tables.summarize(records)
    row = s.iloc[0]
    assert row["mean"] == 22.0 and row["std"] == 2.0 and row["n_seeds"] == 3
    shown = tables.display(s).iloc[0]
    assert shown["test error % (ours, mean ± std over seeds)"] == "22.00 ± 2.00"
    assert shown["paper (full data)"] == "19.14 ± 0.50"


def test_a_method_without_paper_number_shows_a_dash(tmp_path):
    _run(tmp_path, 0, 50.0, method="raw-pixels")
    s = tables.summarize(tables.load_records(tmp_path)[0])
    assert tables.display(s).iloc[0]["paper (full data)"] == "—"


def test_empty_directory_renders_a_message(tmp_path):
    assert tables.render(tables.display(tables.summarize(pd.DataFrame()))) == "(no finished runs)"


def test_torn_and_partial_runs_are_skipped_and_counted(tmp_path, capsys):
    _run(tmp_path, 0, 20.0)
    _run(tmp_path, 1, 22.0)
    _run(tmp_path, 2, 99.0, state="running")          # killed during evaluation...
    (partial,) = [r for r in tmp_path.iterdir() if r.name.startswith("r2")]
    with open(partial / "metrics.jsonl", "a") as f:
        f.write('{"metric": "test_error_pct", "val')   # ...in the middle of a line
    _run(tmp_path, 3, 99.0, state="interrupted")
    _run(tmp_path, 4, 99.0)
    (torn,) = [r for r in tmp_path.iterdir() if r.name.startswith("r4")]
    (torn / "run.json").write_text('{"state": "fini')  # a run.json damaged outside alibench

    records, skipped = tables.scan(tmp_path)
    assert sorted(records["seed"]) == [0, 1]
    assert skipped == {"running": 1, "interrupted": 1, "unreadable": 1}
    assert tables.load_records(tmp_path)[1] == 3

    out = tmp_path / "table.md"
    assert main(["tables", "--runs", str(tmp_path), "--output", str(out)]) == 0
    captured = capsys.readouterr()
    assert "skipped 3 runs (1 interrupted, 1 running, 1 unreadable)" in captured.err
    assert "21.00 ± 1.41" in out.read_text() and "0,1 (2)" in out.read_text()
    assert not list(tmp_path.glob(".table.md.*"))


def test_a_finished_run_with_a_corrupt_metric_line_is_not_tabulated(tmp_path):
    _run(tmp_path, 0, 20.0)
    (run,) = tmp_path.iterdir()
    text = (run / "metrics.jsonl").read_text()
    (run / "metrics.jsonl").write_text("{garbage}\n" + text)
    records, skipped = tables.scan(tmp_path)
    assert records.empty and skipped == {"unreadable": 1}


def test_runs_pooled_through_symlinked_folders_count_once(tmp_path):
    """A folder of links to runs kept elsewhere is tabulated (pathlib's rglob does
    not follow links); a second link to the same run, or a link cycle, adds nothing."""
    kept, pool = tmp_path / "kept", tmp_path / "pool"
    for seed, value in [(0, 20.0), (1, 22.0)]:
        _run(kept / f"s{seed}", seed, value)
    pool.mkdir()
    (pool / "a").symlink_to(kept / "s0")
    (pool / "b").symlink_to(kept / "s1")
    (pool / "again").symlink_to(kept / "s1")
    (pool / "loop").symlink_to(pool)
    records, skipped = tables.load_records(pool)
    row = tables.summarize(records).iloc[0]
    assert (row["mean"], row["n_seeds"], skipped) == (21.0, 2, 0)
