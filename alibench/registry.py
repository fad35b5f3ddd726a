"""Experiments by name: each maps to a typed config class, its named presets and
the function that runs one seed. The CLI looks names up here instead of
branching on them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .errors import UserError


@dataclass(frozen=True)
class Experiment:
    name: str
    summary: str
    config_cls: type
    presets: Mapping[str, Mapping[str, Any]]
    run: Callable[..., Any]                       # run(cfg, ctx) -> metric records
    check: Callable[[Any, Any], None] | None = None  # check(cfg, data): refuse bad input early
    default_preset: str = "paper"
    paper_dataset: str = ""                        # which paper table its numbers belong to
    # pictures(cfg, ctx, method): draw the run's figures; method None = rebuild it from the
    # run's checkpoint (the ``figures`` tool). None: the experiment draws no pictures.
    pictures: Callable[[Any, Any, Any], Any] | None = None


_EXPERIMENTS: dict[str, Experiment] = {}


def register(exp: Experiment) -> Experiment:
    if exp.name in _EXPERIMENTS:
        raise ValueError(f"experiment {exp.name!r} registered twice")
    if exp.default_preset not in exp.presets:
        raise ValueError(f"{exp.name}: default preset {exp.default_preset!r} missing")
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
