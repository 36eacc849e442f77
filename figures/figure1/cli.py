"""``neuroequi figures``: Figure 1 (see :mod:`figures.figure1.pipeline`).

``neuroequi figures [--preset offline|smoke|paper|imagenet] [--config FILE] [KEY=VALUE ...] [--images DIR]
[--results DIR] [--out DIR] [--readme README.md]``; ``make figures FIGURE1=<preset> FIGURE1_ARGS=...`` runs
the same (with ``--readme README.md`` for the offline preset).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from figures.figure1.config import PRESETS, Figure1Config
from neuroequi.cli import add_config_arguments, command_config
from neuroequi.io import output_folder


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``neuroequi figures``."""
    add_config_arguments(parser, PRESETS)
    parser.set_defaults(preset="offline")
    parser.add_argument("--images", default=None, metavar="DIR",
                        help="ImageFolder of analysis images (paper preset: ImageNet validation); same as images=DIR")
    parser.add_argument("--results", type=Path, default=Path("results"), help="intermediate results (resumable)")
    parser.add_argument("--out", type=Path, default=Path("figures"), help="where the figure, table and caption go")
    parser.add_argument("--readme", type=Path, default=None, metavar="README",
                        help="rewrite the Figure-1 block of this README from the table (make figures: offline)")


def config_for(args: argparse.Namespace) -> Figure1Config:
    """The preset (default offline), then ``--config``, then ``key=value`` overrides, then ``--images``."""
    if args.images is not None:
        args.overrides = [*args.overrides, f"images={json.dumps(str(args.images))}"]
    return command_config(Figure1Config, args, PRESETS, where="figure1")


def run(args: argparse.Namespace) -> int:
    """Run the Figure-1 pipeline for the parsed arguments."""
    from figures.figure1.pipeline import run as run_pipeline

    run_pipeline(config_for(args), output_folder(args.results, "--results"), output_folder(args.out, "--out"),
                 readme=args.readme)
    return 0
