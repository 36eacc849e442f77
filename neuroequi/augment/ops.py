"""The single augmentations: each samples its parameters for ``n`` images and applies them.

``sample(n, generator, image_hw)`` returns a dict ``column -> Tensor (n,)`` (float64)
with the documented defaults (:data:`neuroequi.augment.params.DEFAULTS`) in rows where a
probabilistic augmentation was not applied. The number of random draws never depends
on the outcome, so a policy and its restrictions consume the generator identically.
Photometric ops also have ``apply(x, params) -> x`` on float images ``(N, 3, S, S)``,
changing only the rows whose flag is set. Crop and flip are applied together by
:func:`neuroequi.augment.functional.resized_crop`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import torch

from neuroequi.augment import functional as AF
from neuroequi.augment.params import CROP_PIXELS, CROP_RELATIVE, DEFAULTS, JITTER_OPS, JITTER_ORDER, AugParams
from neuroequi.errors import ConfigError

Columns = dict[str, torch.Tensor]


def check_probability(name: str, p: float) -> float:
    """``p`` as a float, or ConfigError if it is not a number in [0, 1]."""
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= float(p) <= 1.0:
        raise ConfigError(f"{name} probability must be a number in [0, 1], got {p!r}")
    return float(p)


def _check_range(name: str, bounds: tuple[float, float], low: float, high: float = math.inf) -> None:
    lo, hi = bounds
    if not (low <= lo <= hi <= high):
        raise ConfigError(f"{name} must be (min, max) with {low} <= min <= max <= {high}, got {bounds!r}")


def _uniform(n: int, low: float, high: float, generator: torch.Generator | None) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator, dtype=torch.float64)


def _flags(n: int, p: float, generator: torch.Generator | None) -> torch.Tensor:
    return (torch.rand(n, generator=generator, dtype=torch.float64) < p).to(torch.float64)


def _where_applied(flag: torch.Tensor, sampled: Columns) -> Columns:
    """Sampled values where ``flag`` is 1, the documented defaults elsewhere."""
    applied = flag.bool()
    return {name: torch.where(applied, value, DEFAULTS[name]) for name, value in sampled.items()}


def apply_rows(
    x: torch.Tensor, flag: torch.Tensor, fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
) -> torch.Tensor:
    """``x (N, ...)`` with the rows where ``flag (N,)`` is set replaced by ``fn(x[rows], rows)``.

    Works in place on ``x`` unless every row is selected (then ``fn``'s result is returned).
    """
    rows = flag.bool().nonzero().squeeze(1)
    if rows.numel() == len(x):
        return fn(x, rows)
    if rows.numel():
        x.index_copy_(0, rows, fn(x.index_select(0, rows), rows))
    return x


@dataclass(frozen=True)
class RandomResizedCrop:
    """Random box of area ``scale`` x image area and aspect ratio ``ratio`` (log-uniform), resized to ``size``.

    Sampling follows torchvision's ``RandomResizedCrop``: ten tries of (scale, log-ratio),
    the first box that fits wins, else a centre crop with the ratio clamped to ``ratio``.
    Boxes are integer pixels on an ``image_h x image_w`` image; the relative box
    ``crop_* = pixels / image side`` is what is replayed on other images.
    """

    size: int
    scale: tuple[float, float] = (0.08, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    name: ClassVar[str] = "crop"
    columns: ClassVar[tuple[str, ...]] = CROP_RELATIVE + CROP_PIXELS
    tries: ClassVar[int] = 10

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1:
            raise ConfigError(f"crop size must be a positive int, got {self.size!r}")
        _check_range("crop scale", self.scale, 0.0, 1.0)
        if self.scale[1] <= 0:
            raise ConfigError(f"crop scale must be positive, got {self.scale!r}")
        _check_range("crop ratio", self.ratio, 0.0)
        if self.ratio[0] <= 0:
            raise ConfigError(f"crop ratio must be positive, got {self.ratio!r}")

    def sample(self, n: int, generator: torch.Generator | None, image_hw: torch.Tensor) -> Columns:
        height, width = image_hw[:, 0:1], image_hw[:, 1:2]
        area = height * width
        draws = torch.rand(2, n, self.tries, generator=generator, dtype=torch.float64)
        scale = self.scale[0] + (self.scale[1] - self.scale[0]) * draws[0]
        log_lo, log_hi = math.log(self.ratio[0]), math.log(self.ratio[1])
        aspect = torch.exp(log_lo + (log_hi - log_lo) * draws[1])
        w = torch.round(torch.sqrt(area * scale * aspect))
        h = torch.round(torch.sqrt(area * scale / aspect))
        fits = (w > 0) & (h > 0) & (w <= width) & (h <= height)
        first = fits.to(torch.uint8).argmax(dim=1, keepdim=True)
        w, h = w.gather(1, first).squeeze(1), h.gather(1, first).squeeze(1)
        height, width = height.squeeze(1), width.squeeze(1)
        u_x = torch.rand(n, generator=generator, dtype=torch.float64)
        u_y = torch.rand(n, generator=generator, dtype=torch.float64)
        x = torch.floor(u_x * (width - w + 1))
        y = torch.floor(u_y * (height - h + 1))
        # Fallback (no try fits): centre crop with the aspect ratio clamped into ``ratio``.
        in_ratio = width / height
        fw = torch.where(in_ratio > self.ratio[1], torch.round(height * self.ratio[1]), width)
        fh = torch.where(in_ratio < self.ratio[0], torch.round(width / self.ratio[0]), height)
        ok = fits.any(dim=1)
        w, h = torch.where(ok, w, fw), torch.where(ok, h, fh)
        x = torch.where(ok, x, torch.div(width - fw, 2, rounding_mode="floor"))
        y = torch.where(ok, y, torch.div(height - fh, 2, rounding_mode="floor"))
        return self.box_columns(torch.stack((x, y, w, h), dim=1), image_hw)

    @staticmethod
    def box_columns(boxes_px: torch.Tensor, image_hw: torch.Tensor) -> Columns:
        """Relative and pixel crop columns from pixel boxes ``(n, 4)`` on images ``(n, 2)``."""
        sides = image_hw[:, [1, 0, 1, 0]]
        relative = boxes_px / sides
        cols = {name: relative[:, k] for k, name in enumerate(CROP_RELATIVE)}
        cols.update({name: boxes_px[:, k] for k, name in enumerate(CROP_PIXELS)})
        return cols

    @staticmethod
    def identity(n: int, image_hw: torch.Tensor) -> Columns:
        """The whole image as the box, for ``n`` images of sizes ``image_hw (n, 2)``."""
        zeros = torch.zeros_like(image_hw)
        return RandomResizedCrop.box_columns(torch.cat((zeros, image_hw[:, [1, 0]]), dim=1), image_hw)


@dataclass(frozen=True)
class HorizontalFlip:
    """Mirror left-right with probability ``p``; column ``flip`` (default 0)."""

    p: float = 0.5
    name: ClassVar[str] = "flip"
    columns: ClassVar[tuple[str, ...]] = ("flip",)

    def __post_init__(self) -> None:
        check_probability("flip", self.p)

    def sample(self, n: int, generator: torch.Generator | None, image_hw: torch.Tensor) -> Columns:
        return {"flip": _flags(n, self.p, generator)}


@dataclass(frozen=True)
class ColorJitter:
    """With probability ``p``: brightness, contrast, saturation, hue in a random order.

    Factors are uniform in ``[max(0, 1 - b), 1 + b]`` (brightness, contrast, saturation)
    and ``[-hue, hue]``; the order is a uniform random permutation (``jitter_order_k`` =
    index into ``(brightness, contrast, saturation, hue)`` of the k-th op), as in
    torchvision's ``ColorJitter``. Not applied: flag 0, factors 1, hue 0, order 0,1,2,3.
    """

    p: float = 0.8
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.2
    hue: float = 0.1
    name: ClassVar[str] = "jitter"
    columns: ClassVar[tuple[str, ...]] = ("jitter",) + JITTER_OPS + JITTER_ORDER

    def __post_init__(self) -> None:
        check_probability("jitter", self.p)
        for op in JITTER_OPS[:3]:
            if getattr(self, op) < 0:
                raise ConfigError(f"jitter {op} strength must be >= 0, got {getattr(self, op)!r}")
        if not 0.0 <= self.hue <= 0.5:
            raise ConfigError(f"jitter hue strength must be in [0, 0.5], got {self.hue!r}")

    def sample(self, n: int, generator: torch.Generator | None, image_hw: torch.Tensor) -> Columns:
        flag = _flags(n, self.p, generator)
        sampled = {
            op: _uniform(n, max(0.0, 1.0 - getattr(self, op)), 1.0 + getattr(self, op), generator)
            for op in JITTER_OPS[:3]
        }
        sampled["hue"] = _uniform(n, -self.hue, self.hue, generator)
        order = torch.argsort(torch.rand(n, len(JITTER_OPS), generator=generator), dim=1).to(torch.float64)
        sampled.update({name: order[:, k] for k, name in enumerate(JITTER_ORDER)})
        return {"jitter": flag, **_where_applied(flag, sampled)}

    @staticmethod
    def apply(x: torch.Tensor, params: AugParams) -> torch.Tensor:
        kernels = (AF.adjust_brightness, AF.adjust_contrast, AF.adjust_saturation, AF.adjust_hue)
        applied = params["jitter"].bool()
        factors = params[list(JITTER_OPS)].to(x.dtype)
        order = params[list(JITTER_ORDER)].long()
        for step in range(len(JITTER_OPS)):
            for op, kernel in enumerate(kernels):
                mask = applied & (order[:, step] == op)
                x = apply_rows(x, mask, lambda xs, rows, k=kernel, j=op: k(xs, factors[rows, j]))
        return x


@dataclass(frozen=True)
class RandomGrayscale:
    """Replace the image by its luma on all three channels with probability ``p``."""

    p: float = 0.2
    name: ClassVar[str] = "grayscale"
    columns: ClassVar[tuple[str, ...]] = ("grayscale",)

    def __post_init__(self) -> None:
        check_probability("grayscale", self.p)

    def sample(self, n: int, generator: torch.Generator | None, image_hw: torch.Tensor) -> Columns:
        return {"grayscale": _flags(n, self.p, generator)}

    @staticmethod
    def apply(x: torch.Tensor, params: AugParams) -> torch.Tensor:
        return apply_rows(x, params["grayscale"], lambda xs, rows: AF.grayscale(xs))


@dataclass(frozen=True)
class GaussianBlur:
    """With probability ``p``: Gaussian blur, ``sigma`` uniform in ``sigma`` range, fixed ``kernel_size``.

    Not applied: ``blur`` 0 and ``blur_sigma`` 0.
    """

    p: float
    kernel_size: int
    sigma: tuple[float, float] = (0.1, 2.0)
    name: ClassVar[str] = "blur"
    columns: ClassVar[tuple[str, ...]] = ("blur", "blur_sigma")

    def __post_init__(self) -> None:
        check_probability("blur", self.p)
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ConfigError(f"blur kernel_size must be a positive odd int, got {self.kernel_size!r}")
        _check_range("blur sigma", self.sigma, 1e-6)

    def sample(self, n: int, generator: torch.Generator | None, image_hw: torch.Tensor) -> Columns:
        flag = _flags(n, self.p, generator)
        sigma = _uniform(n, self.sigma[0], self.sigma[1], generator)
        return {"blur": flag, **_where_applied(flag, {"blur_sigma": sigma})}

    def apply(self, x: torch.Tensor, params: AugParams) -> torch.Tensor:
        sigma = params["blur_sigma"]
        return apply_rows(x, params["blur"], lambda xs, rows: AF.gaussian_blur(xs, sigma[rows], self.kernel_size))


@dataclass(frozen=True)
class Solarize:
    """Invert pixels ``>= threshold`` (on the [0, 1] scale) with probability ``p``."""

    p: float
    threshold: float = 0.5
    name: ClassVar[str] = "solarize"
    columns: ClassVar[tuple[str, ...]] = ("solarize",)

    def __post_init__(self) -> None:
        check_probability("solarize", self.p)
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"solarize threshold must be in [0, 1], got {self.threshold!r}")

    def sample(self, n: int, generator: torch.Generator | None, image_hw: torch.Tensor) -> Columns:
        return {"solarize": _flags(n, self.p, generator)}

    def apply(self, x: torch.Tensor, params: AugParams) -> torch.Tensor:
        return apply_rows(x, params["solarize"], lambda xs, rows: AF.solarize(xs, self.threshold))


def defaults(columns: tuple[str, ...], n: int) -> Columns:
    """The not-applied defaults for ``columns`` (not the crop), ``n`` rows each."""
    return {c: torch.full((n,), DEFAULTS[c], dtype=torch.float64) for c in columns}
