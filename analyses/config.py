"""The settings of an analysis (:func:`analyses.pipeline.analyze`, ``neuroequi analyze``): :class:`AnalysisConfig`.

A module of its own, importing nothing heavy, so that the command's help is generated without torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from neuroequi.errors import ConfigError


@dataclass(frozen=True)
class AnalysisConfig:
    """What :func:`analyze` measures and on how much data (``neuroequi analyze`` keys of the same names).

    ``layer``: the module analysed (None: the model's last layer, ``avgpool``
    for the project's backbones). ``policy``: augmentation policy name (None:
    ``cifar`` for networks taking images of at most 64 px, else
    ``barlow_twins_view1``), made at the network's input size. ``n_images``
    images (random subset by ``seed``) of CIFAR-10 test, or of the ImageFolder
    ``images`` (a folder, e.g. ImageNet validation), ``K`` augmentations per image
    in every ensemble. ``precision``: ``fp32`` or ``bf16`` (CPU autocast).
    ``batch_size``: views per forward pass. ``probe_train`` / ``probe_test``:
    images of the linear probe (0 train images: no probe). ``n_boot``: bootstrap
    resamples of every interval. ``progress``: tqdm bars.
    """

    layer: str | None = None
    policy: str | None = None
    images: str | None = None
    n_images: int = 64
    K: int = 16
    seed: int = 0
    precision: Literal["fp32", "bf16"] = "fp32"
    batch_size: int = 256
    probe_train: int = 5000
    probe_test: int = 10000
    n_boot: int = 1000
    progress: bool = True

    def __post_init__(self) -> None:
        from analyses.measures import check_decoding_size  # here: this module stays light (--help)
        from analyses.responses import PRECISIONS

        if self.precision not in PRECISIONS:
            raise ConfigError(f"analysis precision must be one of {PRECISIONS}, got {self.precision!r}")
        for key, low in (("K", 2), ("batch_size", 1), ("probe_train", 0), ("n_boot", 1)):
            if getattr(self, key) < low:
                raise ConfigError(f"analysis {key} must be >= {low}, got {getattr(self, key)!r}")
        if self.probe_train > 0 and self.probe_test < 1:
            raise ConfigError(f"analysis probe_test must be >= 1 when probe_train > 0, got {self.probe_test!r}")
        check_decoding_size(self.n_images, self.K)

    def policy_name(self, image_size: int) -> str:
        """:attr:`policy`, or the default for networks taking ``image_size`` px images."""
        if self.policy is not None:
            return self.policy
        return "cifar" if image_size <= 64 else "barlow_twins_view1"
