"""The value checks every config shares, each written once. They read keys off
any config object and raise a one-line ``UserError`` naming the key, the rule
and the value (NaN fails every rule, since no comparison with it is true)."""

from __future__ import annotations

from typing import Any, Iterable

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
