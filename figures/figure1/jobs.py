"""The jobs the Figure-1 pipeline runs side by side: ``python -m figures.figure1.jobs ACTION ROOT LAMBDA SEED``.

* ``train``: trains the (λ, seed) model of the run whose resolved config is ``ROOT/config.yaml``
  (:func:`neuroequi.train.train`, resuming an interrupted run);
* ``evaluate``: analyses the (λ, seed) model, saves its bootstrap replicates and scores it on
  the local benchmarks (:func:`figures.figure1.pipeline.evaluate`), on ``OMP_NUM_THREADS``
  torch threads (the executor sets it: 1 for local processes).

This is the library's entry point for one job, not a user command: the
pipeline (:func:`figures.figure1.pipeline.run`) writes the config, starts the
jobs through an executor (:mod:`figures.executors`) and reads their outputs.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from figures import configs
from figures.figure1 import pipeline
from figures.figure1.config import Figure1Config
from figures.steps import StepLog
from neuroequi.cli import report
from neuroequi.errors import NeuroequiError


def train(root: Path, lam: float, seed: int) -> Path:
    """Train (or resume) the ``(lam, seed)`` model of the run at ``root``; the final checkpoint."""
    from neuroequi.train import train as train_run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    config = configs.load(Figure1Config, root / pipeline.CONFIG_FILE)
    return train_run(pipeline.train_config(config, lam, seed, root), resume=True)


def evaluate(root: Path, lam: float, seed: int, zoo_home: Path) -> None:
    """Analyse and score the ``(lam, seed)`` model of the run at ``root`` (zoo at ``zoo_home``)."""
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    config = configs.load(Figure1Config, root / pipeline.CONFIG_FILE)
    pipeline.evaluate(config, root, lam, seed, zoo_home, StepLog())


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m figures.figure1.jobs``."""
    parser = argparse.ArgumentParser(prog="figures.figure1.jobs", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("train", "evaluate"))
    parser.add_argument("root", type=Path, help="the run's results folder (holds config.yaml)")
    parser.add_argument("lam", type=float, help="the λ of the model")
    parser.add_argument("seed", type=int, help="the training seed of the model")
    parser.add_argument("--zoo-home", type=Path, required=True, help="the run's model zoo")
    args = parser.parse_args(argv)
    try:
        if args.action == "train":
            print(train(args.root, args.lam, args.seed))
        else:
            evaluate(args.root, args.lam, args.seed, args.zoo_home)
    except NeuroequiError as err:  # one line, exit code 2: the pipeline reports it as it is
        return report(err)
    return 0


if __name__ == "__main__":
    sys.exit(main())
