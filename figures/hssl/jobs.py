"""One run of the H-SSL experiment as its own process: ``python -m figures.hssl.jobs OUT RUN``.

Reads the experiment's resolved config ``OUT/config.yaml``, finds the run named ``RUN`` among its
:func:`~figures.hssl.config.plan` and evaluates it (:func:`figures.hssl.pipeline.evaluate`: train or
resume, probe, write ``OUT/runs/RUN``). The library's entry point for one job, not a user command.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from figures import configs
from figures.hssl import pipeline
from figures.hssl.config import HsslConfig, plan
from neuroequi.cli import report
from neuroequi.errors import NeuroequiError


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m figures.hssl.jobs``."""
    import torch

    parser = argparse.ArgumentParser(prog="figures.hssl.jobs", description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the experiment's output folder (holds config.yaml)")
    parser.add_argument("run", help="the run's name")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    config = configs.load(HsslConfig, args.out / pipeline.CONFIG_FILE)
    runs = {run.name: run for run in plan(config)}
    if args.run not in runs:
        raise SystemExit(f"figures.hssl.jobs: no run {args.run!r} in {args.out / pipeline.CONFIG_FILE}")
    torch.set_num_threads(config.threads)
    try:
        print(pipeline.evaluate(runs[args.run], config, args.out))
    except NeuroequiError as err:  # one line, exit code 2: the pipeline reports it as it is
        return report(err)
    return 0


if __name__ == "__main__":
    sys.exit(main())
