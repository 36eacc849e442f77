"""Augmentation policies (crop, flip, jitter, grayscale, blur, solarize) and the papers' presets."""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass

import torch

from neuroequi.augment import functional as AF
from neuroequi.augment.images import ImageInput, as_images, image_sizes, to_float
from neuroequi.augment.ops import (
    ColorJitter,
    GaussianBlur,
    HorizontalFlip,
    RandomGrayscale,
    RandomResizedCrop,
    Solarize,
    defaults,
)
from neuroequi.augment.params import COLUMNS, CROP_RELATIVE, DEFAULTS, AugParams
from neuroequi.errors import ConfigError

OP_NAMES: tuple[str, ...] = ("crop", "flip", "jitter", "grayscale", "blur", "solarize")
RESTRICTIONS: dict[str, frozenset[str]] = {
    "full": frozenset(OP_NAMES),
    "crop": frozenset({"crop"}),
    "geometric": frozenset({"crop", "flip"}),
    "photometric": frozenset({"jitter", "grayscale", "blur", "solarize"}),
}
"""Restricted ensembles: the augmentations each one keeps (the others stay at their defaults;
a policy without crop uses the whole image)."""

Op = RandomResizedCrop | HorizontalFlip | ColorJitter | RandomGrayscale | GaussianBlur | Solarize


@dataclass(frozen=True)
class Policy:
    """A random augmentation pipeline, applied in the order crop, flip, jitter, grayscale, blur, solarize.

    ``blur``/``solarize`` are None when the policy has no such augmentation (then their
    columns always hold the defaults and the EquiMod encoding leaves them out).
    ``restriction`` (see :data:`RESTRICTIONS`) switches augmentations off without changing
    the random draws: with the same generator state a restricted policy samples exactly
    the full policy's values for the augmentations it keeps.
    """

    name: str
    crop: RandomResizedCrop
    flip: HorizontalFlip
    jitter: ColorJitter
    grayscale: RandomGrayscale
    blur: GaussianBlur | None = None
    solarize: Solarize | None = None
    restriction: str = "full"

    def __post_init__(self) -> None:
        if self.restriction not in RESTRICTIONS:
            raise ConfigError(
                f"unknown restriction {self.restriction!r} (data.restriction); valid: {sorted(RESTRICTIONS)}"
            )

    @property
    def size(self) -> int:
        """Output side ``S`` of the views."""
        return self.crop.size

    @property
    def ops(self) -> tuple[Op, ...]:
        """The augmentations this policy has, in application order."""
        ops = (self.crop, self.flip, self.jitter, self.grayscale, self.blur, self.solarize)
        return tuple(op for op in ops if op is not None)

    @property
    def active(self) -> frozenset[str]:
        """Names of the augmentations this (possibly restricted) policy applies."""
        return RESTRICTIONS[self.restriction] & {op.name for op in self.ops}

    def restrict(self, kind: str) -> Policy:
        """The same policy keeping only ``kind`` in {"crop", "photometric", "geometric", "full"}."""
        if kind not in RESTRICTIONS:
            raise ConfigError(f"unknown restriction {kind!r} (data.restriction); valid: {sorted(RESTRICTIONS)}")
        return dataclasses.replace(self, restriction=kind)

    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        image_size: tuple[int, int] | torch.Tensor | None = None,
    ) -> AugParams:
        """Sample parameters for ``n`` images.

        Args:
            n: number of parameter sets (rows).
            generator: source of randomness (torch's global generator if None).
            image_size: ``(H, W)`` of the images, or an ``(n, 2)`` tensor of per-row sizes, for
                the integer pixel crop boxes; default ``(S, S)``. The relative box is what
                :meth:`apply` uses, so parameters replay onto images of any size.

        Returns:
            :class:`AugParams` with columns :data:`~neuroequi.augment.params.COLUMNS`.
        """
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        n = int(n)
        hw = _image_hw(n, self.size if image_size is None else image_size)
        cols = _identity_columns(hw)
        active = self.active
        for op in self.ops:
            sampled = op.sample(n, generator, hw)
            if op.name in active:
                cols.update(sampled)
        return AugParams(torch.stack([cols[c] for c in COLUMNS], dim=1), COLUMNS)

    def apply(self, images: ImageInput, params: AugParams) -> torch.Tensor:
        """Apply ``params`` (one row per image) to ``images``: views ``(N, 3, S, S)`` float32 in [0, 1].

        ``images``: uint8/float tensor ``(N, 3, H, W)``, or a list of PIL images / ``(3, H, W)``
        tensors of any sizes. The relative crop box is scaled to each image's size (replay).
        """
        return self._apply(as_images(images), params)

    def __call__(self, images: ImageInput, generator: torch.Generator | None = None) -> tuple[torch.Tensor, AugParams]:
        """Sample one parameter set per image (crop boxes in each image's pixels) and apply it."""
        checked = as_images(images)
        params = self.sample(len(checked), generator, image_sizes(checked))
        return self._apply(checked, params), params

    def _apply(self, images: torch.Tensor | list[torch.Tensor], params: AugParams) -> torch.Tensor:
        n = len(images)
        if not isinstance(params, AugParams) or params.columns != COLUMNS:
            raise ValueError(f"params must be AugParams with the policy columns {COLUMNS}, got {params!r}")
        if len(params) != n:
            raise ValueError(f"got {len(params)} parameter rows for {n} images")
        for op_name, op in (("blur", self.blur), ("solarize", self.solarize)):
            if op is None and bool(params[op_name].any()):
                raise ValueError(f"params ask for {op_name} but policy {self.name!r} has no {op_name}")
        params = params.to(images.device if isinstance(images, torch.Tensor) else images[0].device)
        x = _crop_and_flip(images, params, self.size)
        for op in self.ops[2:]:  # the photometric ops, in order
            x = op.apply(x, params)
        return x


