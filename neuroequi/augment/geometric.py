"""Rotation, scaling and translation: one batched affine kernel and the three random ops.

The kernel :func:`affine` follows ``torchvision.transforms.v2.functional.affine`` on float
images with bilinear interpolation and no shear (tested to 1e-5): the inverse affine matrix
about the image centre, a pixel-centred sampling grid normalised by half the image side,
``grid_sample(..., padding_mode="zeros", align_corners=False)`` and, when ``fill`` is a
number, torchvision's blend with a sampled mask of ones (``fill=None``: plain zero
padding). Every image gets its own matrix.

Conventions (columns of the parameter table):

* ``angle``: rotation in degrees, counter-clockwise as ``torchvision``'s ``rotate`` counts
  it (``affine``'s angle is clockwise: ``rotate(x, a) == affine(x, -a, ...)``). [0]
* ``scale``: zoom factor about the centre (> 1 enlarges the content). [1]
* ``translate_x, translate_y``: shift of the content as a fraction of the view width and
  height (right and down positive); ``translate_x_px, translate_y_px`` the same shift in
  pixels of the view it was sampled for. The relative shift is what is replayed, so a
  replay on views of another size rescales it. [0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from neuroequi.augment.ops import Columns, _check_range

GEOMETRIC_DEFAULTS: dict[str, float] = {
    "angle": 0.0,
    "scale": 1.0,
    "translate_x": 0.0,
    "translate_y": 0.0,
    "translate_x_px": 0.0,
    "translate_y_px": 0.0,
}
"""Identity values of the geometric columns."""

GEOMETRIC_COLUMNS: tuple[str, ...] = tuple(GEOMETRIC_DEFAULTS)


def inverse_affine_matrices(angle: torch.Tensor, translate: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Inverse affine matrices ``(N, 2, 3)`` float64 in centred pixel coordinates.

    ``angle (N,)`` counter-clockwise degrees, ``translate (N, 2)`` pixels ``(dx, dy)``,
    ``scale (N,)``: the matrix maps output pixel positions (relative to the centre) to input
    positions, as ``torchvision``'s ``_get_inverse_affine_matrix`` with angle ``-angle``
    and no shear.
    """
    rot = torch.deg2rad(-angle.to(torch.float64))
    cos, sin = torch.cos(rot), torch.sin(rot)
    s = scale.to(torch.float64)
    tx, ty = translate[:, 0].to(torch.float64), translate[:, 1].to(torch.float64)
    m0, m1, m3, m4 = cos / s, sin / s, -sin / s, cos / s
    m2 = -(m0 * tx + m1 * ty)
    m5 = -(m3 * tx + m4 * ty)
    return torch.stack((m0, m1, m2, m3, m4, m5), dim=1).reshape(-1, 2, 3)


def affine(
    x: torch.Tensor,
    angle: torch.Tensor,
    translate: torch.Tensor,
    scale: torch.Tensor,
    fill: float | None = 0.0,
) -> torch.Tensor:
    """Rotate, scale and translate each image about its centre (bilinear).

    Args:
        x: float images ``(N, C, H, W)``.
        angle: ``(N,)`` counter-clockwise degrees.
        translate: ``(N, 2)`` shifts ``(dx, dy)`` in pixels (may be fractional).
        scale: ``(N,)`` positive zoom factors.
        fill: value of the pixels that come from outside the image (torchvision's mask
            blend); None: plain zero padding (torchvision's ``fill=None``).

    Returns:
        ``(N, C, H, W)``, equal to ``torchvision.transforms.v2.functional.affine(x[i],
        -angle[i], translate[i], scale[i], [0, 0], BILINEAR, fill)`` for every image.
    """
    n, c, h, w = x.shape
    theta = inverse_affine_matrices(angle, translate, scale).to(x.dtype)
    cols = torch.linspace((1.0 - w) * 0.5, (w - 1.0) * 0.5, steps=w, dtype=x.dtype, device=x.device)
    rows = torch.linspace((1.0 - h) * 0.5, (h - 1.0) * 0.5, steps=h, dtype=x.dtype, device=x.device)
    base = torch.stack(
        (cols.expand(h, w), rows.unsqueeze(1).expand(h, w), torch.ones(h, w, dtype=x.dtype, device=x.device)), dim=-1
    )
    half = torch.tensor([0.5 * w, 0.5 * h], dtype=x.dtype, device=x.device)
    grid = base.reshape(1, h * w, 3).expand(n, -1, -1).bmm(theta.to(x.device).transpose(1, 2).div(half))
    grid = grid.reshape(n, h, w, 2)
    source = x if fill is None else torch.cat((x, torch.ones(n, 1, h, w, dtype=x.dtype, device=x.device)), dim=1)
    out = F.grid_sample(source, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if fill is None:
        return out
    image, mask = out[:, :c], out[:, c:]
    return image.sub(fill).mul_(mask).add_(fill)


def _uniform(n: int, low: float, high: float, generator: torch.Generator | None) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator, dtype=torch.float64)


@dataclass(frozen=True)
class RandomRotation:
    """Rotation by an angle uniform in ``[-degrees, degrees]`` (always applied; 0 is the identity)."""

    degrees: float = 90.0
    name: ClassVar[str] = "rotation"
    columns: ClassVar[tuple[str, ...]] = ("angle",)

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.degrees) <= 180.0:
            raise ValueError(f"rotation degrees must be in [0, 180], got {self.degrees!r}")

    def sample(self, n: int, generator: torch.Generator | None, image_hw: torch.Tensor) -> Columns:
        return {"angle": _uniform(n, -self.degrees, self.degrees, generator)}


@dataclass(frozen=True)
class RandomScale:
    """Zoom about the centre by a factor log-uniform in ``scale`` (always applied; 1 is the identity)."""

    scale: tuple[float, float] = (0.75, 1.25)
    name: ClassVar[str] = "scale"
    columns: ClassVar[tuple[str, ...]] = ("scale",)

    def __post_init__(self) -> None:
        _check_range("scale", self.scale, 1e-3)

    def sample(self, n: int, generator: torch.Generator | None, image_hw: torch.Tensor) -> Columns:
        lo, hi = math.log(self.scale[0]), math.log(self.scale[1])
        return {"scale": torch.exp(_uniform(n, lo, hi, generator))}


@dataclass(frozen=True)
class RandomTranslation:
    """Shift by whole pixels of the ``size x size`` view, up to ``fraction`` of its side in each axis.

    As torchvision's ``RandomAffine(translate=(f, f))``: ``dx = round(u * f * size)`` with
    ``u`` uniform in [-1, 1] (always applied; 0 is the identity). Records the shift in
    pixels and relative to the side.
    """

    size: int
    fraction: float = 0.125
    name: ClassVar[str] = "translation"
    columns: ClassVar[tuple[str, ...]] = ("translate_x", "translate_y", "translate_x_px", "translate_y_px")

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.fraction) <= 1.0:
            raise ValueError(f"translation fraction must be in [0, 1], got {self.fraction!r}")

    def sample(self, n: int, generator: torch.Generator | None, image_hw: torch.Tensor) -> Columns:
        limit = self.fraction * self.size
        px = torch.round(_uniform(2 * n, -limit, limit, generator)).reshape(2, n)
        return {
            "translate_x": px[0] / self.size,
            "translate_y": px[1] / self.size,
            "translate_x_px": px[0],
            "translate_y_px": px[1],
        }


__all__ = [
    "GEOMETRIC_COLUMNS",
    "GEOMETRIC_DEFAULTS",
    "RandomRotation",
    "RandomScale",
    "RandomTranslation",
    "affine",
    "inverse_affine_matrices",
]
