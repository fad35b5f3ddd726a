"""FID/KID/IS through torch-fidelity with a local Inception weights file: here a
randomly initialised file of the right architecture (the real one is never
downloaded), so the numbers test the plumbing, not the model's quality."""

import json
import shutil
from unittest import mock

import numpy as np
import pytest
import torch

from alibench import UserError
from alibench.data import load_dataset
from alibench.evaluation.sample_quality import choose_metrics, sample_quality, sha256
from conftest import assert_one_line_error, cli

pytest.importorskip("torch_fidelity")
ENV = {"OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """Inception v3 (torch-fidelity's layout) with He-normal random weights, so that
    activations keep their scale through the ~90 layers."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    d = tmp_path_factory.mktemp("inception")
    torch.save({}, d / "empty.pt")
    with mock.patch.object(FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None):
        net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                          feature_extractor_weights_path=str(d / "empty.pt"))
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                m.weight.normal_(0, (2.0 / m.weight[0].numel()) ** 0.5, generator=gen)
    torch.save(net.state_dict(), d / "inception-random.pt")
    return d / "inception-random.pt"


@pytest.fixture(scope="module")
def images():
    return load_dataset("sample:svhn").x_test[:12]


def test_fid_of_a_set_against_itself_is_zero_and_against_a_shifted_set_is_not(weights, images):
    sha = sha256(weights)
    same = sample_quality(images, images, str(weights), sha, "fid,kid,isc")
    shifted = np.clip(images.astype(int) + 60, 0, 255).astype(np.uint8)
    other = sample_quality(shifted, images, str(weights), sha[:8], "fid,kid")
    assert same.n_real == same.n_generated == 12 and same.kid_subset_size == 12
    assert abs(same.values["fid"]) < 1e-2
    assert other.values["fid"] > 1.0 and other.values["fid"] > 100 * abs(same.values["fid"])
    assert other.values["kid"] > same.values["kid"]
    assert "isc" in same.values and "isc" not in other.values
    assert same.sha256 == sha


def test_kid_is_the_default_for_small_samples():
    assert choose_metrics("auto", 500, 500) == ("kid", "isc")
    assert choose_metrics("auto", 5000, 2048) == ("fid", "kid", "isc")
    assert choose_metrics("fid", 10, 10) == ("fid",)


def test_weights_files_are_checked_never_downloaded(weights, tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        sample_quality(np.zeros((2, 32, 32, 3), np.uint8), np.zeros((2, 32, 32, 3), np.uint8),
                       str(tmp_path / "none.pt"), "6726825d")
    with pytest.raises(UserError, match="does not match inception_sha256=6726825d"):
        sample_quality(np.zeros((2, 32, 32, 3), np.uint8), np.zeros((2, 32, 32, 3), np.uint8),
                       str(weights), "6726825d")
    (tmp_path / "list.pt").write_bytes(b"")
    torch.save([torch.zeros(1)], tmp_path / "list.pt")
    with pytest.raises(UserError, match="not an Inception v3 state dict"):
        sample_quality(np.zeros((2, 32, 32, 3), np.uint8), np.zeros((2, 32, 32, 3), np.uint8),
                       str(tmp_path / "list.pt"), sha256(tmp_path / "list.pt"))


@pytest.mark.parametrize("sets, fragments", [
    (["inception_weights={tmp}/none.pt"], ["inception_weights", "does not exist"]),
    (["inception_weights={w}"], ["does not match inception_sha256=6726825d"]),
    (["inception_weights={w}", "inception_sha256=XYZ"], ["inception_sha256 must be 8 to 64"]),
    (["fidelity_metrics=fid,lpips"], ["unknown metric(s) ['lpips']"]),
])
def test_bad_settings_are_refused_before_a_run_directory(weights, tmp_path, sets, fragments):
    out = tmp_path / "out"
    sets = [s.format(tmp=tmp_path, w=weights) for s in sets]
    proc = cli("svhn-svm", "--preset", "demo", "--set", *sets, "--device", "cpu", "--out", out, env=ENV)
    assert_one_line_error(proc, *fragments)
    assert not out.exists()


TINY = ["--set", "steps=4", "width=0.0625", "batch_size=16", "log_every=2", "checkpoint_every=2",
        "n_val_draws=1", "n_test_draws=2", "n_c=3", "sample_every=0", "raw_pixels=false", "n_val=16",
        "grid_rows=2", "grid_cols=4", "interp_pairs=2", "fidelity_samples=8"]


def test_an_image_run_records_kid_and_is_with_counts_and_reference(weights, tmp_path):
    sha = sha256(weights)
    proc = cli("svhn-svm", "--preset", "demo", *TINY, f"inception_weights={weights}",
               f"inception_sha256={sha}", "--device", "cpu", "--out", tmp_path, env=ENV)
    assert proc.returncode == 0, proc.stderr
    (run,) = tmp_path.glob("svhn-svm_*")
    lines = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    quality = {l["metric"]: l for l in lines if l["metric"] in ("fid", "kid", "inception_score")}
    assert sorted(quality) == ["inception_score", "kid"]        # small sample: KID, not FID
    for rec in quality.values():
        assert rec["n_real"] == 16 and rec["n_generated"] == 8
        assert rec["reference_split"] == "validation" and "last 16 images" in rec["reference"]
        assert rec["inception_sha256"] == sha and rec["inception_official"] is False
        assert np.isfinite(rec["value"])
    assert quality["kid"]["kid_subset_size"] == 8
    # the figures tool with the file switched off: the pictures again, the metrics gone, a note
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    proc = cli("figures", "--run", copy, "--device", "cpu", "--set", "inception_weights=", env=ENV)
    assert proc.returncode == 0, proc.stderr
    assert "--set inception_weights=PATH" in proc.stdout
    metrics = [json.loads(l)["metric"] for l in (copy / "metrics.jsonl").read_text().splitlines()]
    assert "kid" not in metrics and metrics.count("recon_mse") == 1


@pytest.mark.slow
def test_the_figures_tool_measures_a_finished_run(weights, tmp_path):
    proc = cli("svhn-svm", "--preset", "demo", *TINY, "--device", "cpu", "--out", tmp_path, env=ENV)
    assert proc.returncode == 0, proc.stderr
    assert "--set inception_weights=PATH" in proc.stdout         # the note, no metric
    (run,) = tmp_path.glob("svhn-svm_*")
    proc = cli("figures", "--run", run, "--device", "cpu", "--set", f"inception_weights={weights}",
               f"inception_sha256={sha256(weights)}", "fidelity_metrics=fid,kid", env=ENV)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    assert sorted(l["metric"] for l in lines if l["metric"] in ("fid", "kid")) == ["fid", "kid"]
    proc = cli("figures", "--run", run, "--device", "cpu", "--set", "width=2", env=ENV)
    assert_one_line_error(proc, "unknown config key 'width'")
