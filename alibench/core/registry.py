"""Experiments by name: each maps to a typed config class, its named presets and
the function that runs one seed. The CLI looks names up here instead of
branching on them; every registration is checked when it is made."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .config import check_preset_values, unruled_fields
from .errors import UserError


@dataclass(frozen=True)
class Experiment:
    name: str
    summary: str
    config_cls: type
    presets: Mapping[str, Mapping[str, Any]]
    execute: Callable[..., Any]                    # execute(cfg, ctx) -> metric records of one seed
    methods: tuple[str, ...] = ()                  # the `method` values its records carry
    check: Callable[[Any, Any], None] | None = None  # check(cfg, data): refuse bad input early
    default_preset: str = "paper"
    # The paper table its numbers belong to ("svhn", "cifar10", …; "" none): the one
    # home of that fact (``reporting.paper.paper_table`` adds the dataset's part).
    paper_table: str = ""
    # pictures(cfg, ctx, method): draw the run's figures; method None = rebuild it from the
    # run's checkpoint (the ``figures`` tool). None: the experiment draws no pictures.
    pictures: Callable[[Any, Any, Any], Any] | None = None
    # model(cfg, dataset_summary, device): the untrained method of a saved run, built from
    # its config and run.json's dataset summary alone (``load_run``, ``export``). None: the
    # experiment's runs cannot be loaded that way.
    model: Callable[[Any, Mapping[str, Any], Any], Any] | None = None
    # make_data(cfg): the data of an experiment that generates its own (the toy
    # mixture) instead of loading an image set through ``data.load_dataset``.
    make_data: Callable[[Any], Any] | None = None
    # report(records): the text a launch prints at its end (default: the error-rate table).
    report: Callable[[list[dict]], str] | None = None


_EXPERIMENTS: dict[str, Experiment] = {}


def register(exp: Experiment) -> Experiment:
    """Add ``exp``, refusing a registration that could not work (a programming error)."""
    if exp.name in _EXPERIMENTS:
        raise ValueError(f"experiment {exp.name!r} registered twice")
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", exp.name):
        raise ValueError(f"experiment name {exp.name!r} is not lower-case words joined by '-'")
    if exp.default_preset not in exp.presets:
        raise ValueError(f"{exp.name}: default preset {exp.default_preset!r} missing")
    if not callable(getattr(exp.config_cls, "validate", None)):
        raise ValueError(f"{exp.name}: config class {exp.config_cls.__name__} has no validate()")
    unruled = unruled_fields(exp.config_cls)
    if unruled:
        raise ValueError(f"{exp.name}: numeric config keys without a rule in core/checks.py "
                         f"(FIELD_RULES or field metadata): {', '.join(unruled)}")
    for preset, values in exp.presets.items():
        try:
            check_preset_values(exp.config_cls, values)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{exp.name}: preset {preset!r}: {exc}") from None
    _EXPERIMENTS[exp.name] = exp
    return exp


def get(name: str) -> Experiment:
    if name not in _EXPERIMENTS:
        raise UserError(f"unknown experiment '{name}'; valid experiments: {', '.join(names())}")
    return _EXPERIMENTS[name]


def names() -> list[str]:
    return sorted(_EXPERIMENTS)


def all_experiments() -> list[Experiment]:
    return [_EXPERIMENTS[n] for n in names()]


def implemented_methods() -> set[str]:
    """Every `method` some registered experiment records."""
    return {m for exp in _EXPERIMENTS.values() for m in exp.methods}
