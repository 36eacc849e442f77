"""What the Figure-1 table may claim: one family of tests, Holm's correction, trends over λ, replication, power.

**The family** (:func:`family`): for every quantity the text reports (each neural benchmark that
separates trained from random networks, the mean decoding r and the three ΔD_B; see
:func:`summary_rows`), its effect vs λ=0 at every λ > 0 *and* its trend
over λ. Every test uses the table's interval rule, ``estimate ± sqrt((t·SE_seeds)² + (z·SD_images)²)``
(:func:`analyses.hierarchical.combined_interval`); its p-value is the smallest α whose ``1 − α``
interval of that form still excludes 0 (:func:`rule_p_value`).

**The correction**: Holm's step-down at α = 0.05 over the whole family (:func:`holm`). Holm, not
Benjamini–Hochberg: a claim in the caption should be wrong with probability ≤ 5% *as a set*
(family-wise error), not only on average over claims, and Holm holds under any dependence between
the tests (these share seeds and images; BH needs positive dependence).

**The trend** (the paper's "monotone rise with λ"): per seed, the least-squares slope of the
quantity against the *rank* of λ (equal steps: 0, 0.001, 0.1, 0.2, 0.5 are not evenly spaced),
a fixed contrast ``Σ c_k value(λ_k)`` with ``Σ c_k = 0``, so per seed it is ``Σ_{k>0} c_k effect_k``;
seeds are the unit (SE of the mean of the per-seed slopes, t with ``S − 1`` degrees of freedom). Its
image term is bounded by ``Σ_{k>0} |c_k| · SD_images(effect_k)`` (the SD of a sum is at most the
sum of the SDs), so the trend's interval is, if anything, too wide.

**Replication** (:func:`replication`): a corrected effect is a *claim* only when an independent set
of seeds agrees: the effect survives Holm in a discovery set of seeds, and in a disjoint confirmation
set it has the same sign and survives Holm over the discovery set's survivors. Figure 1 splits its
pooled seeds into two halves (or uses the runs the pool was made of), lets either half discover and
the other confirm, and names only effects that survive in the pool *and* replicate.

:func:`rule_power` and :func:`expected_agreement` simulate the same rule: the chance of detecting an
effect, and the chance that a rerun's mean lands inside a run's interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.stats import norm
from scipy.stats import t as student_t

ALPHA = 0.05
TREND = "trend"
FAMILY_COLUMNS = (
    "panel",
    "quantity",
    "label",
    "test",
    "lambda_",
    "estimate",
    "low",
    "high",
    "se_seeds",
    "se_images",
    "n_seeds",
    "p_value",
    "survives",
)

#: The quantities the text reports besides the neural benchmarks, with their short names.
SHORT_NAMES = {
    "delta_shared_variability": "ΔD_B shared augmentation variability",
    "decoding_r_mean": "decoding r, mean over parameters",
    "delta_content_augmentation_factorization": "ΔD_B content/augmentation factorization",
    "delta_crop_photometric_factorization": "ΔD_B crop/photometric factorization",
}


def summary_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The aggregated rows the text reports: every panel-1 row, the mean decoding r and the three ΔD_B."""
    keep = (table["panel"] == 1) | table["quantity"].isin(list(SHORT_NAMES))
    return table[keep & (table["seed"] == "all")]


def shared_images(quantity: str) -> bool:
    """Whether separate runs share the image terms of ``quantity`` (:mod:`figures.figure1.combine`): all but the
    PLS benchmarks."""
    return "-pls" not in quantity


def half_width(se_seeds: float, se_images: float, n_seeds: int, alpha: float) -> float:
    """Half-width of the rule's ``1 − alpha`` interval: ``sqrt((t·se_seeds)² + (z·se_images)²)``."""
    q = 1 - alpha / 2
    return float(np.hypot(student_t.ppf(q, n_seeds - 1) * se_seeds, norm.ppf(q) * se_images))


