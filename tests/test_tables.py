import json

import pandas as pd

from alibench import tables
from alibench.rundir import Run


def _run(root, seed, value, state="finished", method="ali"):
    run = Run.create(root, f"r{seed}{method}", {"experiment": "svhn-svm"})
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
