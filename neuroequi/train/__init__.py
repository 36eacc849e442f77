"""Training: config, data, optimisers, DDP, monitors and the loop.

``train(config, resume=False) -> Path`` runs one config (``load_config(path, overrides)``)
and returns its final checkpoint; the ``neuroequi train`` command wraps it.
"""

from neuroequi.train.config import TrainConfig, config_from_dict, load_config, save_config
from neuroequi.train.loop import train
from neuroequi.train.model import build_model, build_policies, load_method

__all__ = [
    "TrainConfig",
    "build_model",
    "build_policies",
    "config_from_dict",
    "load_config",
    "load_method",
    "save_config",
    "train",
]
