"""The tidy Figure-1 table: per quantity and λ, one row per training seed and one aggregated row.

Columns (:data:`figures.plot.TABLE_COLUMNS`):

* ``panel`` 1..5, ``quantity`` (stable id), ``label`` (the exact quantity), ``lambda_``;
* ``seed``: the training seed of the row (``"0"``, ``"1"``, ...) or ``"all"`` for the
  aggregated row (mean over seeds);
* ``value``, ``ci_low``, ``ci_high``: a seed row's value with its within-seed 95%
  interval (images resampled, or Brain-Score's error; NaN where there is none), or
  the mean over seeds with its interval over seeds and images or Brain-Score's error
  (a two-level bootstrap with a small-sample t correction: :mod:`figures.figure1.seeds`);
* ``n`` images per model (panels 2-5), ``n_seeds`` seeds behind the row;
* ``effect``, ``effect_low``, ``effect_high``: ``value(λ) − value(λ=0)``, paired by seed
  (and by image); the interval on aggregated rows only. For the ΔD_B quantities,
  already differences to λ=0, the effect is the value;
* ``excludes_zero``: on aggregated rows with λ > 0, ``yes`` when the effect's interval
  excludes 0 (the effect is distinguishable from seed and image noise), else ``no``;
* ``in_figure``: whether the figure draws the quantity (the raw, unceiled score of a
  ceiled benchmark, ``<benchmark>:raw``, is in the table only);
* ``se_seeds``, ``se_images``, ``effect_se_seeds``, ``effect_se_images`` (aggregated rows):
  the two terms of the value's and the effect's interval (:func:`figures.figure1.seeds.seed_terms`);
* ``p_value``, ``survives`` (aggregated rows, λ > 0): the effect's p-value under the
  interval rule and whether it survives Holm's correction over the family of tests
  (:mod:`figures.figure1.inference`; ``excludes_zero`` is the uncorrected 95% interval);
* ``tested`` (panel 1): ``no`` for a benchmark kept out of the tests: one the reliability
  report (:mod:`analyses.neural.reliability`) finds not separating trained from random
  networks, or one whose rows lack a within-seed (stimulus) term.

The seeds of the table are the pool: this run's and every earlier run's of the same
settings in the same results folder (:func:`complete_seeds`); tables written elsewhere are
pooled by :mod:`figures.figure1.combine`.

Built from what the evaluation jobs saved per model: ``replicates.nc`` (panels 2-5,
:func:`figures.figure1.seeds.model_replicates`) and the benchmark scores (JSON).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from figures.figure1.config import Figure1Config
from figures.figure1.inference import family
from figures.figure1.seeds import percentile_interval, score_replicates, seed_interval, seed_terms
from figures.plot import TABLE_COLUMNS
from neuroequi.io import format_lambda, json_float

#: Panel 2-5 quantities of the table: id -> (panel, the per-model quantity it is made from, is a ΔD_B).
MEASURE_QUANTITIES = {
    "delta_shared_variability": (2, "shared_variability"),
    "decoding_r_mean": (3, "decoding_r_mean"),
    "delta_content_augmentation_factorization": (4, "content_augmentation_factorization"),
    "delta_crop_photometric_factorization": (5, "crop_photometric_factorization"),
}
DECODING_GROUPS = ("crop_x", "crop_w", "brightness", "saturation", "flip")
MEASURE_LABELS = {
    "shared_variability": "D_B(Σ_aug(x_i), Σ_aug(x_j)), same K augmentations on both images; mean over image pairs",
    "content_augmentation_factorization": "D_B(Σ_aug(x), Σ_content); mean over images",
    "crop_photometric_factorization": "D_B(Σ_crop(x), Σ_photo(x)); mean over images",
    "decoding_r": "Pearson r, held-out images, ridge h(t(x)) → {parameter}",
}
RAW_SUFFIX = ":raw"
ReplicateSet = dict[tuple[float, int], tuple[float, np.ndarray]]


def lam_tag(lam: float) -> str:
    """File-name tag of a λ value: 0 -> 'lam0', 0.001 -> 'lam0.001'."""
    return f"lam{format_lambda(lam)}"


def run_tag(lam: float, seed: int) -> str:
    """File-name tag of one model: λ 0.1, seed 2 -> 'lam0.1-seed2'."""
    return f"{lam_tag(lam)}-seed{seed}"


def analysis_dir(root: Path, lam: float, seed: int) -> Path:
    """The analysis folder of the ``(lam, seed)`` model."""
    return root / "analyses" / run_tag(lam, seed)


def analysis_marker(root: Path, lam: float, seed: int) -> Path:
    """The file that says the analysis of ``(lam, seed)`` is finished (a copy of its measures table)."""
    return analysis_dir(root, lam, seed) / "figure1_measures.csv"


def replicates_path(root: Path, lam: float, seed: int) -> Path:
    """The within-seed bootstrap replicates of the ``(lam, seed)`` model (:mod:`figures.figure1.seeds`)."""
    return analysis_dir(root, lam, seed) / "replicates.nc"


def score_path(root: Path, lam: float, seed: int, benchmark: str) -> Path:
    """Where the score of the ``(lam, seed)`` model on ``benchmark`` is saved."""
    return root / "scores" / run_tag(lam, seed) / f"{benchmark}.json"


def claims_path(stem: Path) -> Path:
    """The family of tests written beside a table: ``figure1.csv`` (stem ``figure1``) -> ``figure1_claims.csv``."""
    return stem.with_name(stem.name + "_claims.csv")


def decoding_quantities() -> dict[str, tuple[int, str]]:
    """The single-parameter decoding rows of panel 3 (same layout as :data:`MEASURE_QUANTITIES`)."""
    return {f"decoding_r[{p}]": (3, f"decoding_r[{p}]") for p in DECODING_GROUPS}


def aggregate(
    quantity: str,
    panel: int,
    label: str,
    values: ReplicateSet,
    lambdas: tuple[float, ...],
    seeds: tuple[int, ...],
    *,
    n: float = np.nan,
    in_figure: bool = True,
) -> list[dict]:
    """The rows of one quantity: per λ, one row per seed and the aggregated row (see the module docstring).

    Args:
        values: ``{(λ, seed): (point value, within-seed replicates (B,))}`` for every λ and seed;
            replicates of different models with the same index come from the same resample.
        lambdas, seeds: the λ grid (the first is the baseline) and the training seeds of the table.
    """
    baseline = lambdas[0]
    rows = []
    base = np.stack([values[baseline, s][1] for s in seeds])
    for lam in lambdas:
        points = np.array([values[lam, s][0] for s in seeds])
        reps = np.stack([values[lam, s][1] for s in seeds])
        effects = points - np.array([values[baseline, s][0] for s in seeds])
        common = {
            "panel": panel,
            "quantity": quantity,
            "label": label,
            "lambda_": lam,
            "n": n,
            "in_figure": in_figure,
            "tested": "",
        }
        for i, seed in enumerate(seeds):
            low, high = percentile_interval(reps[i])
            rows.append(
                {
                    **common,
                    "seed": str(seed),
                    "value": points[i],
                    "ci_low": low,
                    "ci_high": high,
                    "n_seeds": 1,
                    "effect": effects[i],
                    "effect_low": np.nan,
                    "effect_high": np.nan,
                    "excludes_zero": "",
                    "se_seeds": np.nan,
                    "se_images": np.nan,
                    "effect_se_seeds": np.nan,
                    "effect_se_images": np.nan,
                    "p_value": np.nan,
                    "survives": "",
                }
            )
        low, high = seed_interval(points, reps)
        effect_low, effect_high = seed_interval(effects, reps - base)
        se_seeds, se_images = seed_terms(points, reps)
        effect_se_seeds, effect_se_images = seed_terms(effects, reps - base)
        excludes = "" if lam == baseline else ("yes" if effect_low > 0 or effect_high < 0 else "no")
        rows.append(
            {
                **common,
                "seed": "all",
                "value": points.mean(),
                "ci_low": low,
                "ci_high": high,
                "n_seeds": len(seeds),
                "effect": effects.mean(),
                "effect_low": effect_low,
                "effect_high": effect_high,
                "excludes_zero": excludes,
                "se_seeds": se_seeds,
                "se_images": se_images,
                "effect_se_seeds": effect_se_seeds,
                "effect_se_images": effect_se_images,
                "p_value": np.nan,
                "survives": "",
            }
        )
    return rows


def measure_rows(config: Figure1Config, root: Path, seeds: tuple[int, ...]) -> list[dict]:
    """Panel 2-5 rows from every model's ``replicates.nc`` (ΔD_B: the difference to λ=0, same seed and images)."""
    data = {
        (lam, s): xr.load_dataset(replicates_path(root, lam, s), engine="h5netcdf")
        for lam in config.lambdas
        for s in seeds
    }
    first = data[config.lambdas[0], seeds[0]]
    if any(not np.array_equal(d.coords["image"].values, first.coords["image"].values) for d in data.values()):
        raise ValueError(f"figure1 models under {root} were analysed on different images; rerun their analyses")
    n = float(first.sizes["image"])
    rows = []
    for quantity, (panel, source) in {**MEASURE_QUANTITIES, **decoding_quantities()}.items():
        if source not in first:
            continue
        values: ReplicateSet = {key: (float(d[source].attrs["value"]), d[source].values) for key, d in data.items()}
        if quantity.startswith("delta_"):
            base = {s: values[config.lambdas[0], s] for s in seeds}
            values = {(lam, s): (v - base[s][0], reps - base[s][1]) for (lam, s), (v, reps) in values.items()}
            label = f"ΔD_B = {MEASURE_LABELS[source]}, model(λ) − model(λ=0) of the same seed, same images"
        elif quantity == "decoding_r_mean":
            label = f"mean over the decoded parameters of {MEASURE_LABELS['decoding_r'].format(parameter='parameter')}"
        else:
            label = MEASURE_LABELS["decoding_r"].format(parameter=quantity[len("decoding_r[") : -1])
        rows += aggregate(quantity, panel, label, values, config.lambdas, seeds, n=n)
    return rows


