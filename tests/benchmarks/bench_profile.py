"""Where a Figure-1 job spends its time: one training job and one evaluation job of a preset, profiled by stage.

Runs, in this process and on the preset's threads (one per job), the (λ, seed) training job
(:func:`neuroequi.train.train` on :func:`figures.figure1.pipeline.train_config`, ``--steps`` of
its steps) and then the evaluation job of the model it wrote (:func:`figures.figure1.pipeline.evaluate`:
responses, every measure, the bootstrap replicates, every local benchmark), timing each stage with
wrappers around the functions that do it. A stage's time is *exclusive* (a stage called inside
another is not counted twice); ``other`` is the job's wall time no stage covers (Python glue, the
loop itself). Shares (fractions of the job's wall time) survive a loaded machine better than seconds.

    python tests/benchmarks/bench_profile.py                 # offline preset, 40 training steps
    python tests/benchmarks/bench_profile.py --steps 0       # the whole epoch (195 steps)
    python tests/benchmarks/bench_profile.py --preset smoke  # toy sizes (the test suite)
    python tests/benchmarks/bench_profile.py --ops 5         # op-level profile of 5 training steps

``--ops N`` profiles instead ``N`` steps of the training job (after two untimed ones) with
:mod:`torch.profiler` and prints the self CPU time per kind of operator (convolution and batch
norm forward / backward, ReLU, matrix products of the heads and the loss, casts and copies, the
optimiser step, the batch gather and augmentation) and the operators that take the most.

Real CIFAR-10 images and recordings (NEUROEQUI_DATA). ``--device cuda`` trains and evaluates on the GPU.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402

#: (stage, "module:attribute" to wrap); a class method as "module:Class.method".
TRAIN_STAGES = (
    ("setup: decoded CIFAR-10 (cache read or decode)", "neuroequi.train.loop:cifar10_tensor"),
    ("setup: model, optimiser", "neuroequi.train.loop:build_model"),
    ("data: image gather", "neuroequi.train.data:TensorImages.load"),
    ("data: augmentation (sample + apply)", "neuroequi.train.data:ViewMaker.__call__"),
    ("forward (method + probe)", "neuroequi.train.monitor:ProbedMethod.forward"),
    ("backward", "torch:Tensor.backward"),
    ("optimiser step", "neuroequi.train.optim:LARS.step"),
    ("monitor: kNN / probe test", "neuroequi.train.loop:Trainer.evaluate"),
    ("checkpoint writes", "neuroequi.train.loop:Trainer.save"),
    ("metrics / logs", "neuroequi.train.metrics:StepMetrics.flush"),
)
EVAL_STAGES = (
    ("model loads", "model_zoo:load"),
    ("model loads", "analyses.neural.scoring:load"),
    ("analysis images", "analyses.pipeline:cifar10_subset"),
    ("responses: augmentation (views)", "neuroequi.augment.policy:Policy.apply"),
    ("responses: network forward", "analyses.responses:layer_activations"),
    ("responses: NetCDF writes", "analyses.responses:save_responses"),
    ("measure: shared variability", "analyses.pipeline:shared_variability"),
    ("measure: content/augmentation factorization", "analyses.pipeline:content_augmentation_factorization"),
    ("measure: crop/photometric factorization", "analyses.pipeline:crop_photometric_factorization"),
    ("measure: augmentation decoding", "analyses.pipeline:augmentation_decoding"),
    ("measure: bootstrap intervals", "analyses.measures:ImageMeasure.row"),
    ("measure: bootstrap intervals", "analyses.measures:DecodingResult.rows"),
    ("measure files (image_measures, decoding)", "analyses.pipeline:save_image_measures"),
    ("measure files (image_measures, decoding)", "analyses.pipeline:save_decoding"),
    ("replicates (image bootstrap)", "figures.figure1.seeds:model_replicates"),
)


class Stages:
    """Exclusive wall time per stage, per thread (a stage inside another is charged to the inner one)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.local = threading.local()

    def wrap(self, stage: str | Callable[..., str], fn: Callable) -> Callable:
        def timed(*args, **kwargs):
            name = stage(*args, **kwargs) if callable(stage) else stage
            if threading.current_thread() is not threading.main_thread():
                name = f"{name} [background thread, overlaps]"
            stack = self.local.__dict__.setdefault("stack", [])
            stack.append(0.0)
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                inclusive = time.perf_counter() - start
                children = stack.pop()
                self.seconds[name] += inclusive - children
                self.calls[name] += 1
                if stack:
                    stack[-1] += inclusive

        timed.__wrapped__ = fn
        return timed

    @contextmanager
    def patched(self, targets: tuple[tuple[str | Callable[..., str], str], ...]) -> Iterator[None]:
        undo = []
        for stage, target in targets:
            module_name, attr = target.split(":")
            owner = importlib.import_module(module_name)
            *path, name = attr.split(".")
            for part in path:
                owner = getattr(owner, part)
            original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
            setattr(owner, name, self.wrap(stage, original))
            undo.append((owner, name, original))
        try:
            yield
        finally:
            for owner, name, original in reversed(undo):
                setattr(owner, name, original)

    def report(self, title: str, wall: float) -> list[str]:
        lines = [f"[{title}] wall {wall:.1f} s; exclusive time per stage (share of the wall time)"]
        main = {k: v for k, v in self.seconds.items() if "background" not in k}
        for name, sec in sorted(main.items(), key=lambda kv: -kv[1]):
            lines.append(f"  {name:<52} {sec:8.2f} s  {sec / wall:6.1%}  ({self.calls[name]} calls)")
        other = wall - sum(main.values())
        lines.append(f"  {'other (glue, loop, imports)':<52} {other:8.2f} s  {other / wall:6.1%}")
        for name, sec in sorted(self.seconds.items()):
            if "background" in name:
                lines.append(f"  {name:<52} {sec:8.2f} s  {sec / wall:6.1%}  ({self.calls[name]} calls)")
        return lines


