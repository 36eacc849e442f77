"""Self-supervised methods: invariance methods and the TeSSL and EquiMod wrappers.

The invariance family (:mod:`neuroequi.methods.invariance`: Barlow Twins, SimCLR, VICReg, MMCR,
BYOL) is registered by name in :mod:`neuroequi.registry`, whose ``build_method(name, options,
backbone, image_size)`` builds any registered method; :class:`TeSSL` and :class:`EquiMod` wrap an
invariance method and are applied by :func:`neuroequi.train.model.build_model`.

The names below are imported on first use (PEP 562): the options of the wrappers
(:mod:`neuroequi.methods.options`) are torch-free, so the training config's schema loads without torch.
"""

from neuroequi.lazy import lazy_exports

_MODULES = {
    "neuroequi.methods.base": (
        "IMAGENET_MEAN",
        "IMAGENET_STD",
        "Batch",
        "MethodSpec",
        "Requirements",
        "SSLMethod",
        "StepOutput",
        "normalize_images",
    ),
    "neuroequi.methods.equimod": ("EquiMod",),
    "neuroequi.methods.invariance": (
        "BYOL",
        "BarlowTwinsOptions",
        "BYOLHead",
        "BYOLOptions",
        "InvarianceMethod",
        "MMCROptions",
        "SimCLROptions",
        "VICRegOptions",
    ),
    "neuroequi.methods.options": ("EquiModOptions", "TeSSLOptions"),
    "neuroequi.methods.tessl": ("TeSSL",),
}

__all__ = sorted(name for names in _MODULES.values() for name in names)

__getattr__, __dir__ = lazy_exports(__name__, {name: module for module, names in _MODULES.items() for name in names})
