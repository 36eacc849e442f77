"""Typed config of the equivariance table (``neuroequi figures equivariance-table``), its presets, and the
training runs it asks for (:class:`Run`, :func:`runs`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from analyses.prediction_config import PredictionConfig
from figures import configs
from neuroequi.augment_settings import POSTER_FAMILIES, TransformsConfig, check_families
from neuroequi.errors import ConfigError

#: The folder of the presets ``<name>.yaml`` (``cpu``, ``smoke``).
PRESETS = Path(__file__).resolve().parent


@dataclass
class EquivarianceTableConfig:
    """Sizes of one run of the poster's CIFAR-10 experiment.

    Attributes:
        name: results go to ``<out>/<name>``; also part of the zoo names (``eqtable-<name>-<run>-w<weights>-c<config>``).
        families: the table's columns and SIE(all)'s families (the poster's four by default);
            one SIE run per family.
        transforms: parameter ranges of the families, for training and for the benchmark
            (its ``families`` field is set per run).
        train_images: CIFAR-10 training images (fixed random subset) every run trains on.
        known_fraction: the unknown-transformations variant trains SIE(all) on this fraction
            of ``train_images`` (the images whose parameters are known); the reconstruction
            method and VICReg use all of them (they need no parameters). 0: no variant.
        epochs, batch_size, width, seed: training sizes (narrow CIFAR ResNet-18).
        parallel: trainings side by side (one thread each).
        train: overrides of every training config (a nested or dotted mapping, e.g.
            ``{optim.lr: 0.002}``); ``sie``, ``recon``, ``vicreg``: of the runs of that method only.
        prediction: the augmentation-prediction benchmark (its ``transforms`` are replaced by ``transforms``).
        probe_train, probe_test, probe_C: the linear classification probe (CIFAR-10 train / test images).
        zoo_home: the model zoo the runs are registered in (None: ``$NEUROEQUI_ZOO_HOME`` when set,
            else ``<out>/<name>/zoo``; :func:`figures.configs.resolve_zoo_home`).
        reuse: a saved step whose settings or inputs changed (:mod:`figures.reuse`) is
            ``recompute``-d (default) or ``refuse``-d with one line naming the changed keys.
    """

    name: str = "cpu"
    families: tuple[str, ...] = POSTER_FAMILIES
    transforms: TransformsConfig = field(default_factory=TransformsConfig)
    train_images: int = 5000
    known_fraction: float = 0.2
    epochs: int = 5
    batch_size: int = 256
    width: float = 0.125
    seed: int = 0
    parallel: int = 2
    train: dict[str, Any] = field(default_factory=dict)
    sie: dict[str, Any] = field(default_factory=dict)
    recon: dict[str, Any] = field(default_factory=dict)
    vicreg: dict[str, Any] = field(default_factory=dict)
    prediction: PredictionConfig = field(default_factory=lambda: PredictionConfig(progress=False))
    probe_train: int = 5000
    probe_test: int = 2000
    probe_C: float = 1.0
    zoo_home: str | None = None
    reuse: Literal["recompute", "refuse"] = "recompute"


def preset(name: str = "cpu", overrides: tuple[str, ...] | list[str] = ()) -> EquivarianceTableConfig:
    """The preset ``<name>.yaml`` (``cpu``, ``smoke``) with ``key=value`` ``overrides``, validated."""
    return validate(configs.preset(EquivarianceTableConfig, PRESETS, name, overrides))


def validate(config: EquivarianceTableConfig) -> EquivarianceTableConfig:
    """Cross-field checks; ConfigError naming the key. Returns ``config``."""
    config.families = check_families(config.families, "families")
    known = round(config.known_fraction * config.train_images)
    checks = [
        (
            re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", config.name) is not None,
            f"name {config.name!r} must be one folder name (letters, digits, '_', '.', '-'; no '/'): "
            "the results go to <out>/<name>, never outside --out",
        ),
        (
            config.train_images >= config.batch_size,
            f"train_images ({config.train_images}) must be >= batch_size ({config.batch_size})",
        ),
        (0.0 <= config.known_fraction < 1.0, f"known_fraction must be in [0, 1), got {config.known_fraction}"),
        (
            config.known_fraction == 0 or known >= config.batch_size,
            f"known_fraction * train_images = {known} images must be >= batch_size ({config.batch_size})",
        ),
        (
            config.epochs >= 1 and config.parallel >= 1,
            f"epochs and parallel must be >= 1, got {config.epochs}, {config.parallel}",
        ),
        (
            config.probe_train >= 10 and config.probe_test >= 2,
            f"probe_train >= 10 and probe_test >= 2, got {config.probe_train}, {config.probe_test}",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(f"equivariance-table: {message}")
    return config


SIE_CONFIG = "cifar10_sie_cpu.yaml"
RECON_CONFIG = "cifar10_recon_equi_cpu.yaml"
VICREG_CONFIG = "cifar10_vicreg_cpu.yaml"


@dataclass(frozen=True)
class Run:
    """One training run of the table.

    Attributes:
        name: ``sie_<family>``, ``sie_all``, ``sie_all_known``, ``recon_equi`` or ``vicreg``.
        label: the row label of the table (``SIE(rot)``, ...).
        base: training config shipped in ``neuroequi/configs``.
        families: the transformation families of its views.
        images: training images.
        overrides: the run's own training overrides (a mapping, after the common ones).
        variant: ``main`` or ``unknown`` (the 80/20 experiment).
    """

    name: str
    label: str
    base: str
    families: tuple[str, ...]
    images: int
    overrides: dict[str, Any]
    variant: str = "main"


SHORT = {
    "rotation": "rot",
    "color": "color",
    "blur": "blur",
    "translation": "trans",
    "crop": "crop",
    "flip": "flip",
    "scale": "scale",
}


def runs(config: EquivarianceTableConfig) -> list[Run]:
    """The runs of ``config``: SIE per family, SIE(all), the reconstruction method, VICReg,
    and SIE(all) on the known fraction for the unknown-transformations variant."""
    out = [
        Run(f"sie_{f}", f"SIE({SHORT[f]})", SIE_CONFIG, (f,), config.train_images, config.sie) for f in config.families
    ]
    out += [
        Run("sie_all", "SIE(all)", SIE_CONFIG, config.families, config.train_images, config.sie),
        Run("recon_equi", "Reconstruction (ours)", RECON_CONFIG, config.families, config.train_images, config.recon),
        Run("vicreg", "VICReg", VICREG_CONFIG, config.families, config.train_images, config.vicreg),
    ]
    if config.known_fraction > 0:
        known = round(config.known_fraction * config.train_images)
        out.append(
            Run(
                "sie_all_known",
                f"SIE(all), {known} known",
                SIE_CONFIG,
                config.families,
                known,
                config.sie,
                variant="unknown",
            )
        )
    return out
