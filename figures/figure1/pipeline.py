"""Figure 1 of the TeSSL paper, end to end: train → register → analyse → score → table → figure.

Presets (``neuroequi figures figure1 --preset NAME``; ``make figures FIGURE1=NAME``), YAML files beside
:mod:`figures.figure1.config`:

* ``offline`` (default): trains the λ sweep {0, 0.001, 0.1, 0.2, 0.5} with TeSSL
  (Barlow Twins), three training seeds per λ, on the real CIFAR-10 images of the data
  directory, with a narrow CIFAR ResNet-18 sized for 2 CPU cores; analyses on CIFAR-10
  test images; neural panel on the offline benchmarks built from real recordings
  (``Cowley2023.V4-pls``, ``Cowley2023-210325.V4-pls`` ceiled, ``Kiani2007.IT-rdm``,
  ``Kriegeskorte2008.hIT-rdm``, ``tong.Coggan2024_fMRI.IT-rdm`` ceiled) plus Brain-Score's
  IT benchmarks when they can be reached.
* ``smoke``: the same pipeline at toy sizes (two λ, two seeds, a few hundred images), for tests.
* ``paper``: the published TeSSL/CE-SSL ResNet-50 checkpoints of one objective
  (``objective``: Barlow Twins, SimCLR, MMCR) through the model zoo, images from an
  ImageFolder you name (``--images``, ImageNet validation) and Brain-Score's four IT
  benchmarks. Needs a network; without one it stops at once naming what is missing.
* ``imagenet``: trains the paper's recipe (ResNet-50 on ImageNet) for every λ and seed,
  meant for a cluster (``executor: slurm``, :mod:`figures.executors`).

Every step writes one file under ``<results>/figure1/<mode>/`` with a reuse key beside it
(:mod:`figures.reuse`: the step's settings and inputs) and is skipped when that file exists
with the same key, so an interrupted run continues where it stopped and a run with other
settings recomputes what they change (or, with ``reuse=refuse``, stops naming them). Training and
evaluation of each (λ, seed) model are jobs (:mod:`figures.figure1.jobs`) run side by
side by an executor: local one-thread processes, or SLURM jobs through submitit.
Outputs: ``figure1[_<mode>].{pdf,png}``, the table ``figure1[_<mode>].csv``
(:mod:`figures.figure1.table`; it pools this run's seeds with every complete seed an earlier
run of the same settings left in the results folder), its family of tests
``figure1[_<mode>]_claims.csv`` (:mod:`figures.figure1.inference`: Holm's correction, trends,
replication in two halves of the pooled seeds), ``figure1[_<mode>]_caption.md``
(:mod:`figures.figure1.caption`), ``figure1[_<mode>]_run.json`` (settings, wall and
CPU time of every job, the machine) and, when asked, the README's Figure-1 block
(:mod:`figures.figure1.readme`).
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from importlib import resources
from pathlib import Path

import pandas as pd

from figures import configs
from figures.configs import resolve_zoo_home, train_overrides
from figures.executors import LocalProcesses, check_executor, make_executor
from figures.figure1.caption import caption
from figures.figure1.config import Figure1Config
from figures.figure1.readme import check_readme, machine, update_readme
from figures.figure1.inference import claims
from figures.figure1.table import (
    analysis_marker,
    build_table,
    claims_path,
    complete_seeds,
    finish_table,
    replicates_path,
    run_tag,
    score_path,
    untestable,
)
from figures.plot import draw_figure1
from figures.jobs import Job
from figures.reuse import TRAINING_PLACE, StepKey, decide, differences, flatten, refuse_changed_config, stale, write_key
from figures.steps import StepLog, run_jobs, run_step
from model_zoo import LoadedModel
from neuroequi.errors import ConfigError, OfflineError
from neuroequi.io import atomic_write, format_lambda, read_json_mapping, to_json, write_json

#: The resolved config of a run, saved in its results folder for the job processes.
CONFIG_FILE = "config.yaml"
Model = tuple[float, int]
"""One model of a run: (λ, training seed)."""


def results_root(config: Figure1Config, results: Path) -> Path:
    """The folder of one run's intermediate results: ``<results>/figure1/<mode>``."""
    return results / "figure1" / config.mode


