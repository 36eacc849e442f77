"""``neuroequi train (--config FILE | --recipe NAME) [key.subkey=value ...] [--resume]``."""

from __future__ import annotations

import argparse
import logging


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of the ``train`` command."""
    from neuroequi.train.recipes import recipe_names

    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", help="YAML config (see neuroequi/configs/*.yaml)")
    source.add_argument(
        "--recipe", metavar="NAME",
        help=f"a paper's recipe, as its authors trained it: {', '.join(recipe_names())} "
             "(or a recipe YAML's path; every value and its source: neuroequi/configs/recipes/README.md). "
             "Overrides may not change a recipe's architecture.",
    )
    parser.add_argument("--resume", action="store_true", help="continue from the run's latest checkpoint")
    parser.epilog = (
        "Overrides: KEY.SUBKEY=VALUE anywhere on the line, e.g. method.lam=0.2 name=lam0.2 optim.lr=1e-3. "
        "Multi-GPU / multi-node: torchrun --nproc_per_node=8 [--nnodes=N --node_rank=R "
        "--rdzv_endpoint=HOST:PORT] -m neuroequi.train --recipe NAME ..."
    )


def run(args: argparse.Namespace) -> int:
    """Load the config or recipe, train, print the final checkpoint path."""
    from neuroequi.train.config import load_config
    from neuroequi.train.loop import train
    from neuroequi.train.recipes import load_recipe

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.recipe is not None:
        config = load_recipe(args.recipe, args.overrides)
    else:
        config = load_config(args.config, args.overrides)
    path = train(config, resume=args.resume)
    print(path)
    return 0
