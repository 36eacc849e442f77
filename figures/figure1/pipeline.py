"""Figure 1 of the TeSSL paper, end to end: train → register → analyse → score → table → figure.

Presets (``neuroequi figures --preset NAME``; ``make figures FIGURE1=NAME``), YAML files beside
:mod:`figures.figure1.config`:

* ``offline`` (default): trains the λ sweep {0, 0.001, 0.1, 0.2, 0.5} with TeSSL
  (Barlow Twins) on the real CIFAR-10 images of the data directory, with a
  narrow CIFAR ResNet-18 sized for 2 CPU cores; analyses on CIFAR-10 test
  images; neural panel on the offline benchmarks built from real recordings
  (``Cowley2023.V4-pls``, ``Cowley2023-210325.V4-pls`` ceiled, ``Kiani2007.IT-rdm``)
  plus Brain-Score's IT benchmarks when they can be reached.
* ``smoke``: the same pipeline at toy sizes (two λ, a few hundred images), for tests.
* ``paper``: the published TeSSL/CE-SSL ResNet-50 Barlow Twins checkpoints through
  the model zoo, images from an ImageFolder you name (``--images``, ImageNet
  validation) and Brain-Score's four IT benchmarks. Needs a network; without one
  it stops at once naming what is missing.

Every step writes one file under ``<results>/figure1/<mode>/`` and is skipped when
that file exists, so an interrupted run continues where it stopped. Training and
evaluation of each λ run side by side as one-thread processes
(:mod:`figures.figure1.jobs`). Outputs: ``figure1[_<mode>].{pdf,png}``, the table
``figure1[_<mode>].csv`` (:mod:`figures.figure1.table`) and
``figure1[_<mode>]_caption.md`` (:mod:`figures.figure1.caption`).
"""

from __future__ import annotations

import os
import shutil
import sys
from importlib import resources
from pathlib import Path

import pandas as pd

from figures import configs
from figures.figure1.caption import caption
from figures.configs import train_overrides
from figures.figure1.config import BASE_CONFIG, Figure1Config
from figures.figure1.table import analysis_marker, build_table, lam_tag, score_path
from figures.plot import draw_figure1
from figures.steps import Job, StepLog, run_jobs, run_step
from neuroequi.errors import ConfigError, OfflineError
from neuroequi.io import atomic_write, format_lambda

# Each job process computes on one thread: two one-thread jobs side by side beat one
# two-thread job on a small CPU (measured: README, 'Figure 1').
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
#: The resolved config of a run, saved in its results folder for the job processes.
CONFIG_FILE = "config.yaml"


def results_root(config: Figure1Config, results: Path) -> Path:
    """The folder of one run's intermediate results: ``<results>/figure1/<mode>``."""
    return results / "figure1" / config.mode


def default_zoo_home(root: Path) -> Path:
    """The zoo a run registers its models in: ``$NEUROEQUI_ZOO_HOME`` when set, else ``<root>/zoo``."""
    return Path(os.environ.get("NEUROEQUI_ZOO_HOME") or root / "zoo").expanduser().resolve()


def train_config(config: Figure1Config, lam: float, root: Path):
    """The :class:`neuroequi.train.TrainConfig` of the ``lam`` run (base config, ``config.train``, λ, seed)."""
    from neuroequi.train import load_config

    base = str(resources.files("neuroequi.configs").joinpath(BASE_CONFIG))
    overrides = [*train_overrides(config.train), f"method.lam={lam}", f"seed={config.seed}",
                 f"name={lam_tag(lam)}", f"output_dir={root / 'train'}"]
    return load_config(base, overrides)


def final_checkpoint(config: Figure1Config, lam: float, root: Path) -> Path:
    """The last checkpoint the ``lam`` training writes."""
    return train_config(config, lam, root).run_dir / "checkpoints" / "final.pt"


def published_model(lam: float) -> str:
    """Catalogue name of the published CE-SSL Barlow Twins ResNet-50 for ``lam``."""
    from model_zoo.catalogue import builtin_entries

    names = [e.name for e in builtin_entries().values()
             if e.family == "neuroequi_tessl_resnet50" and e.method == "tessl_barlow_twins" and e.lam == lam]
    if not names:
        raise ConfigError(f"no published TeSSL Barlow Twins checkpoint for λ={format_lambda(lam)} in the model zoo")
    return names[0]


