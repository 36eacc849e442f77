"""Pool Figure-1 tables of the same preset written by separate runs (other seeds, other machines).

::

    python -m figures.figure1.combine figures/figure1.csv figures/figure1_rerun/figure1.csv --out figures

reads each table with the run record beside it (``figure1_run.json``), checks that they share the
preset's settings and λ grid and have distinct seeds, and writes the pooled outputs to ``--out``
(``figure1.csv``, ``figure1_claims.csv``, ``figure1_caption.md``, ``figure1_run.json``, the figure).
The pool's seed rows are the runs' seed rows; its aggregated rows follow the same rule as a run's:
the seed term from all pooled seeds, the image term from the runs' image terms, which are

* **shared** where every run saw the same images or stimuli (panels 2-5, RDM benchmarks): their
  image deviations are correlated; the pooled SD is taken as the seed-weighted mean of the runs'
  SDs, its value for perfectly correlated runs, an upper bound;
* **independent** for PLS benchmarks (Brain-Score's split error is drawn per model): the
  seed-weighted root sum of squares.

Tables written before the image terms were columns of the table give them back exactly from their
aggregated intervals (:func:`upgrade`: the interval minus the seed term of the seed bootstrap those
runs used). A benchmark whose seed rows carry no within-seed interval (RDM benchmarks scored before
the stimulus bootstrap existed) is kept in the table but out of the tests, with that reason, and so is
one the reliability report finds not separating trained from random networks. The runs
are the two independent halves for replication (:func:`figures.figure1.inference.claims`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm
from scipy.stats import t as student_t

from figures.figure1.inference import shared_images
from figures.figure1.table import RAW_SUFFIX, claims_path, finish_table, read_table, untestable
from figures.plot import TABLE_COLUMNS
from neuroequi.errors import ConfigError
from neuroequi.io import atomic_write

TERMS = ("se_seeds", "se_images", "effect_se_seeds", "effect_se_images")


def legacy_seed_sd(points: np.ndarray, n_boot: int, seed: int) -> float:
    """The seed term of tables written before :func:`figures.figure1.seeds.seed_terms`: the SD of ``n_boot``
    means of the seeds resampled with replacement (positions from ``default_rng([seed, S])``), their spread
    scaled by ``sqrt(S / (S−1))``."""
    n = len(points)
    draws = np.random.default_rng([seed, n]).integers(0, n, size=(n_boot, n))
    scaled = points.mean() + np.sqrt(n / (n - 1)) * (points - points.mean())
    return float(np.std(scaled[draws].mean(axis=1), ddof=1))


def _image_sd(low: float, high: float, sd_seeds: float, n: int) -> float:
    """The image SD of an interval ``mean ± sqrt((t·sd_seeds)² + (z·sd_images)²)`` (0 when it is the seed term alone)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return 0.0
    half = (high - low) / 2
    rest = half**2 - (student_t.ppf(0.975, n - 1) * sd_seeds) ** 2
    return float(np.sqrt(max(rest, 0.0)) / norm.ppf(0.975))


def upgrade(table: pd.DataFrame, n_boot: int, seed: int) -> pd.DataFrame:
    """``table`` with the interval terms as columns (:data:`TERMS`), recovered from its aggregated intervals for
    a table written before they were columns (``n_boot`` and the analysis ``seed`` of its run record)."""
    if all(c in table for c in TERMS):
        return table
    table = table.copy()
    for c in TERMS:
        table[c] = np.nan
    seeds = table[table["seed"] != "all"]
    for index, row in table[table["seed"] == "all"].iterrows():
        per_seed = seeds[(seeds["quantity"] == row["quantity"]) & (seeds["lambda_"] == row["lambda_"])]
        n = len(per_seed)
        for prefix, column, low, high in (
            ("", "value", "ci_low", "ci_high"),
            ("effect_", "effect", "effect_low", "effect_high"),
        ):
            sd_seeds = legacy_seed_sd(per_seed[column].to_numpy(dtype=float), n_boot, seed)
            table.loc[index, f"{prefix}se_seeds"] = np.std(per_seed[column], ddof=1) / np.sqrt(n)
            table.loc[index, f"{prefix}se_images"] = _image_sd(row[low], row[high], sd_seeds, n)
    return table


