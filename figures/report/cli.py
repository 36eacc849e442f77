"""``neuroequi report``: every local benchmark, layer and measure of one or several models.

::

    neuroequi report --model M [--model M2 ...] [--out DIR] [--config FILE] [KEY=VALUE ...]

Settings are the keys of :class:`figures.report.config.ReportConfig` (``benchmarks=[...]``,
``layers=[layer1,layer4]``, ``pieces=[benchmarks]``, ``measures.n_images=64``,
``augmentation.n_train=2000``, ``reduction.components=1000``, ``parallel=2``, ``executor=slurm``).
"""

from __future__ import annotations

import argparse


def run(config, args: argparse.Namespace) -> int:
    """Make the report in ``--out``; print where its files are. Progress bars (Brain-Score's too) are
    drawn on a terminal only: with stderr redirected to a log, ``TQDM_DISABLE=1`` is set before tqdm loads,
    and the log gets one line per piece."""
    import os
    import sys

    if not sys.stderr.isatty():
        os.environ.setdefault("TQDM_DISABLE", "1")
    from figures.report.pipeline import report

    report(config.models, config, args.out)
    return 0
