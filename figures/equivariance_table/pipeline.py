"""The equivariance table, end to end: train every run → register in the zoo → benchmark → probe → table.

Every step writes one file under ``<out>/<name>/`` with a reuse key beside it (:mod:`figures.reuse`)
and is skipped when that file exists with the same key, so an interrupted run continues where it
stopped (trainings resume from their last checkpoint) and a run with other settings recomputes what
they change (or, with ``reuse=refuse``, stops naming them). The table is rebuilt every run.
"""

from __future__ import annotations

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
from figures.reuse import TRAINING_PLACE, StepKey, decide, refuse_changed_config, write_key
from figures.steps import StepLog, run_jobs, run_step
from neuroequi.config import to_plain
from neuroequi.io import to_json

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
#: The resolved config of a run, saved in ``<out>/<name>`` for the training jobs.
CONFIG_FILE = "config.yaml"


def run_overrides(config: EquivarianceTableConfig, run: Run, root: Path) -> list[str]:
    """The ``key=value`` overrides of ``run``'s training config."""
    common = {
        "name": run.name,
        "output_dir": str(root / "train"),
        "seed": config.seed,
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "model.width": config.width,
        "data.subset": run.images,
        "data.transforms": {**to_plain(config.transforms), "families": list(run.families)},
        "threads": 1,
        "monitor.knn": False,
        "monitor.progress": False,
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


def zoo_prefix(config: EquivarianceTableConfig, run: Run) -> str:
    """Start of the catalogue name of a run's checkpoint; the name adds its content
    (:func:`model_zoo.run_name`: weights and training config), so tables sharing a zoo never mix models."""
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
            final = final_checkpoint(config, run, root)
            loaded.append(
                model_zoo.load(model_zoo.run_name(final, zoo_prefix(config, run)), home=Path(config.zoo_home))
            )
        return loaded[0]

    def predict(tmp: Path) -> str:
        prediction = replace(config.prediction, transforms=config.transforms, seed=config.seed)
        table = augmentation_prediction(model(), prediction)
        table.to_csv(tmp, index=False)
        return " ".join(f"{f}={v:.3f}" for f, v in zip(table["family"], table["value"]))

    def probe(tmp: Path) -> str:
        m = model()
        result = linear_probe(
            m,
            get_policy("cifar", size=m.image_size),
            config.probe_train,
            config.probe_test,
            C=config.probe_C,
            seed=config.seed,
            progress=False,
        )
        row = result.row(n_boot=config.prediction.n_boot, seed=config.seed)
        tmp.write_text(to_json(row, indent=1))
        return f"accuracy {row['value']:.3f}"

    inputs = {"checkpoint": final_checkpoint(config, run, root)}
    prediction = replace(config.prediction, transforms=config.transforms, seed=config.seed)
    probing = {
        "probe_train": config.probe_train,
        "probe_test": config.probe_test,
        "probe_C": config.probe_C,
        "seed": config.seed,
        "n_boot": config.prediction.n_boot,
    }
    run_step(
        log,
        f"predict {run.name}",
        folder / "augmentation_prediction.csv",
        predict,
        StepKey.of({"prediction": prediction}, inputs),
        config.reuse,
    )  # keys named as in the config
    run_step(log, f"probe {run.name}", folder / "probe.json", probe, StepKey.of(probing, inputs), config.reuse)


def run_table(config: EquivarianceTableConfig, out: Path) -> pd.DataFrame:
    """Train (or reuse) every run, evaluate it, write the tables; return the tidy table.

    Registers every checkpoint in the model zoo ``config.zoo_home`` (:func:`figures.configs.resolve_zoo_home`).
    """
    import model_zoo

    config = validate(config)
    root = Path(out) / config.name
    config = replace(config, zoo_home=str(resolve_zoo_home(config.zoo_home, root)))
    refuse_changed_config(root / CONFIG_FILE, config, config.reuse)  # reuse=refuse: before anything is written
    configs.save(config, root / CONFIG_FILE)
    home = Path(config.zoo_home)
    log = StepLog(prefix="equivariance-table")
    table_runs = runs(config)
    jobs = []
    for run in table_runs:
        final, key = (
            final_checkpoint(config, run, root),
            StepKey.of(train_config(config, run, root), place=TRAINING_PLACE),
        )
        # a training saved with other settings is removed (or refused) before anything runs
        decide(f"train {run.name}", final, key, config.reuse, remove=final.parent.parent)

        def trained(final=final, key=key, run=run) -> None:
            write_key(final, key)
            model_zoo.register_run(final, zoo_prefix(config, run), home=home)

        jobs.append(
            Job(
                f"train {run.name}",
                "figures.equivariance_table.pipeline:train",
                "figures.equivariance_table.config:EquivarianceTableConfig",
                root / CONFIG_FILE,
                {"root": str(root), "run": run.name},
                final.is_file,  # after decide(): this training's
                root / "train" / f"{run.name}.log",
                on_done=trained,
            )
        )
    env = {**os.environ, **{var: "1" for var in THREAD_VARS}}
    run_jobs(jobs, config.parallel, log, env=env)
    for run in table_runs:
        evaluate(config, run, root, log)
    table = build_table(config, table_runs, root)
    paths = write_outputs(table, config, root)
    log.record("table", 0.0, reused=False, summary=", ".join(str(p) for p in paths))
    return table
