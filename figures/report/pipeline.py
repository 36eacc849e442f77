"""Everything a model can be asked, in one folder: every local benchmark at every layer, the Figure-1
measures and augmentation prediction at every layer; one tidy CSV, one figure, a short markdown.

Pieces
------
One model's report is made of pieces, each a small CSV of tidy rows (:data:`COLUMNS`) written
atomically under ``<out>/pieces/<identifier>/`` as soon as it finishes:

* ``benchmark-<benchmark>-<key>.csv``: every layer on one benchmark
  (:func:`analyses.neural.layers.score_layers`): the ceiled score and the raw one where the
  benchmark has a ceiling, the raw score otherwise; interval ``value ± 1.96 × error`` (Brain-Score's
  standard error over cross-validation splits; none for the RDM benchmarks, which have no error); a
  layer the metric cannot take (fewer features than PLS components) keeps its row, empty, with a
  ``note`` saying why;
* ``measures-<layer>-<key>.csv``: the Figure-1 measures of one layer (:func:`analyses.pipeline.analyze`:
  shared variability, the two factorizations, augmentation decoding) with their bootstrap intervals
  over images;
* ``augmentation-<layer>-<key>.csv``: augmentation prediction from one layer
  (:func:`analyses.augmentation_prediction.augmentation_prediction`), one row per family.

``<key>`` hashes the settings the piece depends on, and the folder is named by the model's
identifier (weights and preprocessing, :mod:`model_zoo.loading`), so a piece is reused on the next
run exactly when neither changed; an interrupted report continues from the first missing piece.

Several models run side by side as jobs (:mod:`figures.jobs`: the saved config and the entry point
:func:`figures.report.jobs.run_model`) through the executors of the figure pipelines
(:mod:`figures.executors`: local processes, SLURM); that is why the report
lives in ``figures`` (the layer that may start jobs), not in ``analyses`` (whose functions it calls).
A single model on the local executor, or a network that exists only in memory
(:func:`model_zoo.from_module`), runs in this process.

Outputs: ``report.csv`` (every row of every model), ``report.png`` (score or measure against layer
depth, one panel per benchmark and measure, one line per model) and ``report.md``.
Progress: one line per piece in the log (time, or ``reused``), with an estimate before it starts
from the last time the same piece ran in this folder; progress bars on a terminal only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from figures import configs
from figures.executors import check_executor, make_executor
from figures.report.config import ReportConfig
from figures.jobs import Job
from figures.steps import StepLog, run_jobs
from model_zoo import LoadedModel
from neuroequi.config import to_plain
from neuroequi.errors import ConfigError
from neuroequi.io import atomic_write, output_folder, read_json_mapping, to_json, write_json

#: Columns of every piece and of ``report.csv``.
COLUMNS = (
    "model",
    "identifier",
    "layer",
    "depth",
    "kind",
    "name",
    "statistic",
    "value",
    "ci_low",
    "ci_high",
    "ceiling",
    "reduction",
    "n",
    "note",
)
CONFIG_FILE = "config.yaml"
TIMINGS_FILE = "timings.json"
#: 1.96: the normal quantile of a 95% interval from a standard error.
Z95 = 1.959963984540054


def settings_key(settings: object) -> str:
    """First 8 hex digits of the sha256 of ``settings`` as strict JSON (dataclasses as dicts)."""
    return hashlib.sha256(to_json(to_plain(settings), sort_keys=True).encode()).hexdigest()[:8]


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


@dataclasses.dataclass(frozen=True)
class Piece:
    """One part of a model's report: ``kind`` (benchmark, measures, augmentation), ``name`` (the
    benchmark or the layer), the file it writes and how to make its rows."""

    kind: str
    name: str
    path: Path
    make: Callable[[], pd.DataFrame]

    @property
    def label(self) -> str:
        """``<kind> <name>``: what the log calls it, and its key in the timings file."""
        return f"{self.kind} {self.name}"


def model_layers(loaded: LoadedModel, config: ReportConfig) -> list[str]:
    """The layers of ``loaded`` the report covers: ``config.layers`` (checked) or the model's own."""
    return [loaded.layer(layer) for layer in config.layers] if config.layers else list(loaded.layers)


