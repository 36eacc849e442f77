"""The settings of one Figure-1 run: :class:`Figure1Config`, and its presets beside this file.

``offline.yaml`` (the default of ``make figures``), ``smoke.yaml`` (toy sizes, for
tests), ``paper.yaml`` (the published checkpoints) and ``imagenet.yaml`` (the paper's
training recipe, for a cluster) each set the fields that differ from the defaults
below; ``key=value`` overrides change any field
(``neuroequi figures figure1 --preset smoke n_images=16 train.epochs=2 seeds=[0,1,2]``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from figures import configs
from figures.executors import ExecutorKind, SlurmSettings
from neuroequi.errors import ConfigError

#: The folder of the presets ``<name>.yaml``.
PRESETS = Path(__file__).resolve().parent
#: The training recipe every offline/smoke run starts from (``neuroequi/configs/``).
BASE_CONFIG = "cifar10_tessl_barlow_cpu.yaml"
PAPER_LAMBDAS = (0.0, 0.001, 0.1, 0.2, 0.5)
#: The objectives the published TeSSL checkpoints were trained with (``neuroequi`` method names).
OBJECTIVES = ("barlow_twins", "simclr", "mmcr")
LOCAL_BENCHMARKS = (
    "Cowley2023.V4-pls",
    "Cowley2023-210325.V4-pls",
    "Kiani2007.IT-rdm",
    "Kriegeskorte2008.hIT-rdm",
    "Kriegeskorte2008.hIT-subjects-rdm",
    "tong.Coggan2024_fMRI.IT-rdm",
)
IT_BENCHMARKS = (
    "MajajHong2015public.IT-pls",
    "Sanghavi2020.IT-pls",
    "SanghaviJozwik2020.IT-pls",
    "SanghaviMurty2020.IT-pls",
)
Mode = Literal["offline", "smoke", "paper", "imagenet"]
#: Modes whose models the run trains itself (the others load published checkpoints).
TRAINED_MODES = ("offline", "smoke", "imagenet")


@dataclass(frozen=True)
class Figure1Config:
    """Sizes and sources of one Figure-1 run.

    Attributes:
        mode: ``offline``, ``smoke``, ``paper`` (published checkpoints) or ``imagenet``
            (trains ``base_config``, the paper's recipe, typically on a cluster); names the
            results folder (``<results>/figure1/<mode>``) and the outputs (``figure1[_<mode>].*``).
        objective: the invariance objective TeSSL wraps (:data:`OBJECTIVES`): the published
            checkpoints of paper mode, or ``method.name`` of the trained runs (the recipe's
            method options are replaced by the objective's defaults when it differs).
        lambdas: the TeSSL λ values (the first must be 0: the ΔD_B baseline).
        seeds: training seeds; every λ is trained once per seed, and every panel shows the
            mean over seeds (paper mode: the published checkpoints, one seed).
        base_config: the training recipe, a file of ``neuroequi/configs/`` or a YAML path.
        train: overrides of ``base_config``, as a (nested or dotted) mapping, e.g.
            ``{"epochs": 1, "model": {"width": 0.125}}``; trained modes only.
        n_images, K: analysis images (CIFAR-10 test, or ``images``) and augmentations per image.
        probe_train, probe_test: linear-probe sizes (0 train images: no probe; the figure does
            not show it, so the presets leave it out).
        n_boot: bootstrap resamples for every interval (of the images within a model, and of
            the seeds: :mod:`figures.figure1.seeds`).
        benchmarks: neural benchmarks always scored (local, real recordings).
        online_benchmarks: Brain-Score benchmarks scored when reachable.
        images: ImageFolder of analysis images (paper and imagenet modes: ImageNet validation).
        seed: seed of the analysis (image subset, augmentations) and of every bootstrap;
            the same for every model, so ΔD_B is paired by image.
        parallel: jobs (training, evaluation) side by side (local executor: one thread each).
        executor: where the jobs run (:mod:`figures.executors`): ``local`` processes (default),
            ``slurm`` (a cluster, through submitit) or ``submitit-local`` (submitit's local executor).
        slurm: the jobs' resources with ``executor: slurm`` (partition, gpus, cpus, time, mem, ...).
        warm_jobs: with ``executor: local``, fork each job from one launcher that has imported the
            libraries and loaded the offline benchmarks (:mod:`figures.forkserver`; same outputs,
            seconds less per job); false: every job a new interpreter.
        zoo_home: the model zoo the run registers and loads its models in (None: the smoke preset's
            own ``<results>/figure1/smoke/zoo``, else ``$NEUROEQUI_ZOO_HOME`` when set, else
            ``<results>/figure1/<mode>/zoo``; :func:`figures.figure1.pipeline.default_zoo_home`).
        reuse: a saved step whose settings or inputs changed (:mod:`figures.reuse`) is
            ``recompute``-d (default) or ``refuse``-d with one line naming the changed keys.
    """

    mode: Mode
    objective: Literal["barlow_twins", "simclr", "mmcr"] = "barlow_twins"
    lambdas: tuple[float, ...] = PAPER_LAMBDAS
    seeds: tuple[int, ...] = (0,)
    base_config: str = BASE_CONFIG
    train: dict[str, Any] = field(default_factory=dict)
    n_images: int = 64
    K: int = 32
    probe_train: int = 0
    probe_test: int = 2000
    n_boot: int = 1000
    benchmarks: tuple[str, ...] = LOCAL_BENCHMARKS
    online_benchmarks: tuple[str, ...] = IT_BENCHMARKS
    images: str | None = None
    seed: int = 0
    parallel: int = 2
    executor: ExecutorKind = "local"
    slurm: SlurmSettings = field(default_factory=SlurmSettings)
    warm_jobs: bool = True
    zoo_home: str | None = None
    reuse: Literal["recompute", "refuse"] = "recompute"

    def __post_init__(self) -> None:
        if not self.lambdas or self.lambdas[0] != 0.0:
            raise ConfigError(f"figure1 lambdas must start with 0 (the ΔD_B baseline), got {list(self.lambdas)}")
        if any(not 0.0 <= lam < 1.0 for lam in self.lambdas):
            raise ConfigError(f"figure1 lambdas: every λ must lie in [0, 1), got {list(self.lambdas)}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds) or min(self.seeds) < 0:
            raise ConfigError(f"figure1 seeds must be distinct integers >= 0 (at least one), got {list(self.seeds)}")
        if self.mode == "paper" and len(self.seeds) != 1:
            raise ConfigError(
                f"figure1 paper mode loads the published checkpoints, one per λ: seeds must hold "
                f"one value, got {list(self.seeds)}"
            )
        if self.n_images < 3 or self.K < 2:
            raise ConfigError(f"figure1 needs n_images >= 3 and K >= 2, got n_images={self.n_images}, K={self.K}")
        from analyses.measures import check_decoding_size  # here: the config module stays light (--help)

        check_decoding_size(self.n_images, self.K, "figure1")
        if self.parallel < 1 or self.n_boot < 1:
            raise ConfigError(f"figure1 parallel and n_boot must be >= 1, got {self.parallel} and {self.n_boot}")
        if self.mode in ("paper", "imagenet") and not self.images:
            raise ConfigError(
                f"figure1 {self.mode} mode analyses ImageNet validation images: pass --images DIR (an ImageFolder)"
            )

    @property
    def trains(self) -> bool:
        """True when the run trains its models (offline, smoke, imagenet); False for published ones."""
        return self.mode in TRAINED_MODES


def preset(name: str, overrides: tuple[str, ...] | list[str] = ()) -> Figure1Config:
    """The preset ``<name>.yaml`` (offline, smoke, paper, imagenet) with ``key=value`` ``overrides``."""
    return configs.preset(Figure1Config, PRESETS, name, overrides)
