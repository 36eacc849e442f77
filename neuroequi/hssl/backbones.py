"""Backbones whose output keeps a group axis ``(N, C, |G|, H, W)``, and their non-equivariant controls.

* ``GroupCNN(order=4)``: the p4 (rotation) CNN -- a lifting convolution, then group convolutions,
  BatchNorm shared over the group axis, ReLU, 2x2 average pooling between stages. A quarter turn
  of the input rolls the group axis by one and rotates the spatial maps, exactly (float rounding)
  when the input side is a multiple of ``2 ** (stages - 1)`` (see :mod:`neuroequi.hssl.layers`).
* ``GroupCNN(order=1)``: the translation CNN, the same network with a trivial rotation axis; the
  group is the spatial grid. With ``padding_mode="circular"`` a cyclic shift of the input by a
  multiple of ``2 ** (stages - 1)`` pixels shifts the output grid exactly.
* ``EmulatedGroupCNN``: the "without structure" control -- a plain CNN trunk (``n`` times wider, the
  same convolution cost as the p4 network), global average pooling, and a dense layer whose output
  is reshaped into an emulated group feature map ``(N, C, n, H, W)`` of the p4 network's size.
  Nothing ties the emulated rotation axis to rotations nor the emulated grid to translations.
* ``ScaleCNN``: the scale CNN -- the same stack with SESN layers (:mod:`neuroequi.hssl.scale`): a
  lifting layer and scale convolutions on a fixed multi-scale Hermite basis, output
  ``(N, C, S, H, W)`` with an explicit scale axis. Shrinking the image by ``sigma_0 / sigma_j`` moves
  the scale axis down by ``j`` and shrinks the maps, approximately (measured in the tests).
  ``ScaleCNN(structured=False)`` is its control: free kernels, one per scale, on the same
  ``S x C x H x W`` output (the paper's "6 x CHW" control).

Two forwards: :meth:`GroupCNN.forward_features` gives the group feature map for the H-SSL/A-SSL
objectives; :meth:`GroupCNN.forward` gives the invariant representation ``h = group_pool(...)``
``(N, C)`` used by the linear probe, the analyses and Brain-Score.

**How the group axis is presented to Brain-Score and the analyses.** The hookable layers
(:attr:`GroupCNN.layer_names`) are ``layer1 .. layerK``, each stage's output *averaged over the group
axis* ``(N, C, H, W)`` (a rotation-invariant read-out of every position: a quarter turn of the
stimulus only rotates these maps), and ``avgpool``, ``h`` averaged over the group axis and the grid
``(N, C)``. Brain-Score flattens each to ``C * H * W`` features. Averaging (rather than flattening
the group axis into channels) keeps the read-out independent of which rotation index a filter
happened to learn on, matches the linear probe's group-pooled features, and gives a p4 network
and its control the same feature counts. ``region_layer_map`` maps V1, V2, V4, IT to stages.

Architectures by name (:data:`GROUP_CNNS`, :func:`build_group_backbone`; registered in
:mod:`neuroequi.registry`, so ``neuroequi.registry.build_backbone`` builds them too): ``p4cnn`` (rotation), ``z2cnn`` (translation),
``p4cnn_control`` and ``z2cnn_control`` (their emulated controls, for 32x32 images), ``sesn`` (scale,
the paper's six scales, kernel 7, effective size 3) and ``sesn_control``. They pad with
zeros: quarter turns are exact symmetries of ``p4cnn``, and shifts by whole output cells that fill
with zeros are symmetries away from the border (A-SSL shifts images that way). A ``GroupCNN`` with
``padding_mode="circular"`` is exactly equivariant to cyclic shifts as well (tested); on CIFAR-10 it
learned worse features in the CPU experiment (see :mod:`figures.hssl`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from torch import Tensor, nn

from neuroequi.backbones import BackboneSpec
from neuroequi.errors import ConfigError
from neuroequi.hssl.layers import GroupConv2d, check_order, group_pool, spatial_pool
from neuroequi.hssl.scale import PAPER_SCALES, ScaleConv2d, check_scales

BASE_WIDTHS = (16, 32, 64)


def stage_widths(width: float, base: tuple[int, ...] = BASE_WIDTHS) -> tuple[int, ...]:
    """Channels per group element of each stage for a width multiplier (> 0)."""
    if not width > 0:
        raise ConfigError(f"model.width must be > 0, got {width!r}")
    widths = tuple(int(round(c * width)) for c in base)
    if min(widths) < 1:
        raise ConfigError(f"model.width {width!r} leaves a stage with no channels: {widths}")
    return widths


def region_layer_map(stages: tuple[str, ...]) -> dict[str, str]:
    """Ventral-stream regions -> stage read-outs: V1 the first stage, IT the last, V2/V4 spread between."""
    last = len(stages) - 1
    return {
        region: stages[round(position * last)]
        for region, position in (("V1", 0), ("V2", 1 / 3), ("V4", 2 / 3), ("IT", 1))
    }


class GroupBlock(nn.Module):
    """GroupConv2d -> BatchNorm shared over the group axis -> ReLU; ``(N, C_in[, n], H, W) -> (N, C_out, n, H, W)``."""

    def __init__(self, conv: GroupConv2d) -> None:
        super().__init__()
        self.conv = conv
        self.bn = nn.BatchNorm3d(conv.out_channels)  # one (mean, var, gamma, beta) per channel, over (N, n, H, W)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.bn(self.conv(x)))


class GroupMean(nn.Module):
    """Average over the group axis: ``(N, C, n, H, W) -> (N, C, H, W)`` (a Brain-Score / analyses layer)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.mean(dim=2)


