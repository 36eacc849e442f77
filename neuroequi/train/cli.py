"""``neuroequi train (--preset RECIPE | --config FILE) [key.subkey=value ...] [--resume]``.

Multi-GPU / multi-node: ``torchrun --nproc_per_node=8 [--nnodes=N --node_rank=R
--rdzv_endpoint=HOST:PORT] -m neuroequi.train --preset NAME ...``.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from neuroequi.train.config import TrainConfig


def load(args: argparse.Namespace, overrides: Sequence[str]) -> TrainConfig:
    """The training config: a paper's recipe (``--preset NAME``; overrides may not change its
    architecture, :func:`~neuroequi.train.recipes.load_recipe`) or ``--config FILE``."""
    from neuroequi.errors import ConfigError
    from neuroequi.train.config import load_config
    from neuroequi.train.recipes import load_recipe

    if (args.preset is None) == (args.config is None):
        raise ConfigError(
            "train: give exactly one of --preset NAME (a paper's recipe, as its authors trained it; "
            "neuroequi/configs/recipes/README.md) and --config FILE"
        )
    if args.preset is not None:
        return load_recipe(args.preset, overrides)
    return load_config(args.config, overrides)


def run(config: TrainConfig, args: argparse.Namespace) -> int:
    """Train; print the final checkpoint path."""
    from neuroequi.train.loop import train

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    print(train(config, resume=args.resume))
    return 0
