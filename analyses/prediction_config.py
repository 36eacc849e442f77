"""Torch-free settings of the augmentation-prediction benchmark (:mod:`analyses.augmentation_prediction`,
which re-exports them): ``neuroequi augmentation-prediction --help`` and the equivariance table's config
load them without torch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from neuroequi.augment_settings import TransformsConfig


@dataclass
class PredictionConfig:
    """Settings of the benchmark (``neuroequi augmentation-prediction``).

    Attributes:
        layer: the module whose responses are used (None: the model's last layer, ``avgpool``
            for the project's backbones).
        families: families scored, one at a time.
        n_train, n_test: CIFAR-10 training images the probe is fitted on, test images it is scored on.
        per_image: transformations per image.
        probe: ``ridge`` (logistic regression for flip) or ``mlp``.
        mlp_hidden: hidden sizes of the MLP probe.
        feature_slice: ``[start, stop)`` of the layer's features to use (None: all).
        transforms: the families' parameter ranges (``families`` there is ignored).
        seed: image subsets, transformations, bootstrap.
        n_boot: bootstrap resamples of the test images.
        batch_size, precision, progress: extraction settings.
    """

    layer: str | None = None
    families: tuple[str, ...] = ("rotation", "color", "blur", "translation", "crop", "flip")
    n_train: int = 2000
    n_test: int = 1000
    per_image: int = 1
    probe: Literal["ridge", "mlp"] = "ridge"
    mlp_hidden: tuple[int, ...] = (256, 256)
    feature_slice: tuple[int, ...] | None = None
    transforms: TransformsConfig = field(default_factory=TransformsConfig)
    seed: int = 0
    n_boot: int = 1000
    batch_size: int = 256
    precision: Literal["fp32", "bf16"] = "fp32"
    progress: bool = True


@dataclass
class PredictionSettings(PredictionConfig):
    """Settings of ``neuroequi augmentation-prediction``: the benchmark (:class:`PredictionConfig`) and its model.

    Attributes:
        model: model_zoo catalogue name, or a neuroequi checkpoint file.
    """

    model: str = ""


__all__ = ["PredictionConfig", "PredictionSettings"]