class GroupPool(nn.Module):
    """Average over the group axis and the grid: ``(N, C, n, H, W) -> (N, C)``."""

    def forward(self, x: Tensor) -> Tensor:
        return group_pool(x)


class _GroupStack(nn.Module):
    """Stages of group convolutions (conv -> BatchNorm over the group axis -> ReLU), 2x2 average pooling
    between stages; ``make_conv(in_channels, out_channels, lifting)`` builds each convolution.

    Attributes:
        group_order: size of the output group axis.
        feature_dim: channels of ``h`` (= ``widths[-1]``).
        cell: pixels per cell of the output grid (total downsampling, ``2 ** (stages - 1)``).
        layer_names: forward-hook points, early to late (see module doc).
    """

    def __init__(
        self,
        group_order: int,
        widths: tuple[int, ...],
        blocks_per_stage: int,
        padding_mode: str,
        in_channels: int,
        make_conv: Callable[[int, int, bool], nn.Module],
    ) -> None:
        super().__init__()
        if not widths or min(widths) < 1:
            raise ValueError(f"widths must be a non-empty tuple of positive ints, got {widths!r}")
        if blocks_per_stage < 1:
            raise ValueError(f"blocks_per_stage must be >= 1, got {blocks_per_stage}")
        self.group_order = group_order
        self.padding_mode = padding_mode
        self.widths = tuple(widths)
        self.feature_dim = widths[-1]
        self.cell = 2 ** (len(widths) - 1)
        stages, previous = [], in_channels
        for stage, width in enumerate(widths):
            blocks = []
            for block in range(blocks_per_stage):
                blocks.append(GroupBlock(make_conv(previous, width, stage == 0 and block == 0)))
                previous = width
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.ModuleList(stages)
        readouts = tuple(f"layer{k + 1}" for k in range(len(widths)))
        for name in readouts:
            self.add_module(name, GroupMean())
        self.avgpool = GroupPool()
        self.layer_names = readouts + ("avgpool",)
        self.region_layer_map = region_layer_map(readouts)

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """Spatial size ``(H', W')`` of the output grid for ``height x width`` images."""
        for _ in range(len(self.widths) - 1):
            height, width = height // 2, width // 2
        return height, width

    def _stage_outputs(self, x: Tensor) -> list[Tensor]:
        """Group feature maps after each stage, each ``(N, C_k, group_order, H_k, W_k)``."""
        if x.dim() != 4:
            raise ValueError(f"expected images (N, C, H, W), got shape {tuple(x.shape)}")
        outputs = []
        for k, stage in enumerate(self.stages):
            x = stage(spatial_pool(x) if k else x)
            outputs.append(x)
        return outputs

    def forward_features(self, x: Tensor) -> Tensor:
        """Images ``(N, C_in, H, W)`` -> group feature map ``(N, feature_dim, group_order, H', W')``."""
        return self._stage_outputs(x)[-1]

    def forward(self, x: Tensor) -> Tensor:
        """Images ``(N, C_in, H, W)`` -> invariant representation ``h`` ``(N, feature_dim)``.

        Runs the group-mean read-out of every stage so that forward hooks on ``layer_names`` fire.
        """
        outputs = self._stage_outputs(x)
        for name, features in zip(self.layer_names, outputs):
            self.get_submodule(name)(features)
        return self.avgpool(outputs[-1])


