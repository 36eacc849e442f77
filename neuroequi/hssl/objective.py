"""A-SSL and H-SSL objectives over fiber bundles (Keller, Suau & Zappella, TMLR 2023).

Both compare two flattened fiber bundles ``(N, C * |g0|)`` through one projector ``h`` and one
pair criterion (the contrastive InfoNCE / NT-Xent, or the non-contrastive VICReg):

* **A-SSL** -- two transformed copies ``g1.x`` and ``g2.x`` of each image, the *same* bundle ``z(g0)``
  from both: ``L(h(z(g1.x)[g0]), h(z(g2.x)[g0]))``.
* **H-SSL** -- one image, two bundles moved on the group: ``L(h(z(x)[g1^-1 g0]), h(z(x)[g2^-1 g0]))``.

With an equivariant backbone ``z(g.x)[g0] = z(x)[g^-1 g0]``, so the two losses coincide for the
same ``(g0, g1, g2)`` (tested). Both draw ``(g1, g2, g0)`` with
:func:`neuroequi.hssl.bundles.sample_pairs`. The projector is a SimCLR-style head on the flattened
bundle (``neuroequi.heads.mlp``: Linear -> BatchNorm1d -> ReLU -> Linear).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from neuroequi.errors import ConfigError
from neuroequi.heads import mlp
from neuroequi.hssl.bundles import BundleSpec, act_on_images, extract_bundles, hssl_bundles, sample_pairs
from neuroequi.hssl.layers import group_pool
from neuroequi.losses import NTXentLoss, VICRegLoss

MODES = ("hssl", "assl")
CRITERIA = ("infonce", "vicreg")
GROUP_ORDERS = {"rotation": 4, "translation": 1}


def build_criterion(name: str, temperature: float = 0.2) -> nn.Module:
    """The pair criterion: "infonce" (NT-Xent at ``temperature``, contrastive) or "vicreg" (non-contrastive)."""
    if name == "infonce":
        return NTXentLoss(temperature)
    if name == "vicreg":
        return VICRegLoss()
    raise ConfigError(f"method.options.criterion must be one of {list(CRITERIA)}, got {name!r}")


def assl_bundles(features: Tensor, base: Tensor, spec: BundleSpec) -> tuple[Tensor, Tensor]:
    """A-SSL pair from the feature map ``(2N, C, n, H, W)`` of the two transformed copies ``[g1.x; g2.x]``
    (one batch): the bundle at ``base (N, 3)`` of ``g1.x`` and of ``g2.x``, two ``(N, D)``."""
    if features.shape[0] != 2 * base.shape[0]:
        raise ValueError(f"A-SSL features must hold two views of {base.shape[0]} images, got {features.shape[0]} rows")
    first, second = extract_bundles(features, base.repeat(2, 1), spec).chunk(2)
    return first, second


class HomomorphicSSL(nn.Module):
    """A group backbone trained by A-SSL or H-SSL: ``forward(images (N, 3, S, S)) -> scalar loss``.

    Args:
        backbone: a :class:`~neuroequi.hssl.backbones.GroupCNN` or the control
            :class:`~neuroequi.hssl.backbones.EmulatedGroupCNN` (``forward_features``, ``group_order``,
            ``cell``, ``output_size``, ``feature_dim``, ``padding_mode``: A-SSL shifts images the way
            the backbone pads, cyclically or filling with zeros).
        group: "rotation" (p4: the backbone's group axis has 4 entries) or "translation" (1 entry).
        mode: "hssl" or "assl".
        spec: base sizes and topographic distances (:class:`~neuroequi.hssl.bundles.BundleSpec`).
        image_size: side of the training images (fixes the grid and the projector's input size).
        criterion: "infonce" or "vicreg".
        temperature: InfoNCE temperature.
        projector_dims: ``(hidden..., out)`` of the projection head.
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
    ) -> None:
        super().__init__()
        if mode not in MODES:
            raise ConfigError(f"H-SSL mode must be one of {list(MODES)} (method.name), got {mode!r}")
        if group not in GROUP_ORDERS:
            raise ConfigError(f"method.options.group must be one of {list(GROUP_ORDERS)}, got {group!r}")
        if backbone.group_order != GROUP_ORDERS[group]:
            raise ConfigError(
                f"group {group!r} needs a backbone with a group axis of {GROUP_ORDERS[group]}, "
                f"got {backbone.group_order}"
            )
        self.backbone, self.group, self.mode, self.spec = backbone, group, mode, spec
        self.grid = tuple(backbone.output_size(image_size, image_size))
        spec.check(backbone.group_order, self.grid)
        self.criterion = build_criterion(criterion, temperature)
        self.projector = mlp(spec.bundle_dim(backbone.feature_dim, self.grid), projector_dims)

    def loss_and_features(
        self, views: Tensor | tuple[Tensor, Tensor], generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """One image batch ``(N, 3, S, S)``, or two views of it (e.g. photometric augmentations, which
        are not part of the group) -> (scalar loss, detached group-pooled features ``h (N, C)`` of the
        first view (of ``g1.x`` for A-SSL)).

        H-SSL reads ``z(g1^-1 g0)`` from the first view and ``z(g2^-1 g0)`` from the second; A-SSL
        reads ``z(g0)`` from ``g1.(first view)`` and ``g2.(second view)``.
        """
        first, second = (views, None) if isinstance(views, Tensor) else views
        n = first.shape[0]
        g1, g2, base = sample_pairs(self.backbone.group_order, self.grid, self.spec, n, generator)
        if self.mode == "hssl":
            features = self.backbone.forward_features(first if second is None else torch.cat([first, second]))
            b1 = hssl_bundles(features[:n], g1, base, self.spec)
            b2 = hssl_bundles(features[-n:], g2, base, self.spec)
        else:
            pairs = ((first, g1), (first if second is None else second, g2))
            inputs = torch.cat([act_on_images(v, g, self.backbone.cell, self.backbone.padding_mode) for v, g in pairs])
            features = self.backbone.forward_features(inputs)
            b1, b2 = assl_bundles(features, base, self.spec)
        loss = self.criterion(self.projector(b1), self.projector(b2))
        return loss, group_pool(features[:n]).detach()

    def forward(self, views: Tensor | tuple[Tensor, Tensor], generator: torch.Generator | None = None) -> Tensor:
        """Images ``(N, 3, S, S)`` or two views of them -> scalar loss."""
        return self.loss_and_features(views, generator)[0]
