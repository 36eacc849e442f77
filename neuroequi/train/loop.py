"""The training loop: ``train(config, resume=False) -> Path`` of the final checkpoint.

Single process (CPU or one GPU) or DDP under ``torchrun`` (see :mod:`neuroequi.train.distributed`).
Writes into ``config.run_dir``, which the run owns for its whole duration
(:func:`neuroequi.locks.owner_lock`: a second run into the same directory is refused)::

    .lock                the owner's pid and host, while the run lasts
    config.yaml          the resolved config (written once everything is validated)
    log.csv              one row per step (written every ``monitor.log_every`` steps): step, epoch,
                         lr, seconds, images/s, losses, probe (:mod:`neuroequi.train.metrics`)
    tensorboard/         TensorBoard events, only with ``monitor.tensorboard: true``
    epochs.jsonl         one JSON object per epoch: mean loss, kNN and probe test accuracy, time
    checkpoints/last.pt  the latest checkpoint (every ``checkpoint_every`` steps and each epoch)
    checkpoints/final.pt the final checkpoint (with the plain backbone state dict)

A resumed run (``--resume``) first drops the rows of ``log.csv`` and ``epochs.jsonl`` written
after its checkpoint (a killed run wrote them, the resumed run writes them again), and continues
the epoch's running loss sums stored in the checkpoint, so each epoch's means cover the whole epoch.
"""

from __future__ import annotations

import csv
import json
import logging
import random
import subprocess
import time
from collections.abc import Iterator
from contextlib import nullcontext, suppress
from dataclasses import replace
from io import StringIO
from pathlib import Path
from typing import Any

import torch

import neuroequi
from neuroequi.checkpoint import FORMAT, VERSION, load_checkpoint, save_checkpoint
from neuroequi.errors import ConfigError
from neuroequi.hardware import describe, resolve_precision
from neuroequi.io import atomic_write, package_versions, to_json
from neuroequi.locks import owner_lock
from neuroequi.methods import IMAGENET_MEAN, IMAGENET_STD, SSLMethod
from neuroequi.train import distributed as D
from neuroequi.train.config import TrainConfig, config_from_dict, save_config, validate
from neuroequi.train.data import (
    BatchPlan,
    BatchSource,
    FolderImages,
    ImageSource,
    ViewMaker,
    cifar10_tensor,
    fixed_subset,
    make_loader,
)
from neuroequi.train.metrics import StepMetrics, open_sinks
from neuroequi.train.model import build_model, build_policies
from neuroequi.train.monitor import ProbedMethod, extract_features, knn_predict
from neuroequi.train.optim import LARS, build_optimizer, build_scheduler

log = logging.getLogger(__name__)

#: Config keys that may differ between a run and its resumption (they do not change the result).
RESUMABLE_CHANGES = (
    "max_steps",
    "threads",
    "checkpoint_every",
    "data.workers",
    "monitor.progress",
    "monitor.log_every",
    "monitor.tensorboard",
    "monitor.wandb",
)
#: Where the run directory lies: not compared on resume, since the checkpoint is read from the run
#: directory the config names, whatever its path was when it was written (a moved run resumes).
LOCATION_KEYS = ("output_dir", "name")


def load_sources(config: TrainConfig) -> tuple[ImageSource, ImageSource | None]:
    """(training images, held-out images for the kNN / probe test or None)."""
    data = config.data
    if data.dataset == "cifar10":
        test = cifar10_tensor("test", data.cache_dir, config.monitor.knn_test_samples) if config.monitor.knn else None
        return cifar10_tensor("train", data.cache_dir, data.subset), test
    if data.root is None:
        raise ConfigError("config: data.root is required for dataset 'imagefolder'")
    return FolderImages(data.root, data.subset), FolderImages(data.val_root) if data.val_root else None


