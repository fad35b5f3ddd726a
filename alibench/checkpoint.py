"""Checkpoints: every module's and optimiser's state, the RNG states and the
step, written atomically so a kill never leaves a torn file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .errors import UserError
from .fsutil import atomic_write


def rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save(path: Path, step: int, objects: dict[str, Any], extra: dict | None = None) -> None:
    payload = {"step": step, "rng": rng_state(), "extra": extra or {},
               "state": {name: obj.state_dict() for name, obj in objects.items()}}
    atomic_write(path, lambda f: torch.save(payload, f), mode="wb")


def load(path: Path, objects: dict[str, Any], map_location: Any = "cpu") -> dict[str, Any]:
    """Restore ``objects`` in place; returns the payload (step, extra)."""
    try:
        payload = torch.load(path, map_location=map_location, weights_only=False)
    except (OSError, RuntimeError, EOFError, ValueError) as exc:
        raise UserError(f"cannot read checkpoint {path} ({type(exc).__name__}); "
                        "the run cannot be resumed from it") from exc
    missing = set(objects) - set(payload["state"])
    if missing:
        raise UserError(f"checkpoint {path} lacks {sorted(missing)}; was it written by another experiment?")
    for name, obj in objects.items():
        obj.load_state_dict(payload["state"][name])
    set_rng_state(payload["rng"])
    return payload
