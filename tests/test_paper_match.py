"""A paper number sits beside ours only when experiment and dataset match the
paper table's: one home for that fact (Experiment.paper_table + reporting.paper)."""

import numpy as np
import pandas as pd
import torch

from alibench.core import registry
from alibench.core.rundir import RunDir
from alibench.data import ImageData
from alibench.experiments.context import RunContext
from alibench.reporting import paper, tables


def _data(name: str) -> ImageData:
    x = np.zeros((4, 32, 32, 3), np.uint8)
    y = np.arange(4) % 2
    return ImageData(name=name, x_train=x, y_train=y, x_test=x, y_test=y, n_classes=2,
                     full=False, description=name)


def _ctx(tmp_path, experiment: str, dataset: str) -> RunContext:
    run = RunDir.create(tmp_path, f"{experiment}_{dataset}", {"experiment": experiment})
    return RunContext(registry.get(experiment), run, _data(dataset), torch.device("cpu"), 0, "demo", "cpu")


def test_svhn_numbers_on_cifar10_data_get_no_paper_column(tmp_path):
    rec = _ctx(tmp_path, "svhn-svm", "cifar10-jpeg").record("ali", "test_error_pct", 50.0, 1000)
    assert rec["paper_dataset"] == ""
    shown = tables.summarize(pd.DataFrame([rec]))
    assert shown["paper"].tolist() == ["—"]


def test_matching_experiment_and_data_get_the_papers_number(tmp_path):
    rec = _ctx(tmp_path, "svhn-svm", "svhn-sample-800").record("ali", "test_error_pct", 50.0, 1000)
    assert rec["paper_dataset"] == "svhn"
    shown = tables.summarize(pd.DataFrame([rec]))
    assert shown["paper"].tolist() == [paper.format_result(paper.lookup("svhn", "ali", 1000), 1000)]
    assert _ctx(tmp_path, "cifar10-ssl", "cifar10-sample-5k").paper_dataset == "cifar10"
    assert _ctx(tmp_path, "cifar10-ssl", "svhn-sample-800").paper_dataset == ""


def test_every_registered_experiment_names_its_methods_and_a_known_table():
    for exp in registry.all_experiments():
        assert exp.methods, exp.name
        assert exp.paper_table in paper.TABLE_DATA, exp.name