def git_commit() -> str | None:
    """HEAD commit of the repository holding this package (None outside git)."""
    try:
        out = subprocess.run(
            ["git", "-C", str(Path(neuroequi.__file__).parent), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _rng_state() -> dict[str, Any]:
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "python": random.getstate(),
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    random.setstate(_as_tuples(state["python"]))


def _as_tuples(value: Any) -> Any:
    return tuple(_as_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


def _flat(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _check_resumable(stored: dict[str, Any], config: TrainConfig, path: Path) -> None:
    """ConfigError unless ``config`` equals the ``stored`` config of checkpoint ``path`` up to
    :data:`RESUMABLE_CHANGES` and :data:`LOCATION_KEYS` (both typed first, so a key left at its
    default equals the default written out)."""
    old, new = _flat(config_from_dict(stored).to_dict()), _flat(config.to_dict())
    allowed = RESUMABLE_CHANGES + LOCATION_KEYS
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k) and k not in allowed)
    if changed:
        diffs = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in changed)
        raise ConfigError(
            f"cannot resume from {str(path)!r}: the config differs from the checkpoint's in {diffs} "
            f"(only {list(RESUMABLE_CHANGES)} may change); use another name= for a new run"
        )


def _finished_run(final: Path, config: TrainConfig) -> Path:
    """``final`` when the finished run it ends is the run ``config`` asks for; ConfigError otherwise
    (another config, or a ``max_steps`` beyond the step at which it finished)."""
    meta = load_checkpoint(final)["meta"]
    _check_resumable(meta["config"], config, final)
    total = int(meta["total_steps"])
    wanted = total if config.max_steps is None else min(config.max_steps, total)
    if int(meta["step"]) < wanted:
        raise ConfigError(
            f"cannot resume: the run in {str(config.run_dir)!r} finished at step {meta['step']} "
            f"({str(final)!r}) and max_steps={config.max_steps} asks for {wanted}; train a new run (another name=)"
        )
    return final


def trim_logs(run_dir: Path, step: int) -> None:
    """Drop the rows of ``log.csv`` and the lines of ``epochs.jsonl`` of steps after ``step``
    (written by a run killed after its last checkpoint); each file is rewritten atomically."""
    log_csv, epochs = run_dir / "log.csv", run_dir / "epochs.jsonl"
    if log_csv.is_file():
        with log_csv.open(newline="") as fh:
            reader = csv.DictReader(fh)
            fields = reader.fieldnames
            rows = [row for row in reader if float(row["step"]) <= step]
        if fields is not None:
            out = StringIO()
            writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
            with atomic_write(log_csv) as tmp:
                tmp.write_text(out.getvalue())
    if epochs.is_file():
        lines = [line for line in epochs.read_text().splitlines() if line.strip() and json.loads(line)["step"] <= step]
        with atomic_write(epochs) as tmp:
            tmp.write_text("".join(f"{line}\n" for line in lines))


class Trainer:
    """One training run; :func:`train` is the entry point."""

    def __init__(self, config: TrainConfig, info: D.DistInfo) -> None:
        config = replace(config, precision=resolve_precision(config.precision, info.device))
        self.config, self.info = config, info
        self.device = info.device
        if config.precision == "fp16" and self.device.type != "cuda":
            raise ConfigError("config: precision fp16 needs CUDA (GradScaler); use bf16 on the CPU")
        if config.threads is not None:
            torch.set_num_threads(config.threads)
        self.ckpt_dir = config.run_dir / "checkpoints"
        self.train_images, self.test_images = load_sources(config)
        self.policies = build_policies(config.data)
        torch.manual_seed(config.seed)  # same initial weights on every rank
        random.seed(config.seed)  # its state is saved in checkpoints: seeded, so reruns are bit-identical
        method = build_model(config)
        self.model = ProbedMethod(method, self.train_images.num_classes if config.monitor.probe else None).to(
            self.device
        )
        if config.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.ddp = D.wrap_ddp(self.model, info)
        self.plan = BatchPlan(len(self.train_images), config.batch_size, info.world_size, info.rank, config.seed)
        self.steps_per_epoch = self.plan.steps_per_epoch
        self.total_steps = config.epochs * self.steps_per_epoch
        self.optimizer, self.scheduler = self._optimizer()
        self.scaler = torch.amp.GradScaler("cuda", enabled=config.precision == "fp16")
        source = BatchSource(self.train_images, ViewMaker(self.policies, type(method).requirements))
        self.loader = make_loader(source, self.plan, config.data.workers, pin_memory=self.device.type == "cuda")
        self.step = 0
        # Sums of the logged losses over the steps of the current epoch so far, and their count
        # (stored in checkpoints, so a resumed epoch's means cover the whole epoch).
        self.epoch_sums: dict[str, float | torch.Tensor] = {}
        self.epoch_count = 0

    @property
    def method(self) -> SSLMethod:
        return self.model.method

    def _optimizer(self) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
        o = self.config.optim
        lr = o.lr * self.config.batch_size / 256 if o.lr_scaling == "linear" else o.lr
        optimizer = build_optimizer(
            o.name, self.method, lr, o.weight_decay, o.momentum, (o.betas[0], o.betas[1]), o.lars_eta, o.exclude_bias_bn
        )
        if self.model.probe is not None:
            group: dict[str, Any] = {
                "params": list(self.model.probe.parameters()),
                "lr": self.config.monitor.probe_lr,
                "weight_decay": 0.0,
            }
            if isinstance(optimizer, LARS):
                group["lars"] = False
            optimizer.add_param_group(group)
        warmup = min(int(round(o.warmup_epochs * self.steps_per_epoch)), self.total_steps)
        return optimizer, build_scheduler(optimizer, self.total_steps, warmup, o.final_lr_ratio)

    # ------------------------------------------------------------------ checkpoints

    def _meta(self, epoch: int, final: bool) -> dict[str, Any]:
        c = self.config
        return {
            "method": c.method.name,
            "equivariance": c.method.equivariance,
            "lambda": c.method.lam,
            "arch": c.model.arch,
            "width": c.model.width,
            "config": c.to_dict(),
            "dataset": {"name": c.data.dataset, "root": c.data.root, "n_images": len(self.train_images)},
            "epoch": epoch,
            "step": self.step,
            "total_steps": self.total_steps,
            "final": final,
            "versions": package_versions(),
            "git_commit": git_commit(),
            "input_normalization": {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)},
            "image_size": self.policies[0].size,
            "hardware": describe(self.device),
        }

    def save(self, name: str, epoch: int, final: bool = False) -> Path:
        """Write ``checkpoints/<name>.pt`` (main rank) and wait for it on every rank."""
        path = self.ckpt_dir / f"{name}.pt"
        if self.info.is_main:
            payload = {
                "format": FORMAT,
                "version": VERSION,
                "model": self.method.state_dict(),
                "backbone": self.method.backbone.state_dict(),
                "probe": None if self.model.probe is None else self.model.probe.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
                "rng": _rng_state(),
                "meta": self._meta(epoch, final),
                "epoch_sums": {"sums": {k: float(v) for k, v in self.epoch_sums.items()}, "count": self.epoch_count},
            }
            save_checkpoint(payload, path)
        D.barrier()
        return path

    def restore(self, path: Path) -> None:
        """Load every state of a checkpoint and continue from its step."""
        blob = load_checkpoint(path)
        _check_resumable(blob["meta"]["config"], self.config, path)
        self.method.load_state_dict(blob["model"])
        if self.model.probe is not None and blob.get("probe") is not None:
            self.model.probe.load_state_dict(blob["probe"])
        self.optimizer.load_state_dict(blob["optimizer"])
        self.scheduler.load_state_dict(blob["scheduler"])
        if blob.get("scaler") is not None:
            self.scaler.load_state_dict(blob["scaler"])
        _set_rng_state(blob["rng"])
        self.step = int(blob["meta"]["step"])
        running = blob.get("epoch_sums") or {"sums": {}, "count": 0}
        self.epoch_sums, self.epoch_count = {k: float(v) for k, v in running["sums"].items()}, int(running["count"])

    # ------------------------------------------------------------------ loop

    def _autocast(self):  # type: ignore[no-untyped-def]
        dtypes = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
        dtype = dtypes[self.config.precision]  # resolved in __init__: "auto" is never here
        return nullcontext() if dtype is None else torch.autocast(self.device.type, dtype=dtype)

    def _batches(self, epoch: int) -> Iterator[Any]:
        self.plan.set_epoch(epoch, self.step - epoch * self.steps_per_epoch)
        batches = iter(self.loader)
        if self.info.is_main and self.config.monitor.progress:
            from neuroequi.io import progress

            bar = progress(batches, total=len(self.plan), desc=f"epoch {epoch + 1}/{self.config.epochs}", leave=False)
            self._bar = bar
            return iter(bar)
        self._bar = None
        return batches

    def train_step(self, batch: Any) -> dict[str, torch.Tensor]:
        """One optimiser step on a CPU batch; returns the detached logs (incl. ``loss``)."""
        batch = batch.to(self.device, channels_last=self.config.channels_last, non_blocking=True)
        with self._autocast():
            out = self.ddp(batch)
        if not torch.isfinite(out.loss):
            raise ConfigError(
                f"training diverged: the loss is {out.loss.item()} at step {self.step} of {str(self.config.run_dir)!r}; "
                "lower optim.lr (checkpoints/last.pt keeps the last saved state)"
            )
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(out.loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.method.after_step(self.step, self.total_steps)
        self.step += 1
        return {"loss": out.loss.detach(), **out.logs}

    def evaluate(self) -> dict[str, float]:
        """kNN and probe accuracy on held-out images (main rank; empty without test images)."""
        m = self.config.monitor
        if not (m.knn and self.info.is_main and self.test_images is not None):
            return {}
        train_idx = fixed_subset(len(self.train_images), m.knn_train_samples, self.config.seed)
        test_idx = fixed_subset(len(self.test_images), m.knn_test_samples, self.config.seed + 1)
        policy, backbone = self.policies[0], self.method.backbone
        args = dict(device=self.device, channels_last=self.config.channels_last)
        train_f = extract_features(backbone, self.train_images, train_idx, policy, **args)
        test_f = extract_features(backbone, self.test_images, test_idx, policy, **args)
        test_y = self.test_images.labels[test_idx]
        pred = knn_predict(
            train_f,
            self.train_images.labels[train_idx],
            test_f,
            m.knn_k,
            m.knn_temperature,
            self.train_images.num_classes,
        )
        result = {"knn_acc": float((pred == test_y).float().mean())}
        if self.model.probe is not None:
            with torch.no_grad():
                logits = self.model.probe(test_f.to(self.device)).cpu()
            result["probe_test_acc"] = float((logits.argmax(1) == test_y).float().mean())
        return result

    def run(self) -> Path:
        c = self.config
        final = self.ckpt_dir / "final.pt"
        sinks = (
            open_sinks(c.run_dir, c.monitor.tensorboard, c.monitor.wandb, c.name, c.to_dict())
            if self.info.is_main
            else []
        )
        metrics = StepMetrics(sinks, D.all_reduce_mean, c.batch_size)
        try:
            self._loop(metrics)
        finally:
            metrics.close()  # written rows stay; rows of a failed step's flush interval are dropped
        path = self.save("final", self.step // self.steps_per_epoch, final=True)
        return path if self.info.is_main else final

    def _loop(self, metrics: StepMetrics) -> None:
        """Train until ``max_steps`` or the end of the schedule, one row of metrics per step."""
        c = self.config
        stop = self.total_steps if c.max_steps is None else min(c.max_steps, self.total_steps)
        self.model.train()
        while self.step < stop:
            epoch = self.step // self.steps_per_epoch
            t_epoch = time.perf_counter()
            for batch in self._batches(epoch):
                logs = self.train_step(batch)
                metrics.add(self.step, epoch, self.optimizer.param_groups[0]["lr"], logs)
                for k, v in logs.items():
                    self.epoch_sums[k] = self.epoch_sums.get(k, 0.0) + v.detach().float()
                self.epoch_count += 1
                if self.step % c.monitor.log_every == 0 or self.step == stop:
                    rows = metrics.flush()
                    if self._bar is not None and rows:
                        self._bar.set_postfix(loss=f"{rows[-1]['loss']:.4g}", img_s=f"{rows[-1]['images_per_s']:.0f}")
                if c.checkpoint_every and self.step % c.checkpoint_every == 0 and self.step % self.steps_per_epoch:
                    metrics.flush()
                    self.save("last", epoch)  # (at an epoch's end the checkpoint follows its summary)
                if self.step >= stop:
                    break
            if self._bar is not None:
                self._bar.close()
            epoch_done = self.step % self.steps_per_epoch == 0
            summary = {
                "epoch": epoch + 1 if epoch_done else epoch + self.step % self.steps_per_epoch / self.steps_per_epoch,
                "step": self.step,
                **{f"mean_{k}": float(v) / max(self.epoch_count, 1) for k, v in self.epoch_sums.items()},
                "seconds": time.perf_counter() - t_epoch,
                **self.evaluate(),
            }
            if self.info.is_main:
                with (c.run_dir / "epochs.jsonl").open("a") as fh:
                    fh.write(to_json(summary) + "\n")
                log.info("epoch summary: %s", summary)
            if epoch_done:
                self.epoch_sums, self.epoch_count = {}, 0
            metrics.flush()
            self.save("last", epoch)


def train(config: TrainConfig, resume: bool = False) -> Path:
    """Train ``config``; return the path of ``<run_dir>/checkpoints/final.pt``.

    Args:
        config: a :class:`~neuroequi.train.config.TrainConfig` (validated here).
        resume: continue from ``checkpoints/last.pt`` of the run directory (from scratch when
            there is none; returns at once when ``final.pt`` exists and was trained with this
            config). Without ``resume`` an existing run directory with checkpoints is an error,
            never overwritten.

    Raises:
        LockedError: another live process owns the run directory (its pid and lock file named).
        ConfigError: a refused resume (another config, or a finished run asked for more steps),
            or checkpoints present without ``resume``. Nothing in the run directory is
            written before every check has passed.
    """
    validate(config)
    info = D.setup(config.device)
    config = replace(config, precision=resolve_precision(config.precision, info.device))
    new = [p for p in (config.run_dir, *config.run_dir.parents) if not p.exists()]  # deepest first
    try:
        with owner_lock(config.run_dir) if info.is_main else nullcontext():
            return _train_owned(config, resume, info)
    except BaseException:
        for folder in new if info.is_main else ():  # a refused run leaves no empty folder behind
            with suppress(OSError):
                folder.rmdir()
        raise
    finally:
        D.teardown()


def _train_owned(config: TrainConfig, resume: bool, info: D.DistInfo) -> Path:
    """:func:`train` once the run directory is owned: check, then write, then run."""
    ckpt_dir = config.run_dir / "checkpoints"
    final, last = ckpt_dir / "final.pt", ckpt_dir / "last.pt"
    if not resume and (last.is_file() or final.is_file()):
        raise ConfigError(
            f"run directory {str(config.run_dir)!r} already has checkpoints; pass --resume or another name"
        )
    if final.is_file():
        return _finished_run(final, config)
    trainer = Trainer(config, info)
    if resume and last.is_file():
        trainer.restore(last)
    elif resume:
        log.warning("no checkpoint in %s: starting from scratch", ckpt_dir)
    if info.is_main:
        save_config(config, config.run_dir / "config.yaml")
        trim_logs(config.run_dir, trainer.step)
    return trainer.run()


__all__ = ["Trainer", "train"]
