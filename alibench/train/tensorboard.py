"""An optional TensorBoard mirror of a run (``--set tensorboard=true``; the
``tensorboard`` extra): every train_log.jsonl record's numbers (losses, D's
accuracy, the encoder's σ where a method logs it, steps per second) as
scalars, and the fixed-noise sample grids as images, in ``RUN/tensorboard/``.
train_log.jsonl stays the source of truth; the mirror only copies it, writes
nothing over the network and is never required."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import UserError

DIR = "tensorboard"
SKIP = {"step"}


def check_available() -> None:
    if importlib.util.find_spec("tensorboard") is None:
        raise UserError("tensorboard=true needs the tensorboard package: "
                        "pip install 'alibench[tensorboard]' (or drop --set tensorboard=true)")


class TensorBoardMirror:
    def __init__(self, run_path: Path) -> None:
        check_available()
        from torch.utils.tensorboard import SummaryWriter
        self.path = Path(run_path) / DIR
        self.writer = SummaryWriter(log_dir=str(self.path))

    def scalars(self, step: int, record: dict[str, Any]) -> None:
        """One train_log record: each number under its own name."""
        for key, value in record.items():
            if key not in SKIP and isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(key, float(value), step)
        self.writer.flush()

    def image(self, tag: str, step: int, grid: np.ndarray) -> None:
        """A uint8 H×W×3 picture (a sample grid)."""
        self.writer.add_image(tag, grid, step, dataformats="HWC")
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