#: Kind of each operator of a training step, by profiler event name (self CPU time).
OP_KINDS = {
    "aten::mkldnn_convolution": "convolution forward",
    "aten::convolution_backward": "convolution backward",
    "aten::native_batch_norm": "batch norm forward",
    "aten::native_batch_norm_backward": "batch norm backward",
    "aten::clamp_min_": "ReLU forward / backward",
    "aten::threshold_backward": "ReLU forward / backward",
    "aten::mm": "matrix products (heads, loss)",
    "aten::addmm": "matrix products (heads, loss)",
    "aten::copy_": "casts and copies",
    "aten::_to_copy": "casts and copies",
    "aten::clone": "casts and copies",
}
#: Profiler ranges whose whole subtree is one kind (name prefix -> kind).
RANGE_KINDS = (
    ("enumerate(DataLoader)", "data: image gather + augmentation"),
    ("Optimizer.", "optimiser step"),
)


def op_kind(event) -> str:  # noqa: ANN001 (torch.autograd.profiler_util.FunctionEvent)
    """The kind of a profiler event: that of an enclosing range of :data:`RANGE_KINDS`, else of its name."""
    parent = event
    while parent is not None:
        for prefix, kind in RANGE_KINDS:
            if parent.name.startswith(prefix):
                return kind
        parent = parent.cpu_parent
    return OP_KINDS.get(event.name, "other operators (elementwise, reductions, indexing)")


def op_times(train_cfg, steps: int) -> tuple[dict[str, float], dict[str, float], float]:  # noqa: ANN001
    """(self CPU seconds per operator kind (:func:`op_kind`), per operator name, wall seconds per step)
    over ``steps`` training steps of the :class:`neuroequi.train.TrainConfig` ``train_cfg`` (two
    untimed steps first; the wall time is with the profiler on)."""
    from dataclasses import replace

    from torch.profiler import ProfilerActivity, profile

    from neuroequi.hardware import resolve_precision
    from neuroequi.train.distributed import DistInfo
    from neuroequi.train.loop import Trainer

    train_cfg = replace(train_cfg, precision=resolve_precision(train_cfg.precision, "cpu"))
    trainer = Trainer(train_cfg, DistInfo(0, 1, 0, torch.device("cpu")))
    trainer.model.train()
    trainer.plan.set_epoch(0)
    batches = iter(trainer.loader)
    for _ in range(2):
        trainer.train_step(next(batches))
    start = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            trainer.train_step(next(batches))
    wall = (time.perf_counter() - start) / steps
    kinds: dict[str, float] = defaultdict(float)
    ops: dict[str, float] = defaultdict(float)
    for event in prof.events():
        kinds[op_kind(event)] += event.self_cpu_time_total / 1e6
        ops[event.name] += event.self_cpu_time_total / 1e6
    return dict(kinds), dict(ops), wall


