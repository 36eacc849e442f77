"""``neuroequi equivariance-table``: the poster's CIFAR-10 table at CPU size (see :mod:`figures.equivariance_table`).

``neuroequi equivariance-table [--preset cpu|smoke] [--config FILE] [KEY=VALUE ...] [--out DIR]``, e.g.
``neuroequi equivariance-table epochs=2 families=[rotation,blur] train.optim.lr=0.002``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from figures.equivariance_table.config import PRESETS, EquivarianceTableConfig
from neuroequi.cli import add_config_arguments, command_config
from neuroequi.io import output_folder


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``neuroequi equivariance-table``."""
    add_config_arguments(parser, PRESETS)
    parser.set_defaults(preset="cpu")
    parser.add_argument("--out", type=Path, default=Path("results/equivariance_table"),
                        help="results folder (resumable); the tables go to <out>/<name>/table.{csv,md}")


def run(args: argparse.Namespace) -> int:
    """Run the pipeline; print where the tables went."""
    from figures.equivariance_table.pipeline import run_table

    config = command_config(EquivarianceTableConfig, args, PRESETS, where="equivariance-table")
    run_table(config, output_folder(args.out, "--out"))
    print(f"wrote {args.out / config.name / 'table.md'}")
    return 0