class GroupCNN(_GroupStack):
    """A rotation- (p4) or translation-equivariant CNN for small images, e.g. CIFAR-10 at 32x32.

    Args:
        order: rotation-group order of the convolutions (4: p4, 1: translation only).
        widths: channels per group element for each stage (stage k runs at side / 2**k).
        blocks_per_stage: group convolutions per stage (the first stage's first one is the lifting layer).
        kernel_size: odd kernel size.
        padding_mode: "zeros" or "circular".
        in_channels: image channels.

    Attributes: those of the stack (``group_order = order``), and ``group``: "rotation" or "translation".
    """

    def __init__(
        self,
        order: int = 4,
        widths: tuple[int, ...] = BASE_WIDTHS,
        blocks_per_stage: int = 1,
        kernel_size: int = 3,
        padding_mode: str = "zeros",
        in_channels: int = 3,
    ) -> None:
        check_order(order)

        def make_conv(cin: int, cout: int, lifting: bool) -> GroupConv2d:
            return GroupConv2d(cin, cout, kernel_size, order, lifting=lifting, padding_mode=padding_mode)

        super().__init__(order, widths, blocks_per_stage, padding_mode, in_channels, make_conv)
        self.order = order
        self.group = "translation" if order == 1 else "rotation"


class ScaleCNN(_GroupStack):
    """The scale-equivariant CNN (SESN layers, :mod:`neuroequi.hssl.scale`) or its unstructured control.

    A SESN lifting layer and scale convolutions (kernel ``kernel_size``, ``effective_size^2`` basis
    functions), BatchNorm shared over the scale axis, ReLU, 2x2 average pooling between stages; output
    ``(N, widths[-1], len(scales), H', W')``. With ``structured=False`` every kernel is free (one per scale,
    the ``S x C x H x W`` control of the same size and cost).

    Args:
        scales: increasing scales of the basis (:data:`~neuroequi.hssl.scale.PAPER_SCALES`).
        widths, blocks_per_stage, padding_mode, in_channels: as :class:`GroupCNN`.
        kernel_size, effective_size, scale_size: as :class:`~neuroequi.hssl.scale.ScaleConv2d`
            (``scale_size`` for every non-lifting layer).
        structured: SESN kernels (True) or free kernels (the control).

    Attributes: those of the stack (``group_order = len(scales)``), ``scales``, ``structured`` and
    ``group = "scale"``.
    """

    def __init__(
        self,
        scales: tuple[float, ...] = PAPER_SCALES,
        widths: tuple[int, ...] = BASE_WIDTHS,
        blocks_per_stage: int = 1,
        kernel_size: int = 7,
        effective_size: int = 3,
        scale_size: int = 1,
        padding_mode: str = "zeros",
        structured: bool = True,
        in_channels: int = 3,
    ) -> None:
        scales = check_scales(scales)

        def make_conv(cin: int, cout: int, lifting: bool) -> ScaleConv2d:
            return ScaleConv2d(
                cin,
                cout,
                kernel_size,
                effective_size,
                scales,
                lifting=lifting,
                scale_size=1 if lifting else scale_size,
                padding_mode=padding_mode,
                structured=structured,
            )

        super().__init__(len(scales), widths, blocks_per_stage, padding_mode, in_channels, make_conv)
        self.scales, self.structured, self.group = scales, structured, "scale"


