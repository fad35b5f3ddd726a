"""Capturing a whole training step as a CUDA graph (the ``cuda_graphs`` switch)."""

from __future__ import annotations

import warnings
from typing import Any

import torch


class GraphedStep:
    """A method whose ``train_step`` is captured once as a CUDA graph and replayed.

    The first ``warmup`` steps run eagerly on a side stream (they are real
    training steps: cuDNN picks algorithms, torch.compile compiles, Adam makes
    its state); the next step is captured and every later one is a copy of the
    batch into the graph's static input plus one replay. Requirements, which
    ALI meets: fixed batch shape (the sampler drops partial batches), no host
    sync inside the step, an Adam built with ``capturable=True``, and no
    Python-side change between steps (a learning-rate schedule would need a
    tensor learning rate). If capture fails the step stays eager, with a warning.
    """

    def __init__(self, method: Any, warmup: int = 3) -> None:
        self.method, self.warmup = method, warmup
        self.calls = 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self.failed = False
        self.side: torch.cuda.Stream | None = None
        self.static_batch: torch.Tensor | None = None
        self.static_out: torch.Tensor | None = None
        self.names: list[str] = []

    def state(self) -> dict[str, Any]:
        return self.method.state()

    def train_step(self, batch: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        self.calls += 1
        if self.failed:
            return self.method.train_step(batch, step)
        if self.static_batch is None:
            self.static_batch = batch.clone()
        self.static_batch.copy_(batch)
        if self.graph is None:
            if self.calls <= self.warmup:
                return self._side_stream_step(step)
            if not self._capture(step):
                return self.method.train_step(self.static_batch, step)
        self.graph.replay()
        out = self.static_out.clone()  # the loop may keep them past the next replay
        return dict(zip(self.names, out.unbind()))

    def _side_stream_step(self, step: int) -> dict[str, torch.Tensor]:
        self.side = self.side or torch.cuda.Stream()
        side = self.side
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            logs = self.method.train_step(self.static_batch, step)
        torch.cuda.current_stream().wait_stream(side)
        return logs

    def _capture(self, step: int) -> bool:
        """Record one step (the capture itself does not run it); True on success."""
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                logs = self.method.train_step(self.static_batch, step)
                self.names = list(logs)
                self.static_out = torch.stack([logs[k].float() for k in self.names])
        except Exception as exc:  # noqa: BLE001 - any capture failure means: stay eager
            self.failed = True
            warnings.warn(f"CUDA graph capture failed ({type(exc).__name__}: {exc}); "
                          "training continues without CUDA graphs", RuntimeWarning, stacklevel=2)
            return False
        self.graph = graph
        return True
