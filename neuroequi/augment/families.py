"""Transformation families with recorded parameters: what SIE conditions on and what the
augmentation-prediction benchmark predicts.

A :class:`FamilyPolicy` applies, in this order, each family that is *active*:

=============  ============================  ==============================================
family         op (its parameters)           prediction target (:func:`family_targets`)
=============  ============================  ==============================================
``crop``       RandomResizedCrop (box)       ``crop_x, crop_y, crop_w, crop_h`` (relative box)
``flip``       HorizontalFlip (flag)         ``flip`` (a class: mirrored or not)
``rotation``   RandomRotation (``angle``)    ``cos(angle), sin(angle)``
``scale``      RandomScale (``scale``)       ``log(scale)``
``translation`` RandomTranslation (shift)    ``translate_x, translate_y`` (fractions of the side)
``color``      ColorJitter, p = 1            ``brightness, contrast, saturation, hue``
``blur``       GaussianBlur, p = 1 (σ)       ``blur_sigma`` (the blur radius σ in pixels, PIL's
                                             ``GaussianBlur(radius)``)
=============  ============================  ==============================================

Rotation, scale and translation are one bilinear affine warp per image
(:func:`neuroequi.augment.geometric.affine`), so a view is interpolated once. Inactive
families keep their identity values in the table; the random draws of every family are
made whatever is active, so with the same generator a single-family policy samples exactly
the values the all-family policy samples for that family (``restrict``).

The parameter table has the columns of :data:`FAMILY_COLUMNS`: the standard
:data:`~neuroequi.augment.params.COLUMNS` (grayscale and solarize always at their defaults)
plus the geometric ones of :mod:`neuroequi.augment.geometric`. :meth:`FamilyPolicy.apply`
also accepts a standard table (the geometric families then stay at the identity), so the
clean views the training monitors make work unchanged.

The targets of a transformation *relative to another* (SIE's predictor input, the
relative transformation between two views, as SIE's data loader computes
``rot_1.inv() * rot_2`` and ``latent_2 - latent_1``) come from
``family_targets(params_b, family, reference=params_a)``: the angle difference (exact
composition of plane rotations), the log-ratio of scales, XOR of flips, and the
difference of every other parameter.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from neuroequi.augment.geometric import (
    GEOMETRIC_COLUMNS,
    GEOMETRIC_DEFAULTS,
    RandomRotation,
    RandomScale,
    RandomTranslation,
    affine,
)
from neuroequi.augment.images import ImageInput, as_images, image_sizes
from neuroequi.augment.ops import (
    ColorJitter,
    GaussianBlur,
    HorizontalFlip,
    RandomResizedCrop,
    apply_rows,
)
from neuroequi.augment.params import (
    COLUMNS,
    CROP_RELATIVE,
    DEFAULTS,
    JITTER_OPS,
    AugParams,
)
from neuroequi.augment.policy import _crop_and_flip, _identity_columns, _image_hw
from neuroequi.augment_settings import FAMILIES, POSTER_FAMILIES, TransformsConfig, check_families
from neuroequi.errors import ConfigError

FAMILY_COLUMNS: tuple[str, ...] = COLUMNS + GEOMETRIC_COLUMNS
"""Columns of every parameter table a :class:`FamilyPolicy` samples."""

TARGETS: dict[str, tuple[str, ...]] = {
    "crop": CROP_RELATIVE,
    "flip": ("flip",),
    "rotation": ("angle_cos", "angle_sin"),
    "scale": ("log_scale",),
    "translation": ("translate_x", "translate_y"),
    "color": JITTER_OPS,
    "blur": ("blur_sigma",),
}
"""Names of each family's prediction targets (see the module docstring)."""

CATEGORICAL: frozenset[str] = frozenset({"flip"})
"""Families whose target is a class (scored by accuracy), not a number (scored by R²)."""

_IDENTITY = {**DEFAULTS, **GEOMETRIC_DEFAULTS, "crop_x": 0.0, "crop_y": 0.0, "crop_w": 1.0, "crop_h": 1.0}