def default_zoo_home(root: Path, mode: str = "offline") -> Path:
    """The zoo a run registers its models in when neither the call nor the config names one: ``<root>/zoo``
    for the smoke preset (a zoo of its own: its toy models never enter the user's), else
    :func:`figures.configs.resolve_zoo_home` (``$NEUROEQUI_ZOO_HOME`` when set, else ``<root>/zoo``)."""
    return (root / "zoo").resolve() if mode == "smoke" else resolve_zoo_home(None, root)


def recipe_path(base_config: str) -> Path:
    """The training recipe ``base_config``: a YAML path, or a file of ``neuroequi/configs/``."""
    if Path(base_config).is_file():
        return Path(base_config)
    shipped = Path(str(resources.files("neuroequi.configs").joinpath(base_config)))
    if not shipped.is_file():
        names = sorted(p.name for p in shipped.parent.glob("*.yaml"))
        raise ConfigError(f"figure1 base_config {base_config!r} is neither a file nor one of {names}")
    return shipped


def train_config(config: Figure1Config, lam: float, seed: int, root: Path):
    """The :class:`neuroequi.train.TrainConfig` of the ``(lam, seed)`` run: the recipe, its method set to
    ``config.objective`` (options reset to that method's defaults when it differs), ``config.train``,
    λ, seed."""
    from neuroequi.train import load_config

    base = recipe_path(config.base_config)
    objective = []
    if load_config(base).method.name != config.objective:
        objective = [f"method.name={config.objective}", "method.options={}"]
    overrides = [
        *objective,
        *train_overrides(config.train),
        f"method.lam={lam}",
        f"seed={seed}",
        f"name={run_tag(lam, seed)}",
        f"output_dir={root / 'train'}",
    ]
    return load_config(base, overrides)


def final_checkpoint(config: Figure1Config, lam: float, seed: int, root: Path) -> Path:
    """The last checkpoint the ``(lam, seed)`` training writes."""
    return train_config(config, lam, seed, root).run_dir / "checkpoints" / "final.pt"


def published_model(lam: float, objective: str = "barlow_twins") -> str:
    """Catalogue name of the published CE-SSL ResNet-50 of ``objective`` for ``lam``."""
    from model_zoo.catalogue import builtin_entries

    names = [
        e.name
        for e in builtin_entries().values()
        if e.family == "neuroequi_tessl_resnet50" and e.method == f"tessl_{objective}" and e.lam == lam
    ]
    if not names:
        raise ConfigError(f"no published TeSSL {objective} checkpoint for λ={format_lambda(lam)} in the model zoo")
    return names[0]


def model_prefix(config: Figure1Config, lam: float, seed: int) -> str:
    """The start of the zoo name of the run's trained ``(lam, seed)`` model (:func:`model_name`)."""
    return f"figure1-{config.mode}-{run_tag(lam, seed)}"


def model_name(config: Figure1Config, lam: float, seed: int, root: Path) -> str:
    """The zoo name of the ``(lam, seed)`` model: the published one (paper), or the run's trained
    checkpoint named by its content (:func:`model_zoo.run_name`: its weights and training config), so
    runs sharing a zoo never read each other's models."""
    import model_zoo

    if config.trains:
        return model_zoo.run_name(final_checkpoint(config, lam, seed, root), model_prefix(config, lam, seed))
    return published_model(lam, config.objective)


def register_model(config: Figure1Config, lam: float, seed: int, checkpoint: Path, home: Path) -> str:
    """Register a trained checkpoint in the zoo at ``home`` under its content name
    (:func:`model_zoo.register_run`); return that name."""
    import model_zoo

    return model_zoo.register_run(checkpoint, model_prefix(config, lam, seed), home=home).name


def train_key(config: Figure1Config, lam: float, seed: int, root: Path) -> StepKey:
    """The reuse key of the ``(lam, seed)`` training (:mod:`figures.reuse`): its complete training config
    (but where it is written: a moved results folder is reused)."""
    return StepKey.of(train_config(config, lam, seed, root), place=TRAINING_PLACE)


