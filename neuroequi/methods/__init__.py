"""Self-supervised methods: invariance methods, the TeSSL and EquiMod wrappers, the registry.

``build_method(name, options, backbone)`` builds a registered invariance (or other) method;
``wrap(method, kind, lam, ...)`` adds TeSSL or EquiMod. Register a new method with
:func:`register_method` (a decorator on ``build(options, backbone) -> SSLMethod``).
"""

from neuroequi.methods.base import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    METHODS,
    Batch,
    MethodSpec,
    Requirements,
    SSLMethod,
    StepOutput,
    build_method,
    dataclass_from_mapping,
    make_options,
    method_spec,
    normalize_images,
    register_method,
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
from neuroequi.methods.tessl import TeSSL

__all__ = [
    "BYOL",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "METHODS",
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
    "VICRegOptions",
    "build_method",
    "dataclass_from_mapping",
    "make_options",
    "method_spec",
    "normalize_images",
    "register_method",
]

# H-SSL / A-SSL register themselves ("hssl", "assl") on import.
from neuroequi.hssl import method as _hssl_method  # noqa: E402,F401
# SIE ("sie") and the reconstruction method ("recon_equi") register themselves on import.
from neuroequi.methods import reconstruction as _reconstruction, sie as _sie  # noqa: E402,F401
