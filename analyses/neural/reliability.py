"""Does a benchmark separate trained networks from random initialisations? The benchmark reliability report.

A benchmark earns its place in a figure only if it tells a trained network from the same
architecture with random weights. For every architecture of :data:`PAIRS` (the zoo's supervised
CIFAR ResNet-20 and ResNet-32 and their random initialisations), the report scores the trained
network once and the random one under each of ``seeds`` (≥ 5; :func:`analyses.neural.rdm_report.reseeded_entry`),
on every benchmark, by the benchmark's Brain-Score class (:func:`analyses.neural.rdm_report.score_rows`).

Per benchmark and architecture, the difference ``trained − mean over random seeds`` gets the interval
rule of the Figure-1 table (:func:`analyses.hierarchical.combined_interval`): the random seeds' SD
over ``sqrt(S)`` with Student's t (``S − 1`` degrees of freedom), and the benchmark's own error (its
split error, or the stimulus bootstrap of the RDM benchmarks) of the trained score and of the random
mean with the normal quantile. A benchmark **separates** when the interval lies above 0 for every
architecture; otherwise it "does not separate", with the reason, and the Figure-1 panel draws it apart
(greyed) and makes no claim on it.

Command (writes ``RESULTS_reliability.csv`` and ``.md`` beside this module)::

    python -m analyses.neural.reliability [seeds=[0,1,2,3,4]] [benchmarks=[...]] [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analyses.hierarchical import combined_interval
from analyses.neural.coggan2024 import COGGAN_BENCHMARKS

#: (trained, random) zoo names, one pair per architecture.
PAIRS = (("cifar-resnet20-supervised", "cifar-resnet20-random"), ("cifar-resnet32-supervised", "cifar-resnet32-random"))
#: The local benchmarks of Figure 1's neural panel.
BENCHMARKS = (
    "Cowley2023.V4-pls",
    "Cowley2023-210325.V4-pls",
    "Kiani2007.IT-rdm",
    "Kriegeskorte2008.hIT-rdm",
    "Kriegeskorte2008.hIT-subjects-rdm",
    *COGGAN_BENCHMARKS,
)
RESULTS_DIR = Path(__file__).resolve().parent
CSV, MARKDOWN = "RESULTS_reliability.csv", "RESULTS_reliability.md"
LEVEL = 0.95
SEPARATES, NOT_SEPARATING = "separates", "does not separate"


@dataclass(frozen=True)
class ReliabilityConfig:
    """What :func:`scores` scores: every pair of :data:`PAIRS`, random weights under each of ``seeds``."""

    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    benchmarks: tuple[str, ...] = BENCHMARKS
    threads: int = 1
    #: the trained networks of :data:`PAIRS` to score (all by default; fewer where time is short)
    trained: tuple[str, ...] = tuple(t for t, _ in PAIRS)

    def __post_init__(self) -> None:
        from neuroequi.errors import ConfigError

        if len(set(self.seeds)) < 2:
            raise ConfigError(f"reliability seeds: give at least 2 distinct random seeds (5 or more), got {self.seeds}")
        known = [t for t, _ in PAIRS]
        if not self.trained or any(t not in known for t in self.trained):
            raise ConfigError(f"reliability trained={list(self.trained)}: expected some of {known}")


def scores(config: ReliabilityConfig) -> pd.DataFrame:
    """One row per (model, seed, benchmark): ``architecture``, ``weights`` (trained/random), ``score``, ``error``
    (the benchmark's own error; NaN where it gives none), ``raw``, ``ceiling``, ``seconds`` (scoring time of the model)."""
    import torch

    from analyses.neural import place_stimuli_on_screen
    from analyses.neural.rdm_report import reseeded_entry, score_rows
    from model_zoo.catalogue import get_entry

    torch.set_num_threads(config.threads)
    place_stimuli_on_screen(config.benchmarks)
    rows = []
    for trained, random in (pair for pair in PAIRS if pair[0] in config.trained):
        models = [
            (get_entry(trained), "trained", None),
            *((reseeded_entry(random, s), "random", s) for s in config.seeds),
        ]
        for entry, weights, seed in models:
            start = time.perf_counter()
            new = score_rows(entry, weights, seed, config.benchmarks)
            elapsed = time.perf_counter() - start
            rows += [{**row, "architecture": trained.removesuffix("-supervised"), "seconds": elapsed} for row in new]
    table = pd.DataFrame(rows)
    return table[
        ["architecture", "model", "weights", "seed", "benchmark", "score", "error", "raw", "ceiling", "seconds"]
    ]


def separation(table: pd.DataFrame) -> pd.DataFrame:
    """Per benchmark and architecture: trained score, random mean and SD over seeds, the difference with its
    :data:`LEVEL` interval (module docstring); per benchmark ``verdict`` (:data:`SEPARATES` or
    :data:`NOT_SEPARATING`) and ``reason``."""
    out = []
    for (bench, arch), rows in table.groupby(["benchmark", "architecture"], sort=False):
        trained = rows[rows["weights"] == "trained"].iloc[0]
        random = rows[rows["weights"] == "random"]
        n = len(random)
        errors = np.nan_to_num(np.r_[trained["error"], random["error"].to_numpy(dtype=float)])
        sd_error = float(np.sqrt(errors[0] ** 2 + (errors[1:] ** 2).sum() / n**2))
        difference = float(trained["score"] - random["score"].mean())
        low, high = combined_interval(difference, float(random["score"].std(ddof=1) / np.sqrt(n)), sd_error, n, LEVEL)
        out.append(
            {
                "benchmark": bench,
                "architecture": arch,
                "trained": float(trained["score"]),
                "trained_error": float(trained["error"]),
                "random_mean": float(random["score"].mean()),
                "random_sd": float(random["score"].std(ddof=1)),
                "random_seeds": n,
                "difference": difference,
                "ci_low": low,
                "ci_high": high,
                "random_above_trained": int((random["score"] >= trained["score"]).sum()),
            }
        )
    frame = pd.DataFrame(out)
    verdicts = {}
    for bench, rows in frame.groupby("benchmark", sort=False):
        failed = rows[rows["ci_low"] <= 0]
        reason = "; ".join(
            f"{r['architecture']}: trained − random {r['difference']:+.3f} [{r['ci_low']:+.3f}, "
            f"{r['ci_high']:+.3f}] includes or lies below 0 ({r['random_above_trained']} of "
            f"{r['random_seeds']} random seeds score ≥ trained)"
            for _, r in failed.iterrows()
        )
        verdicts[bench] = (NOT_SEPARATING, reason) if len(failed) else (SEPARATES, "")
    frame["verdict"] = frame["benchmark"].map(lambda b: verdicts[b][0])
    frame["reason"] = frame["benchmark"].map(lambda b: verdicts[b][1])
    return frame


def markdown(table: pd.DataFrame, threads: int) -> str:
    """The report of the per-model rows ``table`` (:func:`scores`): one line per benchmark and architecture, the
    verdict and its reason, the rule, and the scoring time (sum over models of their ``seconds``)."""
    from neuroequi.io import package_versions

    frame = separation(table)
    seconds = table.drop_duplicates(["architecture", "model"])["seconds"].sum()
    seeds = sorted(table.loc[table["weights"] == "random", "seed"].dropna().astype(int).unique())
    lines = [
        "| benchmark | network | trained (± error) | random: mean ± SD over seeds | trained − random [95% CI] "
        "| verdict |",
        "|---|---|---|---|---|---|",
    ]
    for _, r in frame.iterrows():
        verdict = r["verdict"] if r["verdict"] == SEPARATES else f"**{r['verdict']}**"
        lines.append(
            f"| `{r['benchmark']}` | {r['architecture']} | {r['trained']:.3f} ± {r['trained_error']:.3f} "
            f"| {r['random_mean']:.3f} ± {r['random_sd']:.3f} ({r['random_seeds']} seeds) "
            f"| {r['difference']:+.3f} [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}] | {verdict} |"
        )
    failing = frame[frame["verdict"] == NOT_SEPARATING].drop_duplicates("benchmark")
    reasons = [f"- `{r['benchmark']}` does not separate: {r['reason']}." for _, r in failing.iterrows()]
    versions = ", ".join(f"{k} {v}" for k, v in package_versions("brainscore_vision").items())
    return "\n".join(
        [
            f"Trained networks ({', '.join(f'`{t}`' for t, _ in PAIRS)}; a benchmark lists those scored on it) against their random initialisations "
            f"(seeds {', '.join(map(str, seeds))}), every benchmark scored by its Brain-Score class. Interval: "
            "trained − mean over random seeds ± sqrt((t·SD_seeds/√S)² + (z·error)²), the benchmark's own error (split "
            "error or stimulus bootstrap) of each score. A benchmark separates when the interval lies above 0 for "
            "every network scored on it. The stimulus term is not paired between the trained and the random networks (conservative).",
            "",
            *lines,
            "",
            *(reasons or ["Every benchmark separates."]),
            "",
            f"Scoring time: {seconds / 60:.1f} min (sum over models) on {threads} torch thread(s), on a machine shared "
            f"with other jobs. Versions: {versions}.",
            "Written by `python -m analyses.neural.reliability`; per-model rows in RESULTS_reliability.csv.",
            "",
        ]
    )


def not_separating(path: Path = RESULTS_DIR / CSV) -> dict[str, str]:
    """``{benchmark: reason}`` of the benchmarks the committed report (``path``, its per-model rows) finds
    not separating trained from random networks; empty when the report does not exist."""
    if not path.is_file():
        return {}
    frame = separation(pd.read_csv(path))
    failing = frame[frame["verdict"] == NOT_SEPARATING].drop_duplicates("benchmark")
    return dict(zip(failing["benchmark"], failing["reason"]))


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="folder of the two result files")
    parser.add_argument(
        "--add",
        action="store_true",
        help="add the new rows to the csv in --out (replacing rows of the same model and benchmark)",
    )


def write(args: argparse.Namespace, config: ReliabilityConfig) -> None:
    """Score ``config`` and write the csv (per model; with ``--add`` merged into the csv in ``--out``) and the
    Markdown report."""
    from neuroequi.io import write_result_files

    table = scores(config)
    if args.add and (args.out / CSV).is_file():
        table = pd.concat([pd.read_csv(args.out / CSV), table]).drop_duplicates(
            ["architecture", "model", "benchmark"], keep="last"
        )
    write_result_files(args.out, Path(CSV).stem, table, markdown(table, config.threads))


def main(argv: list[str] | None = None) -> int:
    """Parse ``key=value`` settings, ``--out`` and ``--add``; score and write (:func:`write`). A bad setting
    or a failed score is one line on stderr, exit code 2."""
    from neuroequi.cli import run_script

    prog = "python -m analyses.neural.reliability"
    return run_script(ReliabilityConfig, prog, __doc__.splitlines()[0], argv, write, _arguments)


if __name__ == "__main__":
    sys.exit(main())
