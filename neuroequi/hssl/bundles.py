"""Fiber bundles of a group feature map, group elements, and the group action on images and features.

A backbone output ``f (N, C, n, H, W)`` is a field of fibers ``f[:, :, j, y, x]`` (C channels) over
the group ``C_n x Z^2`` of rotations (``n = 4``: p4; ``n = 1``: translations only) and grid cells.

**Group elements** are LongTensors ``(N, 3)`` of rows ``g = (r, ty, tx)``: rotate by ``r`` quarter
turns (``r = 0`` when ``n = 1``), then shift by ``(ty, tx)`` grid cells. They act

* on images ``(N, C, S, S)`` (:func:`act_on_images`): ``torch.rot90`` then a shift by
  ``(ty, tx) * cell`` pixels, ``cell`` the backbone's total downsampling;
* on feature maps (:func:`act_on_features`): :func:`~neuroequi.hssl.layers.rotate_features` (rotate the
  maps, roll the group axis) then a shift of the grid by ``(ty, tx)``.

The shift follows the backbone's padding (``padding`` argument): ``"circular"`` -- a cyclic shift, the
translation group of the torus, under which a circularly padded p4 network is exactly equivariant,
``f(g.x) = g.f(x)`` (tested); ``"zeros"`` -- a shift that fills with zeros what comes in (what a
zero-padded network treats as outside the image), an approximate symmetry that is exact away from
the border.

**Base and bundles.** The base ``g0`` is a block of ``rotation_base`` consecutive rotation indices
starting at ``b`` (cyclic) times a ``grid_base x grid_base`` patch of cells with top-left cell
``(oy, ox)``; a base offset is the row ``(b, oy, ox)``. The bundle ``z(g^-1 g0) = (g.f)[g0]`` is, by
equivariance, the bundle ``z(g0)`` of the transformed image: it is read off ``rotate_features(f, r)``
at ``(b, oy - ty, ox - tx)`` (:func:`hssl_bundles`); the shifted patch must stay inside the grid
(it never wraps). Bundles are flattened channel-major to ``(N, C * rotation_base * grid_base**2)``.

**Topographic distance** between ``g1`` and ``g2``: the cyclic distance of ``r1, r2`` and the
Chebyshev distance of ``t1, t2``, bounded by ``rotation_distance`` and ``grid_distance``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from neuroequi.errors import ConfigError
from neuroequi.hssl.layers import rotate_features, rotate_images

ELEMENT_COLUMNS = ("r", "ty", "tx")


def check_feature_map(features: Tensor) -> None:
    """Raise ValueError unless ``features`` is a group feature map ``(N, C, n, H, W)``."""
    if features.dim() != 5:
        raise ValueError(f"expected a group feature map (N, C, n, H, W), got shape {tuple(features.shape)}")


@dataclass(frozen=True)
class BundleSpec:
    """The base ``g0`` (its size along the rotation axis and on the grid) and the distance bounds.

    Attributes:
        rotation_base: consecutive rotation indices in ``g0`` (1 .. n).
        rotation_distance: largest cyclic distance between the rotations of ``g1`` and ``g2`` (0 .. n // 2).
        grid_base: side of the square patch of cells in ``g0``; None: the whole grid.
        grid_distance: largest Chebyshev distance in cells between the shifts of ``g1`` and ``g2``
            (0 .. grid side - patch side).
    """

    rotation_base: int = 1
    rotation_distance: int = 0
    grid_base: int | None = None
    grid_distance: int = 0

    def patch(self, grid: tuple[int, int]) -> tuple[int, int]:
        """Patch size ``(kh, kw)`` on a grid ``(H, W)``."""
        return tuple(grid) if self.grid_base is None else (self.grid_base, self.grid_base)  # type: ignore[return-value]

    def check(self, order: int, grid: tuple[int, int]) -> None:
        """Raise ConfigError (naming the ``method.options`` key) unless bundles of this spec fit a group
        axis of ``order`` and a grid ``(H, W)``."""
        fields = (self.rotation_base, self.rotation_distance, self.grid_distance)
        if min(fields) < 0 or self.rotation_base < 1 or (self.grid_base is not None and self.grid_base < 1):
            raise ConfigError(f"bundle sizes must be >= 1 and distances >= 0, got {self}")
        if self.rotation_base > order:
            raise ConfigError(
                f"method.options.rotation_base {self.rotation_base} is larger than the group axis of size {order}"
            )
        if self.rotation_distance > order // 2:
            raise ConfigError(
                f"method.options.rotation_distance {self.rotation_distance} is beyond the cyclic group of order {order} "
                f"(at most {order // 2})"
            )
        kh, kw = self.patch(grid)
        if kh > grid[0] or kw > grid[1]:
            raise ConfigError(f"method.options.grid_base {self.grid_base} is larger than the grid {tuple(grid)}")
        reach = min(grid[0] - kh, grid[1] - kw)
        if self.grid_distance > reach:
            raise ConfigError(
                f"method.options.grid_distance {self.grid_distance} is beyond the grid {tuple(grid)}: "
                f"a patch of {(kh, kw)} can move at most {reach} cells"
            )
        if order > 1 and grid[0] != grid[1]:
            raise ConfigError(f"rotations need a square grid, got {tuple(grid)}")

    def bundle_dim(self, channels: int, grid: tuple[int, int]) -> int:
        """Length of a flattened bundle: ``channels * rotation_base * kh * kw``."""
        kh, kw = self.patch(grid)
        return channels * self.rotation_base * kh * kw


def extract_bundles(features: Tensor, base: Tensor, spec: BundleSpec) -> Tensor:
    """The bundle at base offsets ``base (N, 3)`` (rows ``(b, oy, ox)``) of ``features (N, C, n, H, W)``.

    Returns ``(N, C * rotation_base * kh * kw)``: the ``(C, rotation_base, kh, kw)`` block
    ``features[i, :, (b + a) % n, oy + u, ox + v]`` flattened channel-major.
    """
    check_feature_map(features)
    n, order, grid = features.shape[0], features.shape[2], tuple(features.shape[3:])
    spec.check(order, grid)
    if base.shape != (n, 3):
        raise ValueError(f"base offsets must have shape (N, 3) = {(n, 3)}, got {tuple(base.shape)}")
    sizes = (spec.rotation_base, *spec.patch(grid))
    block = features
    for d, (size, k) in enumerate(zip((order, *grid), sizes)):
        start = base[:, d].to(features.device)
        if d and ((start < 0).any() or (start > size - k).any()):
            raise ValueError(f"base offsets {start.tolist()} put a patch of {k} outside a grid axis of {size}")
        index = start[:, None] + torch.arange(k, device=features.device)
        index = index % size if d == 0 else index
        view = [n, 1, 1, 1, 1]
        view[2 + d] = k
        target = list(block.shape)
        target[2 + d] = k
        block = torch.gather(block, 2 + d, index.view(view).expand(target))
    return block.flatten(start_dim=1)


def check_elements(elements: Tensor, n: int) -> None:
    """Raise ValueError unless ``elements`` is an integer ``(n, 3)`` tensor of rows ``(r, ty, tx)``."""
    if elements.shape != (n, 3) or elements.is_floating_point():
        raise ValueError(
            f"group elements must be an integer tensor of shape {(n, 3)} (rows {ELEMENT_COLUMNS}), "
            f"got {elements.dtype} {tuple(elements.shape)}"
        )


PADDINGS = ("circular", "zeros")


def _span(d: int, n: int) -> tuple[slice, slice]:
    """Source and target slices of a zero-filled shift by ``d`` along an axis of length ``n``."""
    return slice(max(0, -d), max(0, n - max(0, d))), slice(max(0, d), max(0, n - max(0, -d)))


def _shift(x: Tensor, elements: Tensor, scale: int, padding: str) -> Tensor:
    """Shift each sample's last two axes by ``elements[i, 1:] * scale``: cyclically, or filling with zeros."""
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
    out = []
    for xi, (ty, tx) in zip(x, elements[:, 1:].tolist()):
        dy, dx = ty * scale, tx * scale
        if padding == "circular":
            out.append(torch.roll(xi, (dy, dx), dims=(-2, -1)))
            continue
        (src_y, dst_y), (src_x, dst_x) = _span(dy, xi.shape[-2]), _span(dx, xi.shape[-1])
        moved = torch.zeros_like(xi)
        moved[..., dst_y, dst_x] = xi[..., src_y, src_x]
        out.append(moved)
    return torch.stack(out)


def act_on_images(images: Tensor, elements: Tensor, cell: int, padding: str = "circular") -> Tensor:
    """``g.x`` for images ``(N, C, S, S)`` and elements ``(N, 3)``: rotate, then shift by ``t * cell`` pixels
    (cyclically for ``padding="circular"``, zero-filled for ``"zeros"``)."""
    check_elements(elements, images.shape[0])
    if cell < 1:
        raise ValueError(f"cell must be >= 1 pixel, got {cell}")
    return _shift(rotate_images(images, elements[:, 0]), elements, cell, padding)


def act_on_features(features: Tensor, elements: Tensor, padding: str = "circular") -> Tensor:
    """``g.f`` for a group feature map ``(N, C, n, H, W)``: rotate maps and roll the group axis, then shift
    the grid (cyclically, or zero-filled)."""
    check_feature_map(features)
    check_elements(elements, features.shape[0])
    return _shift(rotate_features(features, elements[:, 0]), elements, 1, padding)


def hssl_bundles(features: Tensor, elements: Tensor, base: Tensor, spec: BundleSpec) -> Tensor:
    """Bundles ``z(g^-1 g0)`` of one feature map ``(N, C, n, H, W)``: ``(g.f)[g0]`` without wrapping the grid.

    ``elements (N, 3)`` are the ``g``, ``base (N, 3)`` the offsets of ``g0``; returns ``(N, D)``.
    """
    check_feature_map(features)
    check_elements(elements, features.shape[0])
    shifted = base - torch.cat([torch.zeros_like(elements[:, :1]), elements[:, 1:]], dim=1)
    return extract_bundles(rotate_features(features, elements[:, 0]), shifted, spec)


def _pair_offsets(count: int, distance: int, n: int, cyclic: bool, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
    """Two offsets in ``0 .. count - 1`` at distance <= ``distance`` (cyclic: modulo ``count``), uniform."""
    first = torch.randint(count, (n,), generator=generator)
    if cyclic:
        step = torch.randint(2 * distance + 1, (n,), generator=generator) - distance
        return first, (first + step) % count
    low = (first - distance).clamp(min=0)
    high = (first + distance).clamp(max=count - 1)
    second = low + (torch.rand(n, generator=generator) * (high - low + 1)).long().clamp(max=high - low)
    return first, second


def sample_pairs(
    order: int, grid: tuple[int, int], spec: BundleSpec, n: int, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """Random ``(g1, g2)`` and the base offsets ``base``, each ``(n, 3)``, with ``g1, g2`` within the spec's
    topographic distances.

    The base ``g0`` is fixed, as in the paper: rotation indices from 0, the patch in the middle of the
    grid (``((H - kh) // 2, (W - kw) // 2)``); every row of ``base`` is that offset. A fixed base keeps
    A-SSL's image shifts ``t_i = o - (o - t_i)`` small (at most half the free space of the grid) and
    gives A-SSL no positional cue to match the two views of an image by. Rotations: ``r1`` uniform
    over ``Z_order``, ``r2 - r1`` uniform over ``-rotation_distance .. rotation_distance``. Grid: the
    two patches read by H-SSL, ``o - t1`` and ``o - t2``, are uniform over the valid patch positions
    within ``grid_distance`` of each other (per axis).
    """
    spec.check(order, grid)
    r1, r2 = _pair_offsets(order, spec.rotation_distance, n, True, generator)
    kh, kw = spec.patch(grid)
    o = torch.tensor([0, (grid[0] - kh) // 2, (grid[1] - kw) // 2]).repeat(n, 1)
    patches = [_pair_offsets(size - k + 1, spec.grid_distance, n, False, generator) for size, k in zip(grid, (kh, kw))]
    g1 = torch.stack([r1, o[:, 1] - patches[0][0], o[:, 2] - patches[1][0]], dim=1)
    g2 = torch.stack([r2, o[:, 1] - patches[0][1], o[:, 2] - patches[1][1]], dim=1)
    return g1, g2, o


__all__ = [
    "ELEMENT_COLUMNS",
    "PADDINGS",
    "BundleSpec",
    "act_on_features",
    "act_on_images",
    "check_elements",
    "check_feature_map",
    "extract_bundles",
    "hssl_bundles",
    "sample_pairs",
]