def ceiling_text(result: dict) -> str:
    """``, noise ceiling 0.372–0.666`` (lower–upper bound) of a saved score with both bounds (the subject-level
    benchmarks, :mod:`analyses.neural.benchmarks.kriegeskorte2008.subjects`); empty otherwise."""
    ceiling, upper = float(result.get("ceiling", np.nan)), float(result.get("ceiling_upper", np.nan))
    return f", noise ceiling {ceiling:.3f}–{upper:.3f}" if np.isfinite(ceiling) and np.isfinite(upper) else ""


def within_seed(result: dict, n_boot: int, seed: tuple[int, ...]) -> np.ndarray:
    """Within-seed replicates of a saved score: its stimulus-bootstrap ``replicates`` (RDM benchmarks; the same
    stimulus resamples for every model, so paired), else draws from Brain-Score's error (:func:`score_replicates`)."""
    if "replicates" in result:
        return np.asarray(result["replicates"], dtype=float)
    return score_replicates(float(result["score"]), json_float(result["error"]), n_boot, seed=seed)


def score_rows(config: Figure1Config, root: Path, benchmarks: tuple[str, ...], seeds: tuple[int, ...]) -> list[dict]:
    """Panel-1 rows of every benchmark (and ``<benchmark>:raw`` for ceiled ones, table only)."""
    rows = []
    for b, bench in enumerate(benchmarks):
        results = {
            (lam, s): json.loads(score_path(root, lam, s, bench).read_text()) for lam in config.lambdas for s in seeds
        }
        ceiled = not str(next(iter(results.values()))["ceiling_formula"]).startswith("none")
        values: ReplicateSet = {
            (lam, s): (float(r["score"]), within_seed(r, config.n_boot, (config.seed, b, s, config.lambdas.index(lam))))
            for (lam, s), r in results.items()
        }
        label = f"{bench} (ceiled{ceiling_text(next(iter(results.values())))})" if ceiled else bench
        rows += aggregate(bench, 1, label, values, config.lambdas, seeds)
        if ceiled:
            raw: ReplicateSet = {
                key: (float(r["raw"]), np.full(config.n_boot, float(r["raw"]))) for key, r in results.items()
            }
            rows += aggregate(
                bench + RAW_SUFFIX,
                1,
                f"{bench}, raw score before the ceiling (sign kept)",
                raw,
                config.lambdas,
                seeds,
                in_figure=False,
            )
    return rows


