"""``neuroequi train --config FILE [key.subkey=value ...] [--resume]``."""

from __future__ import annotations

import argparse
import logging


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of the ``train`` command."""
    parser.add_argument("--config", required=True, help="YAML config (see neuroequi/configs/*.yaml)")
    parser.add_argument("--resume", action="store_true", help="continue from the run's latest checkpoint")
    parser.epilog = (
        "Overrides: KEY.SUBKEY=VALUE anywhere on the line, e.g. method.lam=0.2 name=lam0.2 optim.lr=1e-3. "
        "Multi-GPU / multi-node: torchrun --nproc_per_node=8 [--nnodes=N --node_rank=R "
        "--rdzv_endpoint=HOST:PORT] -m neuroequi.train --config FILE ..."
    )


def run(args: argparse.Namespace) -> int:
    """Load the config, train, print the final checkpoint path."""
    from neuroequi.train.config import load_config
    from neuroequi.train.loop import train

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    config = load_config(args.config, args.overrides)
    path = train(config, resume=args.resume)
    print(path)
    return 0
