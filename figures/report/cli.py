"""``neuroequi report``: every local benchmark, layer and measure of one or several models.

::

    neuroequi report --model M [--model M2 ...] [--out DIR] [--config FILE] [KEY=VALUE ...]

Settings are the keys of :class:`figures.report.config.ReportConfig` (``benchmarks=[...]``,
``layers=[layer1,layer4]``, ``pieces=[benchmarks]``, ``measures.n_images=64``,
``augmentation.n_train=2000``, ``reduction.components=1000``, ``parallel=2``, ``executor=slurm``).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    """Flags ``--model`` (repeatable) and ``--out``; settings via ``--config FILE`` / ``key=value``."""
    from neuroequi.cli import add_config_arguments

    parser.add_argument("--model", action="append", default=[],
                        help="catalogue name (`neuroequi zoo list`) or checkpoint file; repeat for several models")
    parser.add_argument("--out", type=Path, default=Path("report"), help="report folder (default ./report)")
    add_config_arguments(parser)
    parser.epilog = (parser.epilog or "") + (
        " Keys: benchmarks, layers, pieces (benchmarks, measures, augmentation), reduction.components, "
        "reduction.images, measures.{n_images,K,n_boot,images}, augmentation.{n_train,n_test,per_image,n_boot,"
        "families}, batch_size, seed, parallel, executor (local|slurm|submitit-local), slurm.*. "
        "Finished pieces are reused on the next run.")


def run(args: argparse.Namespace) -> int:
    """Make the report; print where its files are."""
    import dataclasses

    from figures.report.config import ReportConfig
    from figures.report.pipeline import report
    from neuroequi.cli import command_config

    config = command_config(ReportConfig, args, where="report")
    models = tuple(args.model) or config.models
    report(models, dataclasses.replace(config, models=tuple(models)), args.out)
    return 0
