"""The paper's reported numbers: the one reference table of the suite.

Test misclassification rate (%) as printed in Dumoulin et al., "Adversarially
Learned Inference", ICLR 2017 (via shared/PAPER.md). These are the PAPER'S
numbers, shown beside ours for comparison; nothing here is ever an output of
a run. ``spread`` is what the paper prints after ±; ``spread_kind`` says what
it is (for the CIFAR10 ALI row the paper's bars are 3 standard deviations).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd


@dataclass(frozen=True)
class PaperResult:
    dataset: str         # which paper table: "svhn" (Table 1) or "cifar10" (Table 2)
    method: str          # our method name, or the paper's for rows we do not run
    label: str           # the row as the paper names it
    n_labels: int
    error_pct: float
    spread: float | None = None
    spread_kind: str = ""
    source: str = ""


T1 = "ALI paper, Table 1 (SVHN)"
T2 = "ALI paper, Table 2 (CIFAR10)"

PAPER_RESULTS: tuple[PaperResult, ...] = (
    PaperResult("svhn", "vae-m1m2", "VAE (M1 + M2)", 1000, 36.02, source=T1),
    PaperResult("svhn", "swwae", "SWWAE with dropout", 1000, 23.56, source=T1),
    PaperResult("svhn", "dcgan-svm", "DCGAN + L2-SVM", 1000, 22.18, 1.13, "std",
                "ALI paper, Table 1 (± from its first version)"),
    PaperResult("svhn", "sdgm", "SDGM", 1000, 16.61, source=T1),
    PaperResult("svhn", "gan-fm", "GAN (feature matching)", 1000, 8.11, 1.3, "std", T1),
    PaperResult("svhn", "ali", "ALI (L2-SVM)", 1000, 19.14, 0.50, "std", T1),
    PaperResult("svhn", "ali-k1", "ALI (no feature matching)", 1000, 7.42, 0.65, "std", T1),
    PaperResult("cifar10", "ladder", "Ladder network", 4000, 20.40, source=T2),
    PaperResult("cifar10", "catgan", "CatGAN", 4000, 19.58, source=T2),
    PaperResult("cifar10", "gan-fm", "GAN (feature matching)", 1000, 21.83, 2.01, "std", T2),
    PaperResult("cifar10", "gan-fm", "GAN (feature matching)", 2000, 19.61, 2.09, "std", T2),
    PaperResult("cifar10", "gan-fm", "GAN (feature matching)", 4000, 18.63, 2.32, "std", T2),
    PaperResult("cifar10", "gan-fm", "GAN (feature matching)", 8000, 17.72, 1.82, "std", T2),
    PaperResult("cifar10", "ali-k1", "ALI", 1000, 19.98, 0.89, "3 std", T2),
    PaperResult("cifar10", "ali-k1", "ALI", 2000, 19.09, 0.44, "3 std", T2),
    PaperResult("cifar10", "ali-k1", "ALI", 4000, 17.99, 1.62, "3 std", T2),
    PaperResult("cifar10", "ali-k1", "ALI", 8000, 17.05, 1.49, "3 std", T2),
)


# The data each of the paper's tables was measured on, by the prefix of our
# dataset names (the full set, a sample or a copy: tables say which). A run's
# numbers sit beside the paper's only when its experiment belongs to that table
# (``Experiment.paper_table``) and its data is that table's dataset.
TABLE_DATA = {"svhn": "svhn", "cifar10": "cifar10", "celeba": "celeba"}


def paper_table(table: str, dataset_name: str) -> str:
    """``table`` if data named ``dataset_name`` is what it was measured on, else ''."""
    prefix = TABLE_DATA.get(table)
    return table if prefix and dataset_name.startswith(prefix) else ""


def frame() -> pd.DataFrame:
    return pd.DataFrame([asdict(r) for r in PAPER_RESULTS])


def lookup(dataset: str, method: str, n_labels: int) -> PaperResult | None:
    for r in PAPER_RESULTS:
        if (r.dataset, r.method, r.n_labels) == (dataset, method, n_labels):
            return r
    return None


def nearest(dataset: str, method: str, n_labels: int) -> PaperResult | None:
    """The paper's row for this method at ``n_labels``, else at the closest label count."""
    rows = [r for r in PAPER_RESULTS if (r.dataset, r.method) == (dataset, method)]
    return min(rows, key=lambda r: abs(r.n_labels - n_labels)) if rows else None


def format_result(r: PaperResult | None, n_labels: int | None = None) -> str:
    """'19.14 ± 0.50'; the paper's label count is added when it differs from ours."""
    if r is None:
        return "—"
    text = f"{r.error_pct:.2f}"
    if r.spread is not None:
        kind = "" if r.spread_kind == "std" else f" ({r.spread_kind})"
        text += f" ± {r.spread:.2f}{kind}"
    if n_labels is not None and n_labels != r.n_labels:
        text += f" at {r.n_labels} labels"
    return text


# --- The 2-D mixture experiment (paper section "Importance of learning inference
# jointly with generation"): modes covered out of 25, over 10 runs with a random
# learning rate, β1 and init std; samples assigned by the mixture's responsibilities.

@dataclass(frozen=True)
class PaperModes:
    method: str
    label: str
    mean: float
    std: float
    min: int
    max: int
    n_runs: int
    source: str = "ALI paper, section 'Importance of learning inference jointly with generation'"


MIXTURE = "mixture25"
PAPER_MODES: tuple[PaperModes, ...] = (
    PaperModes("ali", "ALI", 13.4, 5.8, 8, 25, 10),
    PaperModes("gan", "GAN", 10.4, 9.2, 1, 22, 10),
)
TABLE_DATA[MIXTURE] = MIXTURE


def modes(method: str) -> PaperModes | None:
    for r in PAPER_MODES:
        if r.method == method:
            return r
    return None


def format_modes(method: str) -> str:
    """'13.4 ± 5.8 (min 8, max 25, 10 runs)', or '—' when the paper gives none."""
    r = modes(method)
    return "—" if r is None else f"{r.mean:.1f} ± {r.std:.1f} (min {r.min}, max {r.max}, {r.n_runs} runs)"
