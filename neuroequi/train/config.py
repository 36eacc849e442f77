"""Training configuration: dataclasses, read from YAML, with ``a.b=value`` overrides.

Every section and key is checked: unknown keys and wrong types raise ConfigError (a ValueError) naming the
key (e.g. ``config.optim.lr: expected a number, got str 'fast'``). The schema is :class:`TrainConfig`'s
docstring; ``neuroequi/configs/*.yaml`` are complete examples.

The module imports no torch (``neuroequi train --help`` reads the schema): the augmentation policies and
the method and backbone registries are imported by the functions that consult them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from neuroequi.augment_settings import TransformsConfig
from neuroequi.config import dataclass_from_mapping, load_typed, to_plain
from neuroequi.errors import ConfigError
from neuroequi.io import atomic_write
from neuroequi.methods.options import EquiModOptions, TeSSLOptions


@dataclass
class DataConfig:
    """Dataset and augmentation.

    Attributes:
        dataset: ``cifar10`` (``neuroequi.data.cifar10()``, decoded once into a uint8 tensor
            cached in ``cache_dir``) or ``imagefolder`` (any ImageFolder tree at ``root``, e.g.
            ImageNet's ``train/``; decoded by ``workers`` DataLoader processes).
        root: ImageFolder directory (``imagefolder`` only).
        val_root: ImageFolder directory for the kNN / probe evaluation (``imagefolder``; optional).
        policy: augmentation policy, one of ``neuroequi.augment.POLICY_NAMES`` (``cifar``,
            ``simclr``, ``byol``, ``barlow_twins``, ``byol_view1``, ...; see
            ``neuroequi.augment.VIEW_PAIRS`` for the two views each name gives).
        size: view size override (default: the preset's); :attr:`view_size` is the result.
        crop_scale: RandomResizedCrop scale range override, e.g. ``[0.2, 1.0]``.
        restriction: keep only these augmentations of the policy (``Policy.restrict``): ``full``,
            ``crop``, ``geometric`` or ``photometric`` (H-SSL/A-SSL do the group part themselves).
        subset: use a fixed random subset (seed 0) of ``subset`` training images (quick runs).
        workers: DataLoader worker processes (0: batches built in the training process).
        cache_dir: where the decoded CIFAR-10 tensor is cached (default: per-user cache).
        transforms: transformation families instead of the preset's augmentations (SIE, the
            reconstruction method): ``neuroequi.augment.families.TransformsConfig``, e.g.
            ``{families: [rotation]}``; None: the preset policy.
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
    transforms: TransformsConfig | None = None

    @property
    def view_size(self) -> int:
        """Side ``S`` of the training views: ``size``, else the policy preset's."""
        from neuroequi.augment import get_policy

        return self.size if self.size is not None else get_policy(self.policy).size


@dataclass
class ModelConfig:
    """Backbone: ``neuroequi.backbones.build_backbone(arch, width, zero_init_residual=...)``."""

    arch: str = "resnet18_cifar"
    width: float = 1.0
    zero_init_residual: bool = False


@dataclass
class MethodConfig:
    """Method, its options, and the equivariance wrapper with its own typed section.

    Attributes:
        name: a method of ``neuroequi.registry.METHOD_REGISTRY`` (``barlow_twins``, ``simclr``,
            ``byol``, ``vicreg``, ``mmcr``, ``hssl``, ``assl``, ``sie``, ``recon_equi``).
        options: that method's options: a mapping in YAML, checked against the method's options
            dataclass (e.g. ``BarlowTwinsOptions``, ``HSSLOptions``) and replaced by an instance of
            it when the config is loaded (:func:`validate`).
        equivariance: ``none``, ``tessl`` or ``equimod``: the wrapper around the method.
        lam: the TeSSL / EquiMod weight lambda (must be 0 for ``none``).
        tessl: :class:`~neuroequi.methods.TeSSLOptions` (read only with ``equivariance: tessl``).
        equimod: :class:`~neuroequi.methods.EquiModOptions` (read only with ``equivariance: equimod``).
    """

    name: str = "barlow_twins"
    options: Any = field(default_factory=dict)
    equivariance: Literal["none", "tessl", "equimod"] = "none"
    lam: float = 0.0
    tessl: TeSSLOptions = field(default_factory=TeSSLOptions)
    equimod: EquiModOptions = field(default_factory=EquiModOptions)


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

    Schema: the defaults, as YAML (every key optional; ``key.subkey=value`` overrides the same keys)::

        name: run
        output_dir: results/train
        seed: 0
        epochs: 1
        batch_size: 256
        max_steps: null
        precision: fp32          # fp32 | bf16 | fp16 | auto
        channels_last: true
        device: auto             # auto | cpu | cuda
        checkpoint_every: 0
        threads: null
        data: {dataset: cifar10, root: null, val_root: null, policy: cifar, size: null, crop_scale: null,
               restriction: full, subset: null, workers: 0, cache_dir: null,
               transforms: null}      # or TransformsConfig, e.g. {families: [rotation, color]} (SIE)
        model: {arch: resnet18_cifar, width: 1.0, zero_init_residual: false}
        method:
          name: barlow_twins     # a method of neuroequi.registry.METHOD_REGISTRY
          options: {}            # that method's options dataclass, e.g. BarlowTwinsOptions {projector: [8192,
                                 # 8192, 8192], lambda_offdiag: 0.005, scale: 1.0}; H-SSL/A-SSL: HSSLOptions
                                 # (their view size is data.size or the policy's, not an option)
          equivariance: none     # none | tessl | equimod
          lam: 0.0               # the wrapper's weight lambda (0 for none)
          tessl: {pairing: image, bn_groups: views}   # TeSSLOptions: image | augmentation; views | halves
          equimod: {projector: [2048, 2048, 128], aug_dim: 128, temperature: 0.2, encoder_samples: 100000,
                    heads: released, bn_groups: joint, negatives: released, encoding: neuroequi,
                    statistics: fitted}      # EquiModOptions
        optim: {name: lars, lr: 0.2, lr_scaling: linear, weight_decay: 1.5e-6, momentum: 0.9, betas: [0.9, 0.999],
                lars_eta: 0.001, exclude_bias_bn: true, warmup_epochs: 10.0, final_lr_ratio: 0.0}
        monitor: {probe: true, probe_lr: 0.1, knn: true, knn_k: 20, knn_temperature: 0.07, knn_train_samples: 5000,
                  knn_test_samples: 1000, log_every: 10, progress: true, tensorboard: false, wandb: null}

    A recipe (e.g. ``neuroequi/configs/recipes/*.yaml``) is such a file that names only what
    differs from these defaults. Checkpoints written before the typed wrapper sections stored
    ``method.tessl_pairing`` and H-SSL's ``method.options.image_size``; :func:`config_from_dict`
    reads those too (:func:`upgrade`).

    Attributes:
        batch_size: global batch (split evenly over ranks).
        max_steps: stop after this many optimiser steps (the schedule still spans ``epochs``).
        precision: ``fp32``, ``bf16`` (autocast on CPU and CUDA), ``fp16`` (CUDA, GradScaler) or ``auto``
            (``bf16`` where the device computes it natively, else ``fp32``: :mod:`neuroequi.hardware`;
            resolved when the run starts, and its ``config.yaml`` holds the choice).
        checkpoint_every: also checkpoint every this many steps (0: only at epoch ends).
        threads: ``torch.set_num_threads`` (CPU runs); None leaves torch's default.
    """

    name: str = "run"
    output_dir: str = "results/train"
    seed: int = 0
    epochs: int = 1
    batch_size: int = 256
    max_steps: int | None = None
    precision: Literal["fp32", "bf16", "fp16", "auto"] = "fp32"
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
    """Cross-field checks (ranges, names, method options, wrapper compatibility); returns ``config``
    with ``method.options`` replaced by the method's options dataclass. Raises ConfigError."""
    from neuroequi.augment import POLICY_NAMES
    from neuroequi.registry import backbone_spec, method_spec

    method = config.method
    checks = [
        (config.epochs >= 1, f"epochs must be >= 1, got {config.epochs}"),
        (config.batch_size >= 2, f"batch_size must be >= 2, got {config.batch_size}"),
        (config.max_steps is None or config.max_steps >= 1, f"max_steps must be >= 1, got {config.max_steps}"),
        (config.checkpoint_every >= 0, f"checkpoint_every must be >= 0, got {config.checkpoint_every}"),
        (
            config.threads is None or config.threads >= 1,
            f"threads must be >= 1 (or null: torch's default), got {config.threads}",
        ),
        (
            _inside(config.output_dir, config.name),
            f"name {config.name!r} must name a directory inside output_dir {config.output_dir!r} (no '..', not absolute)",
        ),
        (config.model.width > 0, f"model.width must be > 0, got {config.model.width}"),
        (config.optim.lr > 0, f"optim.lr must be > 0, got {config.optim.lr}"),
        (config.optim.warmup_epochs >= 0, f"optim.warmup_epochs must be >= 0, got {config.optim.warmup_epochs}"),
        (
            len(config.optim.betas) == 2 and all(0 <= b < 1 for b in config.optim.betas),
            f"optim.betas must be [beta1, beta2], each in [0, 1), got {list(config.optim.betas)}",
        ),
        (config.optim.weight_decay >= 0, f"optim.weight_decay must be >= 0, got {config.optim.weight_decay}"),
        (0 <= config.optim.momentum < 1, f"optim.momentum must be in [0, 1), got {config.optim.momentum}"),
        (config.optim.lars_eta > 0, f"optim.lars_eta must be > 0, got {config.optim.lars_eta}"),
        (config.optim.final_lr_ratio >= 0, f"optim.final_lr_ratio must be >= 0, got {config.optim.final_lr_ratio}"),
        (config.data.workers >= 0, f"data.workers must be >= 0, got {config.data.workers}"),
        (config.data.subset is None or config.data.subset >= 2, f"data.subset must be >= 2, got {config.data.subset}"),
        (
            config.data.policy in POLICY_NAMES,
            f"data.policy: unknown policy {config.data.policy!r}; valid: {list(POLICY_NAMES)}",
        ),
        (
            config.data.crop_scale is None
            or (len(config.data.crop_scale) == 2 and 0 < config.data.crop_scale[0] <= config.data.crop_scale[1] <= 1),
            f"data.crop_scale must be [low, high] with 0 < low <= high <= 1, got {list(config.data.crop_scale or ())}",
        ),
        (config.data.size is None or config.data.size >= 1, f"data.size must be >= 1, got {config.data.size}"),
        (config.monitor.log_every >= 1, f"monitor.log_every must be >= 1, got {config.monitor.log_every}"),
        (config.monitor.probe_lr > 0, f"monitor.probe_lr must be > 0, got {config.monitor.probe_lr}"),
        (
            config.monitor.knn_k >= 1 and config.monitor.knn_temperature > 0,
            f"monitor.knn_k must be >= 1 and monitor.knn_temperature > 0, got {config.monitor.knn_k}, "
            f"{config.monitor.knn_temperature}",
        ),
        (
            all(n is None or n >= 1 for n in (config.monitor.knn_train_samples, config.monitor.knn_test_samples)),
            f"monitor.knn_train_samples and knn_test_samples must be >= 1 (or null: all), got "
            f"{config.monitor.knn_train_samples}, {config.monitor.knn_test_samples}",
        ),
        (
            config.data.dataset != "imagefolder" or config.data.root is not None,
            "data.root is required for dataset 'imagefolder'",
        ),
        (
            method.equivariance != "none" or method.lam == 0,
            f"method.lam must be 0 without an equivariance wrapper, got {method.lam}",
        ),
        (
            method.equivariance != "tessl" or 0 <= method.lam < 1,
            f"TeSSL method.lam must be in [0, 1), got {method.lam}",
        ),
        (
            method.equivariance != "tessl" or config.batch_size % 2 == 0,
            f"TeSSL pairs the batch's images into matched halves: batch_size must be even, got {config.batch_size}",
        ),
        (method.equivariance != "equimod" or method.lam >= 0, f"EquiMod method.lam must be >= 0, got {method.lam}"),
        (
            method.equivariance != "equimod" or config.data.transforms is None,
            "EquiMod encodes the parameters of a preset policy (data.policy); it does not take data.transforms",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(f"config: {message}")
    backbone_spec(config.model.arch)
    if not isinstance(method.options, method_spec(method.name).options):
        method.options = dataclass_from_mapping(
            method_spec(method.name).options, to_plain(method.options), "config.method.options"
        )
    return config


def _inside(output_dir: str, name: str) -> bool:
    """True when ``output_dir/name`` is a directory strictly inside ``output_dir`` (after resolving ``..``)."""
    root = Path(output_dir).expanduser().resolve()
    run = (root / name).resolve()
    return bool(name) and not Path(name).is_absolute() and run != root and run.is_relative_to(root)


def upgrade(values: Mapping[str, Any]) -> dict[str, Any]:
    """A stored config (a checkpoint's ``meta["config"]``) in today's schema, as a new nested dict.

    Before the typed wrapper sections, TeSSL's pairing was ``method.tessl_pairing`` (now
    ``method.tessl.pairing``) and H-SSL's ``method.options.image_size`` repeated the view size
    (now taken from the data config): an options key ``image_size`` that the method's options no
    longer have is dropped when it equals ``data``'s view size (ConfigError otherwise).
    """
    from neuroequi.registry import method_spec

    values = to_plain(dict(values))
    method = values.get("method")
    if not isinstance(method, dict):
        return values
    if "tessl_pairing" in method:
        method.setdefault("tessl", {})["pairing"] = method.pop("tessl_pairing")
    options = method.get("options")
    if isinstance(options, dict) and "image_size" in options:
        spec = method_spec(method.get("name", MethodConfig.name))
        if "image_size" not in {f.name for f in dataclasses.fields(spec.options)}:
            stored = options.pop("image_size")
            view_size = dataclass_from_mapping(DataConfig, values.get("data", {}), "config.data").view_size
            if stored != view_size:
                raise ConfigError(
                    f"config.method.options.image_size: {stored!r} differs from the view size {view_size} "
                    "(data.size or the policy's), which now sets it"
                )
    return values


def config_from_dict(values: Mapping[str, Any]) -> TrainConfig:
    """Typed, validated :class:`TrainConfig` from a nested mapping (also a stored one: :func:`upgrade`)."""
    return validate(dataclass_from_mapping(TrainConfig, upgrade(values), "config"))


def load_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> TrainConfig:
    """Read a YAML config (or start from the defaults when ``path`` is None), apply overrides."""
    return validate(load_typed(TrainConfig, path, overrides, "config"))


def save_config(config: TrainConfig, path: str | Path) -> None:
    """Write ``config`` as YAML (atomically: a reader sees the old file or the new one)."""
    with atomic_write(path) as tmp:
        tmp.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
