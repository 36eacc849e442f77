"""Settings of ``neuroequi report``: :class:`ReportConfig` (defaults sized for a CIFAR ResNet on 2 cores).

Every key can be set with ``key=value`` on the command line or in ``--config FILE``
(``measures.n_images=64 augmentation.n_train=2000 reduction.components=1000 parallel=2``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from analyses.neural.reduction import LAYER_SELECTION, Reduction
from figures.executors import ExecutorKind, SlurmSettings
from neuroequi.errors import ConfigError

#: What a report can hold (``pieces``): neural benchmarks, Figure-1 measures, augmentation prediction.
PIECES = ("benchmarks", "measures", "augmentation")
#: Benchmarks a report scores by default: every local benchmark of :func:`analyses.neural.local_benchmarks`
#: except the held-out V4 sessions kept for choosing layers (never for scores).
HELD_OUT = ("Cowley2023-selection.V4-pls",)


def default_benchmarks() -> tuple[str, ...]:
    """Every local benchmark except :data:`HELD_OUT` (imports the benchmarks: call it when a report runs)."""
    from analyses.neural import local_benchmarks

    return tuple(name for name in local_benchmarks() if name not in HELD_OUT)


@dataclass(frozen=True)
class MeasureSettings:
    """Figure-1 measures per layer (:class:`analyses.pipeline.AnalysisConfig`).

    Attributes:
        n_images: CIFAR-10 test images (or images of ``images``) per layer.
        K: augmentations per image in every ensemble.
        n_boot: bootstrap resamples of the images for every interval.
        images: an ImageFolder of analysis images instead of CIFAR-10 test (e.g. ImageNet validation).
    """

    n_images: int = 16
    K: int = 8
    n_boot: int = 200
    images: str | None = None


@dataclass(frozen=True)
class AugmentationSettings:
    """Augmentation prediction per layer (:class:`analyses.augmentation_prediction.PredictionConfig`).

    Attributes:
        n_train: CIFAR-10 training images the probes are fitted on.
        n_test: CIFAR-10 test images they are scored on.
        per_image: transformations per image.
        n_boot: bootstrap resamples of the test images.
        families: transformation families, each predicted alone.
    """

    n_train: int = 200
    n_test: int = 100
    per_image: int = 1
    n_boot: int = 200
    families: tuple[str, ...] = ("rotation", "color", "blur", "translation", "crop", "flip")


@dataclass(frozen=True)
class ReportConfig:
    """Settings of one report.

    Attributes:
        models: catalogue names or checkpoint files (``--model``, repeatable).
        benchmarks: neural benchmarks (empty: every local one but the held-out V4 sessions,
            :func:`default_benchmarks`).
        layers: modules scored and analysed (empty: each model's own layers, its stages).
        pieces: which parts to compute (:data:`PIECES`).
        reduction: how large layers are reduced before the benchmarks, named in every row (default: the
            PCA of Brain-Score's layer selection, 1,000 components, for speed; ``reduction.components=0``:
            none, the numbers ``neuroequi score`` gives at a committed layer).
        measures, augmentation: sizes of the Figure-1 measures and the augmentation prediction.
        batch_size: images per forward pass.
        seed: image subsets, augmentations, bootstraps.
        parallel: models computed side by side (one job each).
        executor: ``local`` processes, ``slurm`` or ``submitit-local`` (:mod:`figures.executors`);
            one local model runs in this process.
        slurm: the jobs' resources with ``executor: slurm``.
        warm_jobs: with ``executor: local``, fork each job from one launcher that has imported the
            libraries (:mod:`figures.forkserver`); false: every job a new interpreter.
    """

    models: tuple[str, ...] = ()
    benchmarks: tuple[str, ...] = ()
    layers: tuple[str, ...] = ()
    pieces: tuple[str, ...] = PIECES
    reduction: Reduction = LAYER_SELECTION
    measures: MeasureSettings = MeasureSettings()
    augmentation: AugmentationSettings = AugmentationSettings()
    batch_size: int = 64
    seed: int = 0
    parallel: int = 1
    executor: ExecutorKind = "local"
    slurm: SlurmSettings = field(default_factory=SlurmSettings)
    warm_jobs: bool = True

    def __post_init__(self) -> None:
        unknown = [p for p in self.pieces if p not in PIECES]
        if unknown or not self.pieces:
            raise ConfigError(f"report pieces {list(self.pieces)}: choose from {list(PIECES)}")
        if self.parallel < 1 or self.batch_size < 1:
            raise ConfigError(f"report parallel and batch_size must be >= 1, got {self.parallel} and {self.batch_size}")

    def resolved(self) -> ReportConfig:
        """This config with its benchmarks named (:func:`default_benchmarks` when empty) and checked:
        known, local (a report scores every layer, which only local benchmarks allow), and measure
        sizes the augmentation decoding accepts. Imports the benchmarks: call it when a report runs."""
        from analyses.measures import check_decoding_size
        from analyses.neural import check_benchmark, is_online

        benchmarks = self.benchmarks or default_benchmarks()
        online = [check_benchmark(b) for b in benchmarks if is_online(check_benchmark(b))]
        if online:
            raise ConfigError(
                f"report benchmarks {online} are Brain-Score's online ones; a report scores every "
                "layer on local benchmarks (score online ones with `neuroequi score`)"
            )
        if "measures" in self.pieces:
            check_decoding_size(self.measures.n_images, self.measures.K, "report measures:")
        return dataclasses.replace(self, benchmarks=tuple(benchmarks))
