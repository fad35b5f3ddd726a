import pytest

from alibench.core.config import build_config, parse_overrides
from alibench.core.errors import UserError
from alibench.experiments.svhn_svm import PRESETS, SvhnSvmConfig


def test_paper_preset_is_the_papers_settings():
    cfg = build_config(SvhnSvmConfig, PRESETS, "paper", [])
    assert (cfg.arch, cfg.width, cfg.batch_size, cfg.lr, cfg.beta1, cfg.beta2, cfg.epochs) == \
        ("svhn", 1.0, 100, 1e-4, 0.5, 0.999, 100.0)
    assert (cfg.data, cfg.unlabeled, cfg.n_labels, cfg.n_val) == ("svhn", "extra", 1000, 10000)
    assert (cfg.n_c, cfg.log_c_min, cfg.log_c_max, cfg.n_val_draws, cfg.n_test_draws) == \
        (50, -20.0, 20.0, 10, 100)
    assert cfg.svm_solver == "liblinear" and cfg.standardize is False
    assert cfg.feature_layers == "mu,bn4,bn5,bn6"



@pytest.mark.parametrize("key, paper_value", [("lr_decay_steps", 0), ("sigma_max", 0.0)])
def test_no_paper_preset_turns_on_a_demo_deviation(key, paper_value):
    """The learning-rate decay and the bound on σ are demo deviations: every
    experiment's ``paper`` preset keeps the released code's value."""
    import alibench.experiments  # noqa: F401  (registers them)
    from alibench.core import registry
    for exp in map(registry.get, registry.names()):
        cfg = exp.config_cls(**exp.presets.get("paper", {}))
        assert getattr(cfg, key, paper_value) == paper_value, exp.name

def test_overrides_are_typed():
    cfg = build_config(SvhnSvmConfig, PRESETS, "demo", ["width=0.5", "steps=7", "raw_pixels=no"])
    assert cfg.width == 0.5 and cfg.steps == 7 and cfg.raw_pixels is False


@pytest.mark.parametrize("items,fragment", [
    (["nosuchkey=1"], "unknown config key 'nosuchkey'"),
    (["width=wide"], "bad value for 'width'"),
    (["steps=1.5"], "bad value for 'steps'"),
    (["raw_pixels=maybe"], "bad value for 'raw_pixels'"),
    (["width"], "key=value"),
])
def test_bad_overrides_are_refused(items, fragment):
    with pytest.raises(UserError, match=fragment):
        parse_overrides(SvhnSvmConfig, items)


@pytest.mark.parametrize("items,fragment", [
    (["arch=mnist"], "unknown arch"),
    (["n_labels=1001"], "multiple of 10"),
    (["batch_size=0"], "batch_size must be positive"),
    (["svm_solver=magic"], "unknown svm_solver"),
    (["feature_layers=bn9"], "feature_layers"),
    (["d_reading=appendix"], "unknown d_reading .appendix.; valid: released, table"),
])
def test_invalid_values_are_refused(items, fragment):
    with pytest.raises(UserError, match=fragment):
        build_config(SvhnSvmConfig, PRESETS, "paper", items)


def test_unknown_preset_lists_the_valid_ones():
    with pytest.raises(UserError, match="valid presets: paper, fast, demo"):
        build_config(SvhnSvmConfig, PRESETS, "huge", [])
