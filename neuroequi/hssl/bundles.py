"""Fiber bundles of a group feature map, group elements, and the group action on images and features.

A backbone output ``f (N, C, n, H, W)`` is a field of fibers ``f[:, :, j, y, x]`` (C channels) over
the group axis and the grid cells. The group axis (:class:`GroupAxis`) is either the cyclic rotation
group ``C_n`` (``n = 4``: p4; ``n = 1``: translations only) or the scale axis of a SESN backbone
(``n = len(scales)``, not cyclic: :mod:`neuroequi.hssl.scale`).

**Group elements** are LongTensors ``(N, 3)`` of rows ``g = (a, ty, tx)``: the group-axis element ``a``
(rotation: ``r`` quarter turns, ``r = 0`` when ``n = 1``; scale: ``j``, shrink by ``sigma_0 / sigma_j``),
then a shift by ``(ty, tx)`` grid cells. They act

* on images ``(N, C, S, S)`` (:func:`act_on_images`): ``torch.rot90`` (or the shrink about the centre)
  then a shift by ``(ty, tx) * cell`` pixels, ``cell`` the backbone's total downsampling;
* on feature maps (:func:`act_on_features`): :func:`~neuroequi.hssl.layers.rotate_features` (rotate the
  maps, roll the group axis) or :func:`~neuroequi.hssl.scale.scale_features` (read the scale axis from
  ``j`` up, shrink the maps), then a shift of the grid by ``(ty, tx)``.

The shift follows the backbone's padding (``padding`` argument): ``"circular"`` -- a cyclic shift, the
translation group of the torus, under which a circularly padded p4 network is exactly equivariant,
``f(g.x) = g.f(x)`` (tested); ``"zeros"`` -- a shift that fills with zeros what comes in (what a
zero-padded network treats as outside the image), an approximate symmetry that is exact away from
the border.

**Base and bundles.** The base ``g0`` is a block of consecutive group-axis indices starting at ``b``
(``rotation_base`` of them, cyclic; or ``scale_base`` of them, never past the top of the scale axis)
times a ``grid_base x grid_base`` patch of cells with top-left cell ``(oy, ox)``; a base offset is the
row ``(b, oy, ox)``. The bundle ``z(g^-1 g0) = (g.f)[g0]`` is, by equivariance, the bundle ``z(g0)`` of
the transformed image: it is read off the group-axis action on ``f`` at ``(b, oy - ty, ox - tx)``
(:func:`hssl_bundles`); the shifted patch must stay inside the grid (it never wraps), and on the scale
axis ``b + j + scale_base <= n``. Bundles are flattened channel-major to
``(N, C * axis_base * grid_base**2)``.

**Topographic distance** between ``g1`` and ``g2``: the cyclic distance of ``r1, r2`` (or ``|j1 - j2|``)
and the Chebyshev distance of ``t1, t2``, bounded by ``rotation_distance`` (``scale_distance``) and
``grid_distance``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from neuroequi.errors import ConfigError
from neuroequi.hssl.layers import check_order, rotate_features, rotate_images
from neuroequi.hssl.scale import check_scales, scale_features, scale_images

ELEMENT_COLUMNS = ("r", "ty", "tx")


def check_feature_map(features: Tensor) -> None:
    """Raise ValueError unless ``features`` is a group feature map ``(N, C, n, H, W)``."""
    if features.dim() != 5:
        raise ValueError(f"expected a group feature map (N, C, n, H, W), got shape {tuple(features.shape)}")


@dataclass(frozen=True)
class GroupAxis:
    """The group axis of a feature map: the cyclic rotations ``C_order`` (``scales`` None) or a scale axis.

    Attributes:
        order: entries on the axis (rotation: 1, 2 or 4; scale: ``len(scales)``).
        scales: the increasing scales of a SESN backbone, or None for rotations.
    """

    order: int
    scales: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.scales is None:
            check_order(self.order)
        elif len(check_scales(self.scales)) != self.order:
            raise ValueError(f"a scale axis of {self.order} entries needs {self.order} scales, got {self.scales}")

    @classmethod
    def of(cls, backbone: object) -> GroupAxis:
        """The axis of a group backbone (``group_order``, and ``scales`` for a scale backbone)."""
        return cls(backbone.group_order, getattr(backbone, "scales", None))  # type: ignore[attr-defined]

    @property
    def cyclic(self) -> bool:
        """Whether indices wrap around (rotations) or stop at the ends (scales)."""
        return self.scales is None

    def act_on_images(self, images: Tensor, steps: Tensor) -> Tensor:
        """Images ``(N, C, S, S)`` rotated by ``steps`` quarter turns, or shrunk by ``sigma_0 / sigma_steps``."""
        return rotate_images(images, steps) if self.scales is None else scale_images(images, steps, self.scales)

    def act_on_features(self, features: Tensor, steps: Tensor) -> Tensor:
        """The matching action on a group feature map ``(N, C, order, H, W)``."""
        return rotate_features(features, steps) if self.scales is None else scale_features(features, steps, self.scales)


def _axis(axis: GroupAxis | None, order: int) -> GroupAxis:
    """``axis``, or the rotation axis of ``order`` when None (the default everywhere)."""
    return GroupAxis(order) if axis is None else axis


@dataclass(frozen=True)
class BundleSpec:
    """The base ``g0`` (its size along the group axis and on the grid) and the distance bounds.

    Attributes:
        rotation_base: consecutive rotation indices in ``g0`` (1 .. n); rotation axes only.
        rotation_distance: largest cyclic distance between the rotations of ``g1`` and ``g2`` (0 .. n // 2).
        grid_base: side of the square patch of cells in ``g0``; None: the whole grid.
        grid_distance: largest Chebyshev distance in cells between the shifts of ``g1`` and ``g2``
            (0 .. grid side - patch side).
        scale_base: consecutive scale indices in ``g0`` (1 .. n); scale axes only.
        scale_distance: largest ``|j1 - j2|`` between the scale elements of ``g1`` and ``g2`` (0 .. n - scale_base).
    """

    rotation_base: int = 1
    rotation_distance: int = 0
    grid_base: int | None = None
    grid_distance: int = 0
    scale_base: int = 1
    scale_distance: int = 0

    def patch(self, grid: tuple[int, int]) -> tuple[int, int]:
        """Patch size ``(kh, kw)`` on a grid ``(H, W)``."""
        return tuple(grid) if self.grid_base is None else (self.grid_base, self.grid_base)  # type: ignore[return-value]

    def axis_base(self, axis: GroupAxis) -> int:
        """Indices of ``g0`` on the group axis: ``rotation_base`` or ``scale_base``."""
        return self.rotation_base if axis.cyclic else self.scale_base

    def axis_distance(self, axis: GroupAxis) -> int:
        """Topographic distance bound on the group axis: ``rotation_distance`` or ``scale_distance``."""
        return self.rotation_distance if axis.cyclic else self.scale_distance

    def check(self, order: int, grid: tuple[int, int], axis: GroupAxis | None = None) -> None:
        """Raise ConfigError (naming the ``method.options`` key) unless bundles of this spec fit the group
        axis (rotations of ``order`` when ``axis`` is None) and a grid ``(H, W)``."""
        axis = _axis(axis, order)
        fields = (self.rotation_base, self.rotation_distance, self.grid_distance, self.scale_base, self.scale_distance)
        if (
            min(fields) < 0
            or min(self.rotation_base, self.scale_base) < 1
            or (self.grid_base is not None and self.grid_base < 1)
        ):
            raise ConfigError(f"bundle sizes must be >= 1 and distances >= 0, got {self}")
        unused = (
            ("scale", self.scale_base, self.scale_distance)
            if axis.cyclic
            else ("rotation", self.rotation_base, self.rotation_distance)
        )
        if unused[1:] != (1, 0):
            raise ConfigError(
                f"method.options.{unused[0]}_base / {unused[0]}_distance apply to {unused[0]} axes only: leave them at 1 / 0, "
                f"got {unused[1]} / {unused[2]}"
            )
        name = "rotation" if axis.cyclic else "scale"
        base, distance = self.axis_base(axis), self.axis_distance(axis)
        if base > order:
            raise ConfigError(f"method.options.{name}_base {base} is larger than the group axis of size {order}")
        reach = order // 2 if axis.cyclic else order - base
        if distance > reach:
            kind = f"the cyclic group of order {order}" if axis.cyclic else f"the {order} scales with a base of {base}"
            raise ConfigError(f"method.options.{name}_distance {distance} is beyond {kind} (at most {reach})")
        kh, kw = self.patch(grid)
        if kh > grid[0] or kw > grid[1]:
            raise ConfigError(f"method.options.grid_base {self.grid_base} is larger than the grid {tuple(grid)}")
        reach = min(grid[0] - kh, grid[1] - kw)
        if self.grid_distance > reach:
            raise ConfigError(
                f"method.options.grid_distance {self.grid_distance} is beyond the grid {tuple(grid)}: "
                f"a patch of {(kh, kw)} can move at most {reach} cells"
            )
        if axis.cyclic and order > 1 and grid[0] != grid[1]:
            raise ConfigError(f"rotations need a square grid, got {tuple(grid)}")

    def bundle_dim(self, channels: int, grid: tuple[int, int], axis: GroupAxis | None = None) -> int:
        """Length of a flattened bundle: ``channels * axis_base * kh * kw`` (rotation axis when ``axis`` is None)."""
        kh, kw = self.patch(grid)
        return channels * (self.rotation_base if axis is None else self.axis_base(axis)) * kh * kw


def extract_bundles(features: Tensor, base: Tensor, spec: BundleSpec, axis: GroupAxis | None = None) -> Tensor:
    """The bundle at base offsets ``base (N, 3)`` (rows ``(b, oy, ox)``) of ``features (N, C, n, H, W)``.

    Returns ``(N, C * B * kh * kw)`` (``B`` the spec's base on ``axis``, rotations when None): the
    ``(C, B, kh, kw)`` block ``features[i, :, b + a, oy + u, ox + v]`` (``b + a`` modulo ``n`` on a
    rotation axis, inside ``0 .. n - 1`` on a scale axis) flattened channel-major.
    """
    check_feature_map(features)
    n, order, grid = features.shape[0], features.shape[2], tuple(features.shape[3:])
    axis = _axis(axis, order)
    spec.check(order, grid, axis)
    if base.shape != (n, 3):
        raise ValueError(f"base offsets must have shape (N, 3) = {(n, 3)}, got {tuple(base.shape)}")
    sizes = (spec.axis_base(axis), *spec.patch(grid))
    block = features
    for d, (size, k) in enumerate(zip((order, *grid), sizes)):
        start = base[:, d].to(features.device)
        if (d or not axis.cyclic) and ((start < 0).any() or (start > size - k).any()):
            where = "a grid axis" if d else "the scale axis"
            raise ValueError(f"base offsets {start.tolist()} put a block of {k} outside {where} of {size}")
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


def act_on_images(
    images: Tensor, elements: Tensor, cell: int, padding: str = "circular", axis: GroupAxis | None = None
) -> Tensor:
    """``g.x`` for images ``(N, C, S, S)`` and elements ``(N, 3)``: rotate (or shrink, on a scale ``axis``),
    then shift by ``t * cell`` pixels (cyclically for ``padding="circular"``, zero-filled for ``"zeros"``)."""
    check_elements(elements, images.shape[0])
    if cell < 1:
        raise ValueError(f"cell must be >= 1 pixel, got {cell}")
    return _shift(_axis(axis, 4).act_on_images(images, elements[:, 0]), elements, cell, padding)


def act_on_features(
    features: Tensor, elements: Tensor, padding: str = "circular", axis: GroupAxis | None = None
) -> Tensor:
    """``g.f`` for a group feature map ``(N, C, n, H, W)``: the group-axis action (rotations: rotate maps and
    roll the axis; scales: see :func:`~neuroequi.hssl.scale.scale_features`), then shift the grid
    (cyclically, or zero-filled)."""
    check_feature_map(features)
    check_elements(elements, features.shape[0])
    acted = _axis(axis, features.shape[2]).act_on_features(features, elements[:, 0])
    return _shift(acted, elements, 1, padding)


def hssl_bundles(
    features: Tensor, elements: Tensor, base: Tensor, spec: BundleSpec, axis: GroupAxis | None = None
) -> Tensor:
    """Bundles ``z(g^-1 g0)`` of one feature map ``(N, C, n, H, W)``: ``(g.f)[g0]`` without wrapping the grid.

    ``elements (N, 3)`` are the ``g``, ``base (N, 3)`` the offsets of ``g0``; returns ``(N, D)``. On a scale
    axis ``b + j + scale_base <= n`` (``g.f`` is zero above the top of the axis).
    """
    check_feature_map(features)
    check_elements(elements, features.shape[0])
    axis = _axis(axis, features.shape[2])
    if not axis.cyclic:
        top = base[:, 0] + elements[:, 0] + spec.scale_base
        if bool((top > features.shape[2]).any()):
            raise ValueError(
                f"scale elements {elements[:, 0].tolist()} move a base of {spec.scale_base} past the top of the scale axis"
            )
    shifted = base - torch.cat([torch.zeros_like(elements[:, :1]), elements[:, 1:]], dim=1)
    return extract_bundles(axis.act_on_features(features, elements[:, 0]), shifted, spec, axis)


def _pair_offsets(
    count: int, distance: int, n: int, cyclic: bool, generator: torch.Generator | None
) -> tuple[Tensor, Tensor]:
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
    order: int,
    grid: tuple[int, int],
    spec: BundleSpec,
    n: int,
    generator: torch.Generator | None = None,
    axis: GroupAxis | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Random ``(g1, g2)`` and the base offsets ``base``, each ``(n, 3)``, with ``g1, g2`` within the spec's
    topographic distances.

    The base ``g0`` is fixed, as in the paper: rotation indices from 0, the patch in the middle of the
    grid (``((H - kh) // 2, (W - kw) // 2)``); every row of ``base`` is that offset. A fixed base keeps
    A-SSL's image shifts ``t_i = o - (o - t_i)`` small (at most half the free space of the grid) and
    gives A-SSL no positional cue to match the two views of an image by. Rotations: ``r1`` uniform
    over ``Z_order``, ``r2 - r1`` uniform over ``-rotation_distance .. rotation_distance``. Scales
    (``axis`` a scale axis): the two blocks read by H-SSL start at ``j1, j2`` uniform over
    ``0 .. order - scale_base`` within ``scale_distance`` of each other. Grid: the two patches read by
    H-SSL, ``o - t1`` and ``o - t2``, are uniform over the valid patch positions within
    ``grid_distance`` of each other (per axis).
    """
    axis = _axis(axis, order)
    spec.check(order, grid, axis)
    if axis.cyclic:
        r1, r2 = _pair_offsets(order, spec.rotation_distance, n, True, generator)
    else:
        r1, r2 = _pair_offsets(order - spec.scale_base + 1, spec.scale_distance, n, False, generator)
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
    "GroupAxis",
    "act_on_features",
    "act_on_images",
    "check_elements",
    "check_feature_map",
    "extract_bundles",
    "hssl_bundles",
    "sample_pairs",
]
