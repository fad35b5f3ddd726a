"""The value checks every config shares, each written once. They read keys off
any config object and raise a one-line ``UserError`` naming the key, the rule
and the value (NaN fails every rule, since no comparison with it is true)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from .errors import UserError


def positive(cfg: Any, *keys: str) -> None:
    for key in keys:
        value = getattr(cfg, key)
        if not value > 0:
            raise UserError(f"{key} must be positive, got {value}")


def non_negative(cfg: Any, *keys: str, note: str = "") -> None:
    """``note`` says what 0 means, e.g. " (0 = off)"."""
    for key in keys:
        value = getattr(cfg, key)
        if not value >= 0:
            raise UserError(f"{key} must be >= 0{note}, got {value}")


def within(cfg: Any, key: str, lo: float, hi: float, *, open_hi: bool = False) -> None:
    value = getattr(cfg, key)
    ok = lo <= value < hi if open_hi else lo <= value <= hi
    if not ok:
        raise UserError(f"{key} must lie in [{lo:g}, {hi:g}{')' if open_hi else ']'}, got {value}")


def one_of(key: str, value: str, choices: Iterable[str]) -> None:
    choices = list(choices)
    if value not in choices:
        raise UserError(f"unknown {key} '{value}'; valid: {', '.join(choices)}")


def schedule(cfg: Any) -> None:
    """The keys every trainer's config has: width, batch_size, lr, beta1, beta2,
    epochs, steps, log_every, checkpoint_every."""
    positive(cfg, "width", "batch_size", "lr", "log_every", "checkpoint_every")
    if not (cfg.steps >= 0 and cfg.epochs >= 0) or (cfg.steps == 0 and cfg.epochs == 0):
        raise UserError("set a positive number of steps or epochs")
    if not (0 <= cfg.beta1 < 1 and 0 <= cfg.beta2 < 1):
        raise UserError("beta1 and beta2 must lie in [0, 1)")


# ---- The rule of every numeric config key, checked on every config before its
# own validate() (core.config.check_fields). A key is ruled by name here, or by
# its dataclass field's metadata {"rule": NAME}; registering an experiment whose
# config has a number without a rule is refused, so a new key cannot be left
# unchecked. Experiment-specific limits (n_val > 0 for the SVM track, labels that
# fit the data, …) stay in each config's validate() and experiment's check().

MAX_INT = 2**31 - 1     # beyond any count or size a run can use (and int32 indices)
MAX_WIDTH = 8.0         # 8× the paper's channels (64× its weights): more fits no GPU


@dataclass(frozen=True)
class Rule:
    text: str                              # what the value must be, for the message
    ok: Callable[[float], bool]
    bad_examples: tuple[str, ...]          # values (as typed on --set) the rule refuses


RULES = {
    "positive": Rule("positive", lambda v: v > 0, ("0", "-1")),
    "non_negative": Rule(">= 0", lambda v: v >= 0, ("-1",)),
    "probability": Rule("in [0, 1)", lambda v: 0 <= v < 1, ("1", "-0.1")),
    "fraction": Rule("in [0, 1]", lambda v: 0 <= v <= 1, ("1.5", "-0.1")),
    "width": Rule(f"in (0, {MAX_WIDTH:g}]", lambda v: 0 < v <= MAX_WIDTH, ("0", "-0.5", "1000")),
    "finite": Rule("a finite number", lambda v: True, ()),
}

FIELD_RULES = {
    # sizes and counts (at least 1), and the learning rate
    **dict.fromkeys(("batch_size", "eval_batch_size", "init_batch", "log_every", "checkpoint_every",
                     "grid_rows", "grid_cols", "interp_pairs", "interp_steps", "n_c", "n_labels",
                     "n_test_draws", "svm_max_iter", "noise_dim", "nz", "lr",
                     # the toy mixture's sizes, scales and search ranges
                     "n_train", "n_held", "n_samples", "mixture_std", "vae_x_std", "init_std",
                     "init_std_min", "init_std_max", "lr_min", "lr_max", "gen_hidden",
                     "disc_hidden", "maxout_pieces", "d_lr_scale"), "positive"),
    # 0 means "off", "derived" or "the default" for these
    **dict.fromkeys(("steps", "epochs", "latent_dim", "embed_dim", "n_val", "n_val_draws",
                     "eval_every", "sample_every", "weight_decay", "unlabeled_weight",
                     "fidelity_samples", "inference_epochs", "inference_steps", "steps_after",
                     "steps_vae", "data_seed", "keep_checkpoints_every", "lr_decay_steps",
                     "sigma_max"), "non_negative"),
    **dict.fromkeys(("beta1", "beta2", "beta1_min", "beta1_max"), "probability"),
    "decay_fraction": "fraction", "dropout_scale": "fraction",
    "width": "width",
    "log_c_min": "finite", "log_c_max": "finite",   # exponents of C: any finite value
}


def rule_of(field: Any) -> Rule | None:
    """The rule of a dataclass field (metadata first, then the key's name)."""
    name = field.metadata.get("rule") or FIELD_RULES.get(field.name)
    return RULES[name] if name else None


def number(key: str, value: Any, rule: Rule | None) -> None:
    """A numeric config value: finite, an int within MAX_INT, and within its rule."""
    if isinstance(value, float) and not math.isfinite(value):
        raise UserError(f"{key} must be a finite number, got {value}")
    if isinstance(value, int) and abs(value) > MAX_INT:
        raise UserError(f"{key}={value} is out of range (at most {MAX_INT})")
    if rule is not None and not rule.ok(value):
        raise UserError(f"{key} must be {rule.text}, got {value}")
