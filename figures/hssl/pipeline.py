"""The A-SSL vs H-SSL experiment (direction of Keller et al.'s Tables 1-2 and Figure 3), as runs side by side.

For each group -- rotation (p4 CNN), translation (plain CNN), scale (SESN) -- its equivariant backbone
and its "without structure" control, three rows each, every row once per training seed:

* ``frozen`` -- the randomly initialised backbone, not trained;
* ``assl``   -- trained by A-SSL (two transformed copies of each image, the same bundle; for scale the
  paper's random shrink to 0.57 .. 1 of the size, ``scale_range``);
* ``hssl``   -- trained by H-SSL (one image, two bundles moved on the group in feature space).

Then the Figure-3 sweeps: H-SSL on each group's equivariant backbone with the base size ``|g0|`` and the
topographic distance between ``g1`` and ``g2`` varied one at a time (:data:`~figures.hssl.config.SWEEP_KEYS`).

Every run (:class:`~figures.hssl.config.Run`) is one process (:mod:`figures.hssl.jobs`, ``parallel`` side by
side, ``threads`` each; with ``parallel: 1`` the runs go one after the other in the calling process): training through :func:`neuroequi.train.train` with
``neuroequi/configs/cifar10_hssl_p4_cpu.yaml`` (real CIFAR-10 images, photometric-only views, the group part
done by the objective; checkpoints under ``<out>/train/<run>``, resumed when interrupted), then the linear
probe (:func:`analyses.probe.linear_probe`: logistic regression on the group-pooled ``h`` of clean training
images) whose per-image test predictions go to ``<out>/runs/<run>/predictions.csv``. A run whose files
exist is reused. The tables (:mod:`figures.hssl.table`) and the Figure-3 plots (:mod:`figures.hssl.plot`)
are made from those files, with intervals over seeds and test images (:mod:`analyses.hierarchical`)
(:mod:`analyses.hierarchical`). ``scale_equivariance.csv`` measures the scale backbones' equivariance on
CIFAR-10 test images.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pandas as pd
import torch

import model_zoo
import neuroequi
from figures import configs
from figures.configs import train_overrides
from figures.hssl.config import BACKBONES, HsslConfig, Run, plan
from figures.jobs import Job
from figures.steps import StepLog, run_jobs
from neuroequi.errors import ConfigError
from neuroequi.io import atomic_write, to_json

CONFIG = Path(neuroequi.__file__).parent / "configs" / "cifar10_hssl_p4_cpu.yaml"
#: The probed layer: the group-pooled features ``h``.
LAYER = "avgpool"
#: The resolved config of an experiment, saved in its output folder for the job processes.
CONFIG_FILE = "config.yaml"
#: The settings every run's result depends on, saved once per output folder (runs are reused only under them).
SETTINGS_FILE = "settings.json"
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def run_dir(out: Path, run: Run) -> Path:
    """Where a run's probe predictions and metadata go: ``<out>/runs/<run.name>``."""
    return out / "runs" / run.name


def is_done(out: Path, run: Run) -> bool:
    """Whether the run's probe predictions and metadata exist."""
    folder = run_dir(out, run)
    return (folder / "predictions.csv").is_file() and (folder / "run.json").is_file()


def train_run(run: Run, config: HsslConfig, out: Path) -> Path:
    """Train (or reuse / resume) one run; the path of its final checkpoint."""
    from neuroequi.train import load_config, train

    options = {f"method.options.{key}": value for key, value in run.method_options(config.scale_range).items()}
    overrides = [
        f"name={run.name}",
        f"output_dir={out / 'train'}",
        f"seed={run.seed}",
        f"epochs={config.epochs}",
        f"threads={config.threads}",
        f"data.subset={config.train_images}",
        f"model.arch={run.backbone}",
        f"model.width={config.width}",
        f"method.name={run.method}",
        "monitor.knn=false",
        "monitor.probe=false",
        "monitor.progress=false",
        *train_overrides(options),
        *train_overrides(config.train),
    ]
    return train(load_config(CONFIG, overrides), resume=True)


def frozen_model(run: Run, config: HsslConfig) -> model_zoo.LoadedModel:
    """The randomly initialised backbone of a ``frozen`` row (:func:`model_zoo.random_entry`, seeded by the run)."""
    return model_zoo.load(model_zoo.random_entry(run.backbone, seed=run.seed, width=config.width))


def final_ssl_loss(checkpoint: Path) -> float:
    """Mean SSL loss of the last epoch of the run that wrote ``checkpoint`` (without the online
    probe's loss when the run had one)."""
    last = json.loads((checkpoint.parent.parent / "epochs.jsonl").read_text().splitlines()[-1])
    return float(last.get("mean_ssl_loss", last["mean_loss"]))


def evaluate(run: Run, config: HsslConfig, out: Path) -> Path:
    """Train if needed, probe, write ``predictions.csv`` (test image id, label, prediction) and ``run.json``."""
    from analyses.probe import cifar10_subset, linear_probe
    from neuroequi.augment import get_policy

    start = time.perf_counter()
    if run.method == "frozen":
        model, loss, checkpoint = frozen_model(run, config), float("nan"), ""
    else:
        path = train_run(run, config, out)
        model, loss, checkpoint = model_zoo.load(path), final_ssl_loss(path), str(path)
    trained = time.perf_counter() - start
    result = linear_probe(
        model,
        get_policy("cifar"),
        config.probe_train,
        config.probe_test,
        seed=config.probe_seed,
        progress=False,
        layer=LAYER,
    )
    folder = run_dir(out, run)
    folder.mkdir(parents=True, exist_ok=True)
    ids = cifar10_subset("test", config.probe_test, config.probe_seed)[2]
    predictions = pd.DataFrame({"image": ids, "label": result.labels, "prediction": result.predictions})
    with atomic_write(folder / "predictions.csv") as tmp:
        predictions.to_csv(tmp, index=False)
    meta = {
        "run": run.name,
        "backbone": run.backbone,
        "group": run.group,
        "structure": BACKBONES[run.backbone].structure,
        "method": run.method,
        "seed": run.seed,
        "options": dict(run.options),
        "final_ssl_loss": loss,
        "train_seconds": round(trained, 1),
        "probe_seconds": round(time.perf_counter() - start - trained, 1),
        "checkpoint": checkpoint,
        "weights_sha256": model.sha256,
    }
    with atomic_write(folder / "run.json") as tmp:
        tmp.write_text(to_json(meta, indent=1))
    return folder


