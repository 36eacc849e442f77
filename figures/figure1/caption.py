"""The Figure-1 caption (Markdown), written from the tidy table and the run's settings.

What the figure shows (benchmarks, λ values, seeds, decoded parameters, image
counts) and which effects are distinguishable from noise are read from the table
the figure is drawn from, so the caption cannot name a benchmark or describe a
trend the table does not hold. :func:`means_markdown`, :func:`effects_markdown`
and :func:`verdict` are shared with the README block (:mod:`figures.figure1.readme`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from figures.configs import train_overrides
from figures.figure1.config import Figure1Config
from figures.figure1.inference import SHORT_NAMES, TREND, rule_power, shared_images, summary_rows
from figures.figure1.table import RAW_SUFFIX
from neuroequi.io import format_lambda

PANEL_TEXT = {
    2: "ΔD_B of shared augmentation variability: mean over pairs of distinct images of the trace-normalised "
    "Bures distance between their response covariances under the same K augmentations, minus the same for "
    "the λ=0 model of the same seed (negative = more shared variability).",
    3: "Decoding of augmentation parameters: Pearson r of cross-validated ridge predictions on held-out images "
    "(folds split by image), mean over parameters and single parameters ({parameters}).",
    4: "ΔD_B of content/augmentation factorization: D_B between one image's covariance over augmentations and "
    "the covariance of clean responses over all images, mean over images, minus the λ=0 model of the same "
    "seed (positive = more factorized).",
    5: "ΔD_B of crop/photometric factorization: D_B between one image's covariance under crops only and under "
    "photometric distortions only, mean over images, minus the λ=0 model of the same seed (positive = more "
    "factorized).",
}
INTERVALS = (
    "Points: mean over the {n_seeds} training seeds of each λ (small dots: single seeds). Error bars: 95% "
    "intervals that include training noise, mean ± sqrt((t·SE_seeds)² + (z·SD_images)²): SE_seeds the standard "
    "error of the mean over seeds, SD_images from a bootstrap over the images (panels 2-5; every model saw the "
    "same images, and ΔD_B is paired by seed and image), over the stimuli (RDM benchmarks: both RDMs recomputed "
    "on each resample of the stimuli, the same resamples for every model, so effects are paired by stimulus; the "
    "subject-level human-IT benchmark resamples subjects too) or from Brain-Score's split error (PLS); t is "
    "Student's with {dof} degrees of freedom, because with {n_seeds} seeds a bootstrap's own percentiles are too "
    "narrow. An effect vs λ=0 is the paired difference to the λ=0 model of the same seed."
)
CORRECTION = (
    "Tests: one family of {m} tests, the effect vs λ=0 at each λ > 0 and the trend over λ (per seed, the slope "
    "against the rank of λ; seeds are the unit) of each quantity in the tables below{excluded}. Each test's p-value "
    "is the level at which its interval of the form above just touches 0; Holm's step-down at α = 0.05 controls "
    "the family-wise error (the chance of any false claim), under any dependence between the tests (they share "
    "seeds and images), which Benjamini–Hochberg would not. Bold and filled markers: effects that survive the "
    "correction. A claim needs more: an independent set of seeds must agree (one half of the seeds "
    "discovers, surviving Holm over the family; the other half confirms, same sign, surviving Holm over the "
    "discoveries; either half may discover)."
)
COGGAN_NOTE = (
    "Brain-Score's ceiled Coggan2024 score is (r / ceiling)², clipped to [0, 1], which drops the sign of r; "
    "the table also holds the raw r (`{benchmark}{suffix}`)."
)
PAPER_DIFFERENCES = (
    "The paper trains ResNet-50 on ImageNet for 100 epochs (8 A100s) and scores Brain-Score's IT benchmarks. "
    "This run trains a narrow CIFAR ResNet-18 on real CIFAR-10 images (the overrides above) on 2 CPU cores, "
    "analyses CIFAR-10 test images at 32 px, and scores offline benchmarks built from real recordings (macaque "
    "V4, Cowley et al. 2023; monkey and human IT RDMs of the 92 Kriegeskorte images, Kiani et al. 2007 / "
    "Kriegeskorte et al. 2008; human fMRI RSMs of Coggan & Tong 2024) with Brain-Score's own metrics."
)


def number(value: float, signed: bool = False) -> str:
    """``value`` with 3 decimals and a true minus sign (``+`` too when ``signed``); NaN as ``–``."""
    if not np.isfinite(value):
        return "–"
    text = f"{value:+.3f}" if signed else f"{value:.3f}"
    return text.replace("-", "−")


def with_interval(value: float, low: float, high: float, signed: bool = False) -> str:
    """``0.191 [0.180, 0.203]`` (the interval left out when there is none)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return number(value, signed)
    return f"{number(value, signed)} [{number(low, signed)}, {number(high, signed)}]"


