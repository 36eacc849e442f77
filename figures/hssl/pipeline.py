"""The CPU-sized A-SSL vs H-SSL experiment (direction of Keller et al.'s Tables 1-2), as a table of runs.

For the rotation-equivariant p4 CNN and its non-equivariant control (same output size, emulated
group axis), three rows each:

* ``frozen`` -- the randomly initialised backbone, not trained;
* ``assl``   -- trained by A-SSL (two roto-translated copies of each image, the same bundle);
* ``hssl``   -- trained by H-SSL (one image, two bundles moved on the group in feature space).

The rows are data: :func:`plan` lists the :class:`Run` of each row, :func:`evaluate` turns one
into a table row. Training goes through :func:`neuroequi.train.train` with
``neuroequi/configs/cifar10_hssl_p4_cpu.yaml`` (real CIFAR-10 images, photometric-only views, the
group part done by the objective); every run keeps its checkpoints under
``<out>/train/<backbone>_<method>``, so a second call reuses finished runs and resumes interrupted
ones. The evaluation is :func:`analyses.probe.linear_probe`: a logistic regression on the frozen
group-pooled features ``h`` (layer ``avgpool``) of clean CIFAR-10 training images, scored on test
images.

Expected direction (the paper's): with the p4 backbone A-SSL and H-SSL are close and above frozen;
with the control H-SSL falls to (or below) the frozen level. The ``cpu`` preset (5,000 images,
5 epochs, one thread per run) takes about 6 minutes on a shared 2-core machine; runs are seeded and
repeat exactly.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import torch

import model_zoo
import neuroequi
from figures.configs import train_overrides
from figures.hssl.config import HsslConfig, Run, plan
from figures.hssl.table import TABLE, table_row, write_table

CONFIG = Path(neuroequi.__file__).parent / "configs" / "cifar10_hssl_p4_cpu.yaml"
#: The probed layer: the group-pooled features ``h``.
LAYER = "avgpool"


def train_run(run: Run, config: HsslConfig, out: Path) -> Path:
    """Train (or reuse / resume) one run; the path of its final checkpoint."""
    from neuroequi.train import load_config, train

    overrides = [
        f"name={run.name}", f"output_dir={out / 'train'}", f"seed={config.seed}", f"epochs={config.epochs}",
        f"threads={config.threads}", f"data.subset={config.train_images}", f"model.arch={run.backbone}",
        f"model.width={config.width}", f"method.name={run.method}", "monitor.knn=false", "monitor.probe=false",
        "monitor.progress=false", *train_overrides(config.train),
    ]
    return train(load_config(CONFIG, overrides), resume=True)


def frozen_model(run: Run, config: HsslConfig) -> model_zoo.LoadedModel:
    """The randomly initialised backbone of a ``frozen`` row (:func:`model_zoo.random_entry`, seeded)."""
    return model_zoo.load(model_zoo.random_entry(run.backbone, seed=config.seed, width=config.width))


def final_ssl_loss(checkpoint: Path) -> float:
    """Mean SSL loss of the last epoch of the run that wrote ``checkpoint`` (without the online
    probe's loss when the run had one)."""
    last = json.loads((checkpoint.parent.parent / "epochs.jsonl").read_text().splitlines()[-1])
    return float(last.get("mean_ssl_loss", last["mean_loss"]))


def evaluate(run: Run, config: HsslConfig, out: Path) -> dict[str, object]:
    """Train if needed, probe, and return the run's table row."""
    from analyses.probe import linear_probe
    from neuroequi.augment import get_policy

    start = time.perf_counter()
    if run.method == "frozen":
        model, loss, checkpoint = frozen_model(run, config), float("nan"), ""
    else:
        path = train_run(run, config, out)
        model, loss, checkpoint = model_zoo.load(path), final_ssl_loss(path), str(path)
    trained = time.perf_counter() - start
    result = linear_probe(model, get_policy("cifar"), config.probe_train, config.probe_test, seed=config.seed,
                          progress=False, layer=LAYER)
    return table_row(run, result.row(seed=config.seed), final_ssl_loss=loss, train_seconds=trained,
                     probe_seconds=time.perf_counter() - start - trained, checkpoint=checkpoint,
                     weights_sha256=model.sha256)


def run(config: HsslConfig, out: Path) -> pd.DataFrame:
    """Evaluate every row of :func:`plan`; write ``<out>/table.csv``; return the table."""
    torch.set_num_threads(config.threads)
    table = pd.DataFrame([evaluate(r, config, out) for r in plan(config)])
    write_table(table, out / TABLE)
    return table
