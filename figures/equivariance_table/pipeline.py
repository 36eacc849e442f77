"""The equivariance table, end to end: train every run → register in the zoo → benchmark → probe → table.

Every step writes one file under ``<out>/<name>/`` and is skipped when that file exists, so an
interrupted run continues where it stopped (trainings resume from their last checkpoint).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import replace
from importlib import resources
from pathlib import Path

import pandas as pd

from figures import configs
from figures.configs import resolve_zoo_home, train_overrides
from figures.equivariance_table.config import EquivarianceTableConfig, Run, runs, validate
from figures.equivariance_table.table import build_table, write_outputs
from figures.jobs import Job
from figures.steps import StepLog, run_jobs, run_step
from neuroequi.config import to_plain

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
#: The resolved config of a run, saved in ``<out>/<name>`` for the training jobs.
CONFIG_FILE = "config.yaml"


def run_overrides(config: EquivarianceTableConfig, run: Run, root: Path) -> list[str]:
    """The ``key=value`` overrides of ``run``'s training config."""
    common = {
        "name": run.name, "output_dir": str(root / "train"), "seed": config.seed, "epochs": config.epochs,
        "batch_size": config.batch_size, "model.width": config.width, "data.subset": run.images,
        "data.transforms": {**to_plain(config.transforms), "families": list(run.families)},
        "threads": 1, "monitor.knn": False, "monitor.progress": False,
    }
    return train_overrides({**common, **config.train}) + train_overrides(run.overrides)


def train_config(config: EquivarianceTableConfig, run: Run, root: Path):
    """The training config (:class:`neuroequi.train.TrainConfig`) of ``run``: its shipped base config
    with :func:`run_overrides`."""
    from neuroequi.train import load_config

    return load_config(str(resources.files("neuroequi.configs").joinpath(run.base)), run_overrides(config, run, root))


def final_checkpoint(config: EquivarianceTableConfig, run: Run, root: Path) -> Path:
    """The final checkpoint the training of ``run`` writes."""
    return train_config(config, run, root).run_dir / "checkpoints" / "final.pt"


def train(config: EquivarianceTableConfig, root: str, run: str) -> Path:
    """Job entry point (:mod:`figures.jobs`): train (or resume) the run named ``run``; its final checkpoint."""
    from neuroequi.train import train as train_run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    (item,) = [r for r in runs(config) if r.name == run]
    return train_run(train_config(config, item, Path(root)), resume=True)


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
            loaded.append(model_zoo.load(zoo_name(config, run), home=Path(config.zoo_home)))
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
        tmp.write_text(json.dumps(row, indent=1))
        return f"accuracy {row['value']:.3f}"

    run_step(log, f"predict {run.name}", folder / "augmentation_prediction.csv", predict)
    run_step(log, f"probe {run.name}", folder / "probe.json", probe)


def run_table(config: EquivarianceTableConfig, out: Path) -> pd.DataFrame:
    """Train (or reuse) every run, evaluate it, write the tables; return the tidy table.

    Registers every checkpoint in the model zoo ``config.zoo_home`` (:func:`figures.configs.resolve_zoo_home`).
    """
    import model_zoo

    config = validate(config)
    root = Path(out) / config.name
    config = replace(config, zoo_home=str(resolve_zoo_home(config.zoo_home, root)))
    configs.save(config, root / CONFIG_FILE)
    home = Path(config.zoo_home)
    log = StepLog(prefix="equivariance-table")
    table_runs = runs(config)
    jobs = []
    for run in table_runs:
        final = final_checkpoint(config, run, root)
        jobs.append(Job(f"train {run.name}", "figures.equivariance_table.pipeline:train",
                        "figures.equivariance_table.config:EquivarianceTableConfig", root / CONFIG_FILE,
                        {"root": str(root), "run": run.name}, final.is_file, root / "train" / f"{run.name}.log",
                        on_done=lambda final=final, run=run: model_zoo.register_checkpoint(
                            final, zoo_name(config, run), home=home)))
    env = {**os.environ, **{var: "1" for var in THREAD_VARS}}
    run_jobs(jobs, config.parallel, log, env=env)
    for run in table_runs:
        evaluate(config, run, root, log)
    table = build_table(config, table_runs, root)
    paths = write_outputs(table, config, root)
    log.record("table", 0.0, reused=False, summary=", ".join(str(p) for p in paths))
    return table