def _tidy(loaded: LoadedModel, rows: list[dict], layers: Sequence[str]) -> pd.DataFrame:
    table = pd.DataFrame(rows).sort_values("layer", key=lambda c: c.map(list(layers).index), kind="stable")
    table.insert(0, "model", loaded.name)
    table.insert(1, "identifier", loaded.identifier)
    table["depth"] = [list(layers).index(layer) for layer in table["layer"]]
    for column in COLUMNS:
        if column not in table:
            table[column] = np.nan
    return table[list(COLUMNS)]


def benchmark_rows(
    loaded: LoadedModel,
    benchmark: str,
    layers: Sequence[str],
    config: ReportConfig,
    home: Path | None,
    save_dir: Path | None = None,
) -> pd.DataFrame:
    """Every layer of ``loaded`` on ``benchmark``: ceiled and raw rows where it is ceiled, raw otherwise.
    ``save_dir``: where each layer's score is saved as it finishes (a stopped piece resumes by layer)."""
    from analyses.neural.layers import score_layers

    def scored(names: list[str]) -> pd.DataFrame:
        return score_layers(loaded, [benchmark], names, config.reduction, config.batch_size, home, save_dir=save_dir)[0]

    rows = []
    try:
        table = scored(list(layers))
    except (ValueError, np.linalg.LinAlgError):  # a layer the metric cannot take: score the others one by one
        tables = []
        for layer in layers:
            try:
                tables.append(scored([layer]))
            except (ValueError, np.linalg.LinAlgError) as err:
                rows.append(
                    {
                        "layer": layer,
                        "kind": "benchmark",
                        "name": benchmark,
                        "statistic": "raw",
                        "value": math.nan,
                        "note": f"not scored: {' '.join(str(err).split())}",
                    }
                )
        table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=["layer"])
    for r in table.itertuples():
        ceiled = r.ceiling is not None and math.isfinite(r.ceiling)
        values = [("ceiled", r.score, r.error), ("raw", r.raw, math.nan)] if ceiled else [("raw", r.score, r.error)]
        for statistic, value, error in values:
            half = Z95 * error if error is not None and math.isfinite(error) else math.nan
            rows.append(
                {
                    "layer": r.layer,
                    "kind": "benchmark",
                    "name": benchmark,
                    "statistic": statistic,
                    "value": value,
                    "ci_low": value - half,
                    "ci_high": value + half,
                    "ceiling": r.ceiling if ceiled else math.nan,
                    "reduction": f"{r.reduction} ({r.reduced_from} -> {r.features} features)",
                }
            )
    return _tidy(loaded, rows, layers)


def measure_rows(
    loaded: LoadedModel, layer: str, layers: Sequence[str], config: ReportConfig, work: Path
) -> pd.DataFrame:
    """The Figure-1 measures of one layer (:func:`analyses.pipeline.analyze`, no probe)."""
    from analyses.pipeline import AnalysisConfig, analyze

    m = config.measures
    analysis = AnalysisConfig(
        layer=layer,
        images=m.images,
        n_images=m.n_images,
        K=m.K,
        seed=config.seed,
        batch_size=config.batch_size,
        probe_train=0,
        n_boot=m.n_boot,
        progress=sys.stderr.isatty(),
    )
    table = pd.read_csv(analyze(loaded, analysis, work))
    rows = [
        {
            "layer": layer,
            "kind": "measure",
            "name": r.quantity,
            "statistic": "value",
            "value": r.value,
            "ci_low": r.ci_low,
            "ci_high": r.ci_high,
            "reduction": "none",
            "n": r.n_images,
        }
        for r in table.itertuples()
    ]
    return _tidy(loaded, rows, layers)


