"""Checkpoints: every module's and optimiser's state, the RNG states and the
step, written atomically so a kill never leaves a torn file, with a content
digest so that a damaged file is refused instead of silently resumed from."""

from __future__ import annotations

import hashlib
import io
import warnings
from pathlib import Path
from typing import Any

import torch

from .errors import UserError
from .files import atomic_write

FORMAT = 2


def rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def digest(obj: Any) -> str:
    """A hash of every tensor's bytes (and every other leaf) in a nested state."""
    h = hashlib.blake2b(digest_size=16)

    def walk(x: Any) -> None:
        if isinstance(x, torch.Tensor):
            t = x.detach().cpu().contiguous().reshape(-1)
            h.update(f"{x.dtype}{tuple(x.shape)}".encode())
            h.update(t.view(torch.uint8).numpy().data if t.numel() else b"")
        elif isinstance(x, dict):
            for k, v in x.items():
                h.update(repr(k).encode())
                walk(v)
        elif isinstance(x, (list, tuple)):
            h.update(f"{type(x).__name__}{len(x)}".encode())
            for v in x:
                walk(v)
        else:
            h.update(repr(x).encode())

    walk(obj)
    return h.hexdigest()


def nonfinite(objects: dict[str, Any]) -> list[str]:
    """Names of the objects whose state holds a NaN or inf (checked on device, one sync)."""
    flags = {}
    for name, obj in objects.items():
        tensors = [t for t in _tensors(obj.state_dict()) if t.is_floating_point()]
        if tensors:
            flags[name] = torch.stack([torch.isfinite(t).all() for t in tensors]).all()
    if not flags:
        return []
    ok = torch.stack([f.to(next(iter(flags.values())).device) for f in flags.values()]).tolist()
    return [name for name, good in zip(flags, ok) if not good]


def _tensors(x: Any):
    if isinstance(x, torch.Tensor):
        yield x
    elif isinstance(x, dict):
        for v in x.values():
            yield from _tensors(v)
    elif isinstance(x, (list, tuple)):
        for v in x:
            yield from _tensors(v)


def save(path: Path, step: int, objects: dict[str, Any], extra: dict | None = None) -> None:
    body = {"step": step, "rng": rng_state(), "extra": extra or {},
            "state": {name: obj.state_dict() for name, obj in objects.items()}}
    payload = {"format": FORMAT, **body, "digest": digest(body)}
    # Serialised in memory first: torch's zip writer turns a failed write (a full
    # disk) into a RuntimeError; a plain write of the bytes keeps the OSError.
    buf = io.BytesIO()
    torch.save(payload, buf)
    atomic_write(path, lambda f: f.write(buf.getbuffer()), mode="wb")


def read(path: Path, map_location: Any = "cpu") -> dict[str, Any]:
    """The checkpoint's payload, or a UserError saying what is wrong with the file."""
    hint = ("delete it to restart the run from step 0 (training only; the config is kept), "
            "or start a new run")
    try:
        # weights_only: a checkpoint is data; unpickling one must never run code.
        # torch warns about some damaged files before failing: the error below says it all.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise UserError(f"checkpoint {path} does not exist") from None
    except Exception as exc:  # torch raises RuntimeError, UnpicklingError, EOFError, ...
        raise UserError(f"checkpoint {path} is unreadable (truncated or corrupt: "
                        f"{type(exc).__name__}); {hint}") from exc
    keys = ("step", "rng", "extra", "state", "digest")
    if not isinstance(payload, dict) or any(k not in payload for k in keys):
        raise UserError(f"{path} is not an alibench checkpoint; {hint}")
    body = {k: payload[k] for k in ("step", "rng", "extra", "state")}
    if digest(body) != payload["digest"]:
        raise UserError(f"checkpoint {path} is corrupt (its content does not match its digest); {hint}")
    return payload


def load(path: Path, objects: dict[str, Any], map_location: Any = "cpu",
         restore_rng: bool = True) -> dict[str, Any]:
    """Restore ``objects`` in place (and the RNG states unless ``restore_rng`` is
    False: loading a model for use must not reseed its caller); returns the payload."""
    payload = read(path, map_location)
    missing = set(objects) - set(payload["state"])
    if missing:
        raise UserError(f"checkpoint {path} lacks {sorted(missing)}; was it written by another experiment?")
    for name, obj in objects.items():
        obj.load_state_dict(payload["state"][name])
    if restore_rng:
        set_rng_state(payload["rng"])
    return payload
