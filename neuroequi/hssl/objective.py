"""A-SSL and H-SSL objectives over fiber bundles (Keller, Suau & Zappella, TMLR 2023).

Both compare two flattened fiber bundles ``(N, C * |g0|)`` through one projector ``h`` and one
pair criterion (the contrastive InfoNCE / NT-Xent, or the non-contrastive VICReg):

* **A-SSL** -- two transformed copies ``g1.x`` and ``g2.x`` of each image, the *same* bundle ``z(g0)``
  from both: ``L(h(z(g1.x)[g0]), h(z(g2.x)[g0]))``.
* **H-SSL** -- one image, two bundles moved on the group: ``L(h(z(x)[g1^-1 g0]), h(z(x)[g2^-1 g0]))``.

With an equivariant backbone ``z(g.x)[g0] = z(x)[g^-1 g0]``, so the two losses coincide for the
same ``(g0, g1, g2)`` (tested: exactly for quarter turns on p4; for scale, where no action is exact on
a pixel grid, approximately -- the tests state the measured gap). Both draw ``(g1, g2, g0)`` with
:func:`neuroequi.hssl.bundles.sample_pairs`. For the scale group A-SSL can instead use the paper's
augmentation, a random shrink of each view by a factor uniform in ``scale_range``
(:class:`~neuroequi.augment.RandomDownscale`; e.g. ``(0.57, 1.0)``, i.e. ``1 / 1.75 .. 1``), before the
grid shifts of ``g1, g2``. The projector is a SimCLR-style head on the flattened
bundle (``neuroequi.heads.mlp``: Linear -> BatchNorm1d -> ReLU -> Linear).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from neuroequi.augment.params import AugParams
from neuroequi.augment.rescale import RandomDownscale
from neuroequi.errors import ConfigError
from neuroequi.heads import mlp
from neuroequi.hssl.bundles import (
    BundleSpec,
    GroupAxis,
    act_on_images,
    extract_bundles,
    hssl_bundles,
    sample_pairs,
)
from neuroequi.hssl.layers import group_pool
from neuroequi.losses import NTXentLoss, VICRegLoss

MODES = ("hssl", "assl")
CRITERIA = ("infonce", "vicreg")
GROUPS = ("rotation", "translation", "scale")
GROUP_ORDERS = {"rotation": 4, "translation": 1}
"""Group-axis sizes of the rotation and translation backbones (a scale backbone's is ``len(scales)``)."""


def build_criterion(name: str, temperature: float = 0.2) -> nn.Module:
    """The pair criterion: "infonce" (NT-Xent at ``temperature``, contrastive) or "vicreg" (non-contrastive)."""
    if name == "infonce":
        return NTXentLoss(temperature)
    if name == "vicreg":
        return VICRegLoss()
    raise ConfigError(f"method.options.criterion must be one of {list(CRITERIA)}, got {name!r}")


def assl_bundles(
    features: Tensor, base: Tensor, spec: BundleSpec, axis: GroupAxis | None = None
) -> tuple[Tensor, Tensor]:
    """A-SSL pair from the feature map ``(2N, C, n, H, W)`` of the two transformed copies ``[g1.x; g2.x]``
    (one batch): the bundle at ``base (N, 3)`` of ``g1.x`` and of ``g2.x``, two ``(N, D)``."""
    if features.shape[0] != 2 * base.shape[0]:
        raise ValueError(f"A-SSL features must hold two views of {base.shape[0]} images, got {features.shape[0]} rows")
    first, second = extract_bundles(features, base.repeat(2, 1), spec, axis).chunk(2)
    return first, second


def check_group(group: str, backbone: nn.Module) -> GroupAxis:
    """The group axis of ``backbone`` for ``group`` (rotation, translation or scale), or ConfigError if they do not match."""
    if group not in GROUPS:
        raise ConfigError(f"method.options.group must be one of {list(GROUPS)}, got {group!r}")
    scales = getattr(backbone, "scales", None)
    if group == "scale":
        if scales is None:
            raise ConfigError(
                f"group 'scale' needs a scale backbone (model.arch sesn or sesn_control), got {type(backbone).__name__}"
            )
    elif scales is not None or backbone.group_order != GROUP_ORDERS[group]:
        raise ConfigError(
            f"group {group!r} needs a backbone with a group axis of {GROUP_ORDERS[group]} (rotations), "
            f"got {type(backbone).__name__} with a group axis of {backbone.group_order}"
        )
    return GroupAxis.of(backbone)


class HomomorphicSSL(nn.Module):
    """A group backbone trained by A-SSL or H-SSL: ``forward(images (N, 3, S, S)) -> scalar loss``.

    Args:
        backbone: a :class:`~neuroequi.hssl.backbones.GroupCNN` or the control
            :class:`~neuroequi.hssl.backbones.EmulatedGroupCNN` (``forward_features``, ``group_order``,
            ``cell``, ``output_size``, ``feature_dim``, ``padding_mode``: A-SSL shifts images the way
            the backbone pads, cyclically or filling with zeros).
        group: "rotation" (p4: the backbone's group axis has 4 entries), "translation" (1 entry) or
            "scale" (a :class:`~neuroequi.hssl.backbones.ScaleCNN`, its scale axis).
        mode: "hssl" or "assl".
        spec: base sizes and topographic distances (:class:`~neuroequi.hssl.bundles.BundleSpec`).
        image_size: side of the training images (fixes the grid and the projector's input size).
        criterion: "infonce" or "vicreg".
        temperature: InfoNCE temperature.
        projector_dims: ``(hidden..., out)`` of the projection head.
        scale_range: scale group, A-SSL only: shrink the views by factors uniform in this range
            (:class:`~neuroequi.augment.RandomDownscale`) instead of by the scale elements of ``g1, g2``.
    """

    def __init__(
        self,
        backbone: nn.Module,
        group: str,
        mode: str = "hssl",
        spec: BundleSpec = BundleSpec(),
        image_size: int = 32,
        criterion: str = "infonce",
        temperature: float = 0.2,
        projector_dims: tuple[int, ...] = (512, 128),
        scale_range: tuple[float, float] | None = None,
    ) -> None:
        super().__init__()
        if mode not in MODES:
            raise ConfigError(f"H-SSL mode must be one of {list(MODES)} (method.name), got {mode!r}")
        self.axis = check_group(group, backbone)
        if scale_range is not None and (group != "scale" or mode != "assl"):
            raise ConfigError(
                f"method.options.scale_range is the scale group's A-SSL augmentation; got it for {group} {mode}"
            )
        self.downscale = None if scale_range is None else RandomDownscale(tuple(scale_range))
        self.backbone, self.group, self.mode, self.spec = backbone, group, mode, spec
        self.grid = tuple(backbone.output_size(image_size, image_size))
        spec.check(backbone.group_order, self.grid, self.axis)
        self.criterion = build_criterion(criterion, temperature)
        self.projector = mlp(spec.bundle_dim(backbone.feature_dim, self.grid, self.axis), projector_dims)

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[Tensor, ...]:
        """The random draws of one step for ``n`` images: ``(g1, g2, base)`` (each ``(n, 3)``), and for A-SSL
        with a ``scale_range`` the two views' shrink factors ``(n,)`` after them."""
        g1, g2, base = sample_pairs(self.backbone.group_order, self.grid, self.spec, n, generator, self.axis)
        if self.downscale is None:
            return g1, g2, base
        factors = [self.downscale.sample(n, generator)["downscale"] for _ in range(2)]
        return g1, g2, base, *factors

    def _assl_view(self, view: Tensor, g: Tensor, factor: Tensor | None) -> Tensor:
        """``g.view`` (A-SSL), with the group-axis part replaced by a shrink by ``factor (N,)`` when given."""
        backbone = self.backbone
        if factor is None:
            return act_on_images(view, g, backbone.cell, backbone.padding_mode, self.axis)
        shifts_only = torch.cat([torch.zeros_like(g[:, :1]), g[:, 1:]], dim=1)
        shrunk = self.downscale.apply(view, AugParams(factor[:, None], RandomDownscale.columns))  # type: ignore[union-attr]
        return act_on_images(shrunk, shifts_only, backbone.cell, backbone.padding_mode, self.axis)

    def loss_and_features(
        self,
        views: Tensor | tuple[Tensor, Tensor],
        generator: torch.Generator | None = None,
        draws: tuple[Tensor, ...] | None = None,
    ) -> tuple[Tensor, Tensor]:
        """One image batch ``(N, 3, S, S)``, or two views of it (e.g. photometric augmentations, which
        are not part of the group) -> (scalar loss, detached group-pooled features ``h (N, C)`` of the
        first view (of ``g1.x`` for A-SSL)).

        H-SSL reads ``z(g1^-1 g0)`` from the first view and ``z(g2^-1 g0)`` from the second; A-SSL
        reads ``z(g0)`` from ``g1.(first view)`` and ``g2.(second view)``. ``draws`` (as :meth:`sample`
        returns them) replays given group elements instead of drawing new ones from ``generator``.
        """
        first, second = (views, None) if isinstance(views, Tensor) else views
        n = first.shape[0]
        g1, g2, base, *factors = self.sample(n, generator) if draws is None else draws
        if self.mode == "hssl":
            features = self.backbone.forward_features(first if second is None else torch.cat([first, second]))
            b1 = hssl_bundles(features[:n], g1, base, self.spec, self.axis)
            b2 = hssl_bundles(features[-n:], g2, base, self.spec, self.axis)
        else:
            shrink = factors or [None, None]
            pairs = ((first, g1, shrink[0]), (first if second is None else second, g2, shrink[1]))
            features = self.backbone.forward_features(torch.cat([self._assl_view(v, g, f) for v, g, f in pairs]))
            b1, b2 = assl_bundles(features, base, self.spec, self.axis)
        loss = self.criterion(self.projector(b1), self.projector(b2))
        return loss, group_pool(features[:n]).detach()

    def forward(
        self,
        views: Tensor | tuple[Tensor, Tensor],
        generator: torch.Generator | None = None,
        draws: tuple[Tensor, ...] | None = None,
    ) -> Tensor:
        """Images ``(N, 3, S, S)`` or two views of them -> scalar loss."""
        return self.loss_and_features(views, generator, draws)[0]
