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

import neuroequi
from figures.configs import train_overrides
from figures.hssl.config import HsslConfig, Run, plan
from figures.hssl.table import TABLE, table_row, write_table

CONFIG = Path(neuroequi.__file__).parent / "configs" / "cifar10_hssl_p4_cpu.yaml"


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


def frozen_extractor(arch: str, width: float, seed: int):
    """An :class:`analyses.responses.Extractor` of a randomly initialised backbone's group-pooled ``h``."""
    from analyses.responses import Extractor
    from model_zoo.loading import state_dict_sha256
    from neuroequi.backbones import build_backbone
    from neuroequi.methods.base import IMAGENET_MEAN, IMAGENET_STD

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        backbone = build_backbone(arch, width).eval()
    digest = state_dict_sha256(backbone)
    return Extractor(backbone, "avgpool", IMAGENET_MEAN, IMAGENET_STD, 32, digest, f"{arch}-frozen-{digest[:8]}")


def final_ssl_loss(checkpoint: Path) -> float:
    """Mean SSL loss of the last epoch of the run that wrote ``checkpoint`` (without the online
    probe's loss when the run had one)."""
    last = json.loads((checkpoint.parent.parent / "epochs.jsonl").read_text().splitlines()[-1])
    return float(last.get("mean_ssl_loss", last["mean_loss"]))


def evaluate(run: Run, config: HsslConfig, out: Path) -> dict[str, object]:
    """Train if needed, probe, and return the run's table row."""
    from analyses.probe import linear_probe
    from analyses.responses import Extractor
    from neuroequi.augment import get_policy

    start = time.perf_counter()
    if run.method == "frozen":
        extractor, loss, checkpoint = frozen_extractor(run.backbone, config.width, config.seed), float("nan"), ""
    else:
        path = train_run(run, config, out)
        extractor, loss, checkpoint = Extractor.from_checkpoint(path, "avgpool"), final_ssl_loss(path), str(path)
    trained = time.perf_counter() - start
    result = linear_probe(extractor, get_policy("cifar"), config.probe_train, config.probe_test, seed=config.seed,
                          progress=False)
    return table_row(run, result.row(seed=config.seed), final_ssl_loss=loss, train_seconds=trained,
                     probe_seconds=time.perf_counter() - start - trained, checkpoint=checkpoint,
                     weights_sha256=extractor.sha256)


def run(config: HsslConfig, out: Path) -> pd.DataFrame:
    """Evaluate every row of :func:`plan`; write ``<out>/table.csv``; return the table."""
    torch.set_num_threads(config.threads)
    table = pd.DataFrame([evaluate(r, config, out) for r in plan(config)])
    write_table(table, out / TABLE)
    return table