def model_name(config: Figure1Config, lam: float) -> str:
    """The zoo name of the ``lam`` model: the published one (paper) or the run's registered checkpoint."""
    return published_model(lam) if config.mode == "paper" else f"figure1-{config.mode}-{lam_tag(lam)}"


def register_model(config: Figure1Config, lam: float, checkpoint: Path, home: Path) -> str:
    """Register a trained checkpoint in the zoo at ``home``; return its catalogue name."""
    import model_zoo

    return model_zoo.register_checkpoint(checkpoint, name=model_name(config, lam), home=home).name


def evaluated(config: Figure1Config, root: Path, lam: float) -> bool:
    """True when the analysis and every local score of ``lam`` are on disk."""
    return analysis_marker(root, lam).is_file() and all(
        score_path(root, lam, b).is_file() for b in config.benchmarks)


def evaluate(config: Figure1Config, root: Path, lam: float, home: Path, log: StepLog) -> None:
    """Analyse the ``lam`` model (:func:`analyses.pipeline.analyze`) and score it on the local benchmarks."""
    import model_zoo
    from analyses.pipeline import AnalysisConfig, analyze

    name = model_name(config, lam)
    analysis = AnalysisConfig(n_images=config.n_images, K=config.K, seed=config.seed, images=config.images,
                              probe_train=config.probe_train, probe_test=config.probe_test, n_boot=config.n_boot)

    def analyse(tmp: Path) -> str:
        measures = analyze(model_zoo.load(name, home=home), analysis, tmp.parent)
        shutil.copyfile(measures, tmp)  # analyze() wrote measures.csv; the marker is its copy
        return f"{len(pd.read_csv(tmp))} measures"

    run_step(log, f"analyse {lam_tag(lam)}", analysis_marker(root, lam), analyse)
    for bench in config.benchmarks:
        score_model(name, lam, bench, root, home, log)


def score_model(name: str, lam: float, benchmark: str, root: Path, home: Path, log: StepLog) -> Path:
    """One neural benchmark score of one model (:func:`analyses.neural.scoring.score`), saved as JSON."""
    import json

    from analyses.neural.scoring import score

    def make(tmp: Path) -> str:
        result = score(name, benchmark, home=home)
        tmp.write_text(json.dumps(result, indent=1))
        return f"score {result['score']:.3f}"

    return run_step(log, f"score {lam_tag(lam)} {benchmark}", score_path(root, lam, benchmark), make)


def job(action: str, lam: float, root: Path, home: Path, **kwargs) -> Job:
    """The :mod:`figures.figure1.jobs` process that runs ``action`` (train, evaluate) for ``lam``."""
    folder = "train" if action == "train" else "analyses"
    command = [sys.executable, "-m", "figures.figure1.jobs", action, str(root), repr(float(lam)),
               "--zoo-home", str(home)]
    return Job(f"{action} {lam_tag(lam)}", command, log_path=root / folder / f"{lam_tag(lam)}.log", **kwargs)


def model_jobs(config: Figure1Config, root: Path, home: Path, models: dict[float, str]) -> list[Job]:
    """Training (offline/smoke) and evaluation jobs for every λ; fills ``models`` as they finish.

    Evaluation of a λ waits for its training, which registers the checkpoint in
    the zoo when it finishes (in this process, so the catalogue file has one writer).
    """
    jobs = []
    for lam in config.lambdas:
        after: tuple[str, ...] = ()
        if config.mode == "paper":
            models[lam] = published_model(lam)
        else:
            final = final_checkpoint(config, lam, root)
            jobs.append(job("train", lam, root, home, done=final.is_file,
                            on_done=lambda lam=lam, final=final: models.__setitem__(
                                lam, register_model(config, lam, final, home))))
            after = (jobs[-1].name,)
        jobs.append(job("evaluate", lam, root, home, done=lambda lam=lam: evaluated(config, root, lam),
                        after=after))
    return jobs


