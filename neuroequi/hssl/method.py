"""H-SSL and A-SSL as registered training methods (``neuroequi train`` with ``method.name: hssl | assl``).

The backbone comes from the config's ``model.arch`` (``p4cnn``, ``z2cnn``, ``p4cnn_control``,
``z2cnn_control``, ``sesn``, ``sesn_control``; see :mod:`neuroequi.hssl.backbones`). The data pipeline
hands two views of every image; the group part of the augmentation (rotations by quarter turns,
shrinking by the scales' ratios, shifts by grid cells) is done by the objective -- in feature space for
H-SSL, on the images for A-SSL -- so the views should differ only by augmentations outside the group:
``data.restriction: photometric``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import nn

from neuroequi.errors import ConfigError
from neuroequi.hssl.bundles import BundleSpec
from neuroequi.hssl.objective import HomomorphicSSL, check_group
from neuroequi.methods.base import Batch, MethodSpec, Requirements, SSLMethod, StepOutput


@dataclass
class HSSLOptions:
    """Options of ``hssl`` / ``assl``.

    Attributes:
        group: "rotation" (p4 backbones), "translation" (z2 backbones) or "scale" (sesn backbones).
        rotation_base: rotation indices in the base ``g0`` (1 .. 4; 1 for translation and scale).
        rotation_distance: largest cyclic distance between the rotations of ``g1`` and ``g2``;
            None: the whole group (2 for rotation, 0 for translation and scale).
        scale_base: scale indices in the base ``g0`` (1 .. number of scales; 1 unless group is scale).
        scale_distance: largest ``|j1 - j2|`` between the scale elements of ``g1`` and ``g2``;
            None: the whole axis (scales - scale_base; 0 unless group is scale).
        scale_range: scale group, A-SSL only: shrink each view by a factor uniform in ``[min, max]``
            (the paper's augmentation: ``[0.57, 1.0]``) instead of by the scale elements; None: the elements.
        grid_base: side of the base's patch of grid cells; None: the whole grid.
        grid_distance: largest Chebyshev distance in cells between the shifts of ``g1`` and ``g2``.
        criterion: "infonce" (contrastive) or "vicreg" (non-contrastive).
        temperature: InfoNCE temperature.
        projector: projector sizes ``[hidden..., out]`` on the flattened bundle.

    The side of the training views (which fixes the grid and the projector's input size) is
    not an option: the builder gets it from the data config (``data.size`` or the policy's).
    """

    group: Literal["rotation", "translation", "scale"] = "rotation"
    rotation_base: int = 1
    rotation_distance: int | None = None
    grid_base: int | None = 4
    grid_distance: int = 2
    scale_base: int = 1
    scale_distance: int | None = None
    scale_range: tuple[float, float] | None = None
    criterion: Literal["infonce", "vicreg"] = "infonce"
    temperature: float = 0.2
    projector: tuple[int, ...] = (512, 128)


class HomomorphicMethod(SSLMethod):
    """:class:`~neuroequi.hssl.objective.HomomorphicSSL` on a two-view :class:`~neuroequi.methods.Batch`."""

    requirements = Requirements(views=2)

    def __init__(self, objective: HomomorphicSSL) -> None:
        super().__init__()
        self.objective = objective

    @property
    def backbone(self) -> nn.Module:  # type: ignore[override]
        return self.objective.backbone

    def forward(self, batch: Batch) -> StepOutput:
        if len(batch.views) != 2:
            raise ValueError(f"{self.objective.mode} needs 2 views, got {len(batch.views)}")
        loss, features = self.objective.loss_and_features((batch.views[0], batch.views[1]))
        return StepOutput(loss=loss, features=features, logs={f"loss_{self.objective.mode}": loss.detach()})


def build_homomorphic(mode: str, options: HSSLOptions, backbone: nn.Module, image_size: int) -> HomomorphicMethod:
    """The method ``mode`` ("hssl" or "assl") with ``options`` on a group backbone, for views of side ``image_size``."""
    if not hasattr(backbone, "forward_features") or not hasattr(backbone, "group_order"):
        raise ConfigError(
            f"{mode} needs a group backbone (model.arch p4cnn, z2cnn, sesn or their _control), "
            f"got {type(backbone).__name__}"
        )
    axis = check_group(options.group, backbone)
    rotation_distance, scale_distance = options.rotation_distance, options.scale_distance
    if rotation_distance is None:
        rotation_distance = backbone.group_order // 2 if axis.cyclic else 0
    if scale_distance is None:
        scale_distance = 0 if axis.cyclic else max(backbone.group_order - options.scale_base, 0)
    spec = BundleSpec(
        options.rotation_base,
        rotation_distance,
        options.grid_base,
        options.grid_distance,
        options.scale_base,
        scale_distance,
    )
    objective = HomomorphicSSL(
        backbone,
        options.group,
        mode,
        spec,
        image_size,
        options.criterion,
        options.temperature,
        options.projector,
        None if options.scale_range is None else tuple(options.scale_range),
    )
    return HomomorphicMethod(objective)


def build_hssl(options: HSSLOptions, backbone: nn.Module, image_size: int) -> HomomorphicMethod:
    """H-SSL: two bundles of one image, moved on the group in feature space."""
    return build_homomorphic("hssl", options, backbone, image_size)


def build_assl(options: HSSLOptions, backbone: nn.Module, image_size: int) -> HomomorphicMethod:
    """A-SSL: the same bundle of two transformed images."""
    return build_homomorphic("assl", options, backbone, image_size)


METHOD_SPECS: tuple[MethodSpec, ...] = (
    MethodSpec("hssl", HSSLOptions, build_hssl),
    MethodSpec("assl", HSSLOptions, build_assl),
)
"""The homomorphic family, registered by :mod:`neuroequi.registry`."""
