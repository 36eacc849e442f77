"""model_zoo: the model registry, and Brain-Score plugins made from it (see README.md).

The names below are imported on first use (PEP 562), so importing the package (e.g. for its
``commands``) loads neither torch nor Brain-Score.
"""

from neuroequi.lazy import lazy_exports

__all__ = [
    "Entry",
    "LoadedModel",
    "WeightsSource",
    "entries",
    "from_module",
    "get_entry",
    "load",
    "random_entry",
    "register_checkpoint",
    "register_run",
    "register_weights",
    "run_name",
    "zoo_home",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Entry": "model_zoo.catalogue",
        "WeightsSource": "model_zoo.catalogue",
        "entries": "model_zoo.catalogue",
        "get_entry": "model_zoo.catalogue",
        "random_entry": "model_zoo.catalogue",
        "register_checkpoint": "model_zoo.catalogue",
        "register_run": "model_zoo.catalogue",
        "register_weights": "model_zoo.catalogue",
        "run_name": "model_zoo.catalogue",
        "zoo_home": "model_zoo.download",
        "LoadedModel": "model_zoo.loading",
        "load": "model_zoo.loading",
        "from_module": "model_zoo.loading",
    },
)
