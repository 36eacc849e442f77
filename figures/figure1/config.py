"""The settings of one Figure-1 run: :class:`Figure1Config`, and its presets beside this file.

``offline.yaml`` (the default of ``make figures``), ``smoke.yaml`` (toy sizes, for
tests) and ``paper.yaml`` (the published checkpoints) each set the fields that
differ from the defaults below; ``key=value`` overrides change any field
(``neuroequi figures --preset smoke n_images=16 train.epochs=2``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from figures import configs
from neuroequi.errors import ConfigError

#: The folder of the presets ``<name>.yaml``.
PRESETS = Path(__file__).resolve().parent
#: The training config every offline/smoke run starts from (``neuroequi/configs/``).
BASE_CONFIG = "cifar10_tessl_barlow_cpu.yaml"
PAPER_LAMBDAS = (0.0, 0.001, 0.1, 0.2, 0.5)
LOCAL_BENCHMARKS = ("Cowley2023.V4-pls", "Cowley2023-210325.V4-pls", "Kiani2007.IT-rdm")
IT_BENCHMARKS = ("MajajHong2015public.IT-pls", "Sanghavi2020.IT-pls", "SanghaviJozwik2020.IT-pls",
                 "SanghaviMurty2020.IT-pls")


@dataclass(frozen=True)
class Figure1Config:
    """Sizes and sources of one Figure-1 run.

    Attributes:
        mode: ``offline``, ``smoke`` or ``paper``; names the results folder
            (``<results>/figure1/<mode>``) and the outputs (``figure1[_<mode>].*``).
        lambdas: the TeSSL λ values (the first must be 0: the ΔD_B baseline).
        train: overrides of the base training config (:data:`BASE_CONFIG`), as a
            (nested or dotted) mapping, e.g. ``{"epochs": 1, "model": {"width": 0.125}}``;
            offline/smoke only.
        n_images, K: analysis images (CIFAR-10 test, or ``images``) and augmentations per image.
        probe_train, probe_test: linear-probe sizes (0 train images: no probe).
        n_boot: bootstrap resamples for the intervals.
        benchmarks: neural benchmarks always scored (local, real recordings).
        online_benchmarks: Brain-Score benchmarks scored when reachable.
        images: ImageFolder of analysis images (paper mode: ImageNet validation).
        seed: seed of training, image subsets, augmentations and bootstrap.
        parallel: jobs (training, evaluation) side by side, one thread each.
    """

    mode: Literal["offline", "smoke", "paper"]
    lambdas: tuple[float, ...] = PAPER_LAMBDAS
    train: dict[str, Any] = field(default_factory=dict)
    n_images: int = 64
    K: int = 32
    probe_train: int = 5000
    probe_test: int = 2000
    n_boot: int = 1000
    benchmarks: tuple[str, ...] = LOCAL_BENCHMARKS
    online_benchmarks: tuple[str, ...] = IT_BENCHMARKS
    images: str | None = None
    seed: int = 0
    parallel: int = 2

    def __post_init__(self) -> None:
        if not self.lambdas or self.lambdas[0] != 0.0:
            raise ConfigError(f"figure1 lambdas must start with 0 (the ΔD_B baseline), got {list(self.lambdas)}")
        if any(not 0.0 <= lam < 1.0 for lam in self.lambdas):
            raise ConfigError(f"figure1 lambdas: every λ must lie in [0, 1), got {list(self.lambdas)}")
        if self.n_images < 3 or self.K < 2:
            raise ConfigError(f"figure1 needs n_images >= 3 and K >= 2, got n_images={self.n_images}, K={self.K}")
        if self.parallel < 1:
            raise ConfigError(f"figure1 parallel must be >= 1, got {self.parallel}")
        if self.mode == "paper" and not self.images:
            raise ConfigError("figure1 paper mode analyses ImageNet validation images: "
                              "pass --images DIR (an ImageFolder)")


def preset(name: str, overrides: tuple[str, ...] | list[str] = ()) -> Figure1Config:
    """The preset ``<name>.yaml`` (offline, smoke, paper) with ``key=value`` ``overrides``."""
    return configs.preset(Figure1Config, PRESETS, name, overrides)
