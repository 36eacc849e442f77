"""Training configuration: dataclasses, read from YAML, with ``a.b=value`` overrides.

Every section and key is checked: unknown keys and wrong types raise ConfigError (a ValueError) naming the
key (e.g. ``config.optim.lr: expected a number, got str 'fast'``). See
``neuroequi/configs/*.yaml`` for complete examples.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from neuroequi.config import dataclass_from_mapping, load_typed, to_plain
from neuroequi.errors import ConfigError
from neuroequi.methods import EquiModOptions, make_options


@dataclass
class DataConfig:
    """Dataset and augmentation.

    Attributes:
        dataset: ``cifar10`` (``neuroequi.data.cifar10()``, decoded once into a uint8 tensor
            cached in ``cache_dir``) or ``imagefolder`` (any ImageFolder tree at ``root``, e.g.
            ImageNet's ``train/``; decoded by ``workers`` DataLoader processes).
        root: ImageFolder directory (``imagefolder`` only).
        val_root: ImageFolder directory for the kNN / probe evaluation (``imagefolder``; optional).
        policy: augmentation preset of ``neuroequi.augment.two_view_policies`` (``cifar``,
            ``simclr``, ``byol``, ``barlow_twins``, ...).
        size: view size override (default: the preset's).
        crop_scale: RandomResizedCrop scale range override, e.g. ``[0.2, 1.0]``.
        restriction: keep only these augmentations of the policy (``Policy.restrict``): ``full``,
            ``crop``, ``geometric`` or ``photometric`` (H-SSL/A-SSL do the group part themselves).
        subset: use a fixed random subset (seed 0) of ``subset`` training images (quick runs).
        workers: DataLoader worker processes (0: batches built in the training process).
        cache_dir: where the decoded CIFAR-10 tensor is cached (default: per-user cache).
    """

    dataset: Literal["cifar10", "imagefolder"] = "cifar10"
    root: str | None = None
    val_root: str | None = None
    policy: str = "cifar"
    size: int | None = None
    crop_scale: tuple[float, ...] | None = None
    restriction: Literal["full", "crop", "geometric", "photometric"] = "full"
    subset: int | None = None
    workers: int = 0
    cache_dir: str | None = None


@dataclass
class ModelConfig:
    """Backbone: ``neuroequi.backbones.build_backbone(arch, width, zero_init_residual=...)``."""

    arch: str = "resnet18_cifar"
    width: float = 1.0
    zero_init_residual: bool = False


@dataclass
class MethodConfig:
    """Method, its options, and the equivariance wrapper.

    Attributes:
        name: a registered method (``barlow_twins``, ``simclr``, ``byol``, ``vicreg``, ``mmcr``, ...).
        options: that method's options (its dataclass in ``neuroequi.methods``; checked).
        equivariance: ``none``, ``tessl`` or ``equimod``.
        lam: the TeSSL / EquiMod weight lambda (ignored for ``none``; must be 0 there).
        tessl_pairing: TeSSL's equivariant term, ``image`` (published CE-SSL code, default)
            or ``augmentation`` (see :class:`~neuroequi.methods.TeSSL`).
        equimod: ``EquiModOptions`` fields (checked).
    """

    name: str = "barlow_twins"
    options: dict[str, Any] = field(default_factory=dict)
    equivariance: Literal["none", "tessl", "equimod"] = "none"
    lam: float = 0.0
    tessl_pairing: Literal["image", "augmentation"] = "image"
    equimod: dict[str, Any] = field(default_factory=dict)


@dataclass
class OptimConfig:
    """Optimiser and schedule.

    The learning rate is ``lr * batch_size / 256`` when ``lr_scaling = "linear"`` (else ``lr``);
    linear warm-up over ``warmup_epochs`` then cosine decay to ``final_lr_ratio * lr``.
    """

    name: Literal["lars", "sgd", "adamw"] = "lars"
    lr: float = 0.2
    lr_scaling: Literal["linear", "none"] = "linear"
    weight_decay: float = 1.5e-6
    momentum: float = 0.9
    betas: tuple[float, ...] = (0.9, 0.999)
    lars_eta: float = 0.001
    exclude_bias_bn: bool = True
    warmup_epochs: float = 10.0
    final_lr_ratio: float = 0.0


@dataclass
class MonitorConfig:
    """Online linear probe (on detached features, trained every step), kNN monitor (each epoch)
    and the training metrics (:mod:`neuroequi.train.metrics`).

    ``log.csv`` always gets one row per step (written every ``log_every`` steps);
    ``tensorboard: true`` also writes TensorBoard events to ``<run>/tensorboard`` (needs the
    ``tensorboard`` package) and ``wandb: PROJECT`` logs to that Weights & Biases project (needs
    ``wandb``; offline when ``NEUROEQUI_OFFLINE=1``). Both are off by default.
    """

    probe: bool = True
    probe_lr: float = 0.1
    knn: bool = True
    knn_k: int = 20
    knn_temperature: float = 0.07
    knn_train_samples: int | None = 5000
    knn_test_samples: int | None = 1000
    log_every: int = 10
    progress: bool = True
    tensorboard: bool = False
    wandb: str | None = None


@dataclass
class TrainConfig:
    """A whole training run; ``output_dir/name`` holds its checkpoints and logs.

    Attributes:
        batch_size: global batch (split evenly over ranks).
        max_steps: stop after this many optimiser steps (the schedule still spans ``epochs``).
        precision: ``fp32``, ``bf16`` (autocast on CPU and CUDA) or ``fp16`` (CUDA, GradScaler).
        checkpoint_every: also checkpoint every this many steps (0: only at epoch ends).
        threads: ``torch.set_num_threads`` (CPU runs); None leaves torch's default.
    """

    name: str = "run"
    output_dir: str = "results/train"
    seed: int = 0
    epochs: int = 1
    batch_size: int = 256
    max_steps: int | None = None
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    channels_last: bool = True
    device: Literal["auto", "cpu", "cuda"] = "auto"
    checkpoint_every: int = 0
    threads: int | None = None
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    method: MethodConfig = field(default_factory=MethodConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.name

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (tuples as lists), YAML-serialisable, inverse of :func:`config_from_dict`."""
        return to_plain(self)


def validate(config: TrainConfig) -> TrainConfig:
    """Cross-field checks (ranges, method options, wrapper compatibility); returns ``config``."""
    checks = [
        (config.epochs >= 1, f"epochs must be >= 1, got {config.epochs}"),
        (config.batch_size >= 2, f"batch_size must be >= 2, got {config.batch_size}"),
        (config.max_steps is None or config.max_steps >= 1, f"max_steps must be >= 1, got {config.max_steps}"),
        (config.checkpoint_every >= 0, f"checkpoint_every must be >= 0, got {config.checkpoint_every}"),
        (config.model.width > 0, f"model.width must be > 0, got {config.model.width}"),
        (config.optim.lr > 0, f"optim.lr must be > 0, got {config.optim.lr}"),
        (config.optim.warmup_epochs >= 0, f"optim.warmup_epochs must be >= 0, got {config.optim.warmup_epochs}"),
        (config.data.workers >= 0, f"data.workers must be >= 0, got {config.data.workers}"),
        (config.data.subset is None or config.data.subset >= 2, f"data.subset must be >= 2, got {config.data.subset}"),
        (config.monitor.log_every >= 1, f"monitor.log_every must be >= 1, got {config.monitor.log_every}"),
        (config.data.dataset != "imagefolder" or config.data.root is not None, "data.root is required for dataset 'imagefolder'"),
        (config.method.equivariance != "none" or config.method.lam == 0, f"method.lam must be 0 without an equivariance wrapper, got {config.method.lam}"),
        (config.method.equivariance != "tessl" or 0 <= config.method.lam <= 1, f"TeSSL method.lam must be in [0, 1], got {config.method.lam}"),
        (config.method.equivariance != "equimod" or config.method.lam >= 0, f"EquiMod method.lam must be >= 0, got {config.method.lam}"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(f"config: {message}")
    make_options(config.method.name, config.method.options)
    dataclass_from_mapping(EquiModOptions, config.method.equimod, "config.method.equimod")
    return config


def config_from_dict(values: Mapping[str, Any]) -> TrainConfig:
    """Typed, validated :class:`TrainConfig` from a nested mapping."""
    return validate(dataclass_from_mapping(TrainConfig, values, "config"))


def load_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> TrainConfig:
    """Read a YAML config (or start from the defaults when ``path`` is None), apply overrides."""
    return validate(load_typed(TrainConfig, path, overrides, "config"))


def save_config(config: TrainConfig, path: str | Path) -> None:
    """Write ``config`` as YAML."""
    Path(path).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