def pool(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """The pooled table (before :func:`figures.figure1.table.finish_table`) of upgraded ``tables``."""
    from analyses.hierarchical import combined_interval

    seed_rows = pd.concat([t[t["seed"] != "all"] for t in tables], ignore_index=True)
    duplicated = seed_rows.duplicated(["quantity", "lambda_", "seed"])
    if duplicated.any():
        raise ConfigError(
            f"figure1 combine: seed {seed_rows.loc[duplicated, 'seed'].iloc[0]} is in more than one "
            "table; pool runs of distinct seeds"
        )
    means = [t[t["seed"] == "all"].set_index(["quantity", "lambda_"]) for t in tables]
    keys = means[0].index
    if any(not m.index.sort_values().equals(keys.sort_values()) for m in means):
        raise ConfigError("figure1 combine: the tables hold different quantities or λ grids (same preset needed)")
    rows = []
    for (quantity, lam), first in means[0].iterrows():
        per_seed = seed_rows[(seed_rows["quantity"] == quantity) & (seed_rows["lambda_"] == lam)]
        n = len(per_seed)
        weights = np.array([m.loc[(quantity, lam), "n_seeds"] for m in means], dtype=float) / n
        row = {**first.to_dict(), "quantity": quantity, "lambda_": lam, "seed": "all", "n_seeds": n}
        for prefix, column, low, high in (
            ("", "value", "ci_low", "ci_high"),
            ("effect_", "effect", "effect_low", "effect_high"),
        ):
            images = weights * np.array([m.loc[(quantity, lam), f"{prefix}se_images"] for m in means])
            sd_images = float(images.sum() if shared_images(quantity) else np.sqrt((images**2).sum()))
            sd_seeds = float(np.std(per_seed[column], ddof=1) / np.sqrt(n))
            mean = float(per_seed[column].mean())
            interval = (
                (np.nan, np.nan)
                if sd_seeds == 0 and sd_images == 0
                else combined_interval(mean, sd_seeds, sd_images, n)
            )
            row |= {
                column: mean,
                low: interval[0],
                high: interval[1],
                f"{prefix}se_seeds": sd_seeds,
                f"{prefix}se_images": sd_images,
            }
        later = lam > min(means[0].index.get_level_values("lambda_"))
        row["excludes_zero"] = ("yes" if row["effect_low"] > 0 or row["effect_high"] < 0 else "no") if later else ""
        rows.append(row)
    return pd.concat([seed_rows, pd.DataFrame(rows)], ignore_index=True)


def finished(table: pd.DataFrame, excluded: dict[str, str]) -> pd.DataFrame:
    """:func:`figures.figure1.table.finish_table` of a table that may lack the columns it computes."""
    for column in TABLE_COLUMNS:
        if column not in table:
            table[column] = "" if column in ("survives", "tested") else np.nan
    return finish_table(table, excluded)


def combine(paths: list[Path], out_dir: Path) -> Path:
    """Pool the tables at ``paths`` (each with its run record) into ``out_dir``; the pooled table's path."""
    from figures.figure1.caption import caption
    from figures.figure1.config import preset
    from figures.figure1.inference import claims
    from figures.figure1.pipeline import model_prefix, output_stem, separation_exclusions
    from figures.figure1.readme import run_record_path
    from figures.plot import draw_figure1

    if len(paths) < 2:
        raise ConfigError("figure1 combine: give at least two tables to pool")
    records, tables = [], []
    for path in paths:
        record = run_record_path(path)
        if not path.is_file() or not record.is_file():
            raise ConfigError(f"figure1 combine: {path} and its run record {record} must both exist")
        records.append(json.loads(record.read_text()))
        tables.append(upgrade(read_table(path), records[-1]["n_boot"], records[-1]["analysis_seed"]))
    settings = [
        {
            k: v
            for k, v in r.items()
            if k
            in (
                "mode",
                "objective",
                "lambdas",
                "n_images",
                "K",
                "n_boot",
                "analysis_seed",
                "base_config",
                "train_overrides",
            )
        }
        for r in records
    ]
    if any(s != settings[0] for s in settings):
        raise ConfigError(
            f"figure1 combine: the runs' settings differ: {settings[0]} vs "
            f"{next(s for s in settings if s != settings[0])}"
        )
    pooled = pool(tables)
    benchmarks = {q.removesuffix(RAW_SUFFIX) for q in pooled.loc[pooled["panel"] == 1, "quantity"]}
    excluded = untestable(pooled) | separation_exclusions(benchmarks)
    table = finished(pooled, excluded)
    halves = tuple(finished(t.copy(), excluded) for t in tables[:2]) if len(tables) == 2 else None
    tests = claims(table, halves)
    first = records[0]
    config = preset(
        first["mode"],
        [
            f"seeds={json.dumps(sorted({s for r in records for s in r['seeds']}))}",
            f"n_images={first['n_images']}",
            f"K={first['K']}",
            f"n_boot={first['n_boot']}",
            f"seed={first['analysis_seed']}",
            f"train={json.dumps(recorded_train(first['train_overrides']))}",  # as the runs trained, not today's preset
        ],
    )
    stem = output_stem(config, out_dir)
    with atomic_write(stem.with_suffix(".csv")) as tmp:
        table.to_csv(tmp, index=False)
    with atomic_write(claims_path(stem)) as tmp:
        tests.to_csv(tmp, index=False)
    draw_figure1(
        table,
        stem,
        title=f"TeSSL ({first['objective']}) λ sweep — {first['mode']} mode, "
        f"{len(config.seeds)} seeds pooled from {len(paths)} runs",
    )
    elapsed = sum(r["elapsed_s"] for r in records)
    record = {
        **first,
        "seeds": list(config.seeds),
        "elapsed_s": elapsed,
        "jobs": {k: v for r in records for k, v in r["jobs"].items()},
        "not_separating": excluded,
        "pooled_from": [str(p) for p in paths],
    }
    # the runs' checkpoints are not here: their models by the start of their content names
    models = {(lam, s): model_prefix(config, lam, s) for lam in config.lambdas for s in config.seeds}
    text = caption(config, table, models, first.get("not_scored", {}), elapsed, tests, excluded)
    text = text.replace(
        "Total wall time of this run", f"Pooled from {', '.join(map(str, paths))}. Total wall time of these runs"
    )
    with atomic_write(stem.with_name(stem.name + "_caption.md")) as tmp:
        tmp.write_text(text)
    with atomic_write(run_record_path(stem.with_suffix(".csv"))) as tmp:
        tmp.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    return stem.with_suffix(".csv")


def recorded_train(overrides: list[str]) -> dict:
    """The ``train`` section a run record's ``train_overrides`` (``["a.b=value", ...]``, values YAML) spell."""
    import yaml

    train: dict = {}
    for item in overrides:
        key, _, value = item.partition("=")
        *parents, leaf = key.split(".")
        section = train
        for name in parents:
            section = section.setdefault(name, {})
        section[leaf] = yaml.safe_load(value)
    return train


def main(argv: list[str] | None = None) -> int:
    """``python -m figures.figure1.combine TABLE TABLE ... --out DIR``."""
    from neuroequi.cli import report

    parser = argparse.ArgumentParser(prog="python -m figures.figure1.combine", description=__doc__.splitlines()[0])
    parser.add_argument("tables", type=Path, nargs="+", help="figure1.csv of each run (run record beside it)")
    parser.add_argument("--out", type=Path, required=True, help="where the pooled outputs go")
    args = parser.parse_args(argv)
    try:
        print(combine(args.tables, args.out))
    except ConfigError as err:
        return report(err)
    return 0


if __name__ == "__main__":
    sys.exit(main())
