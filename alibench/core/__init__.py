"""The bottom layer: errors, typed configs, the experiment registry, run
directories, checkpoints, atomic file writes, signal handling, hardware.
It imports nothing from the rest of the package."""

__version__ = "0.1.0"