def _identity_columns(image_hw: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every column of "no augmentation" for images of sizes ``image_hw (n, 2)``, ``n`` rows each."""
    cols = defaults(tuple(DEFAULTS), image_hw.shape[0])
    cols.update(RandomResizedCrop.identity(image_hw.shape[0], image_hw))
    cols["image_h"], cols["image_w"] = image_hw[:, 0], image_hw[:, 1]
    return cols


def identity_params(image_hw: torch.Tensor) -> AugParams:
    """Parameters of the un-augmented view of each image: the whole image as the crop box, every
    other augmentation at its default (:data:`~neuroequi.augment.params.DEFAULTS`).

    ``image_hw``: ``(N, 2)`` sizes ``(H, W)`` in pixels (e.g. ``augment.images.image_sizes(images)``).
    Returns ``N`` rows; ``policy.apply(images, identity_params(sizes))`` resizes the whole images.
    """
    cols = _identity_columns(image_hw.to(torch.float64))
    return AugParams(torch.stack([cols[c] for c in COLUMNS], dim=1), COLUMNS)


def _image_hw(n: int, image_size: int | tuple[int, int] | torch.Tensor) -> torch.Tensor:
    """``(n, 2)`` float64 image sizes from an int, an ``(H, W)`` pair or an ``(n, 2)`` tensor."""
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    hw = torch.as_tensor(image_size, dtype=torch.float64)
    if hw.ndim == 1:
        hw = hw.reshape(1, -1).repeat(n, 1)
    if hw.shape != (n, 2) or not bool((hw >= 1).all()) or not bool((hw == hw.round()).all()):
        raise ValueError(f"image_size must be positive integer (H, W) or an ({n}, 2) tensor, got {image_size!r}")
    return hw


def _crop_and_flip(images: torch.Tensor | list[torch.Tensor], params: AugParams, size: int) -> torch.Tensor:
    """Resized crops ``(N, 3, S, S)`` float32 of validated images, grouped by image size."""
    relative = params[list(CROP_RELATIVE)]
    flip = params["flip"].bool()
    hw = image_sizes(images).to(relative.device)
    boxes = relative * hw[:, [1, 0, 1, 0]]
    if isinstance(images, torch.Tensor):
        return AF.resized_crop(to_float(images), boxes, size, flip)
    out = torch.empty(len(images), 3, size, size, dtype=torch.float32, device=relative.device)
    for shape in {tuple(x.shape) for x in images}:
        rows = [k for k, x in enumerate(images) if tuple(x.shape) == shape]
        batch = torch.stack([to_float(images[k]) for k in rows])
        out[rows] = AF.resized_crop(batch, boxes[rows], size, flip[rows])
    return out


def _blur_kernel(size: int) -> int:
    """Odd kernel size nearest below-or-at 10% of the image side, as in SimCLR/BYOL (23 at 224)."""
    k = max(int(0.1 * size), 1)
    return k if k % 2 else k + 1


_IMAGENET_JITTER = (0.4, 0.4, 0.2, 0.1)  # BYOL / Barlow Twins
_SIMCLR_JITTER = (0.8, 0.8, 0.8, 0.2)  # SimCLR, strength s = 1: 0.8 s, 0.8 s, 0.8 s, 0.2 s
_CIFAR_JITTER = (0.4, 0.4, 0.4, 0.1)  # SimCLR's CIFAR-10 setting (s = 0.5)

# name -> (size, jitter strengths, blur p or None, solarize p or None)
_PRESETS: dict[str, tuple[int, tuple[float, float, float, float], float | None, float | None]] = {
    "byol_view1": (224, _IMAGENET_JITTER, 1.0, 0.0),
    "byol_view2": (224, _IMAGENET_JITTER, 0.1, 0.2),
    "barlow_twins_view1": (224, _IMAGENET_JITTER, 1.0, 0.0),
    "barlow_twins_view2": (224, _IMAGENET_JITTER, 0.1, 0.2),
    "ce_ssl_paired_view2": (224, _IMAGENET_JITTER, 0.2, 0.2),
    "simclr": (224, _SIMCLR_JITTER, 0.5, None),
    "cifar": (32, _CIFAR_JITTER, None, None),
    "simclr_cifar": (32, _CIFAR_JITTER, None, None),
}

VIEW_PAIRS: dict[str, tuple[str, str]] = {
    **{name: (name, name) for name in _PRESETS},
    "byol": ("byol_view1", "byol_view2"),
    "barlow_twins": ("barlow_twins_view1", "barlow_twins_view2"),
    "ce_ssl_paired": ("barlow_twins_view1", "ce_ssl_paired_view2"),
}
"""Every policy name -> the presets of its (view A, view B). One vocabulary for :func:`get_policy`,
:func:`two_view_policies` and the training config's ``data.policy``: a preset name stands for
itself on both views; ``byol`` / ``barlow_twins`` / ``ce_ssl_paired`` for their two asymmetric views."""

POLICY_NAMES: tuple[str, ...] = tuple(sorted(VIEW_PAIRS))
"""The names :func:`get_policy` and :func:`two_view_policies` accept."""


def _check_name(name: str) -> tuple[str, str]:
    if name not in VIEW_PAIRS:
        raise ConfigError(f"unknown augmentation policy {name!r} (data.policy); valid: {list(POLICY_NAMES)}")
    return VIEW_PAIRS[name]


def get_policy(name: str, *, size: int | None = None, crop_scale: tuple[float, float] | None = None) -> Policy:
    """A preset policy, optionally with another output ``size`` or crop ``scale`` range.

    ``name`` is any of :data:`POLICY_NAMES`; a two-view name (``byol``, ``barlow_twins``) gives
    its first view (``byol_view1``, ``barlow_twins_view1``), the view the analyses use.

    Presets (all: crop scale (0.08, 1), ratio (3/4, 4/3), flip p=0.5, jitter p=0.8,
    grayscale p=0.2, blur sigma in (0.1, 2) with a kernel of ~10% of the side (23 at 224),
    solarize threshold 0.5):

    * ``byol_view1`` / ``barlow_twins_view1``: 224 px, jitter (0.4, 0.4, 0.2, 0.1), blur p=1.0,
      solarize p=0.0. ``byol_view2`` / ``barlow_twins_view2``: blur p=0.1, solarize p=0.2
      (BYOL, Grill et al. 2020, table 6; Barlow Twins uses the same distributions).
    * ``ce_ssl_paired_view2``: CE-SSL's paired pipeline's second view (``CE_SSL/data/transforms.py``
      ``MatchedTransform``: blur p=0.2, solarize p=0.2); its first view is ``barlow_twins_view1``.
    * ``simclr``: 224 px, jitter (0.8, 0.8, 0.8, 0.2) (strength s=1), blur p=0.5, no solarize.
    * ``cifar`` (= ``simclr_cifar``): 32 px, jitter (0.4, 0.4, 0.4, 0.1) (s=0.5), no blur, no
      solarize. Some CIFAR recipes crop with scale (0.2, 1): pass ``crop_scale=(0.2, 1.0)``.
    """
    name = _check_name(name)[0]
    preset_size, (b, c, s, h), blur_p, solarize_p = _PRESETS[name]
    size = preset_size if size is None else size
    crop = RandomResizedCrop(size, (0.08, 1.0) if crop_scale is None else tuple(crop_scale))
    return Policy(
        name=name,
        crop=crop,
        flip=HorizontalFlip(0.5),
        jitter=ColorJitter(0.8, b, c, s, h),
        grayscale=RandomGrayscale(0.2),
        blur=None if blur_p is None else GaussianBlur(blur_p, _blur_kernel(size)),
        solarize=None if solarize_p is None else Solarize(solarize_p, 0.5),
    )


def two_view_policies(name: str, **overrides: object) -> tuple[Policy, Policy]:
    """The (view A, view B) policies of ``name``, any of :data:`POLICY_NAMES` (see :data:`VIEW_PAIRS`).

    ``overrides`` (``size``, ``crop_scale``) are passed to :func:`get_policy`.
    """
    first, second = _check_name(name)
    return get_policy(first, **overrides), get_policy(second, **overrides)
