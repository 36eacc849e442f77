"""model_zoo: the model registry, and Brain-Score plugins made from it (see README.md)."""

import neuroequi  # noqa: F401  (compat shim + BS_INSTALL_DEPENDENCIES=no before anything else)
from model_zoo.catalogue import (Entry, WeightsSource, entries, get_entry, random_entry, register_checkpoint,
                                register_run, run_name)
from model_zoo.download import zoo_home
from model_zoo.loading import LoadedModel, load

__all__ = [
    "Entry", "LoadedModel", "WeightsSource", "entries", "get_entry", "load", "random_entry",
    "register_checkpoint", "register_run", "run_name", "zoo_home",
]
