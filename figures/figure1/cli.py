"""``neuroequi figures figure1``: Figure 1 (see :mod:`figures.figure1.pipeline`).

``neuroequi figures figure1 [--preset offline|smoke|paper|imagenet] [--config FILE] [KEY=VALUE ...] [--images DIR]
[--results DIR] [--out DIR] [--readme docs/reproduction.md]``; ``make figures FIGURE1=<preset> FIGURE1_ARGS=...`` runs
the same (with ``--readme docs/reproduction.md`` for the offline preset).
"""

from __future__ import annotations

import argparse

from figures.figure1.config import Figure1Config
from neuroequi.io import output_folder


def run(config: Figure1Config, args: argparse.Namespace) -> int:
    """Run the Figure-1 pipeline for the parsed arguments."""
    from figures.figure1.pipeline import run as run_pipeline

    run_pipeline(config, output_folder(args.results, "--results"), output_folder(args.out, "--out"), readme=args.readme)
    return 0
