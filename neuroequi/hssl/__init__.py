"""Homomorphic self-supervised learning (Keller, Suau & Zappella, TMLR 2023).

* :mod:`neuroequi.hssl.layers` -- group convolutions (p4 by rotated filter copies; translation),
  rotations of images and of group feature maps;
* :mod:`neuroequi.hssl.backbones` -- :class:`GroupCNN`, whose output keeps a group axis
  ``(N, C, |G|, H, W)``, and the control :class:`EmulatedGroupCNN` with an emulated group axis;
* :mod:`neuroequi.hssl.bundles` -- group elements, their action, fiber bundles, pair sampling;
* :mod:`neuroequi.hssl.objective` -- A-SSL and H-SSL (:class:`HomomorphicSSL`);
* :mod:`neuroequi.hssl.method` -- the registered training methods ``hssl`` / ``assl`` (imported by
  :mod:`neuroequi.methods`, which registers them);

The CPU-sized A-SSL vs H-SSL experiment (``neuroequi hssl``) is :mod:`figures.hssl`.
"""

from neuroequi.hssl.backbones import (
    ARCHITECTURES,
    EmulatedGroupCNN,
    GroupCNN,
    build_group_backbone,
    stage_widths,
)
from neuroequi.hssl.bundles import (
    BundleSpec,
    act_on_features,
    act_on_images,
    extract_bundles,
    hssl_bundles,
    sample_pairs,
)
from neuroequi.hssl.layers import (
    GroupConv2d,
    group_pool,
    rotate_features,
    rotate_images,
    spatial_pool,
)
from neuroequi.hssl.objective import (
    HomomorphicSSL,
    assl_bundles,
    assl_views,
    build_criterion,
)

__all__ = [
    "ARCHITECTURES",
    "BundleSpec",
    "EmulatedGroupCNN",
    "GroupCNN",
    "GroupConv2d",
    "HomomorphicSSL",
    "act_on_features",
    "act_on_images",
    "assl_bundles",
    "assl_views",
    "build_criterion",
    "build_group_backbone",
    "extract_bundles",
    "group_pool",
    "hssl_bundles",
    "rotate_features",
    "rotate_images",
    "sample_pairs",
    "spatial_pool",
    "stage_widths",
]
