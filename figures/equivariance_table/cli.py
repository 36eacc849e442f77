"""``neuroequi figures equivariance-table``: the poster's CIFAR-10 table at CPU size (see :mod:`figures.equivariance_table`).

``neuroequi figures equivariance-table [--preset cpu|smoke] [--config FILE] [KEY=VALUE ...] [--out DIR]``, e.g.
``neuroequi figures equivariance-table epochs=2 families=[rotation,blur] train.optim.lr=0.002``.
"""

from __future__ import annotations

import argparse

from figures.equivariance_table.config import EquivarianceTableConfig, validate
from neuroequi.io import output_folder


def run(config: EquivarianceTableConfig, args: argparse.Namespace) -> int:
    """Run the pipeline; print where the tables went."""
    from figures.equivariance_table.pipeline import run_table

    config = validate(config)
    run_table(config, output_folder(args.out, "--out"))
    print(f"wrote {args.out / config.name / 'table.md'}")
    return 0
