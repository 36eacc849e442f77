"""``neuroequi figures hssl``: the A-SSL vs H-SSL experiment (see :mod:`figures.hssl.pipeline`).

``neuroequi figures hssl [--preset cpu] [--config FILE] [KEY=VALUE ...] [--out DIR]``, e.g.
``neuroequi figures hssl epochs=1 backbones=[p4cnn] train.optim.lr=0.001``; ``--preset toy`` runs every
part at toy size.
"""

from __future__ import annotations

import argparse

from figures.hssl.config import HsslConfig
from neuroequi.io import output_folder


def run(config: HsslConfig, args: argparse.Namespace) -> int:
    """Run the experiment; print the table and where it went."""
    from figures.hssl.pipeline import run as run_experiment
    from figures.hssl.table import DIFFERENCES, REPORT, SHOWN, SWEEP, TABLE

    table = run_experiment(config, output_folder(args.out, "--out"))
    print(table[list(SHOWN)].to_string(index=False))
    written = [TABLE, DIFFERENCES, REPORT] + (
        [SWEEP, "figure3_base.png", "figure3_distance.png"] if config.sweeps else []
    )
    print(f"wrote {', '.join(str(args.out / name) for name in written)}")
    return 0
