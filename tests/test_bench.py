"""`python -m alibench.run bench`: one JSON object a shell script can read, and bad
requests refused in one line."""

import json

import pytest

import torch

from conftest import assert_one_line_error, cli

from alibench.train.fastpath import FastPath, resolve

TINY = ["--width", "0.0625", "--batch", "8", "--steps", "2", "--warmup", "1", "--device", "cpu",
        "--threads", "1"]


@pytest.mark.parametrize("arch", ["svhn", "cifar10"])
def test_bench_prints_one_json_object(arch):
    proc = cli("bench", "--arch", arch, *TINY, "--json")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    r = json.loads(lines[0])
    assert r["task"] == "train" and r["arch"] == arch and r["steps"] == 2 and r["warmup_steps"] == 1
    assert r["images_per_s"] > 0 and r["device"] == "cpu"
    assert r["compile"] is False and r["cuda_graphs"] is False and r["gflop_per_image"] > 0
    assert r["images_per_s"] == pytest.approx(8 * 2 / r["seconds"], rel=0.01)
    default = resolve({}, torch.device("cpu"))
    assert r["dtype"] == default.dtype and r["channels_last"] == default.channels_last
    if default != FastPath():      # the plain eager float32 reference, from the same run
        ref = r["eager_fp32"]
        assert ref["dtype"] == "float32" and not ref["channels_last"] and ref["images_per_s"] > 0
        assert r["speedup_vs_eager_fp32"] == pytest.approx(r["images_per_s"] / ref["images_per_s"], rel=0.01)
        assert r["end_to_end_s"] > r["seconds"] and r["interleaved_blocks"] == 2


def test_bench_eager_fp32_has_no_reference_to_itself():
    r = json.loads(cli("bench", *TINY, "--eager-fp32", "--no-flops", "--json").stdout.splitlines()[-1])
    assert r["dtype"] == "float32" and "eager_fp32" not in r and "speedup_vs_eager_fp32" not in r


def test_bench_features_and_svm_tasks():
    feats = json.loads(cli("bench", "--task", "features", *TINY, "--json").stdout)
    assert feats["images"] == 16 and feats["feature_dim"] > 0 and feats["images_per_s"] > 0
    svm = json.loads(cli("bench", "--task", "svm", "--svm-size", "ci", "--threads", "1",
                         "--json").stdout)
    assert svm["solver"] == "torch" and svm["fits"] == 14 and svm["wall_s"] > 0
    assert [s["fits"] for s in svm["stages"]] == [8, 2, 4]


@pytest.mark.parametrize("args, fragment", [
    (["--steps", "0"], "--steps must be positive"),
    (["--device", "cuda:7"], "device"),
    (["--cuda-graphs", "on", "--device", "cpu"], "cuda_graphs=on needs a CUDA device"),
])
def test_bench_refuses_bad_requests(args, fragment):
    assert_one_line_error(cli("bench", *args), fragment)
