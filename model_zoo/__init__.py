"""model_zoo: the model registry, and Brain-Score plugins made from it (see README.md)."""

import neuroequi  # noqa: F401  (compat shim + BS_INSTALL_DEPENDENCIES=no before anything else)
from model_zoo.catalogue import Entry, WeightsSource, entries, get_entry, random_entry, register_checkpoint
from model_zoo.catalogue import register_weights
from model_zoo.download import zoo_home
from model_zoo.loading import LoadedModel, from_module, load

__all__ = [
    "Entry", "LoadedModel", "WeightsSource", "entries", "from_module", "get_entry", "load", "random_entry",
    "register_checkpoint", "register_weights", "zoo_home",
]
