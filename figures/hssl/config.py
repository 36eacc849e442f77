"""The settings of the A-SSL vs H-SSL experiment: :class:`HsslConfig`, and its preset ``cpu.yaml`` beside this file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from figures import configs
from neuroequi.errors import ConfigError

#: The folder of the presets ``<name>.yaml``.
PRESETS = Path(__file__).resolve().parent
#: Backbones of the experiment and the structure each has (the table's ``structure`` column).
BACKBONES = {"p4cnn": "equivariant (p4)", "p4cnn_control": "none (emulated group axis)"}
Method = Literal["frozen", "assl", "hssl"]


@dataclass(frozen=True)
class HsslConfig:
    """Sizes of the experiment (``cpu.yaml``: 5,000 images, 5 epochs, about 6 minutes on 2 cores).

    Attributes:
        train_images: CIFAR-10 training images for SSL (``data.subset`` of the training config).
        probe_train, probe_test: labelled training / test images of the linear probe.
        epochs: SSL epochs.
        width: channel multiplier of the backbones (0.5: 8/16/32 per group element).
        threads: torch threads (1: two threads per run slow down on a shared machine).
        seed: seed of the training, the frozen backbones and the probe's image subsets.
        backbones: names in :data:`BACKBONES`; every backbone is run with every method.
        methods: ``frozen`` (random init, not trained), ``assl``, ``hssl``.
        train: further overrides of the training config ``neuroequi/configs/cifar10_hssl_p4_cpu.yaml``
            (nested or dotted mapping), e.g. ``train.optim.lr=0.001`` on the command line.
    """

    train_images: int
    probe_train: int
    probe_test: int
    epochs: int
    width: float
    threads: int
    seed: int
    backbones: tuple[str, ...]
    methods: tuple[Method, ...]
    train: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("train_images", "probe_train", "probe_test", "epochs", "threads"):
            if getattr(self, name) < 1:
                raise ConfigError(f"hssl {name} must be >= 1, got {getattr(self, name)}")
        unknown = sorted(set(self.backbones) - set(BACKBONES))
        if unknown or not self.backbones:
            raise ConfigError(f"hssl backbones {list(self.backbones)}: choose from {sorted(BACKBONES)}")
        if not self.methods:
            raise ConfigError("hssl methods is empty: choose from ['frozen', 'assl', 'hssl']")


@dataclass(frozen=True)
class Run:
    """One row of the experiment: a backbone trained (or not: ``frozen``) by one method."""

    backbone: str
    method: str

    @property
    def name(self) -> str:
        """The run's name (its training folder under ``<out>/train``)."""
        return f"{self.backbone}_{self.method}"


def plan(config: HsslConfig) -> list[Run]:
    """The rows of the experiment: every backbone with every method, in the config's order."""
    return [Run(backbone, method) for backbone in config.backbones for method in config.methods]


def preset(name: str = "cpu", overrides: tuple[str, ...] | list[str] = ()) -> HsslConfig:
    """The preset ``<name>.yaml`` (``cpu``) with ``key=value`` ``overrides``."""
    return configs.preset(HsslConfig, PRESETS, name, overrides)