def analysis_settings(config: Figure1Config):
    """The :class:`analyses.pipeline.AnalysisConfig` every model of the run is analysed with."""
    from analyses.pipeline import AnalysisConfig

    return AnalysisConfig(
        n_images=config.n_images,
        K=config.K,
        seed=config.seed,
        images=config.images,
        probe_train=config.probe_train,
        probe_test=config.probe_test,
        n_boot=config.n_boot,
    )


def evaluation_keys(
    config: Figure1Config, root: Path, lam: float, seed: int, benchmarks: tuple[str, ...] | None = None
) -> dict[Path, StepKey]:
    """The reuse key of every output of the ``(lam, seed)`` evaluation (analysis marker, replicates,
    one score per benchmark; default the local ``config.benchmarks``): its settings, and the model it
    reads (the trained checkpoint's sha256, or the published model's name, pinned by its sha256)."""
    if config.trains:
        model, inputs = "trained", {"checkpoint": final_checkpoint(config, lam, seed, root)}
    else:
        model, inputs = published_model(lam, config.objective), {}
    analysis = {"model": model, "analysis": analysis_settings(config)}
    keys = {
        analysis_marker(root, lam, seed): StepKey.of(analysis, inputs),
        replicates_path(root, lam, seed): StepKey.of(
            {**analysis, "replicates_n_boot": config.n_boot, "replicates_seed": config.seed}, inputs
        ),
    }
    for bench in config.benchmarks if benchmarks is None else benchmarks:
        keys[score_path(root, lam, seed, bench)] = StepKey.of({"model": model, "benchmark": bench}, inputs)
    return keys


def evaluated(config: Figure1Config, root: Path, lam: float, seed: int) -> bool:
    """True when the analysis, its replicates and every local score of ``(lam, seed)`` are saved with
    the reuse keys of this run's settings and checkpoint (:func:`evaluation_keys`)."""
    if config.trains and not final_checkpoint(config, lam, seed, root).is_file():
        return False
    return all(stale(output, key) is None for output, key in evaluation_keys(config, root, lam, seed).items())


def evaluate(config: Figure1Config, root: Path, lam: float, seed: int, home: Path, log: StepLog) -> None:
    """Analyse the ``(lam, seed)`` model (:func:`analyses.pipeline.analyze`), save its within-seed
    bootstrap replicates (:func:`figures.figure1.seeds.model_replicates`) and score it on the
    local benchmarks."""
    import model_zoo
    from analyses.pipeline import analyze
    from figures.figure1.seeds import model_replicates, save_replicates

    name, tag = model_name(config, lam, seed, root), run_tag(lam, seed)
    analysis = analysis_settings(config)
    keys = evaluation_keys(config, root, lam, seed)

    loaded = model_zoo.load(name, home=home)  # once: the analysis and every score use it

    def analyse(tmp: Path) -> str:
        measures = analyze(loaded, analysis, tmp.parent)
        shutil.copyfile(measures, tmp)  # analyze() wrote measures.csv; the marker is its copy
        return f"{len(pd.read_csv(tmp))} measures"

    def replicates(tmp: Path) -> str:
        data = model_replicates(tmp.parent, config.n_boot, config.seed)
        save_replicates(data, tmp)
        return f"{len(data.data_vars)} quantities x {config.n_boot} resamples"

    marker, saved = analysis_marker(root, lam, seed), replicates_path(root, lam, seed)
    run_step(log, f"analyse {tag}", marker, analyse, keys[marker], config.reuse)
    run_step(log, f"replicates {tag}", saved, replicates, keys[saved], config.reuse)
    for bench in config.benchmarks:
        score_model(config, loaded, lam, seed, bench, root, home, log)


def score_model(
    config: Figure1Config,
    model: str | LoadedModel,
    lam: float,
    seed: int,
    benchmark: str,
    root: Path,
    home: Path,
    log: StepLog,
) -> Path:
    """One neural benchmark score of one model (a zoo name, or the model loaded;
    :func:`analyses.neural.scoring.score`), saved as JSON with its reuse key (:func:`evaluation_keys`)."""
    from analyses.neural.scoring import score

    def make(tmp: Path) -> str:
        result = score(model, benchmark, home=home)
        tmp.write_text(to_json(result, indent=1))
        return f"score {result['score']:.3f}"

    output = score_path(root, lam, seed, benchmark)
    key = evaluation_keys(config, root, lam, seed, (benchmark,))[output]
    return run_step(log, f"score {run_tag(lam, seed)} {benchmark}", output, make, key, config.reuse)


