"""Every config value of every registered experiment is checked before a run
directory exists: the test walks each experiment's typed config fields, tries
a bad value of each kind through the command line, and expects one line, exit
2 and nothing under --out. A new key is covered the moment it is added (and a
numeric key without a rule cannot be registered at all)."""

import dataclasses
import json
import math
from dataclasses import dataclass, field

import pytest

from alibench.core import checks
from alibench.core.config import build_config, check_fields, field_types, from_dict
from alibench.core.errors import UserError
from alibench.core.registry import Experiment, all_experiments, register
from alibench.experiments import launch
from conftest import assert_one_line_error
from test_cli import run_main

# Values no key of its kind may take (numbers: besides each rule's own examples).
FLOAT_BAD = ("nan", "inf", "-inf")
INT_BAD = (str(checks.MAX_INT + 1),)
# Valid by type and rule, but more than the demo data holds: refused by the experiment's check.
TOO_BIG_FOR_THE_DATA = {"n_labels": "100000", "n_val": "1000000", "batch_size": "1000000"}


def bad_values(cls):
    """(key, value as typed on --set) for every field of ``cls`` and every kind of bad value."""
    types = field_types(cls)
    for f in dataclasses.fields(cls):
        typ = types[f.name]
        if typ is float:
            values = FLOAT_BAD + checks.rule_of(f).bad_examples
        elif typ is int:
            values = INT_BAD + checks.rule_of(f).bad_examples
        elif typ is bool:
            values = ("maybe",)
        else:
            values = ("bogus-value",)
        if f.name in TOO_BIG_FOR_THE_DATA:
            values += (TOO_BIG_FOR_THE_DATA[f.name],)
        for value in values:
            yield f.name, value


CASES = [pytest.param(exp.name, key, value, id=f"{exp.name}:{key}={value}")
         for exp in all_experiments() for key, value in bad_values(exp.config_cls)]


@pytest.fixture
def no_training(monkeypatch):
    """A value that slips through must fail fast (and visibly: its run directory stays)."""
    monkeypatch.setattr(launch, "_run_one", lambda exp, cfg, ctx: [])


@pytest.mark.parametrize("experiment,key,value", CASES)
def test_every_bad_value_is_refused_before_anything_is_written(tmp_path, capsys, no_training,
                                                               experiment, key, value):
    out = tmp_path / "out"
    proc = run_main(capsys, experiment, "--preset", "demo", "--device", "cpu", "--out", out,
                    "--set", f"{key}={value}")
    err = assert_one_line_error(proc)
    assert proc.returncode == 2
    assert not out.exists(), f"{key}={value} left {sorted(out.rglob('*'))}"
    assert "internal error" not in err
    if key not in ("data", "unlabeled") and key not in TOO_BIG_FOR_THE_DATA:
        assert key in err          # the message names the key


def test_the_walk_covers_every_key_of_every_experiment():
    keys = {(c.values[0], c.values[1]) for c in CASES}
    for exp in all_experiments():
        for f in dataclasses.fields(exp.config_cls):
            assert (exp.name, f.name) in keys


@pytest.mark.parametrize("exp", all_experiments(), ids=lambda e: e.name)
def test_every_numeric_key_has_a_rule_and_every_preset_passes_it(exp):
    types = field_types(exp.config_cls)
    for f in dataclasses.fields(exp.config_cls):
        if types[f.name] in (int, float):
            assert checks.rule_of(f) is not None, f.name
    for preset in exp.presets:
        build_config(exp.config_cls, exp.presets, preset, [])


@dataclass
class _Unruled:
    mystery_rate: float = 0.1

    def validate(self) -> None:
        pass


@dataclass
class _Ruled:
    mystery_rate: float = field(default=0.1, metadata={"rule": "probability"})

    def validate(self) -> None:
        pass


def test_a_numeric_key_without_a_rule_cannot_be_registered():
    with pytest.raises(ValueError, match="without a rule.*mystery_rate"):
        register(Experiment("unruled-test", "", _Unruled, {"paper": {}}, lambda cfg, ctx: []))


def test_field_metadata_gives_a_rule():
    with pytest.raises(UserError, match=r"mystery_rate must be in \[0, 1\), got 1.5"):
        check_fields(_Ruled(mystery_rate=1.5))
    with pytest.raises(UserError, match="mystery_rate must be a finite number, got nan"):
        check_fields(_Ruled(mystery_rate=math.nan))


@pytest.mark.parametrize("exp", all_experiments(), ids=lambda e: e.name)
def test_a_saved_config_is_checked_as_a_new_one(exp):
    """--resume rebuilds the config from run.json: a NaN there is refused too."""
    cfg = build_config(exp.config_cls, exp.presets, "demo", [])
    saved = json.loads(json.dumps({**dataclasses.asdict(cfg), "lr": math.nan}))
    with pytest.raises(UserError, match="lr must be a finite number"):
        from_dict(exp.config_cls, saved)