def augmentation_rows(loaded: LoadedModel, layer: str, layers: Sequence[str], config: ReportConfig) -> pd.DataFrame:
    """Augmentation prediction from one layer, one row per family (R² or flip accuracy)."""
    from analyses.augmentation_prediction import PredictionConfig, augmentation_prediction

    a = config.augmentation
    prediction = PredictionConfig(
        layer=layer,
        families=a.families,
        n_train=a.n_train,
        n_test=a.n_test,
        per_image=a.per_image,
        seed=config.seed,
        n_boot=a.n_boot,
        batch_size=config.batch_size,
        progress=sys.stderr.isatty(),
    )
    table = augmentation_prediction(loaded, prediction)
    rows = [
        {
            "layer": layer,
            "kind": "augmentation",
            "name": r.quantity,
            "statistic": r.metric,
            "value": r.value,
            "ci_low": r.ci_low,
            "ci_high": r.ci_high,
            "reduction": "none",
            "n": r.n,
        }
        for r in table.itertuples()
    ]
    return _tidy(loaded, rows, layers)


def pieces(loaded: LoadedModel, config: ReportConfig, out: Path, home: Path | None = None) -> list[Piece]:
    """Every piece of ``loaded``'s report, in the order they run (benchmarks, measures, augmentation)."""
    layers = model_layers(loaded, config)
    folder = out / "pieces" / _safe(loaded.identifier)
    result = []
    if "benchmarks" in config.pieces:
        key = settings_key({"layers": layers, "reduction": config.reduction, "batch_size": config.batch_size})
        for bench in config.benchmarks:
            work = out / "work" / _safe(loaded.identifier) / f"benchmark-{_safe(bench)}-{key}"
            result.append(
                Piece(
                    "benchmark",
                    bench,
                    folder / f"benchmark-{_safe(bench)}-{key}.csv",
                    lambda b=bench, w=work: benchmark_rows(loaded, b, layers, config, home, w),
                )
            )
    if "measures" in config.pieces:
        key = settings_key({"measures": config.measures, "seed": config.seed})
        for layer in layers:
            work = out / "work" / _safe(loaded.identifier) / f"measures-{_safe(layer)}-{key}"
            result.append(
                Piece(
                    "measures",
                    layer,
                    folder / f"measures-{_safe(layer)}-{key}.csv",
                    lambda l=layer, w=work: measure_rows(loaded, l, layers, config, w),
                )
            )
    if "augmentation" in config.pieces:
        key = settings_key({"augmentation": config.augmentation, "seed": config.seed})
        for layer in layers:
            result.append(
                Piece(
                    "augmentation",
                    layer,
                    folder / f"augmentation-{_safe(layer)}-{key}.csv",
                    lambda l=layer: augmentation_rows(loaded, l, layers, config),
                )
            )
    return result


def _timings(path: Path) -> dict:
    return read_json_mapping(path, "report timings", "delete it (it only holds estimates)")


def _estimate(timings: dict, piece: Piece) -> str:
    seconds = timings.get(piece.label)
    return f"estimate ~{seconds:.0f} s (its last run here)" if seconds is not None else "no estimate yet (first run)"


def run_pieces(
    loaded: LoadedModel, config: ReportConfig, out: Path, home: Path | None = None, log: StepLog | None = None
) -> list[Path]:
    """Make every missing piece of ``loaded``'s report (each saved as it finishes); their paths."""
    log = log or StepLog(prefix="report")
    timings_path = out / TIMINGS_FILE
    todo = pieces(loaded, config, out, home)
    for k, piece in enumerate(todo, 1):
        name = f"{loaded.name} {piece.label}"
        if piece.path.is_file():
            log.record(name, 0.0, reused=True)
            continue
        print(f"[report] {name} ({k}/{len(todo)}) started; {_estimate(_timings(timings_path), piece)}", flush=True)
        start = time.perf_counter()
        table = piece.make()
        with atomic_write(piece.path) as tmp:
            table.to_csv(tmp, index=False)
        seconds = time.perf_counter() - start
        write_json(timings_path, {**_timings(timings_path), piece.label: round(seconds, 1)}, sort_keys=True)
        log.record(name, seconds, reused=False, summary=f"{len(table)} rows")
    return [p.path for p in todo]