def job(action: str, lam: float, seed: int, root: Path, **kwargs) -> Job:
    """The job that runs ``action`` (:func:`figures.figure1.jobs.train` or ``evaluate``) for ``(lam, seed)``
    on the run's saved config."""
    folder = "train" if action == "train" else "analyses"
    return Job(
        f"{action} {run_tag(lam, seed)}",
        f"figures.figure1.jobs:{action}",
        "figures.figure1.config:Figure1Config",
        root / CONFIG_FILE,
        {"root": str(root), "lam": float(lam), "seed": seed},
        log_path=root / folder / f"{run_tag(lam, seed)}.log",
        distributed=action == "train",
        **kwargs,
    )


def model_jobs(config: Figure1Config, root: Path, home: Path, models: dict[Model, str]) -> list[Job]:
    """Training (trained modes) and evaluation jobs for every λ and seed; fills ``models`` as they finish.

    Evaluation of a model waits for its training, which registers the checkpoint in
    the zoo when it finishes (in this process, so the catalogue file has one writer).
    The list goes seed by seed (that seed's trainings, then its evaluations), so a
    stopped run leaves whole seeds done.
    """
    jobs = []
    for seed in config.seeds:
        trainings, evaluations = [], []
        for lam in config.lambdas:
            after: tuple[str, ...] = ()
            if config.trains:
                final, key = final_checkpoint(config, lam, seed, root), train_key(config, lam, seed, root)
                # a training saved with other settings is removed (or refused) before anything runs
                decide(f"train {run_tag(lam, seed)}", final, key, config.reuse, remove=final.parent.parent)

                def trained(lam=lam, seed=seed, final=final, key=key) -> None:
                    write_key(final, key)
                    models[lam, seed] = register_model(config, lam, seed, final, home)

                # after decide(), an existing final checkpoint is this training's (done; its key written on_done)
                trainings.append(job("train", lam, seed, root, done=final.is_file, on_done=trained))
                after = (trainings[-1].name,)
            else:
                models[lam, seed] = model_name(config, lam, seed, root)
            evaluations.append(
                job(
                    "evaluate",
                    lam,
                    seed,
                    root,
                    after=after,
                    done=lambda lam=lam, seed=seed: evaluated(config, root, lam, seed),
                )
            )
        jobs += trainings + evaluations
    return jobs


def reachable_online(
    config: Figure1Config, root: Path, home: Path, models: dict[Model, str], log: StepLog
) -> tuple[tuple[str, ...], dict[str, str]]:
    """Score every model on the online benchmarks that can be reached (tried on the first model,
    failing fast); the usable ones, and why the others cannot be scored."""
    usable, missing = [], {}
    (lam, seed), first = next(iter(models.items()))
    for bench in config.online_benchmarks:
        try:
            score_model(config, first, lam, seed, bench, root, home, log)
            usable.append(bench)
        except OfflineError as exc:
            missing[bench] = str(exc).splitlines()[0]
            log.record(f"score {run_tag(lam, seed)} {bench}", 0.0, reused=False, summary="unavailable offline")
    for (lam, seed), name in models.items():
        for bench in usable:
            score_model(config, name, lam, seed, bench, root, home, log)
    return tuple(usable), missing


def paper_preflight(config: Figure1Config) -> None:
    """OfflineError naming everything that is missing when the paper preset cannot run here."""
    from analyses.neural.online import reachable
    from model_zoo.catalogue import builtin_entries
    from neuroequi.data.registry import offline

    def unreachable(host: str) -> str | None:
        return "downloads are off: NEUROEQUI_OFFLINE=1" if offline() else reachable(host, timeout=3.0)

    problems = []
    if not Path(config.images or "").is_dir():
        problems.append(f"analysis images: ImageFolder {config.images!r} does not exist")
    for lam in config.lambdas:
        entry = builtin_entries()[published_model(lam, config.objective)]
        why = unreachable(entry.source.location.split("/")[2])
        if why:
            problems.append(f"checkpoint λ={format_lambda(lam)}: {entry.source.location} unreachable ({why})")
            break
    why = unreachable("brainscore-storage.s3.amazonaws.com")  # Brain-Score's data bucket
    if why:
        problems.append(
            f"Brain-Score IT benchmarks {', '.join(config.online_benchmarks)}: "
            f"Brain-Score's storage unreachable ({why}); pre-seed BRAINIO_HOME"
        )
    if problems:
        raise OfflineError("figure1 paper preset cannot run here: " + "; ".join(problems))


