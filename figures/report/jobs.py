"""The library entry point of the jobs a report runs side by side (:mod:`figures.jobs`).

:func:`figures.report.pipeline.report` writes ``OUT/config.yaml``, starts one job per model through
an executor (:mod:`figures.executors`) and collects the pieces they write; each job runs
:func:`run_model` on the saved config.
"""

from __future__ import annotations

import os
from pathlib import Path

from figures.report.config import ReportConfig
from figures.report.pipeline import run_pieces


def run_model(config: ReportConfig, out: str, model: str, zoo_home: str) -> None:
    """Make every missing piece of ``model``'s report in ``out`` (zoo at ``zoo_home``), on
    ``OMP_NUM_THREADS`` torch threads (the executor sets it)."""
    import torch

    import model_zoo

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    run_pieces(model_zoo.load(model, Path(zoo_home)), config, Path(out), Path(zoo_home))