@dataclass(frozen=True)
class FamilyPolicy:
    """A pipeline of transformation families (see the module docstring); ``families`` are applied.

    Same interface as :class:`~neuroequi.augment.Policy`: ``sample``, ``apply``, ``__call__``,
    ``size``, ``name``; :meth:`restrict` keeps a subset of the families.
    """

    name: str
    crop: RandomResizedCrop
    flip: HorizontalFlip
    rotation: RandomRotation
    scale: RandomScale
    translation: RandomTranslation
    color: ColorJitter
    blur: GaussianBlur
    families: tuple[str, ...] = POSTER_FAMILIES
    fill: float | None = 0.0
    columns: tuple[str, ...] = field(default=FAMILY_COLUMNS, init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "families", check_families(self.families, f"policy {self.name!r}"))
        if self.translation.size != self.crop.size:
            raise ValueError(
                f"translation is sampled for {self.translation.size}px views but views are {self.crop.size}px"
            )

    @property
    def size(self) -> int:
        """Output side ``S`` of the views."""
        return self.crop.size

    def restrict(self, *families: str) -> FamilyPolicy:
        """The same policy applying only ``families`` (same random draws for those it keeps)."""
        return dataclasses.replace(self, families=check_families(families, f"policy {self.name!r}"))

    def identity(self, image_hw: torch.Tensor) -> AugParams:
        """Parameters of the un-transformed view of images of sizes ``(n, 2)``: whole image, identity."""
        hw = image_hw.to(torch.float64)
        cols = {
            **_identity_columns(hw),
            **{c: torch.full((hw.shape[0],), v, dtype=torch.float64) for c, v in GEOMETRIC_DEFAULTS.items()},
        }
        return AugParams(torch.stack([cols[c] for c in FAMILY_COLUMNS], dim=1), FAMILY_COLUMNS)

    def sample(
        self, n: int, generator: torch.Generator | None = None, image_size: tuple[int, int] | torch.Tensor | None = None
    ) -> AugParams:
        """Parameters of ``n`` views (every family drawn, the inactive ones left at the identity).

        ``image_size``: ``(H, W)`` or per-row ``(n, 2)`` sizes for the pixel crop boxes (default ``(S, S)``).
        """
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        hw = _image_hw(int(n), self.size if image_size is None else image_size)
        cols = {c: v for c, v in zip(FAMILY_COLUMNS, self.identity(hw).values.T)}
        for family in FAMILIES:
            sampled = getattr(self, family).sample(int(n), generator, hw)
            if family in self.families:
                cols.update(sampled)
        return AugParams(torch.stack([cols[c] for c in FAMILY_COLUMNS], dim=1), FAMILY_COLUMNS)

    def __call__(self, images: ImageInput, generator: torch.Generator | None = None) -> tuple[torch.Tensor, AugParams]:
        """Sample one parameter set per image and apply it: ``(views (N, 3, S, S), params)``."""
        checked = as_images(images)
        params = self.sample(len(checked), generator, image_sizes(checked))
        return self._apply(checked, params), params

    def apply(self, images: ImageInput, params: AugParams) -> torch.Tensor:
        """Apply ``params`` (one row per image): float32 views ``(N, 3, S, S)`` in [0, 1] (replay)."""
        return self._apply(as_images(images), params)

    def _apply(self, images: torch.Tensor | list[torch.Tensor], params: AugParams) -> torch.Tensor:
        if not isinstance(params, AugParams) or params.columns not in (FAMILY_COLUMNS, COLUMNS):
            raise ValueError(
                f"params must be AugParams with the columns {FAMILY_COLUMNS} (or {COLUMNS}), got {params!r}"
            )
        if len(params) != len(images):
            raise ValueError(f"got {len(params)} parameter rows for {len(images)} images")
        for column in ("grayscale", "solarize"):
            if bool(params[column].any()):
                raise ValueError(f"params ask for {column} but family policy {self.name!r} has no {column}")
        device = images.device if isinstance(images, torch.Tensor) else images[0].device
        params = params.to(device)
        x = _crop_and_flip(images, params, self.size)
        if params.columns == FAMILY_COLUMNS:
            x = self._warp(x, params)
        x = ColorJitter.apply(x, params)
        return self.blur.apply(x, params)

    def _warp(self, x: torch.Tensor, params: AugParams) -> torch.Tensor:
        """Rotation, scale and translation of the rows that have any (one affine warp each)."""
        angle, scale = params["angle"], params["scale"]
        shift = params[["translate_x", "translate_y"]] * torch.tensor([x.shape[-1], x.shape[-2]], dtype=torch.float64)
        moved = (angle != 0) | (scale != 1) | (shift != 0).any(dim=1)
        return apply_rows(x, moved, lambda xs, rows: affine(xs, angle[rows], shift[rows], scale[rows], self.fill))