def complete_seeds(
    config: Figure1Config, root: Path, benchmarks: tuple[str, ...], earlier: tuple[int, ...] = ()
) -> tuple[int, ...]:
    """The pool: ``config.seeds`` and every seed of ``earlier`` (those an earlier run of the same settings
    pooled in ``root``; :func:`figures.figure1.pipeline.earlier_pool`) whose models are all evaluated
    under ``root``, sorted."""
    extra = {
        s
        for s in set(earlier) - set(config.seeds)
        if all(
            replicates_path(root, lam, s).is_file() and all(score_path(root, lam, s, b).is_file() for b in benchmarks)
            for lam in config.lambdas
        )
    }
    return tuple(sorted({*config.seeds, *extra}))


def build_table(
    config: Figure1Config,
    root: Path,
    benchmarks: tuple[str, ...],
    seeds: tuple[int, ...] | None = None,
    excluded: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The tidy Figure-1 table (module docstring) from the per-model replicates and scores under ``root``.

    Args:
        seeds: the training seeds to pool (default: ``config.seeds``).
        excluded: benchmarks kept out of the family of tests, with the reason (``tested`` = ``no``):
            those that do not separate trained from random networks.
    """
    seeds = config.seeds if seeds is None else seeds
    rows = measure_rows(config, root, seeds) + score_rows(config, root, benchmarks, seeds)
    return finish_table(pd.DataFrame(rows), excluded or {})


def finish_table(table: pd.DataFrame, excluded: dict[str, str]) -> pd.DataFrame:
    """Column order, row order, ``tested`` of panel-1 rows, and the family's ``p_value`` and ``survives``
    (Holm's step-down, :func:`figures.figure1.inference.family`) on the aggregated effect rows."""
    table = table[list(TABLE_COLUMNS)].copy()
    benchmark = table["quantity"].str.removesuffix(RAW_SUFFIX)
    table["tested"] = np.where(table["panel"] == 1, np.where(benchmark.isin(list(excluded)), "no", "yes"), "")
    tests = family(table)
    effects = tests[tests["test"] == "effect"].set_index(["quantity", "lambda_"])
    keys = pd.MultiIndex.from_frame(table[["quantity", "lambda_"]])
    aggregated = (table["seed"] == "all").to_numpy()
    table["p_value"] = np.where(aggregated, effects["p_value"].reindex(keys).to_numpy(), np.nan)
    table["survives"] = np.where(
        aggregated & (table["lambda_"] > table["lambda_"].min()).to_numpy(),
        effects["survives"].reindex(keys).fillna("").to_numpy(),
        "",
    )
    seeds = sorted({s for s in table["seed"] if s != "all"}, key=int)
    order = {s: i for i, s in enumerate([*seeds, "all"])}
    return table.sort_values(
        ["panel", "quantity", "lambda_", "seed"], key=lambda c: c.map(order) if c.name == "seed" else c, kind="stable"
    ).reset_index(drop=True)


def read_table(path: Path) -> pd.DataFrame:
    """A saved Figure-1 table, exactly as it was written (floats round-trip; seed and excludes_zero as text)."""
    text = {"seed": str, "excludes_zero": str, "tested": str, "survives": str}
    return pd.read_csv(path, dtype=text, float_precision="round_trip").fillna({c: "" for c in text if c != "seed"})


NO_STIMULUS_TERM = (
    "its rows pooled from runs scored before the stimulus bootstrap carry no within-seed "
    "(stimulus) term, so their intervals are too narrow to test"
)


def untestable(table: pd.DataFrame) -> dict[str, str]:
    """Panel-1 benchmarks whose seed rows carry no within-seed interval, with :data:`NO_STIMULUS_TERM`."""
    seeds = table[(table["seed"] != "all") & (table["panel"] == 1) & table["in_figure"].astype(bool)]
    empty = seeds.groupby("quantity")["ci_low"].apply(lambda c: c.isna().all())
    return {q.removesuffix(RAW_SUFFIX): NO_STIMULUS_TERM for q in empty[empty].index}
