"""The processes the Figure-1 pipeline runs side by side: ``python -m figures.figure1.jobs ACTION ROOT LAMBDA``.

* ``train``: trains the λ model of the run whose resolved config is ``ROOT/config.yaml``
  (:func:`neuroequi.train.train`, resuming an interrupted run);
* ``evaluate``: analyses the λ model and scores it on the local benchmarks
  (:func:`figures.figure1.pipeline.evaluate`), on one torch thread.

This is the library's entry point for one job, not a user command: the
pipeline (:func:`figures.figure1.pipeline.run`) writes the config, starts the
jobs and reads their outputs.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from figures import configs
from figures.figure1 import pipeline
from figures.figure1.config import Figure1Config
from figures.steps import StepLog


def train(root: Path, lam: float) -> Path:
    """Train (or resume) the ``lam`` model of the run at ``root``; the final checkpoint."""
    from neuroequi.train import train as train_run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    config = configs.load(Figure1Config, root / pipeline.CONFIG_FILE)
    return train_run(pipeline.train_config(config, lam, root), resume=True)


def evaluate(root: Path, lam: float, zoo_home: Path) -> None:
    """Analyse and score the ``lam`` model of the run at ``root`` (zoo at ``zoo_home``) on one thread."""
    import torch

    torch.set_num_threads(1)
    config = configs.load(Figure1Config, root / pipeline.CONFIG_FILE)
    pipeline.evaluate(config, root, lam, zoo_home, StepLog())


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m figures.figure1.jobs``."""
    parser = argparse.ArgumentParser(prog="figures.figure1.jobs", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("train", "evaluate"))
    parser.add_argument("root", type=Path, help="the run's results folder (holds config.yaml)")
    parser.add_argument("lam", type=float, help="the λ of the model")
    parser.add_argument("--zoo-home", type=Path, required=True, help="the run's model zoo")
    args = parser.parse_args(argv)
    if args.action == "train":
        print(train(args.root, args.lam))
    else:
        evaluate(args.root, args.lam, args.zoo_home)
    return 0


if __name__ == "__main__":
    sys.exit(main())
