"""The equivariance table, end to end: train every run → register in the zoo → benchmark → probe → table.

Every step writes one file under ``<out>/<name>/`` and is skipped when that file exists, so an
interrupted run continues where it stopped (trainings resume from their last checkpoint).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from figures.configs import train_overrides
from figures.equivariance_table.config import EquivarianceTableConfig, validate
from figures.equivariance_table.table import build_table, write_outputs
from figures.steps import Job, StepLog, run_jobs, run_step
from neuroequi.config import to_plain
from neuroequi.io import to_json

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
SIE_CONFIG = "cifar10_sie_cpu.yaml"
RECON_CONFIG = "cifar10_recon_equi_cpu.yaml"
VICREG_CONFIG = "cifar10_vicreg_cpu.yaml"


@dataclass(frozen=True)
class Run:
    """One training run of the table.

    Attributes:
        name: ``sie_<family>``, ``sie_all``, ``sie_all_known``, ``recon_equi`` or ``vicreg``.
        label: the row label of the table (``SIE(rot)``, ...).
        base: training config shipped in ``neuroequi/configs``.
        families: the transformation families of its views.
        images: training images.
        overrides: the run's own training overrides (a mapping, after the common ones).
        variant: ``main`` or ``unknown`` (the 80/20 experiment).
    """

    name: str
    label: str
    base: str
    families: tuple[str, ...]
    images: int
    overrides: dict[str, Any]
    variant: str = "main"


SHORT = {"rotation": "rot", "color": "color", "blur": "blur", "translation": "trans", "crop": "crop",
         "flip": "flip", "scale": "scale"}


def runs(config: EquivarianceTableConfig) -> list[Run]:
    """The runs of ``config``: SIE per family, SIE(all), the reconstruction method, VICReg,
    and SIE(all) on the known fraction for the unknown-transformations variant."""
    out = [Run(f"sie_{f}", f"SIE({SHORT[f]})", SIE_CONFIG, (f,), config.train_images, config.sie) for f in config.families]
    out += [
        Run("sie_all", "SIE(all)", SIE_CONFIG, config.families, config.train_images, config.sie),
        Run("recon_equi", "Reconstruction (ours)", RECON_CONFIG, config.families, config.train_images, config.recon),
        Run("vicreg", "VICReg", VICREG_CONFIG, config.families, config.train_images, config.vicreg),
    ]
    if config.known_fraction > 0:
        known = round(config.known_fraction * config.train_images)
        out.append(Run("sie_all_known", f"SIE(all), {known} known", SIE_CONFIG, config.families, known,
                       config.sie, variant="unknown"))
    return out


def run_overrides(config: EquivarianceTableConfig, run: Run, root: Path) -> list[str]:
    """The ``key=value`` overrides of ``run``'s training config."""
    common = {
        "name": run.name, "output_dir": str(root / "train"), "seed": config.seed, "epochs": config.epochs,
        "batch_size": config.batch_size, "model.width": config.width, "data.subset": run.images,
        "data.transforms": {**to_plain(config.transforms), "families": list(run.families)},
        "threads": 1, "monitor.knn": False, "monitor.progress": False,
    }
    return train_overrides({**common, **config.train}) + train_overrides(run.overrides)


def final_checkpoint(config: EquivarianceTableConfig, run: Run, root: Path) -> tuple[list[str], Path]:
    """The ``neuroequi train`` command of ``run`` and the final checkpoint it writes."""
    from neuroequi.train import load_config

    base = str(resources.files("neuroequi.configs").joinpath(run.base))
    overrides = run_overrides(config, run, root)
    final = load_config(base, overrides).run_dir / "checkpoints" / "final.pt"
    return [sys.executable, "-m", "neuroequi.cli", "train", "--config", base, *overrides, "--resume"], final


def zoo_name(config: EquivarianceTableConfig, run: Run) -> str:
    """Catalogue name of a run's checkpoint."""
    return f"eqtable-{config.name}-{run.name}"


def evaluate(config: EquivarianceTableConfig, run: Run, root: Path, log: StepLog) -> None:
    """Benchmark and linear probe of one registered run, each one resumable step."""
    import model_zoo
    from analyses.augmentation_prediction import augmentation_prediction
    from analyses.probe import linear_probe
    from neuroequi.augment import get_policy

    folder = root / "eval" / run.name
    loaded: list[model_zoo.LoadedModel] = []

    def model() -> model_zoo.LoadedModel:
        if not loaded:
            loaded.append(model_zoo.load(zoo_name(config, run)))
        return loaded[0]

    def predict(tmp: Path) -> str:
        prediction = replace(config.prediction, transforms=config.transforms, seed=config.seed)
        table = augmentation_prediction(model(), prediction)
        table.to_csv(tmp, index=False)
        return " ".join(f"{f}={v:.3f}" for f, v in zip(table["family"], table["value"]))

    def probe(tmp: Path) -> str:
        m = model()
        result = linear_probe(m, get_policy("cifar", size=m.image_size), config.probe_train, config.probe_test,
                              C=config.probe_C, seed=config.seed, progress=False)
        row = result.row(n_boot=config.prediction.n_boot, seed=config.seed)
        tmp.write_text(to_json(row, indent=1))
        return f"accuracy {row['value']:.3f}"

    run_step(log, f"predict {run.name}", folder / "augmentation_prediction.csv", predict)
    run_step(log, f"probe {run.name}", folder / "probe.json", probe)


def run_table(config: EquivarianceTableConfig, out: Path) -> pd.DataFrame:
    """Train (or reuse) every run, evaluate it, write the tables; return the tidy table.

    Registers every checkpoint in the model zoo of ``$NEUROEQUI_ZOO_HOME`` (or the per-user one).
    """
    import model_zoo

    config = validate(config)
    root = Path(out) / config.name
    log = StepLog(prefix="equivariance-table")
    table_runs = runs(config)
    jobs = []
    for run in table_runs:
        command, final = final_checkpoint(config, run, root)
        jobs.append(Job(f"train {run.name}", command, final.is_file, root / "train" / f"{run.name}.log",
                        on_done=lambda final=final, run=run: model_zoo.register_checkpoint(final, zoo_name(config, run))))
    env = {**os.environ, **{var: "1" for var in THREAD_VARS}}
    run_jobs(jobs, config.parallel, log, env=env)
    for run in table_runs:
        evaluate(config, run, root, log)
    table = build_table(config, table_runs, root)
    paths = write_outputs(table, config, root)
    log.record("table", 0.0, reused=False, summary=", ".join(str(p) for p in paths))
    return table
