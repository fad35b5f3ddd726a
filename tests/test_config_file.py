"""--config FILE: config keys from JSON, YAML or a run's run.json, under --set,
refused as --set refuses; a run reruns from its run.json."""

import json

import pytest

from alibench.core import registry
from alibench.experiments.launch import RunRequest, _configs
from conftest import assert_one_line_error, cli

ENV = {"OMP_NUM_THREADS": "1"}


def _show(*args):
    proc = cli("svhn-svm", "--preset", "demo", "--show-config", *args, env=ENV)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_json_and_yaml_files_sit_between_the_preset_and_set(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps({"width": 0.5, "steps": 40, "lr": 2e-4}))
    (tmp_path / "c.yaml").write_text("width: 0.5\nsteps: 40\nlr: 2.0e-4\n")
    for name in ("c.json", "c.yaml"):
        cfg = _show("--config", tmp_path / name, "--set", "steps=7")
        assert (cfg["width"], cfg["steps"], cfg["lr"]) == (0.5, 7, 2e-4)
        assert cfg["batch_size"] == 64            # the demo preset's, untouched by the file
    (tmp_path / "i.json").write_text(json.dumps({"width": 1}))   # an int is a float
    assert _show("--config", tmp_path / "i.json")["width"] == 1.0


def test_a_run_json_gives_its_config_and_preset(tmp_path):
    exp = registry.get("svhn-svm")
    (cfg,), preset, _, _ = _configs(exp, RunRequest(preset="demo", overrides=("width=0.5",)))
    run_json = {"experiment": "svhn-svm", "preset": "demo", "seed": 0,
                "config": json.loads(json.dumps(cfg.__dict__))}
    (tmp_path / "run.json").write_text(json.dumps(run_json))
    (again,), preset, _, _ = _configs(exp, RunRequest(config_file=tmp_path / "run.json"))
    assert again == cfg and preset == "demo"
    (changed,), _, _, _ = _configs(exp, RunRequest(config_file=tmp_path / "run.json",
                                                   overrides=("steps=3",)))
    assert changed.steps == 3 and changed.width == 0.5


BAD = {
    "unknown key": ('{"widht": 2}', "c.json", ["unknown config key 'widht'", "valid keys"]),
    "text for an int": ('{"steps": "ten"}', "c.json", ["bad value for 'steps'", "not a int"]),
    "float for an int": ('{"steps": 1.5}', "c.json", ["bad value for 'steps'"]),
    "bool for a number": ('{"width": true}', "c.json", ["bad value for 'width'"]),
    "yaml's text exponent": ("lr: 1e-4\n", "c.yaml", ["bad value for 'lr'", "write 1.0e-4"]),
    "impossible value": ('{"lr": -1}', "c.json", ["lr must be positive"]),
    "not a mapping": ("[1, 2]", "c.json", ["must hold a mapping"]),
    "bad json": ("{width: 2", "c.json", ["is not valid JSON"]),
    "bad yaml": ("width: [1\n", "c.yaml", ["is not valid YAML"]),
    "another experiment's run.json": ('{"experiment": "dcgan-svm", "config": {}}', "run.json",
                                      ["'dcgan-svm' run's run.json", "dcgan-svm --config"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_config_files_are_refused_before_anything_is_written(tmp_path, case):
    text, name, fragments = BAD[case]
    (tmp_path / name).write_text(text)
    out = tmp_path / "out"
    proc = cli("svhn-svm", "--preset", "demo", "--config", tmp_path / name, "--out", out, env=ENV)
    assert_one_line_error(proc, *fragments)
    assert not out.exists()


def test_missing_file_and_resume_are_refused(tmp_path):
    assert_one_line_error(cli("svhn-svm", "--config", tmp_path / "none.json", env=ENV), "does not exist")
    (tmp_path / "c.json").write_text("{}")
    proc = cli("svhn-svm", "--config", tmp_path / "c.json", "--resume", tmp_path, env=ENV)
    assert_one_line_error(proc, "cannot be combined with --resume")


def test_a_finished_run_reruns_from_its_run_json(tmp_path):
    tiny = ["--set", "steps=6", "width=0.0625", "batch_size=16", "log_every=2", "checkpoint_every=3",
            "n_val_draws=1", "n_test_draws=2", "n_c=3", "sample_every=0", "figures=false",
            "raw_pixels=false"]
    proc = cli("svhn-svm", "--preset", "demo", *tiny, "--device", "cpu", "--out", tmp_path / "a",
               env=ENV)
    assert proc.returncode == 0, proc.stderr
    (first,) = (tmp_path / "a").glob("svhn-svm_*")
    proc = cli("svhn-svm", "--config", first / "run.json", "--device", "cpu", "--out", tmp_path / "b",
               env=ENV)
    assert proc.returncode == 0, proc.stderr
    (second,) = (tmp_path / "b").glob("svhn-svm_*")
    a, b = (json.loads((r / "run.json").read_text()) for r in (first, second))
    assert a["config"] == b["config"] and b["preset"] == "demo"
    assert b["config_file"] == str(first / "run.json")
    logs = [(r / "train_log.jsonl").read_text() for r in (first, second)]
    strip = [[{k: json.loads(l)[k] for k in ("step", "loss_d", "loss_g", "acc_d")}
              for l in log.splitlines()] for log in logs]
    assert strip[0] == strip[1]                    # the same seed and config train the same
