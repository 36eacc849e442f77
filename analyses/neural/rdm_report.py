"""A trained model vs its random-weight controls on the RDM benchmarks (human fMRI and monkey IT).

Command (rewrites the committed result files beside this module)::

    python -m analyses.neural.rdm_report [seeds=[0,1,...]] [trained=NAME] [random=NAME] [--out DIR]

Every score is computed by the benchmark's Brain-Score class
(:func:`analyses.neural.load_benchmark`, :func:`analyses.neural.run_benchmark`)
on a fresh ``ModelCommitment`` of a zoo model: ``trained`` (default the
supervised CIFAR ResNet-20) and ``random`` with its weights drawn under each of
``seeds`` (seed 0 is the catalogue's own random entry; other seeds are the same
entry re-seeded, named ``<random>-seed<k>``).

Files:

* ``RESULTS_rdm.csv``: one row per (model, seed, benchmark), columns :data:`COLUMNS`.
  ``score``: the benchmark's score (Coggan2024: Brain-Score's ceiled
  ``(r / ceiling)^2``, which drops the sign of ``r``; Kriegeskorte/Kiani:
  unceiled Spearman rho). ``raw``: the score's ``attrs['raw']`` (Coggan2024: mean
  over subjects of the Pearson r, sign kept). ``raw_subject_sd``: the sd over
  subjects of the per-subject r (Coggan2024 only).
* ``RESULTS_rdm.md``: per benchmark, trained vs random (mean and sd over seeds,
  how many seeds reach the trained model's raw r), and the package versions.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from analyses.neural.coggan2024 import COGGAN_BENCHMARKS

#: Benchmarks of the report, in table order.
BENCHMARKS = (*COGGAN_BENCHMARKS, "Kriegeskorte2008.hIT-rdm", "Kiani2007.IT-rdm")
COLUMNS = (
    "model",
    "weights",
    "seed",
    "identifier",
    "benchmark",
    "score",
    "raw",
    "ceiling",
    "raw_subject_sd",
    "n_subjects",
)
RESULTS_DIR = Path(__file__).resolve().parent
CEILING_NOTE = (
    "Ceiling: NaN = unceiled (score = raw). Coggan2024 scores are Brain-Score's (r / ceiling)^2, "
    "clipped to [0, 1], so a negative r gives a positive score; raw r keeps the sign."
)


@dataclass(frozen=True)
class RDMReportConfig:
    """What :func:`report` scores: ``trained`` and ``random`` are zoo names; ``seeds`` the random draws."""

    trained: str = "cifar-resnet20-supervised"
    random: str = "cifar-resnet20-random"
    seeds: tuple[int, ...] = tuple(range(10))
    benchmarks: tuple[str, ...] = BENCHMARKS
    threads: int = 1


def reseeded_entry(name: str, seed: int):
    """The zoo's random-weight entry ``name`` re-seeded with ``seed`` (itself where that is its seed)."""
    from model_zoo.catalogue import WeightsSource, get_entry
    from neuroequi.errors import ConfigError

    entry = get_entry(name)
    if entry.source.kind != "init":
        raise ConfigError(
            f"random={name!r}: model {name!r} is not a random initialisation (source {entry.source.kind!r})"
        )
    if int(entry.source.location) == seed:
        return entry
    return replace(
        entry,
        name=f"{name}-seed{seed}",
        source=WeightsSource("init", str(seed)),
        notes=f"{entry.name} with torch.manual_seed({seed})",
    )


def score_rows(entry, weights: str, seed: int | None, benchmarks: tuple[str, ...]) -> list[dict]:
    """One row (:data:`COLUMNS`) per benchmark for zoo entry ``entry``, scored by Brain-Score's classes."""
    from analyses.neural import load_benchmark, run_benchmark
    from model_zoo import load
    from model_zoo.brainscore import commitment

    candidate = commitment(load(entry))
    rows = []
    for name in benchmarks:
        score = run_benchmark(load_benchmark(name), candidate)
        raw = score.attrs.get("raw", score)
        per_subject = np.asarray(getattr(raw, "attrs", {}).get("raw", []), dtype=float)
        ceiling = score.attrs.get("ceiling")
        rows.append(
            {
                "model": entry.name,
                "weights": weights,
                "seed": seed,
                "identifier": candidate.identifier,
                "benchmark": name,
                "score": float(score.values),
                "raw": float(np.asarray(raw)),
                "ceiling": float(np.asarray(ceiling)) if ceiling is not None else np.nan,
                "error": float(score.attrs.get("error", np.nan)),
                "raw_subject_sd": float(per_subject.std(ddof=1)) if per_subject.size > 1 else np.nan,
                "n_subjects": int(per_subject.size),
            }
        )
    return rows


