"""The library entry point of one H-SSL run as its own process (:mod:`figures.jobs`).

:func:`evaluate` takes the experiment's saved config, finds the run named ``run`` among its
:func:`~figures.hssl.config.plan` and evaluates it (:func:`figures.hssl.pipeline.evaluate`: train or
resume, probe, write ``<out>/runs/<run>``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from figures.hssl import pipeline
from figures.hssl.config import HsslConfig, plan
from neuroequi.errors import ConfigError


def evaluate(config: HsslConfig, out: str, run: str) -> Path:
    """Train (or resume) and probe the run named ``run`` of the experiment at ``out``; its folder."""
    import torch

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    runs = {item.name: item for item in plan(config)}
    if run not in runs:
        raise ConfigError(f"hssl: no run {run!r} in the experiment at {out}; runs: {sorted(runs)}")
    torch.set_num_threads(config.threads)
    return pipeline.evaluate(runs[run], config, Path(out))
