"""Torch-free settings of :mod:`neuroequi.augment.families` (the ``neuroequi.augment`` package imports
torch): the family names, their check, and :class:`TransformsConfig`, so that the configs holding one
(training, the augmentation-prediction benchmark, the equivariance table) load without torch
(``--help``). :mod:`neuroequi.augment.families` re-exports every name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from neuroequi.errors import ConfigError

FAMILIES: tuple[str, ...] = ("crop", "flip", "rotation", "scale", "translation", "color", "blur")
"""Every family, in the order a :class:`~neuroequi.augment.families.FamilyPolicy` applies them."""

POSTER_FAMILIES: tuple[str, ...] = ("rotation", "color", "blur", "translation")
"""The four families of Wang, Krajsek & Scharr's CIFAR-10 table (SIE(all) uses all four)."""


def check_families(families: Sequence[str], where: str = "families") -> tuple[str, ...]:
    """``families`` as a tuple in application order; ConfigError for an unknown, repeated or empty list."""
    if isinstance(families, str):
        families = (families,)
    families = tuple(families)
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise ConfigError(f"{where}: unknown transformation family {unknown}; valid: {list(FAMILIES)}")
    if not families or len(set(families)) != len(families):
        raise ConfigError(f"{where}: need one or more distinct families, got {list(families)}")
    return tuple(f for f in FAMILIES if f in families)


@dataclass
class TransformsConfig:
    """Transformation families of the training views (``data.transforms`` of a training config).

    Attributes:
        families: the families applied (default: the poster's rotation, color, blur, translation).
        rotation_degrees: rotation angle uniform in ``[-d, d]`` degrees.
        translate: largest shift as a fraction of the view side (``RandomAffine(translate=...)``).
        scale: zoom range ``[low, high]`` (log-uniform).
        crop_scale: RandomResizedCrop area range ``[low, high]``.
        flip_p: probability of a left-right mirror.
        jitter: colour-jitter strengths (brightness, contrast, saturation, hue); always applied.
        blur_sigma: blur radius σ range ``[low, high]`` in pixels; always applied.
        blur_kernel: odd kernel size (None: ``2 * ceil(3 * max σ) + 1``, at most the largest
            odd size below twice the view side).
        fill: value of pixels moved in from outside by the geometric families (None: zeros
            without torchvision's mask blend).
    """

    families: tuple[str, ...] = POSTER_FAMILIES
    rotation_degrees: float = 90.0
    translate: float = 0.125
    scale: tuple[float, ...] = (0.75, 1.25)
    crop_scale: tuple[float, ...] = (0.2, 1.0)
    flip_p: float = 0.5
    jitter: tuple[float, ...] = (0.4, 0.4, 0.4, 0.1)
    blur_sigma: tuple[float, ...] = (0.1, 2.0)
    blur_kernel: int | None = None
    fill: float | None = 0.0


__all__ = ["FAMILIES", "POSTER_FAMILIES", "TransformsConfig", "check_families"]