def family_policy(config: TransformsConfig, size: int, name: str = "families") -> FamilyPolicy:
    """The :class:`FamilyPolicy` of a :class:`TransformsConfig` making ``size x size`` views."""
    families = check_families(config.families, "transforms.families")
    for key in ("scale", "crop_scale", "blur_sigma"):
        if len(getattr(config, key)) != 2:
            raise ConfigError(f"transforms.{key}: expected [low, high], got {list(getattr(config, key))}")
    if len(config.jitter) != 4:
        raise ConfigError(
            f"transforms.jitter: expected [brightness, contrast, saturation, hue], got {list(config.jitter)}"
        )
    kernel = config.blur_kernel
    if kernel is None:
        kernel = min(2 * math.ceil(3 * config.blur_sigma[1]) + 1, 2 * size - 1 if size > 1 else 1)
    try:
        return FamilyPolicy(
            name=name,
            crop=RandomResizedCrop(size, tuple(config.crop_scale)),
            flip=HorizontalFlip(config.flip_p),
            rotation=RandomRotation(config.rotation_degrees),
            scale=RandomScale(tuple(config.scale)),
            translation=RandomTranslation(size, config.translate),
            color=ColorJitter(1.0, *config.jitter),
            blur=GaussianBlur(1.0, kernel, tuple(config.blur_sigma)),
            families=families,
            fill=config.fill,
        )
    except ConfigError:
        raise
    except ValueError as err:
        raise ConfigError(f"transforms: {err}") from err


def family_targets(params: AugParams, family: str, reference: AugParams | None = None) -> torch.Tensor:
    """Prediction targets ``(N, d)`` float64 of the transformation from ``reference`` to ``params``.

    ``reference`` None: from the identity (the transformation's own parameters). Rotation:
    cos and sin of the angle difference; scale: log of the ratio; flip: 1 if exactly one
    is mirrored; every other target: the difference (names in :data:`TARGETS`).
    """
    check_families((family,))
    ref = _identity_like(params) if reference is None else reference
    if len(ref) != len(params):
        raise ValueError(f"reference has {len(ref)} rows, params {len(params)}")
    if family == "rotation":
        delta = torch.deg2rad(params["angle"] - ref["angle"])
        return torch.stack((torch.cos(delta), torch.sin(delta)), dim=1)
    if family == "scale":
        return torch.log(params["scale"] / ref["scale"]).unsqueeze(1)
    if family == "flip":
        return (params["flip"] - ref["flip"]).abs().unsqueeze(1)
    names = list(TARGETS[family])
    return params[names] - ref[names]


def _identity_like(params: AugParams) -> AugParams:
    values = torch.stack(
        [torch.full((len(params),), _IDENTITY.get(c, 0.0), dtype=torch.float64) for c in params.columns], 1
    )
    return AugParams(values, params.columns)


def relative_target_statistics(
    policy: FamilyPolicy, families: Sequence[str], n_samples: int = 20_000, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation ``(d,)`` of the concatenated relative targets of ``families``
    between two independent views of ``policy`` (``n_samples`` pairs, generator seeded by
    ``seed``); a constant target gets std 1."""
    generator = torch.Generator().manual_seed(seed)
    a, b = policy.sample(n_samples, generator), policy.sample(n_samples, generator)
    z = torch.cat([family_targets(b, f, a) for f in check_families(families)], dim=1)
    std = z.std(dim=0)
    return z.mean(dim=0), torch.where(std > 0, std, torch.ones_like(std))


__all__ = [
    "CATEGORICAL",
    "FAMILIES",
    "FAMILY_COLUMNS",
    "POSTER_FAMILIES",
    "TARGETS",
    "FamilyPolicy",
    "TransformsConfig",
    "check_families",
    "family_policy",
    "family_targets",
    "relative_target_statistics",
]