def settings(config: HsslConfig) -> dict[str, object]:
    """The settings a run's result depends on (not which runs there are, nor how they are scheduled)."""
    keys = ("train_images", "probe_train", "probe_test", "epochs", "width", "probe_seed", "scale_range", "train")
    return json.loads(json.dumps({key: getattr(config, key) for key in keys}))


def check_settings(config: HsslConfig, out: Path) -> None:
    """Record the run settings in ``out``, or ConfigError if ``out`` holds runs made under other settings."""
    path, current = out / SETTINGS_FILE, settings(config)
    if path.is_file():
        saved = json.loads(path.read_text())
        if saved != current:
            changed = sorted(k for k in current if saved.get(k) != current[k])
            raise ConfigError(
                f"hssl --out {out} holds runs made with other {changed}: use another --out or the same settings"
            )
        return
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp:
        tmp.write_text(to_json(current, indent=1))


def jobs(config: HsslConfig, out: Path) -> list[Job]:
    """One job per run of :func:`plan`: :func:`figures.hssl.jobs.evaluate` on the saved config."""
    return [
        Job(
            f"hssl {run.name}",
            "figures.hssl.jobs:evaluate",
            "figures.hssl.config:HsslConfig",
            out / CONFIG_FILE,
            {"out": str(out), "run": run.name},
            lambda run=run: is_done(out, run),
            out / "logs" / f"{run.name}.log",
        )
        for run in plan(config)
    ]


def run(config: HsslConfig, out: Path) -> pd.DataFrame:
    """Run (or reuse) every run of :func:`plan`, then write the tables, the Figure-3 plots and the scale
    equivariance measurement; return the main table."""
    from figures.hssl.plot import draw_sweeps
    from figures.hssl.table import write_tables

    check_settings(config, out)
    configs.save(config, out / CONFIG_FILE)
    if config.parallel == 1:  # one after the other in this process (no start-up cost per run)
        torch.set_num_threads(config.threads)
        for item in plan(config):
            if not is_done(out, item):
                evaluate(item, config, out)
    else:
        env = {**os.environ, **{name: str(config.threads) for name in THREAD_VARS}}
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH")])
        )
        run_jobs(jobs(config, out), config.parallel, StepLog(prefix="hssl"), env)
    tables = write_tables(config, out)
    if config.sweeps:
        draw_sweeps(tables["sweep"], out)
    if {"sesn", "sesn_control"} & set(config.backbones):
        write_scale_equivariance(config, out)
    return tables["table"]


def scale_equivariance(backbone: torch.nn.Module, images: torch.Tensor) -> list[dict[str, object]]:
    """Relative errors ``||f(g.x) - g.f(x)|| / ||g.f(x)||`` of a scale backbone after every stage, for every scale
    element ``j``: at scale index 0 (where the paper's ladder is the continuum action) and over all indices
    ``< S - j``; ``images (N, 3, 32, 32)`` normalised."""
    from neuroequi.hssl.scale import equivariance_error, scale_features, scale_images

    rows = []
    with torch.no_grad():
        outputs = backbone._stage_outputs(images)
        for j in range(1, len(backbone.scales)):
            steps = torch.full((images.shape[0],), j)
            moved = backbone._stage_outputs(scale_images(images, steps, backbone.scales))
            for stage, (f, g) in enumerate(zip(outputs, moved), start=1):
                acted = scale_features(f, steps, backbone.scales)
                rows.append(
                    {
                        "stage": stage,
                        "j": j,
                        "shrink": backbone.scales[0] / backbone.scales[j],
                        "error_index0": equivariance_error(acted[:, :, 0], g[:, :, 0]),
                        "error_all": equivariance_error(
                            acted[:, :, : len(backbone.scales) - j], g[:, :, : len(backbone.scales) - j]
                        ),
                    }
                )
    return rows


def write_scale_equivariance(config: HsslConfig, out: Path, n_images: int = 32) -> Path:
    """``scale_equivariance.csv``: :func:`scale_equivariance` of every scale run of the first seed (the frozen
    rows: the initialised backbone; the trained rows: the final checkpoint) on ``n_images`` CIFAR-10 test images."""
    import torchvision.transforms.functional as TF

    from analyses.probe import cifar10_subset
    from neuroequi.methods.base import normalize_images

    images = normalize_images(
        torch.stack([TF.to_tensor(im) for im in cifar10_subset("test", n_images, config.probe_seed)[0]])
    )
    rows = []
    for run in plan(config):
        if run.group != "scale" or run.options or run.seed != config.seeds[0]:
            continue
        meta = json.loads((run_dir(out, run) / "run.json").read_text())
        backbone = (
            frozen_model(run, config) if run.method == "frozen" else model_zoo.load(Path(meta["checkpoint"]))
        ).module
        rows += [
            {"backbone": run.backbone, "method": run.method, "seed": run.seed, **row}
            for row in scale_equivariance(backbone, images)
        ]
    path = out / "scale_equivariance.csv"
    with atomic_write(path) as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False)
    return path
