"""``neuroequi hssl``: the A-SSL vs H-SSL experiment (see :mod:`figures.hssl.pipeline`).

``neuroequi hssl [--preset cpu] [--config FILE] [KEY=VALUE ...] [--out DIR]``, e.g.
``neuroequi hssl epochs=1 backbones=[p4cnn] train.optim.lr=0.001``; ``--preset toy`` runs every part at toy size.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from figures.hssl.config import PRESETS, HsslConfig
from neuroequi.cli import add_config_arguments, command_config
from neuroequi.io import output_folder


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``neuroequi hssl``."""
    add_config_arguments(parser, PRESETS)
    parser.set_defaults(preset="cpu")
    parser.add_argument("--out", type=Path, default=Path("results/hssl"), help="output folder (table.csv, train/)")


def run(args: argparse.Namespace) -> int:
    """Run the experiment; print the table and where it went."""
    from figures.hssl.pipeline import run as run_experiment
    from figures.hssl.table import DIFFERENCES, REPORT, SHOWN, SWEEP, TABLE

    config = command_config(HsslConfig, args, PRESETS, where="hssl")
    table = run_experiment(config, output_folder(args.out, "--out"))
    print(table[list(SHOWN)].to_string(index=False))
    written = [TABLE, DIFFERENCES, REPORT] + ([SWEEP, "figure3_base.png", "figure3_distance.png"] if config.sweeps else [])
    print(f"wrote {', '.join(str(args.out / name) for name in written)}")
    return 0