def op_report(kinds: dict[str, float], ops: dict[str, float], wall: float, title: str) -> list[str]:
    """Lines of :func:`op_times`' result: every kind and the 12 heaviest operators, with shares."""
    total = sum(kinds.values())
    lines = [f"[op profile] {title}, {wall:.3f} s/step with the profiler on; self CPU time (share of {total:.2f} s)"]
    lines += [
        f"  {kind:<52} {sec:8.3f} s  {sec / total:6.1%}" for kind, sec in sorted(kinds.items(), key=lambda kv: -kv[1])
    ]
    lines.append("  operators taking the most self CPU time:")
    top = sorted(ops.items(), key=lambda kv: -kv[1])[:12]
    return lines + [f"    {name[:60]:<60} {sec:8.3f} s  {sec / total:6.1%}" for name, sec in top]


def score_stage(model, benchmark, *args, **kwargs) -> str:  # noqa: ANN001
    return f"benchmark: {benchmark}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="offline", help="Figure-1 preset (offline, smoke)")
    parser.add_argument("--lam", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=40, help="training steps profiled (0: the whole schedule)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of both jobs (the preset's: 1)")
    parser.add_argument("--ops", type=int, default=0, help="op-level profile of this many training steps instead")
    parser.add_argument("overrides", nargs="*", help="key=value overrides of the preset")
    args = parser.parse_args()

    from figures.figure1 import pipeline
    from figures.figure1.config import preset
    from figures.steps import StepLog
    from neuroequi.hardware import resolve_precision
    from neuroequi.train import train

    torch.set_num_threads(args.threads)
    overrides = [*args.overrides, f"train.device={args.device}"]
    if args.steps:
        overrides.append(f"train.max_steps={args.steps}")
    config = preset(args.preset, overrides)
    print(
        f"preset {args.preset} ({' '.join(overrides)}); λ={args.lam}, seed {args.seed}; device {args.device}; "
        f"torch threads {torch.get_num_threads()}; load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root, home = Path(tmp) / "figure1", Path(tmp) / "zoo"
        train_cfg = pipeline.train_config(config, args.lam, args.seed, root)
        print(
            f"training: {train_cfg.epochs} epoch(s) of {train_cfg.batch_size}-image steps, precision "
            f"{train_cfg.precision}, channels_last {train_cfg.channels_last}, width {train_cfg.model.width}, "
            f"kNN monitor {train_cfg.monitor.knn}, probe {train_cfg.monitor.probe}"
        )
        if args.ops:
            title = f"{args.ops} training steps, precision {resolve_precision(train_cfg.precision, args.device)}"
            print("\n".join(op_report(*op_times(train_cfg, args.ops), title)))
            return
        stages = Stages()
        with stages.patched(TRAIN_STAGES):
            start = time.perf_counter()
            final = train(train_cfg)
            wall = time.perf_counter() - start
        print("\n".join(stages.report("training job", wall)))
        pipeline.register_model(config, args.lam, args.seed, final, home)
        stages = Stages()
        with stages.patched((*EVAL_STAGES, (score_stage, "analyses.neural.scoring:score"))):
            start = time.perf_counter()
            pipeline.evaluate(config, root, args.lam, args.seed, home, StepLog(prefix="profile"))
            wall = time.perf_counter() - start
        print("\n".join(stages.report("evaluation job", wall)))


if __name__ == "__main__":
    main()
