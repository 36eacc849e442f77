"""Shrinking images about their centre: the scale augmentation of A-SSL (Keller et al.'s "randomly
downscale the image to between 0.57 and 1.0 of its size"), recorded and replayable.

:class:`RandomDownscale` samples one factor per image (column ``downscale``, uniform in ``scale``) as an
:class:`~neuroequi.augment.AugParams` table; :meth:`RandomDownscale.apply` replays a table on any images
of the same count. The kernel :func:`rescale` keeps the image size: the content shrinks towards the
centre and zeros fill the border (on normalised images: the mean colour, which is what a zero-padded
network sees beyond the image).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from neuroequi.augment.params import AugParams
from neuroequi.errors import ConfigError


def rescale(x: Tensor, factors: Tensor | float) -> Tensor:
    """Shrink (factor < 1) or enlarge each sample of ``x (N, ..., H, W)`` about its centre, keeping the size.

    ``out(u) = x(c + (u - c) / s)`` with bilinear interpolation between pixel centres (``align_corners=False``)
    and zeros outside the image; ``factors``: one float, or ``(N,)`` (one per sample), each > 0. Any axes
    between N and (H, W) are resampled alike (group feature maps ``(N, C, S, H, W)``).
    """
    n, shape = x.shape[0], x.shape
    factors = torch.as_tensor(factors, dtype=x.dtype, device=x.device).reshape(-1).expand(n)
    if not bool((factors > 0).all()):
        raise ValueError(f"rescale factors must be > 0, got {factors.tolist()}")
    if bool((factors == 1).all()):
        return x
    theta = torch.zeros(n, 2, 3, dtype=x.dtype, device=x.device)
    theta[:, 0, 0] = theta[:, 1, 1] = 1 / factors
    flat = x.reshape(n, -1, *shape[-2:])
    grid = F.affine_grid(theta, list(flat.shape), align_corners=False)
    return F.grid_sample(flat, grid, mode="bilinear", padding_mode="zeros", align_corners=False).view(shape)


@dataclass(frozen=True)
class RandomDownscale:
    """Shrink each image by a factor uniform in ``scale = (min, max)``, ``0 < min <= max <= 1``; column ``downscale``."""

    scale: tuple[float, float] = (0.57, 1.0)
    name: ClassVar[str] = "downscale"
    columns: ClassVar[tuple[str, ...]] = ("downscale",)

    def __post_init__(self) -> None:
        lo, hi = (float(v) for v in self.scale)
        if not 0.0 < lo <= hi <= 1.0:
            raise ConfigError(f"scale augmentation range must satisfy 0 < min <= max <= 1, got {tuple(self.scale)!r}")

    def sample(self, n: int, generator: torch.Generator | None = None) -> AugParams:
        """Factors for ``n`` images, a one-column :class:`AugParams` (float64)."""
        lo, hi = self.scale
        factors = lo + (hi - lo) * torch.rand(n, generator=generator, dtype=torch.float64)
        return AugParams(factors[:, None], self.columns)

    def apply(self, images: Tensor, params: AugParams) -> Tensor:
        """Replay ``params`` (one row per image) on ``images (N, C, H, W)``."""
        if params.columns != self.columns or len(params) != images.shape[0]:
            raise ValueError(f"need {images.shape[0]} rows of columns {self.columns}, got {params!r}")
        return rescale(images, params["downscale"].to(images.device, images.dtype))

    def __call__(self, images: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, AugParams]:
        """Sample one factor per image and apply it: (shrunk images, parameters)."""
        params = self.sample(images.shape[0], generator)
        return self.apply(images, params), params


__all__ = ["RandomDownscale", "rescale"]