def report(config: RDMReportConfig) -> pd.DataFrame:
    """The table of :data:`COLUMNS`: ``trained`` once, ``random`` once per seed, on every benchmark."""
    import torch

    from neuroequi.io import progress

    from analyses.neural import place_stimuli_on_screen
    from model_zoo.catalogue import get_entry

    if not config.seeds:
        from neuroequi.errors import ConfigError

        raise ConfigError("seeds: give at least one random-weight seed, e.g. seeds=[0,1,2]")
    models = [(get_entry(config.trained), "trained", None)]
    models += [(reseeded_entry(config.random, seed), "random", seed) for seed in config.seeds]
    torch.set_num_threads(config.threads)
    place_stimuli_on_screen(config.benchmarks)
    rows = []
    for entry, weights, seed in progress(models, desc="models", unit="model"):
        rows += score_rows(entry, weights, seed, config.benchmarks)
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    table["seed"] = table["seed"].astype("Int64")  # empty for the trained model
    return table


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per benchmark: trained score and raw; random mean and sd over seeds; seeds with raw >= trained raw."""
    out = []
    for name, rows in table.groupby("benchmark", sort=False):
        trained = rows[rows["weights"] == "trained"].iloc[0]
        random = rows[rows["weights"] == "random"]
        out.append(
            {
                "benchmark": name,
                "ceiling": trained["ceiling"],
                "trained score": trained["score"],
                "trained raw": trained["raw"],
                "random score mean": random["score"].mean(),
                "random score sd": random["score"].std(ddof=1),
                "random raw mean": random["raw"].mean(),
                "random raw sd": random["raw"].std(ddof=1),
                "random seeds": len(random),
                "seeds raw >= trained": int((random["raw"] >= trained["raw"]).sum()),
            }
        )
    return pd.DataFrame(out)


def markdown(table: pd.DataFrame, config: RDMReportConfig) -> str:
    """The summary as a markdown table, with the models, seeds and package versions."""
    from neuroequi.io import package_versions

    s = summary(table)
    header = (
        "| benchmark | ceiling | trained: score | trained: raw r | random: score (mean ± sd) "
        "| random: raw r (mean ± sd) | random seeds with raw r ≥ trained |"
    )
    lines = [header, "|---|---|---|---|---|---|---|"]
    for _, r in s.iterrows():
        lines.append(
            f"| `{r['benchmark']}` | {r['ceiling']:.3f} | {r['trained score']:.3f} | {r['trained raw']:+.3f} "
            f"| {r['random score mean']:.3f} ± {r['random score sd']:.3f} "
            f"| {r['random raw mean']:+.3f} ± {r['random raw sd']:.3f} "
            f"| {r['seeds raw >= trained']} of {r['random seeds']} |"
        )
    versions = ", ".join(f"{k} {v}" for k, v in package_versions("brainscore_vision").items())
    seeds = ", ".join(str(s) for s in config.seeds)
    return "\n".join(
        [
            f"Trained: `{config.trained}`; random: `{config.random}` re-seeded with seeds {seeds}.",
            CEILING_NOTE,
            "",
            *lines,
            "",
            f"Versions: {versions}.",
            "Written by `python -m analyses.neural.rdm_report`; per-run rows in RESULTS_rdm.csv.",
            "",
        ]
    )


def _out_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="folder of the two result files")


def write(args: argparse.Namespace, config: RDMReportConfig) -> None:
    """Score ``config`` and write ``RESULTS_rdm.csv`` and ``RESULTS_rdm.md`` in ``--out``."""
    from neuroequi.io import write_result_files

    table = report(config)
    write_result_files(args.out, "RESULTS_rdm", table, markdown(table, config))


def main(argv: list[str] | None = None) -> int:
    """Parse ``key=value`` settings and ``--out``; score and write (:func:`write`). A bad setting or a failed
    score is one line on stderr, exit code 2."""
    from neuroequi.cli import run_script

    prog = "python -m analyses.neural.rdm_report"
    return run_script(RDMReportConfig, prog, __doc__.splitlines()[0], argv, write, _out_argument)


if __name__ == "__main__":
    sys.exit(main())
