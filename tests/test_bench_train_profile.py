"""tests/benchmarks/bench_train.py and bench_profile.py helpers: interleaved timing, speed ratios, the
Figure-1 trainer they time, and the op-level profile's operator kinds (smoke preset, toy sizes)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

BENCHMARKS = Path(__file__).parent / "benchmarks"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_interleaved_alternates_the_steps_and_times_only_after_warmup():
    bench = load("bench_train")
    calls = []
    steps = {name: (lambda name=name: calls.append(name)) for name in ("a", "b", "c")}
    times = bench.interleaved(steps, timed=3, warmup=2)
    assert calls == ["a", "b", "c"] * 5  # round by round, never a block of one variant
    assert {name: len(t) for name, t in times.items()} == {"a": 3, "b": 3, "c": 3}
    assert all(s >= 0 for t in times.values() for s in t)


def test_ratio_line_is_reference_time_over_time_step_by_step():
    bench = load("bench_train")
    times = {"ref": [1.0, 2.0, 4.0], "fast": [0.5, 1.0, 1.0]}  # per-step ratios 2, 2, 4
    assert bench.ratio_line(times, "fast", "ref") == "speed vs ref: median 2.000x (range 2.000-4.000)"
    assert "median 1.000x (range 1.000-1.000)" in bench.ratio_line(times, "ref", "ref")


@pytest.mark.parametrize("native", [True, False])
def test_figure1_trainer_resolves_precision_auto_as_train_does(monkeypatch, native):
    """A Trainer built on ``precision: auto`` resolves it itself (unresolved it autocast to fp16 on the CPU, 20x slower)."""
    import neuroequi.hardware as hardware

    bench = load("bench_train")
    monkeypatch.setattr(hardware, "native_bf16", lambda device, flags=None: native)
    trainer = bench.figure1_trainer("smoke", precision="auto")
    assert trainer.config.precision == ("bf16" if native else "fp32")
    assert trainer.config.model.width == 0.0625 and trainer.config.batch_size == 64  # the smoke preset's


def test_op_kind_follows_enclosing_ranges_then_the_operator_name():
    profile = load("bench_profile")
    data = SimpleNamespace(name="enumerate(DataLoader)#_SingleProcessDataLoaderIter.__next__", cpu_parent=None)
    optim = SimpleNamespace(name="Optimizer.step#LARS.step", cpu_parent=None)
    assert profile.op_kind(SimpleNamespace(name="aten::mul", cpu_parent=data)) == "data: image gather + augmentation"
    nested = SimpleNamespace(name="aten::copy_", cpu_parent=SimpleNamespace(name="aten::to", cpu_parent=optim))
    assert profile.op_kind(nested) == "optimiser step"
    assert (
        profile.op_kind(SimpleNamespace(name="aten::convolution_backward", cpu_parent=None)) == "convolution backward"
    )
    assert profile.op_kind(SimpleNamespace(name="aten::sum", cpu_parent=None)).startswith("other operators")


def test_op_times_of_a_smoke_step_put_every_operator_in_one_kind(tmp_path):
    profile = load("bench_profile")
    from figures.figure1 import pipeline
    from figures.figure1.config import preset

    kinds, ops, wall = profile.op_times(pipeline.train_config(preset("smoke"), 0.5, 0, tmp_path), steps=1)
    assert wall > 0
    assert sum(kinds.values()) == pytest.approx(sum(ops.values()))  # each operator's self time counted once
    for kind in ("convolution forward", "convolution backward", "batch norm backward", "optimiser step"):
        assert kinds.get(kind, 0.0) > 0.0, kind
    lines = profile.op_report(kinds, ops, wall, "smoke")
    assert sum(float(line.rsplit(maxsplit=1)[1].rstrip("%")) for line in lines[1 : 1 + len(kinds)]) == pytest.approx(
        100.0, abs=0.1 * len(kinds)
    )
