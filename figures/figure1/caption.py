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
    "intervals that include training noise, mean ± sqrt((t·SD_seeds)² + (z·SD_images)²): SD_seeds from a "
    "bootstrap over the seeds, SD_images from a bootstrap over the images (panels 2-5; every model saw the same "
    "images, and ΔD_B is paired by seed and image) or from Brain-Score's error (its standard error over "
    "cross-validation splits; the RDM benchmarks give none, so their intervals come from the seeds alone); t is "
    "Student's with {dof} degrees of freedom, because with {n_seeds} seeds the bootstrap's own percentiles are "
    "too narrow. An effect vs λ=0 is the paired difference to the λ=0 model of the same seed; a filled marker "
    "means its interval excludes 0."
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
SHORT_NAMES = {
    "delta_shared_variability": "ΔD_B shared augmentation variability",
    "decoding_r_mean": "decoding r, mean over parameters",
    "delta_content_augmentation_factorization": "ΔD_B content/augmentation factorization",
    "delta_crop_photometric_factorization": "ΔD_B crop/photometric factorization",
}


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
        return f"{quantity[:-len(RAW_SUFFIX)]} raw (unceiled)"
    return SHORT_NAMES.get(quantity, label)


def summary_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The aggregated rows the text reports: every panel-1 row, the mean decoding r and the three ΔD_B."""
    keep = (table["panel"] == 1) | table["quantity"].isin(list(SHORT_NAMES))
    return table[keep & (table["seed"] == "all")]


def _grid(rows: pd.DataFrame, lambdas: list[float], cell) -> list[str]:
    lines = ["| quantity | " + " | ".join(f"λ={format_lambda(lam)}" for lam in lambdas) + " |",
             "|---|" + "---|" * len(lambdas)]
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
        return f"**{text}**" if r["excludes_zero"] == "yes" else text

    return _grid(rows, lambdas, cell)


def verdict(table: pd.DataFrame) -> str:
    """One sentence per table: which effects vs λ=0 have intervals that exclude 0, and that the rest do not."""
    rows = summary_rows(table)
    rows = rows[rows["lambda_"] > 0]
    clear = rows[rows["excludes_zero"] == "yes"]
    n_seeds = int(rows["n_seeds"].max())
    if clear.empty:
        return (f"No effect vs λ=0 has a 95% interval that excludes 0 at {n_seeds} seeds: none of the trends "
                "in these panels is distinguishable from seed and image noise.")
    named = "; ".join(f"{short_name(r['quantity'], r['label'])} at λ={format_lambda(r['lambda_'])} "
                      f"({number(r['effect'], signed=True)})" for _, r in clear.iterrows())
    return (f"Effects vs λ=0 whose 95% interval excludes 0 at {n_seeds} seeds: {named}. "
            f"The other {len(rows) - len(clear)} effects in the table are not distinguishable from seed and image "
            "noise (their intervals include 0).")


def caption(config: Figure1Config, table: pd.DataFrame, models: dict[tuple[float, int], str],
            missing: dict[str, str], elapsed_s: float) -> str:
    """Markdown caption of the figure drawn from ``table`` (columns :data:`figures.plot.TABLE_COLUMNS`).

    Args:
        config: the run's settings (sizes, training overrides).
        table: the tidy Figure-1 table.
        models: zoo name of the model of each (λ, seed).
        missing: online benchmarks that could not be scored, and why.
        elapsed_s: wall time of the run.
    """
    means = table[table["seed"] == "all"]
    scores = means[(means["panel"] == 1) & means["in_figure"].astype(bool)]
    parameters = [q[len("decoding_r["):-1] for q in means["quantity"].unique() if q.startswith("decoding_r[")]
    images = means.loc[means["panel"] > 1, "n"]
    n_seeds = int(means["n_seeds"].max())
    lines = [
        f"# Figure 1 ({config.mode} mode)",
        "",
        f"Five panels over λ, the TeSSL equivariance weight (λ=0: plain {config.objective}), "
        f"{n_seeds} training seeds per λ ({', '.join(map(str, config.seeds))}).",
        "1. Neural predictivity: " + ", ".join(scores["label"].unique()) + ".",
        "2. " + PANEL_TEXT[2],
        "3. " + PANEL_TEXT[3].format(parameters=", ".join(parameters)),
        "4. " + PANEL_TEXT[4],
        "5. " + PANEL_TEXT[5],
        "",
        INTERVALS.format(n_seeds=n_seeds, dof=max(n_seeds - 1, 0)),
    ]
    coggan = [q for q in means["quantity"].unique() if q.startswith("tong.Coggan2024") and q.endswith(RAW_SUFFIX)]
    lines += [COGGAN_NOTE.format(benchmark=q[:-len(RAW_SUFFIX)], suffix=RAW_SUFFIX) for q in coggan]
    lines += ["", "## What the data show", "", verdict(table), "", "Mean over seeds [95% interval]:", "",
              *means_markdown(table), "", "Effect vs λ=0, paired by seed (and image) [95% interval]; bold: the "
              "interval excludes 0:", "", *effects_markdown(table), "", "## Models"]
    lines += [f"- λ={format_lambda(lam)}, seed {seed}: `{name}`" for (lam, seed), name in models.items()]
    lines += ["", "## Sizes", (f"- analysis: {int(images.max())} images x K={config.K} augmentations, the same for "
                               f"every model (analysis seed {config.seed}); {config.n_boot} bootstrap resamples")]
    if config.trains:
        lines += [f"- training overrides of `{config.base_config}`: `{' '.join(train_overrides(config.train))}`"]
    if config.mode in ("offline", "smoke"):
        lines += ["", "## How this differs from the paper", PAPER_DIFFERENCES]
    if missing:
        lines += ["", "## Not scored (unreachable here)"] + [f"- {b}: {why}" for b, why in missing.items()]
    lines += ["", f"Total wall time of this run: {elapsed_s / 60:.1f} min."]
    return "\n".join(lines) + "\n"