def reachable_online(benchmarks: tuple[str, ...], name: str, lam: float, root: Path, home: Path,
                     log: StepLog) -> tuple[tuple[str, ...], dict[str, str]]:
    """The online benchmarks that can be scored here, and why the others cannot (fails fast)."""
    from analyses.neural import OnlineDataUnavailableError

    usable, missing = [], {}
    for bench in benchmarks:
        try:
            score_model(name, lam, bench, root, home, log)
            usable.append(bench)
        except OnlineDataUnavailableError as exc:
            missing[bench] = str(exc).splitlines()[0]
            log.record(f"score {lam_tag(lam)} {bench}", 0.0, reused=False, summary="unavailable offline")
    return tuple(usable), missing


def paper_preflight(config: Figure1Config) -> None:
    """OfflineError naming everything that is missing when the paper preset cannot run here."""
    from analyses.neural.online import reachable
    from model_zoo.catalogue import builtin_entries

    problems = []
    if not Path(config.images or "").is_dir():
        problems.append(f"analysis images: ImageFolder {config.images!r} does not exist")
    for lam in config.lambdas:
        entry = builtin_entries()[published_model(lam)]
        why = reachable(entry.source.location.split("/")[2], timeout=3.0)
        if why:
            problems.append(f"checkpoint λ={format_lambda(lam)}: {entry.source.location} unreachable ({why})")
            break
    why = reachable("brainscore-storage.s3.amazonaws.com", timeout=3.0)  # Brain-Score's data bucket
    if why:
        problems.append(f"Brain-Score IT benchmarks {', '.join(config.online_benchmarks)}: "
                        f"Brain-Score's storage unreachable ({why}); pre-seed BRAINIO_HOME")
    if problems:
        raise OfflineError("figure1 paper preset cannot run here: " + "; ".join(problems))


def run(config: Figure1Config, results: Path, out_dir: Path, zoo_home: Path | None = None) -> pd.DataFrame:
    """Run the whole pipeline for ``config``; return the Figure-1 table.

    Args:
        config: the run's settings (:func:`figures.figure1.config.preset`).
        results: folder of the intermediate results (``<results>/figure1/<mode>/``, resumable).
        out_dir: where the figure, its table and its caption go.
        zoo_home: the model zoo the run registers and loads its models in
            (default :func:`default_zoo_home`).
    """
    root = results_root(config, results)
    home = Path(zoo_home).resolve() if zoo_home is not None else default_zoo_home(root)
    log = StepLog()
    if config.mode == "paper":
        paper_preflight(config)
    configs.save(config, root / CONFIG_FILE)
    from analyses.neural import place_stimuli_on_screen

    place_stimuli_on_screen(config.benchmarks)  # once here: the jobs score side by side
    models: dict[float, str] = {}
    env = {**os.environ, **{var: "1" for var in THREAD_VARS}}
    run_jobs(model_jobs(config, root, home, models), config.parallel, log, env=env)
    benchmarks = list(config.benchmarks)
    missing: dict[str, str] = {}
    if config.online_benchmarks:
        baseline = config.lambdas[0]
        usable, missing = reachable_online(config.online_benchmarks, models[baseline], baseline, root, home, log)
        for lam in config.lambdas[1:]:
            for bench in usable:
                score_model(models[lam], lam, bench, root, home, log)
        benchmarks += usable
    table = build_table(config, root, tuple(benchmarks))
    stem = out_dir / ("figure1" if config.mode == "offline" else f"figure1_{config.mode}")
    with atomic_write(stem.with_suffix(".csv")) as tmp:
        table.to_csv(tmp, index=False)
    paths = draw_figure1(table, stem, title=f"TeSSL (Barlow Twins) λ sweep — {config.mode} mode")
    with atomic_write(stem.with_name(stem.name + "_caption.md")) as tmp:
        tmp.write_text(caption(config, table, models, missing, log.elapsed))
    log.record("figure", 0.0, reused=False, summary=", ".join(str(p) for p in paths))
    print(f"[figure1] total wall time {log.elapsed / 60:.1f} min", flush=True)
    return table