#: Settings that may differ between runs whose seeds are pooled in one results folder.
POOL_FREE = ("seeds", "parallel", "executor", "slurm", "warm_jobs", "online_benchmarks", "zoo_home")


POOL_FILE = "pool.json"


def pool_settings(config: Figure1Config) -> dict:
    """The settings seeds must share to be pooled: every setting but :data:`POOL_FREE`, flattened."""
    return {key: value for key, value in flatten(config).items() if key.split(".")[0] not in POOL_FREE}


def earlier_pool(config: Figure1Config, root: Path) -> tuple[int, ...]:
    """The seeds an earlier run left pooled in ``root`` (its ``pool.json``) when it had the same
    :func:`pool_settings`; () for a new folder, or (with a printed line naming the changed settings)
    when they differ: this run recomputes its own seeds (:mod:`figures.reuse`) and pools only those."""
    path = root / POOL_FILE
    if not path.is_file():
        return ()
    saved = read_json_mapping(path, "figure1 seed pool", "remove it to start a new pool")
    changed = differences(saved.get("settings", {}), pool_settings(config))
    if changed:
        print(
            f"[figure1] seeds {saved.get('seeds')} in {root} were computed with other settings "
            f"({'; '.join(changed)}): not pooled with this run's",
            flush=True,
        )
        return ()
    return tuple(int(s) for s in saved.get("seeds", ()))


def separation_exclusions(benchmarks) -> dict[str, str]:
    """``{benchmark: reason}`` of the ``benchmarks`` the committed reliability report finds not separating
    trained from random networks (:func:`analyses.neural.reliability.not_separating`): drawn, not tested."""
    from analyses.neural.reliability import not_separating

    return {
        b: f"does not separate trained from random networks (analyses/neural/RESULTS_reliability.md: {why})"
        for b, why in not_separating().items()
        if b in benchmarks
    }


