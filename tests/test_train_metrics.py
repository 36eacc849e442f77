"""Training metrics: one CSV row per step always; TensorBoard / W&B only when asked."""

from __future__ import annotations

import csv
import sys
import types
from pathlib import Path

import pytest
import torch

import neuroequi  # noqa: F401
from neuroequi.errors import ConfigError
from neuroequi.train import config_from_dict, train
from neuroequi.train.metrics import (
    CsvSink,
    StepMetrics,
    TensorBoardSink,
    WandbSink,
    open_sinks,
)


class ListSink:
    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.closed = False

    def write(self, row: dict) -> None:
        self.rows.append(dict(row))

    def close(self) -> None:
        self.closed = True


def test_step_metrics_write_one_row_per_step_reduced_over_ranks() -> None:
    sink, reduced = ListSink(), []

    def reduce(x: torch.Tensor) -> torch.Tensor:  # stands in for the mean over two ranks
        reduced.append(x.shape)
        return x * 0.5

    metrics = StepMetrics([sink], reduce, batch_size=64)
    for step in (1, 2, 3):
        metrics.add(step, 0, 0.1 * step, {"loss": torch.tensor(float(step)), "loss_inv": torch.tensor(2.0 * step)})
    assert sink.rows == []  # nothing is written (no device sync) until a flush
    rows = metrics.flush()
    assert [r["step"] for r in rows] == [1, 2, 3] and sink.rows == rows
    assert [r["loss"] for r in rows] == [0.5, 1.0, 1.5] and [r["loss_inv"] for r in rows] == [1.0, 2.0, 3.0]
    assert reduced == [torch.Size([3]), torch.Size([3])]  # one reduction per metric per flush
    assert all(r["images_per_s"] > 0 and r["lr"] == pytest.approx(0.1 * r["step"]) for r in rows)
    assert metrics.flush() == []
    metrics.close()
    assert sink.closed


def test_csv_sink_keeps_the_header_of_an_existing_log(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    CsvSink(path).write({"step": 1, "loss": 2.0})
    CsvSink(path).write({"step": 2, "loss": 1.0, "extra": 5.0})
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    assert rows == [{"step": "1", "loss": "2.0"}, {"step": "2", "loss": "1.0"}]


def test_optional_loggers_are_off_by_default_and_clear_when_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert [type(s) for s in open_sinks(tmp_path, False, None, "run", {})] == [CsvSink]
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if tensorboard were not installed
    with pytest.raises(ConfigError, match="monitor.tensorboard: true needs the tensorboard package"):
        TensorBoardSink(tmp_path)
    monkeypatch.setitem(sys.modules, "wandb", None)
    with pytest.raises(ConfigError, match="monitor.wandb: 'proj' needs the wandb package"):
        WandbSink("proj", tmp_path, "run", {})


def _fake_tensorboard(events: list) -> types.ModuleType:
    module = types.ModuleType("torch.utils.tensorboard")

    class SummaryWriter:
        def __init__(self, log_dir: str) -> None:
            events.append(("open", log_dir))

        def add_scalar(self, key: str, value: float, step: int) -> None:
            events.append((key, value, step))

        def close(self) -> None:
            events.append(("close",))

    module.SummaryWriter = SummaryWriter
    return module


def _fake_wandb(calls: list) -> types.ModuleType:
    module = types.ModuleType("wandb")

    class Run:
        def log(self, values: dict, step: int) -> None:
            calls.append(("log", step, values))

        def finish(self) -> None:
            calls.append(("finish",))

    def init(**kwargs: object) -> Run:
        calls.append(("init", kwargs))
        return Run()

    module.init = init
    return module


def test_tiny_run_logs_every_step_to_csv_tensorboard_and_wandb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list = []
    calls: list = []
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", _fake_tensorboard(events))
    monkeypatch.setitem(sys.modules, "wandb", _fake_wandb(calls))
    monkeypatch.setenv("NEUROEQUI_OFFLINE", "1")
    values = {  # a few-second CIFAR-10 run: 256 images, width 1/16, 16 px views, 8 steps per epoch
        "name": "tiny",
        "output_dir": str(tmp_path),
        "epochs": 1,
        "max_steps": 5,
        "batch_size": 32,
        "device": "cpu",
        "threads": 1,
        "data": {"dataset": "cifar10", "subset": 256, "size": 16, "cache_dir": str(tmp_path / "cache")},
        "model": {"arch": "resnet18_cifar", "width": 0.0625},
        "method": {"name": "barlow_twins", "options": {"projector": [64, 64]}, "equivariance": "tessl", "lam": 0.2},
        "monitor": {"knn": False, "progress": False, "log_every": 3, "tensorboard": True, "wandb": "neuroequi-test"},
    }
    train(config_from_dict(values))
    with (tmp_path / "tiny" / "log.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4, 5]  # one row per step although written every 3
    assert {"loss", "loss_inv", "loss_equi", "lr", "seconds", "images_per_s"} <= set(rows[0])
    losses = [(e[1], e[2]) for e in events if e[0] == "loss"]
    assert losses == [(pytest.approx(float(r["loss"])), int(r["step"])) for r in rows]
    assert events[0] == ("open", str(tmp_path / "tiny" / "tensorboard")) and events[-1] == ("close",)
    assert calls[0][0] == "init" and calls[0][1]["project"] == "neuroequi-test" and calls[0][1]["mode"] == "offline"
    assert [c[1] for c in calls if c[0] == "log"] == [1, 2, 3, 4, 5] and calls[-1] == ("finish",)
