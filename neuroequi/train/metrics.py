"""Training metrics you can watch: one CSV row per optimiser step, TensorBoard / W&B when asked.

:class:`StepMetrics` collects each step's detached logs on the device and writes them every
``log_every`` steps (one all-reduce per metric per write, no device sync per step) as one row
per step to ``log.csv`` and, when the config asks for them, to TensorBoard
(``torch.utils.tensorboard``, needs the ``tensorboard`` package) and Weights & Biases (needs
``wandb``). Neither is imported, and nothing is sent anywhere, unless asked.
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor

from neuroequi.errors import ConfigError


class Sink(Protocol):
    """Something that takes one row of metrics per step."""

    def write(self, row: Mapping[str, float]) -> None: ...

    def close(self) -> None: ...


class CsvSink:
    """Append rows (dicts) to a CSV file, header from the first row's keys (kept on resume)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fields: list[str] | None = None
        if path.is_file() and path.stat().st_size:
            with path.open() as fh:
                self.fields = next(csv.reader(fh), None)

    def write(self, row: Mapping[str, float]) -> None:
        new = self.fields is None
        self.fields = self.fields or list(row)
        with self.path.open("a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.fields, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(row)

    def close(self) -> None:
        """Nothing to release (every write opens and closes the file)."""


class TensorBoardSink:
    """Scalars to ``torch.utils.tensorboard`` event files in ``log_dir`` (x-axis: the step)."""

    def __init__(self, log_dir: Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as err:
            raise ConfigError(
                "monitor.tensorboard: true needs the tensorboard package (pip install 'neuroequi[tensorboard]')"
            ) from err
        self.writer = SummaryWriter(str(log_dir))

    def write(self, row: Mapping[str, float]) -> None:
        step = int(row["step"])
        for key, value in row.items():
            if key not in ("step", "epoch"):
                self.writer.add_scalar(key, value, step)

    def close(self) -> None:
        self.writer.close()


class WandbSink:
    """Rows to a Weights & Biases run of ``project`` (offline mode when ``NEUROEQUI_OFFLINE=1``)."""

    def __init__(self, project: str, run_dir: Path, name: str, config: Mapping[str, Any]) -> None:
        try:
            import wandb
        except ImportError as err:
            raise ConfigError(
                f"monitor.wandb: {project!r} needs the wandb package (pip install 'neuroequi[wandb]')"
            ) from err
        mode = "offline" if os.environ.get("NEUROEQUI_OFFLINE") == "1" else None
        self.run = wandb.init(
            project=project, name=name, dir=str(run_dir), config=dict(config), mode=mode, resume="allow"
        )

    def write(self, row: Mapping[str, float]) -> None:
        self.run.log({k: v for k, v in row.items() if k != "step"}, step=int(row["step"]))

    def close(self) -> None:
        self.run.finish()


def open_sinks(run_dir: Path, tensorboard: bool, wandb: str | None, name: str, config: Mapping[str, Any]) -> list[Sink]:
    """``log.csv`` always; TensorBoard in ``run_dir/tensorboard`` and W&B when asked."""
    sinks: list[Sink] = [CsvSink(run_dir / "log.csv")]
    if tensorboard:
        sinks.append(TensorBoardSink(run_dir / "tensorboard"))
    if wandb:
        sinks.append(WandbSink(wandb, run_dir, name, config))
    return sinks


class StepMetrics:
    """Per-step metrics, buffered on the device and written every ``flush`` call.

    Args:
        sinks: where rows go (none on non-main ranks: they still take part in the all-reduce).
        reduce: mean over ranks of a ``(steps,)`` tensor (identity in one process).
        batch_size: global images per step (for ``images_per_s``).
    """

    def __init__(self, sinks: list[Sink], reduce: Callable[[Tensor], Tensor], batch_size: int) -> None:
        self.sinks, self.reduce, self.batch_size = sinks, reduce, batch_size
        self.pending: list[tuple[dict[str, float], dict[str, Tensor]]] = []
        self.last = time.perf_counter()

    def add(self, step: int, epoch: int, lr: float, logs: Mapping[str, Tensor]) -> None:
        """Record optimiser step ``step`` (1-based count of steps done) and its detached logs."""
        now = time.perf_counter()
        seconds, self.last = now - self.last, now
        info = {
            "step": step,
            "epoch": epoch,
            "lr": lr,
            "seconds": seconds,
            "images_per_s": self.batch_size / max(seconds, 1e-9),
        }
        self.pending.append((info, {k: v.detach().float().reshape(()) for k, v in logs.items()}))

    def flush(self) -> list[dict[str, float]]:
        """Reduce the pending steps' logs over ranks and write one row per step; returns the rows."""
        if not self.pending:
            return []
        keys = list(self.pending[0][1])
        stacked = {k: self.reduce(torch.stack([logs[k] for _, logs in self.pending])).cpu().tolist() for k in keys}
        rows = [{**info, **{k: stacked[k][i] for k in keys}} for i, (info, _) in enumerate(self.pending)]
        self.pending = []
        for row in rows:
            for sink in self.sinks:
                sink.write(row)
        return rows

    def close(self) -> None:
        """Close the sinks (call :meth:`flush` first to write pending steps: it is collective)."""
        for sink in self.sinks:
            sink.close()


__all__ = ["CsvSink", "Sink", "StepMetrics", "TensorBoardSink", "WandbSink", "open_sinks"]
