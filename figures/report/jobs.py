"""One model of a report as its own process: ``python -m figures.report.jobs OUT MODEL --zoo-home HOME``.

The library's entry point for one job, not a user command: :func:`figures.report.pipeline.report`
writes ``OUT/config.yaml``, starts one such job per model through an executor
(:mod:`figures.executors`) and collects the pieces they write. :func:`run_model` is the work
itself, ``function(config, **params)`` as a job protocol that calls library functions expects.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from figures import configs
from figures.report.config import ReportConfig
from figures.report.pipeline import CONFIG_FILE, run_pieces
from neuroequi.cli import report as report_error
from neuroequi.errors import NeuroequiError


def run_model(config: ReportConfig, out: str, model: str, zoo_home: str) -> None:
    """Make every missing piece of ``model``'s report in ``out`` (zoo at ``zoo_home``), on
    ``OMP_NUM_THREADS`` torch threads (the executor sets it)."""
    import torch

    import model_zoo

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    run_pieces(model_zoo.load(model, Path(zoo_home)), config, Path(out), Path(zoo_home))


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m figures.report.jobs``; exit code 2 with one line for a known error."""
    parser = argparse.ArgumentParser(prog="figures.report.jobs", description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the report folder (holds config.yaml)")
    parser.add_argument("model", help="catalogue name or checkpoint file")
    parser.add_argument("--zoo-home", type=Path, required=True, help="the zoo the model is in")
    args = parser.parse_args(argv)
    try:
        run_model(configs.load(ReportConfig, args.out / CONFIG_FILE), str(args.out), args.model, str(args.zoo_home))
    except NeuroequiError as err:
        return report_error(err)
    return 0


if __name__ == "__main__":
    sys.exit(main())
