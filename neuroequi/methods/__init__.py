"""Self-supervised methods: invariance methods and the TeSSL and EquiMod wrappers.

The invariance family (:mod:`neuroequi.methods.invariance`: Barlow Twins, SimCLR, VICReg, MMCR,
BYOL) is registered by name in :mod:`neuroequi.registry`, whose ``build_method(name, options,
backbone, image_size)`` builds any registered method; :class:`TeSSL` and :class:`EquiMod` wrap an
invariance method and are applied by :func:`neuroequi.train.model.build_model`.
"""

from neuroequi.methods.base import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    Batch,
    MethodSpec,
    Requirements,
    SSLMethod,
    StepOutput,
    normalize_images,
)
from neuroequi.methods.equimod import EquiMod, EquiModOptions
from neuroequi.methods.invariance import (
    BYOL,
    BarlowTwinsOptions,
    BYOLHead,
    BYOLOptions,
    InvarianceMethod,
    MMCROptions,
    SimCLROptions,
    VICRegOptions,
)
from neuroequi.methods.tessl import TeSSL, TeSSLOptions

__all__ = [
    "BYOL",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "BYOLHead",
    "BYOLOptions",
    "BarlowTwinsOptions",
    "Batch",
    "EquiMod",
    "EquiModOptions",
    "InvarianceMethod",
    "MMCROptions",
    "MethodSpec",
    "Requirements",
    "SSLMethod",
    "SimCLROptions",
    "StepOutput",
    "TeSSL",
    "TeSSLOptions",
    "VICRegOptions",
    "normalize_images",
]
