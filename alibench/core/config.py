"""Typed experiment configs: dataclass defaults are the paper's settings, presets
are named override sets, and ``--set key=value`` overrides reject unknown keys
and values of the wrong type."""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from . import checks
from .errors import UserError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def field_types(cls: type) -> dict[str, type]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def parse_value(key: str, text: str, typ: type) -> Any:
    """Convert ``text`` to ``typ`` or raise a UserError naming the key."""
    try:
        if typ is bool:
            low = text.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError
        if typ is int:
            return int(text)
        if typ is float:
            return float(text)
        if typ is str:
            return text
    except ValueError:
        pass
    else:
        raise UserError(f"config key '{key}' has an unsupported type {typ!r}")
    raise UserError(f"bad value for '{key}': {text!r} is not a {typ.__name__}")


def parse_overrides(cls: type, items: list[str]) -> dict[str, Any]:
    """Parse ``key=value`` strings against the fields of ``cls``."""
    types = field_types(cls)
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"--set expects key=value, got {item!r}")
        if key not in types:
            raise UserError(
                f"unknown config key '{key}'; valid keys: {', '.join(sorted(types))}")
        out[key] = parse_value(key, text, types[key])
    return out


def setting_overrides(overrides: list[str], picks: tuple[str, ...]) -> list[str]:
    """The --set items that change how a method is trained, without ``picks``: the
    keys that only choose what a run trains or reports (svhn-ssl's ``method=``,
    toy-mixture's ``methods=``), so runs that differ in them group into one table."""
    return [o for o in overrides if not o.startswith(picks)]


def numeric_fields(cls: type) -> list[dataclasses.Field]:
    """The int and float keys of a config class (bools are not numbers here)."""
    types = field_types(cls)
    return [f for f in dataclasses.fields(cls) if types[f.name] in (int, float)]


def unruled_fields(cls: type) -> list[str]:
    """Numeric keys with no rule in ``checks`` (a registration refuses them)."""
    return [f.name for f in numeric_fields(cls) if checks.rule_of(f) is None]


def check_fields(cfg: Any) -> None:
    """Every numeric key against its rule (finite, in range), every other key
    against its type; then the config's own ``validate()``."""
    types = field_types(type(cfg))
    for f in dataclasses.fields(cfg):
        value, want = getattr(cfg, f.name), types[f.name]
        if want in (int, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise UserError(f"{f.name} must be a number, got {value!r}")
            checks.number(f.name, value, checks.rule_of(f))
        elif not isinstance(value, want):
            raise UserError(f"{f.name} must be a {want.__name__}, got {value!r}")
    validate = getattr(cfg, "validate", None)
    if validate is not None:
        validate()


def check_preset_values(cls: type, values: Mapping[str, Any]) -> None:
    types = field_types(cls)
    for key, value in values.items():
        if key not in types:
            raise KeyError(f"preset sets unknown key {key!r} on {cls.__name__}")
        want = types[key]
        ok = isinstance(value, want) or (want is float and isinstance(value, int))
        if not ok or (want is int and isinstance(value, bool)):
            raise TypeError(f"preset value {key}={value!r} is not a {want.__name__}")


@dataclass(frozen=True)
class ConfigFile:
    """The config keys of a ``--config`` file; a run's run.json also names its
    experiment and preset."""
    path: Path
    values: Mapping[str, Any] = field(default_factory=dict)
    experiment: str | None = None
    preset: str | None = None


def read_config_file(path: Path) -> ConfigFile:
    """A JSON or YAML mapping of config keys (.yaml/.yml: YAML, else JSON), or a
    run.json, whose "config" is taken. Only reading: the keys are checked against
    an experiment's config by ``check_file_values``."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise UserError(f"--config {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"--config {path} is unreadable ({exc})") from exc
    data = _parse(path, text)
    if isinstance(data, dict) and isinstance(data.get("config"), dict) and "experiment" in data:
        return ConfigFile(path, data["config"], str(data["experiment"]),
                          data.get("preset") if isinstance(data.get("preset"), str) else None)
    if not isinstance(data, dict):
        raise UserError(f"--config {path} must hold a mapping of config keys to values, "
                        f"got {type(data).__name__}")
    return ConfigFile(path, data)


def _parse(path: Path, text: str) -> Any:
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise UserError("--config: reading YAML needs pyyaml (pip install pyyaml), "
                            "or give the keys as JSON") from None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            where = getattr(exc, "problem_mark", None)
            line = f" at line {where.line + 1}" if where is not None else ""
            raise UserError(f"--config {path} is not valid YAML{line}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UserError(f"--config {path} is not valid JSON ({exc}); YAML files must end "
                        ".yaml or .yml") from None


def check_file_values(cls: type, values: Mapping[str, Any], source: str) -> dict[str, Any]:
    """``values`` from a config file, refused as ``--set`` refuses: unknown keys
    and values of the wrong type (an int is a float; a bool is no number)."""
    types = field_types(cls)
    for key, value in values.items():
        if key not in types:
            raise UserError(f"{source}: unknown config key '{key}'; valid keys: "
                            f"{', '.join(sorted(types))}")
        want = types[key]
        ok = isinstance(value, want) or (want is float and isinstance(value, int))
        if not ok or (want in (int, float) and isinstance(value, bool)):
            hint = ("; YAML reads 1e-4 as text: write 1.0e-4" if want is float and isinstance(value, str)
                    else "")
            raise UserError(f"{source}: bad value for '{key}': {value!r} is not a {want.__name__}{hint}")
    return {k: float(v) if types[k] is float else v for k, v in values.items()}


def build_config(cls: type, presets: Mapping[str, Mapping[str, Any]], preset: str,
                 overrides: list[str], file: ConfigFile | None = None) -> Any:
    """Defaults (the paper) <- preset <- a --config file <- --set overrides, then
    every value checked (``check_fields``: the field rules, then the config's ``validate()``)."""
    if preset not in presets:
        raise UserError(f"unknown preset '{preset}'; valid presets: {', '.join(presets)}")
    values = dict(presets[preset])
    check_preset_values(cls, values)
    if file is not None:
        values.update(check_file_values(cls, file.values, f"--config {file.path}"))
    values.update(parse_overrides(cls, overrides))
    cfg = cls(**values)
    check_fields(cfg)
    return cfg


def to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def from_dict(cls: type, data: Mapping[str, Any]) -> Any:
    """Rebuild a config saved in a run directory (for --resume), checked as a new one."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise UserError(f"saved config has keys this version does not know: {sorted(unknown)}")
    cfg = cls(**data)
    check_fields(cfg)
    return cfg
