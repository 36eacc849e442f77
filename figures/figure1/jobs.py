"""The library entry points of the jobs the Figure-1 pipeline runs side by side (:mod:`figures.jobs`).

* :func:`train`: trains the (λ, seed) model of the run (:func:`neuroequi.train.train`, resuming an
  interrupted run);
* :func:`evaluate`: analyses the (λ, seed) model, saves its bootstrap replicates and scores it on
  the local benchmarks (:func:`figures.figure1.pipeline.evaluate`), on ``OMP_NUM_THREADS``
  torch threads (the executor sets it: 1 for local processes).

Each takes the run's saved config (whose ``zoo_home`` the pipeline has resolved) and the run's
results folder; the pipeline (:func:`figures.figure1.pipeline.run`) writes the config, starts the
jobs through an executor (:mod:`figures.executors`) and reads their outputs.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from figures.figure1 import pipeline
from figures.figure1.config import Figure1Config
from figures.steps import StepLog


def train(config: Figure1Config, root: str, lam: float, seed: int) -> Path:
    """Train (or resume) the ``(lam, seed)`` model of the run at ``root``; the final checkpoint."""
    from neuroequi.train import train as train_run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    return train_run(pipeline.train_config(config, lam, seed, Path(root)), resume=True)


def evaluate(config: Figure1Config, root: str, lam: float, seed: int) -> None:
    """Analyse and score the ``(lam, seed)`` model of the run at ``root`` (zoo at ``config.zoo_home``)."""
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    pipeline.evaluate(config, Path(root), lam, seed, Path(config.zoo_home or Path(root) / "zoo"), StepLog())


def warm_up(config_path: str) -> None:
    """Load the offline benchmarks of the run whose saved config is ``config_path`` in the warm launcher
    (:mod:`figures.forkserver`), so every evaluation job forked from it starts with their recordings
    and stimuli in memory (:func:`analyses.neural.preload_benchmarks`); for a run that trains, their
    stimulus images too, decoded at its models' input size (the training view size)."""
    from analyses.neural import preload_benchmarks
    from figures import configs

    config = configs.load(Figure1Config, Path(config_path))
    sizes = ()
    if config.trains:
        train = pipeline.train_config(config, config.lambdas[0], config.seeds[0], Path(config_path).parent)
        sizes = (train.data.view_size,)
    preload_benchmarks(config.benchmarks, sizes)