def _job(out: Path, model: str, home: Path, done: Callable[[], bool]) -> Job:
    """The job that makes ``model``'s missing pieces (:func:`figures.report.jobs.run_model`) from the
    report's saved config ``out/config.yaml``."""
    return Job(
        f"report {model}",
        "figures.report.jobs:run_model",
        "figures.report.config:ReportConfig",
        out / CONFIG_FILE,
        {"out": str(out), "model": model, "zoo_home": str(home)},
        done=done,
        log_path=out / "logs" / f"{_safe(model)}.log",
    )


def report(
    models: Sequence[str | os.PathLike | LoadedModel],
    config: ReportConfig,
    out: str | os.PathLike,
    home: Path | None = None,
) -> pd.DataFrame:
    """The report of ``models`` (catalogue names, checkpoint files, or loaded models) in ``out``.

    Returns the tidy table (also ``out/report.csv``); writes ``report.png`` and ``report.md``.

    Raises:
        ConfigError: no model, an unknown model, layer or benchmark, an executor that cannot run here,
            or a loaded in-memory model with several models on another executor.
    """
    import model_zoo
    from analyses.neural import place_stimuli_on_screen

    if not models:
        raise ConfigError("report: name at least one model (--model M)")
    check_executor(config.executor)
    out = output_folder(out, "report --out")
    config = config.resolved()  # unknown or online benchmarks, bad sizes: fail now, before any model is loaded
    loaded = [m if isinstance(m, LoadedModel) else model_zoo.load(m, home) for m in models]
    for m in loaded:
        model_layers(m, config)
    out.mkdir(parents=True, exist_ok=True)
    configs.save(dataclasses.replace(config, models=tuple(m.name for m in loaded)), out / CONFIG_FILE)
    log = StepLog(prefix="report")
    in_process = config.executor == "local" and (len(loaded) == 1 or config.parallel == 1)
    if "benchmarks" in config.pieces:
        place_stimuli_on_screen(config.benchmarks)  # once here: jobs that run side by side must find it done
    if in_process or any(m.entry.source.kind == "memory" for m in loaded):
        if not in_process:
            raise ConfigError(
                "report: a model in memory (model_zoo.from_module) runs in this process only; "
                "use executor=local parallel=1"
            )
        for m in loaded:
            run_pieces(m, config, out, home, log)
    else:
        zoo = model_zoo.zoo_home(home)
        threads = max(1, (os.cpu_count() or 1) // config.parallel) if config.executor == "local" else config.slurm.cpus
        executor = make_executor(config.executor, config.slurm, out / "submitit", threads, config.warm_jobs)
        jobs = [
            _job(out, str(model), zoo, lambda m=m: all(p.path.is_file() for p in pieces(m, config, out, home)))
            for model, m in zip(models, loaded)
        ]
        run_jobs(jobs, config.parallel, log, executor=executor)
    return write_outputs(loaded, config, out)


def collect(loaded: Sequence[LoadedModel], config: ReportConfig, out: Path) -> pd.DataFrame:
    """Every piece of ``loaded`` (all must exist) as one table, in piece order."""
    frames = [pd.read_csv(p.path) for m in loaded for p in pieces(m, config, out)]
    return pd.concat(frames, ignore_index=True)[list(COLUMNS)]


def write_outputs(loaded: Sequence[LoadedModel], config: ReportConfig, out: Path) -> pd.DataFrame:
    """``report.csv``, ``report.png`` and ``report.md`` from the pieces; the table."""
    from figures.report.summary import draw_summary, markdown

    table = collect(loaded, config, out)
    with atomic_write(out / "report.csv") as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
    draw_summary(table, out / "report.png")
    with atomic_write(out / "report.md") as tmp:
        tmp.write_text(markdown(table, config, loaded))
    print(
        f"[report] wrote {out / 'report.csv'} ({len(table)} rows), {out / 'report.png'}, {out / 'report.md'}",
        flush=True,
    )
    return table


def clean_work(out: Path) -> None:
    """Remove the intermediate responses (``<out>/work``); the pieces stay."""
    shutil.rmtree(out / "work", ignore_errors=True)


__all__ = [
    "COLUMNS",
    "Piece",
    "ReportConfig",
    "benchmark_rows",
    "clean_work",
    "collect",
    "pieces",
    "report",
    "run_pieces",
    "settings_key",
    "write_outputs",
]