def rule_p_value(estimate: float, se_seeds: float, se_images: float, n_seeds: int) -> float:
    """The smallest α at which the rule's ``1 − α`` interval excludes 0 (1 when the estimate is 0; NaN when
    nothing varies or there is one seed)."""
    if n_seeds < 2 or not np.isfinite(estimate) or not (se_seeds > 0 or se_images > 0):
        return np.nan
    if estimate == 0:
        return 1.0

    def gap(alpha: float) -> float:
        return half_width(se_seeds, se_images, n_seeds, alpha) - abs(estimate)

    if gap(1e-15) < 0:
        return 1e-15
    return float(brentq(gap, 1e-15, 1.0 - 1e-15, xtol=1e-15, rtol=1e-12))


def holm(p_values: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """Holm's step-down: which hypotheses are rejected at family-wise level ``alpha`` (NaN p-values never are)."""
    p = np.asarray(p_values, dtype=float)
    valid = np.flatnonzero(np.isfinite(p))
    rejected = np.zeros(len(p), dtype=bool)
    for step, index in enumerate(valid[np.argsort(p[valid], kind="stable")]):
        if p[index] > alpha / (len(valid) - step):
            break
        rejected[index] = True
    return rejected


def trend_weights(n_lambdas: int) -> np.ndarray:
    """``(n_lambdas,)`` contrast of the least-squares slope against the rank of λ (per rank step)."""
    rank = np.arange(n_lambdas, dtype=float)
    centred = rank - rank.mean()
    return centred / (centred**2).sum()


def _test(
    rows: pd.DataFrame, test: str, lam: float, estimate: float, se_seeds: float, se_images: float, n_seeds: int
) -> dict:
    first = rows.iloc[0]
    low, high = (
        (estimate - (w := half_width(se_seeds, se_images, n_seeds, ALPHA)), estimate + w)
        if n_seeds > 1
        else (np.nan, np.nan)
    )
    return {
        "panel": int(first["panel"]),
        "quantity": first["quantity"],
        "label": first["label"],
        "test": test,
        "lambda_": lam,
        "estimate": estimate,
        "low": low,
        "high": high,
        "se_seeds": se_seeds,
        "se_images": se_images,
        "n_seeds": n_seeds,
        "p_value": rule_p_value(estimate, se_seeds, se_images, n_seeds),
    }


def family(table: pd.DataFrame) -> pd.DataFrame:
    """The family of tests of ``table`` (module docstring), columns :data:`FAMILY_COLUMNS`; ``survives``:
    Holm's step-down at :data:`ALPHA` over the family (``yes``/``no``)."""
    means = summary_rows(table)
    means = means[means["in_figure"].astype(bool)]  # a ceiled benchmark's raw score is the same benchmark
    means = means[means["tested"] != "no"]
    seeds = table[table["seed"] != "all"]
    tests = []
    for quantity, rows in means.groupby("quantity", sort=False):
        rows = rows.sort_values("lambda_")
        later = rows[rows["lambda_"] > rows["lambda_"].min()]
        n = int(rows["n_seeds"].iloc[0])
        for _, r in later.iterrows():
            tests.append(
                _test(
                    rows,
                    "effect",
                    float(r["lambda_"]),
                    float(r["effect"]),
                    float(r["effect_se_seeds"]),
                    float(r["effect_se_images"]),
                    n,
                )
            )
        weights = trend_weights(len(rows))[1:]
        per_seed = (
            seeds[seeds["quantity"] == quantity]
            .pivot(index="seed", columns="lambda_", values="effect")[later["lambda_"].to_numpy()]
            .to_numpy()
            @ weights
        )
        se_seeds = float(per_seed.std(ddof=1) / np.sqrt(len(per_seed))) if len(per_seed) > 1 else np.nan
        se_images = float(np.abs(weights) @ later["effect_se_images"].to_numpy(dtype=float))
        tests.append(_test(rows, TREND, np.nan, float(per_seed.mean()), se_seeds, se_images, n))
    out = pd.DataFrame(tests, columns=list(FAMILY_COLUMNS[:-1]))
    out["survives"] = np.where(holm(out["p_value"].to_numpy()), "yes", "no")
    return out


def replication(discovery: pd.DataFrame, confirmation: pd.DataFrame, alpha: float = ALPHA) -> pd.Series:
    """Per test of ``discovery`` (a :func:`family`): ``yes`` when it survives there and the independent
    ``confirmation`` family finds the same sign with a p-value that survives Holm over the discovery's
    survivors; ``no`` otherwise."""
    keys = ["quantity", "test", "lambda_"]
    found = discovery[discovery["survives"] == "yes"]
    other = confirmation.set_index(keys).reindex(pd.MultiIndex.from_frame(found[keys]))
    agrees = np.sign(other["estimate"].to_numpy()) == np.sign(found["estimate"].to_numpy())
    confirmed = agrees & holm(np.where(agrees, other["p_value"].to_numpy(), np.nan), alpha)
    out = pd.Series("no", index=pd.MultiIndex.from_frame(discovery[keys]))
    out.loc[pd.MultiIndex.from_frame(found[keys])[confirmed]] = "yes"
    return out


def claims(pooled: pd.DataFrame, halves: tuple[pd.DataFrame, pd.DataFrame] | None) -> pd.DataFrame:
    """The pooled table's :func:`family` with ``replicated`` (one half discovers, the other confirms, either way
    round: :func:`replication`; empty without halves) and ``claim`` (survives in the pool and replicated)."""
    out = family(pooled)
    if halves is None:
        out["replicated"], out["claim"] = "", "no"
        return out
    first, second = family(halves[0]), family(halves[1])
    keys = pd.MultiIndex.from_frame(out[["quantity", "test", "lambda_"]])
    either = [
        replication(a, b).reindex(keys).fillna("no").to_numpy() == "yes" for a, b in ((first, second), (second, first))
    ]
    out["replicated"] = np.where(either[0] | either[1], "yes", "no")
    out["claim"] = np.where((out["survives"] == "yes") & (out["replicated"] == "yes"), "yes", "no")
    return out


def _simulated_means(effect: float, seed_sd: float, n_seeds: int, n_sim: int, rng) -> tuple[np.ndarray, np.ndarray]:
    points = effect + seed_sd * rng.standard_normal((n_sim, n_seeds))
    return points.mean(axis=1), points.std(axis=1, ddof=1) / np.sqrt(n_seeds)


def rule_power(
    effect: float,
    seed_sd: float,
    se_images: float,
    n_seeds: int,
    alpha: float = ALPHA,
    n_sim: int = 20000,
    seed: int = 0,
) -> float:
    """Chance that the rule's ``1 − alpha`` interval excludes 0 for a true ``effect`` with per-seed SD ``seed_sd``
    and image SD ``se_images`` of the mean (simulated, ``n_sim`` experiments of ``n_seeds`` seeds)."""
    rng = np.random.default_rng(seed)
    mean, se = _simulated_means(effect, seed_sd, n_seeds, n_sim, rng)
    mean = mean + se_images * rng.standard_normal(n_sim)
    q = 1 - alpha / 2
    half = np.hypot(student_t.ppf(q, n_seeds - 1) * se, norm.ppf(q) * se_images)
    return float(np.mean(np.abs(mean) > half))


def expected_agreement(
    seed_sd: float,
    se_images: float,
    n_reference: int,
    n_rerun: int,
    shared_images: bool,
    n_sim: int = 20000,
    seed: int = 0,
) -> float:
    """Chance that a rerun's mean over ``n_rerun`` new seeds lies inside the reference's 95% interval over
    ``n_reference`` seeds when both measure the same thing (simulated with the rule). ``shared_images``: both
    runs saw the same images, so their image deviation is the same and cancels (else independent)."""
    rng = np.random.default_rng(seed)
    ref, se = _simulated_means(0.0, seed_sd, n_reference, n_sim, rng)
    new, _ = _simulated_means(0.0, seed_sd, n_rerun, n_sim, rng)
    if not shared_images:
        ref = ref + se_images * rng.standard_normal(n_sim)
        new = new + se_images * np.sqrt(n_reference / n_rerun) * rng.standard_normal(n_sim)
    half = np.hypot(student_t.ppf(0.975, n_reference - 1) * se, norm.ppf(0.975) * se_images)
    return float(np.mean(np.abs(new - ref) <= half))