def short_name(quantity: str, label: str) -> str:
    """The row name of a quantity in the Markdown tables."""
    if quantity.endswith(RAW_SUFFIX):
        return f"{quantity[: -len(RAW_SUFFIX)]} raw (unceiled)"
    return SHORT_NAMES.get(quantity, label)


def _grid(rows: pd.DataFrame, lambdas: list[float], cell) -> list[str]:
    lines = [
        "| quantity | " + " | ".join(f"λ={format_lambda(lam)}" for lam in lambdas) + " |",
        "|---|" + "---|" * len(lambdas),
    ]
    for (_, quantity), group in rows.groupby(["panel", "quantity"], sort=False):
        by_lam = group.set_index("lambda_")
        cells = [cell(by_lam.loc[lam]) for lam in lambdas]
        lines.append(f"| {short_name(quantity, group['label'].iloc[0])} | " + " | ".join(cells) + " |")
    return lines


def means_markdown(table: pd.DataFrame) -> list[str]:
    """Markdown table: mean over seeds [95% interval] per quantity and λ."""
    rows = summary_rows(table)
    lambdas = sorted(rows["lambda_"].unique())
    return _grid(rows, lambdas, lambda r: with_interval(r["value"], r["ci_low"], r["ci_high"]))


def effects_markdown(table: pd.DataFrame) -> list[str]:
    """Markdown table: effect vs λ=0 [95% interval] per quantity and λ > 0, bold where it excludes 0."""
    rows = summary_rows(table)
    lambdas = sorted(rows["lambda_"].unique())[1:]

    def cell(r: pd.Series) -> str:
        text = with_interval(r["effect"], r["effect_low"], r["effect_high"], signed=True)
        return f"**{text}**" if r["survives"] == "yes" else text

    return _grid(rows, lambdas, cell)


def trends_markdown(tests: pd.DataFrame) -> list[str]:
    """Markdown table: the trend over λ of each quantity (slope per λ rank step [95% interval], p, Holm, replicated)."""
    lines = ["| quantity | slope per λ step [95% interval] | p | survives Holm | replicated |", "|---|---|---|---|---|"]
    for _, r in tests[tests["test"] == TREND].iterrows():
        text = with_interval(r["estimate"], r["low"], r["high"], signed=True)
        lines.append(
            f"| {short_name(r['quantity'], r['label'])} | {f'**{text}**' if r['survives'] == 'yes' else text} "
            f"| {r['p_value']:.3g} | {r['survives']} | {r['replicated'] or '–'} |"
        )
    return lines


def _test_name(r: pd.Series) -> str:
    where = "trend over λ" if r["test"] == TREND else f"λ={format_lambda(r['lambda_'])}"
    return f"{short_name(r['quantity'], r['label'])}, {where} ({number(r['estimate'], signed=True)})"


def verdict(tests: pd.DataFrame) -> str:
    """Which tests of the family (:func:`figures.figure1.inference.claims`) are claims (survive Holm in the pool
    and replicate in an independent half of the seeds), which only survive, and that the rest do not."""
    n_seeds = int(tests["n_seeds"].max())
    survive = tests[tests["survives"] == "yes"]
    claimed = survive[survive["claim"] == "yes"]
    head = f"Of {len(tests)} tests at {n_seeds} seeds (Holm, α = 0.05), "
    if survive.empty:
        return head + (
            "none survives the correction: no effect or trend in these panels is distinguishable from "
            "seed and image noise."
        )
    text = head + f"{len(survive)} survive: " + "; ".join(map(_test_name, (r for _, r in survive.iterrows()))) + ". "
    if (tests["replicated"] == "").all():
        return text + "With fewer than 4 seeds there is no independent half to replicate them in: none is a claim."
    if claimed.empty:
        return text + "None of them is replicated by an independent half of the seeds: none is a claim."
    return (
        text
        + "Claims (they also replicate in an independent half of the seeds): "
        + "; ".join(map(_test_name, (r for _, r in claimed.iterrows())))
        + "."
    )


def power_line(tests: pd.DataFrame) -> str:
    """The rule's power for an effect of one seed SD of the neural panel (the median over its effect tests at the
    largest λ), at the table's seeds (uncorrected and at Holm's strictest level) and the seeds 80% power needs:
    the median over those tests of :func:`figures.figure1.inference.rule_power` with each test's own seed and
    image SD (an image term shared by every seed does not shrink with more seeds; PLS split errors do)."""
    neural = tests[(tests["panel"] == 1) & (tests["test"] == "effect")]
    neural = neural[neural["lambda_"] == neural["lambda_"].max()]
    if neural.empty or neural["n_seeds"].max() < 2:
        return ""
    n = int(neural["n_seeds"].max())
    sds = neural["se_seeds"].to_numpy() * np.sqrt(n)
    effect = float(np.median(sds))

    def power(seeds: int, alpha: float = 0.05) -> float:
        return float(
            np.median(
                [
                    rule_power(
                        effect,
                        sd,
                        images * (1 if shared_images(q) else np.sqrt(n / seeds)),
                        seeds,
                        alpha=alpha,
                        n_sim=4000,
                    )
                    for q, sd, images in zip(neural["quantity"], sds, neural["se_images"])
                ]
            )
        )

    needed = next((s for s in range(2, 41) if power(s) >= 0.8), None)
    return (
        f"Power for an effect of {number(effect)} (one seed SD of the neural scores at "
        f"λ={format_lambda(neural['lambda_'].max())}, median over the {len(neural)} tested benchmarks) at {n} "
        f"seeds: {power(n):.0%} uncorrected, {power(n, 0.05 / len(tests)):.0%} at Holm's first step "
        f"(α = 0.05/{len(tests)}); 80% uncorrected power needs "
        + (f"{needed} seeds." if needed else "more than 40 seeds.")
    )