class EmulatedGroupCNN(nn.Module):
    """The non-equivariant control: a feature map of the p4 network's shape without its structure.

    ``images (N, C_in, S, S)`` -> plain CNN trunk (``GroupCNN(order=1)`` with every width times
    ``group_order``) -> global average pool ``(N, widths[-1] * group_order)`` -> Linear -> reshape to
    ``(N, widths[-1], group_order, S', S')`` with ``S' = image_size // 2 ** (stages - 1)``.

    Same interface as :class:`GroupCNN` (``forward_features``, ``forward``, ``feature_dim``,
    ``group_order``, ``cell``, ``output_size``, ``layer_names``); the emulated grid is fixed by
    ``image_size``.
    """

    def __init__(
        self,
        group_order: int = 4,
        widths: tuple[int, ...] = BASE_WIDTHS,
        blocks_per_stage: int = 1,
        kernel_size: int = 3,
        image_size: int = 32,
        padding_mode: str = "zeros",
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        if group_order < 1:
            raise ValueError(f"group_order must be >= 1, got {group_order}")
        wide = tuple(w * group_order for w in widths)
        self.trunk = GroupCNN(1, wide, blocks_per_stage, kernel_size, padding_mode, in_channels)
        self.padding_mode = padding_mode
        self.group_order, self.widths, self.cell = group_order, tuple(widths), self.trunk.cell
        self.group = "translation" if group_order == 1 else "rotation"
        self.feature_dim = widths[-1]
        self.grid = self.trunk.output_size(image_size, image_size)
        if min(self.grid) < 1:
            raise ValueError(f"image_size {image_size} is smaller than the trunk's downsampling {self.cell}")
        self.emulate = nn.Linear(self.trunk.feature_dim, self.feature_dim * group_order * self.grid[0] * self.grid[1])
        self.avgpool = GroupPool()
        self.layer_names = tuple(f"trunk.{name}" for name in self.trunk.layer_names[:-1]) + ("avgpool",)
        self.region_layer_map = region_layer_map(self.layer_names[:-1])

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """The emulated grid (fixed at construction, whatever the image size)."""
        return self.grid

    def forward_features(self, x: Tensor) -> Tensor:
        """Images ``(N, C_in, H, W)`` -> emulated group feature map ``(N, feature_dim, group_order, S', S')``."""
        flat = self.emulate(self.trunk(x))
        return flat.view(x.shape[0], self.feature_dim, self.group_order, *self.grid)

    def forward(self, x: Tensor) -> Tensor:
        """Images -> ``h = group_pool(forward_features(x))`` ``(N, feature_dim)``."""
        return self.avgpool(self.forward_features(x))


GROUP_CNNS: dict[str, dict[str, object]] = {
    "p4cnn": {"order": 4},
    "z2cnn": {"order": 1},
    "p4cnn_control": {"emulated": 4},
    "z2cnn_control": {"emulated": 1},
    "sesn": {"scales": PAPER_SCALES, "structured": True},
    "sesn_control": {"scales": PAPER_SCALES, "structured": False},
}
"""Name -> rotation order of a :class:`GroupCNN`, emulated group order of an :class:`EmulatedGroupCNN`, or
the scales (and structure) of a :class:`ScaleCNN` (kernel 7, effective size 3, as the paper's CIFAR-10 SESN)."""


def build_group_backbone(arch: str, width: float = 1.0) -> GroupCNN | EmulatedGroupCNN | ScaleCNN:
    """A backbone of :data:`GROUP_CNNS` with ``stage_widths(width)`` channels per group element.

    All pad with zeros; the emulated controls emulate the output grid of 32x32 images.
    """
    if arch not in GROUP_CNNS:
        raise ConfigError(f"unknown group backbone {arch!r}; choose one of {sorted(GROUP_CNNS)}")
    spec, widths = GROUP_CNNS[arch], stage_widths(width)
    if "order" in spec:
        return GroupCNN(spec["order"], widths)  # type: ignore[arg-type]
    if "scales" in spec:
        return ScaleCNN(spec["scales"], widths, structured=spec["structured"])  # type: ignore[arg-type]
    return EmulatedGroupCNN(spec["emulated"], widths)  # type: ignore[arg-type]


BACKBONE_SPECS: tuple[BackboneSpec, ...] = tuple(
    BackboneSpec(name, partial(build_group_backbone, name)) for name in GROUP_CNNS
)
"""The group-CNN family (rotation, translation, scale and their controls), registered by
:mod:`neuroequi.registry` (no residual branches)."""
