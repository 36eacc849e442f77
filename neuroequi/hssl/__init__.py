"""Homomorphic self-supervised learning (Keller, Suau & Zappella, TMLR 2023).

* :mod:`neuroequi.hssl.layers` -- group convolutions (p4 by rotated filter copies; translation),
  rotations of images and of group feature maps;
* :mod:`neuroequi.hssl.scale` -- SESN scale convolutions (fixed multi-scale Hermite basis, explicit scale
  axis), the scale action on images and feature maps, equivariance errors;
* :mod:`neuroequi.hssl.backbones` -- :class:`GroupCNN` and :class:`ScaleCNN`, whose output keeps a group
  axis ``(N, C, |G|, H, W)``, and the controls (:class:`EmulatedGroupCNN`, ``ScaleCNN(structured=False)``);
* :mod:`neuroequi.hssl.bundles` -- the group axis (:class:`GroupAxis`: rotations or scales), group
  elements, their action, fiber bundles, pair sampling;
* :mod:`neuroequi.hssl.objective` -- A-SSL and H-SSL (:class:`HomomorphicSSL`);
* :mod:`neuroequi.hssl.method` -- the training methods ``hssl`` / ``assl`` (registered in
  :mod:`neuroequi.registry`).

The CPU-sized A-SSL vs H-SSL experiment (``neuroequi hssl``) is :mod:`figures.hssl`.
"""

from neuroequi.hssl.backbones import (
    GROUP_CNNS,
    EmulatedGroupCNN,
    GroupCNN,
    ScaleCNN,
    build_group_backbone,
    stage_widths,
)
from neuroequi.hssl.bundles import (
    BundleSpec,
    GroupAxis,
    act_on_features,
    act_on_images,
    extract_bundles,
    hssl_bundles,
    sample_pairs,
)
from neuroequi.hssl.layers import GroupConv2d, group_pool, rotate_features, rotate_images, spatial_pool
from neuroequi.hssl.objective import HomomorphicSSL, assl_bundles, build_criterion
from neuroequi.hssl.scale import PAPER_SCALES, ScaleConv2d, hermite_basis, scale_features, scale_images

__all__ = [
    "GROUP_CNNS",
    "PAPER_SCALES",
    "BundleSpec",
    "EmulatedGroupCNN",
    "GroupAxis",
    "GroupCNN",
    "GroupConv2d",
    "HomomorphicSSL",
    "ScaleCNN",
    "ScaleConv2d",
    "act_on_features",
    "act_on_images",
    "assl_bundles",
    "build_criterion",
    "build_group_backbone",
    "extract_bundles",
    "group_pool",
    "hermite_basis",
    "hssl_bundles",
    "rotate_features",
    "rotate_images",
    "sample_pairs",
    "scale_features",
    "scale_images",
    "spatial_pool",
    "stage_widths",
]