def halves(seeds: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """The pool split into two independent halves (first and second half in seed order) of at least 2 seeds
    each, for :func:`figures.figure1.inference.claims`; None with fewer than 4 seeds."""
    if len(seeds) < 4:
        return None
    middle = len(seeds) // 2
    return tuple(seeds[:middle]), tuple(seeds[middle:])


def output_stem(config: Figure1Config, out_dir: Path) -> Path:
    """``<out_dir>/figure1`` (offline mode) or ``<out_dir>/figure1_<mode>``: the outputs' common stem."""
    return out_dir / ("figure1" if config.mode == "offline" else f"figure1_{config.mode}")


def run_record(config: Figure1Config, log: StepLog, missing: dict[str, str]) -> dict:
    """What ``<stem>_run.json`` holds: the settings, the wall time, every job's wall and CPU time, the machine."""
    return {
        "mode": config.mode,
        "objective": config.objective,
        "lambdas": list(config.lambdas),
        "seeds": list(config.seeds),
        "n_images": config.n_images,
        "K": config.K,
        "n_boot": config.n_boot,
        "analysis_seed": config.seed,
        "base_config": config.base_config,
        "train_overrides": train_overrides(config.train),
        "executor": config.executor,
        "parallel": config.parallel,
        "elapsed_s": round(log.elapsed, 1),
        "jobs": log.jobs,
        "not_scored": missing,
        "machine": machine(),
    }


def run(
    config: Figure1Config, results: Path, out_dir: Path, zoo_home: Path | None = None, readme: Path | None = None
) -> pd.DataFrame:
    """Run the whole pipeline for ``config``; return the Figure-1 table.

    Args:
        config: the run's settings (:func:`figures.figure1.config.preset`).
        results: folder of the intermediate results (``<results>/figure1/<mode>/``, resumable).
        out_dir: where the figure, its table, its caption and the run record go.
        zoo_home: the model zoo the run registers and loads its models in (replaces
            ``config.zoo_home``; neither: :func:`default_zoo_home`).
        readme: a README whose Figure-1 block (between ``<!-- figure1:begin -->`` and
            ``<!-- figure1:end -->``) is rewritten from the table (:mod:`figures.figure1.readme`).
    """
    check_executor(config.executor)
    root = results_root(config, results)
    given = str(zoo_home) if zoo_home is not None else config.zoo_home
    home = resolve_zoo_home(given, root) if given else default_zoo_home(root, config.mode)
    config = replace(config, zoo_home=str(home))  # the jobs read the resolved zoo from the saved config
    log = StepLog()
    if readme is not None:
        check_readme(readme)  # before the work, not after it
    if config.mode == "paper":
        paper_preflight(config)
    elif config.images is not None and not Path(config.images).expanduser().is_dir():
        raise ConfigError(f"figure1 images {config.images!r} is not a folder (an ImageFolder: <root>/<class>/<images>)")
    refuse_changed_config(root / CONFIG_FILE, config, config.reuse)  # reuse=refuse: before anything is written
    earlier = earlier_pool(config, root)
    configs.save(config, root / CONFIG_FILE)
    from analyses.neural import place_stimuli_on_screen

    place_stimuli_on_screen(config.benchmarks)  # once here: the jobs score side by side
    models: dict[Model, str] = {}
    threads = 1 if config.executor == "local" else config.slurm.cpus
    warm_up = (f"figures.figure1.jobs:warm_up:{root / CONFIG_FILE}",)
    executor = make_executor(config.executor, config.slurm, root / "submitit", threads, config.warm_jobs, warm_up)
    run_jobs(model_jobs(config, root, home, models), config.parallel, log, executor=executor)
    benchmarks = list(config.benchmarks)
    missing: dict[str, str] = {}
    if config.online_benchmarks:
        usable, missing = reachable_online(config, root, home, models, log)
        benchmarks += usable
    excluded = separation_exclusions(benchmarks)
    pool = complete_seeds(config, root, tuple(benchmarks), earlier)
    write_json(root / POOL_FILE, {"settings": pool_settings(config), "seeds": list(pool)})
    table = build_table(config, root, tuple(benchmarks), pool, excluded)
    if untestable(table):  # scores saved before the stimulus bootstrap (an old results folder): drawn, not tested
        excluded |= untestable(table)
        table = finish_table(table, excluded)
    split = halves(pool)
    tests = claims(
        table,
        None
        if split is None
        else tuple(build_table(config, root, tuple(benchmarks), half, excluded) for half in split),
    )
    stem = output_stem(config, out_dir)
    with atomic_write(stem.with_suffix(".csv")) as tmp:
        table.to_csv(tmp, index=False)
    with atomic_write(claims_path(stem)) as tmp:
        tests.to_csv(tmp, index=False)
    paths = draw_figure1(table, stem, title=f"TeSSL ({config.objective}) λ sweep — {config.mode} mode")
    record = run_record(config, log, missing) | {
        "seeds": list(pool),
        "not_separating": excluded,
        # local jobs forked by the warm launcher to the end (their cpu_s leaves out the imports), or not
        "warm_jobs": executor.warm if isinstance(executor, LocalProcesses) else None,
    }
    names = {
        (lam, seed): models.get((lam, seed)) or model_name(config, lam, seed) for lam in config.lambdas for seed in pool
    }
    with atomic_write(stem.with_name(stem.name + "_caption.md")) as tmp:
        tmp.write_text(caption(config, table, dict(sorted(names.items())), missing, log.elapsed, tests, excluded))
    with atomic_write(stem.with_name(stem.name + "_run.json")) as tmp:
        tmp.write_text(to_json(record, indent=1, ensure_ascii=False) + "\n")
    log.record("figure", 0.0, reused=False, summary=", ".join(str(p) for p in paths))
    if readme is not None:
        update_readme(readme, stem.with_suffix(".csv"))
        log.record("README Figure-1 block", 0.0, reused=False, summary=str(readme))
    print(f"[figure1] total wall time {log.elapsed / 60:.1f} min", flush=True)
    return table
