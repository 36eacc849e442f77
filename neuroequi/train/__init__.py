"""Training: config, data, optimisers, DDP, monitors and the loop.

``train(config, resume=False) -> Path`` runs one config (``load_config(path, overrides)``)
and returns its final checkpoint; the ``neuroequi train`` command wraps it.

The names below are imported on first use (PEP 562): :mod:`neuroequi.train.config` is torch-free
(``neuroequi train --help``), the loop and the model need torch.
"""

from neuroequi.lazy import lazy_exports

_MODULES = {
    "neuroequi.train.config": ("TrainConfig", "config_from_dict", "load_config", "save_config"),
    "neuroequi.train.loop": ("train",),
    "neuroequi.train.model": ("build_model", "build_policies", "load_method"),
}

__all__ = sorted(name for names in _MODULES.values() for name in names)

__getattr__, __dir__ = lazy_exports(__name__, {name: module for module, names in _MODULES.items() for name in names})