def separation_lines(excluded: dict[str, str]) -> list[str]:
    """The benchmarks drawn greyed and kept out of the tests, with the reason."""
    return [f"Greyed, no test: `{b}`: {why}." for b, why in excluded.items()]


def correction_text(tests: pd.DataFrame, excluded: dict[str, str]) -> str:
    """:data:`CORRECTION` with the family size."""
    return CORRECTION.format(m=len(tests), excluded=" (the greyed benchmarks left out)" if excluded else "")


def caption(
    config: Figure1Config,
    table: pd.DataFrame,
    models: dict[tuple[float, int], str],
    missing: dict[str, str],
    elapsed_s: float,
    tests: pd.DataFrame,
    excluded: dict[str, str],
) -> str:
    """Markdown caption of the figure drawn from ``table`` (columns :data:`figures.plot.TABLE_COLUMNS`).

    Args:
        config: the run's settings (sizes, training overrides).
        table: the tidy Figure-1 table.
        models: zoo name of the model of each (λ, seed).
        missing: online benchmarks that could not be scored, and why.
        elapsed_s: wall time of the run.
        tests: the family of tests (:func:`figures.figure1.inference.claims`).
        excluded: benchmarks that do not separate trained from random networks, and why.
    """
    means = table[table["seed"] == "all"]
    scores = means[(means["panel"] == 1) & means["in_figure"].astype(bool)]
    parameters = [q[len("decoding_r[") : -1] for q in means["quantity"].unique() if q.startswith("decoding_r[")]
    images = means.loc[means["panel"] > 1, "n"]
    n_seeds = int(means["n_seeds"].max())
    lines = [
        f"# Figure 1 ({config.mode} mode)",
        "",
        f"Five panels over λ, the TeSSL equivariance weight (λ=0: plain {config.objective}), "
        f"{n_seeds} training seeds per λ ({', '.join(sorted({str(s) for _, s in models}, key=int))}).",
        "1. Neural predictivity: " + ", ".join(scores["label"].unique()) + ".",
        "2. " + PANEL_TEXT[2],
        "3. " + PANEL_TEXT[3].format(parameters=", ".join(parameters)),
        "4. " + PANEL_TEXT[4],
        "5. " + PANEL_TEXT[5],
        "",
        INTERVALS.format(n_seeds=n_seeds, dof=max(n_seeds - 1, 0)),
    ]
    coggan = [q for q in means["quantity"].unique() if q.startswith("tong.Coggan2024") and q.endswith(RAW_SUFFIX)]
    lines += [COGGAN_NOTE.format(benchmark=q[: -len(RAW_SUFFIX)], suffix=RAW_SUFFIX) for q in coggan]
    lines += [*separation_lines(excluded), "", correction_text(tests, excluded), "", power_line(tests)]
    lines += [
        "",
        "## What the data show",
        "",
        verdict(tests),
        "",
        "Mean over seeds [95% interval]:",
        "",
        *means_markdown(table),
        "",
        "Effect vs λ=0, paired by seed (and image) [95% interval]; bold: survives Holm's correction:",
        "",
        *effects_markdown(table),
        "",
        "Trend over λ:",
        "",
        *trends_markdown(tests),
        "",
        "## Models",
    ]
    lines += [f"- λ={format_lambda(lam)}, seed {seed}: `{name}`" for (lam, seed), name in models.items()]
    lines += [
        "",
        "## Sizes",
        (
            f"- analysis: {int(images.max())} images x K={config.K} augmentations, the same for "
            f"every model (analysis seed {config.seed}); {config.n_boot} bootstrap resamples"
        ),
    ]
    if config.trains:
        lines += [f"- training overrides of `{config.base_config}`: `{' '.join(train_overrides(config.train))}`"]
    if config.mode in ("offline", "smoke"):
        lines += ["", "## How this differs from the paper", PAPER_DIFFERENCES]
    if missing:
        lines += ["", "## Not scored (unreachable here)"] + [f"- {b}: {why}" for b, why in missing.items()]
    lines += ["", f"Total wall time of this run: {elapsed_s / 60:.1f} min."]
    return "\n".join(lines) + "\n"
