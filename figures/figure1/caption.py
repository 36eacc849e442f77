"""The Figure-1 caption (Markdown), written from the tidy table and the run's settings.

What the figure shows (benchmarks, λ values, decoded parameters, image counts)
is read from the table the figure is drawn from, so the caption cannot name a
benchmark or a λ the figure does not have.
"""

from __future__ import annotations

import pandas as pd

from figures.configs import train_overrides
from figures.figure1.config import BASE_CONFIG, Figure1Config
from neuroequi.io import format_lambda

PANEL_TEXT = {
    2: "ΔD_B of shared augmentation variability: mean over pairs of distinct images of the trace-normalised "
       "Bures distance between their response covariances under the same K augmentations, minus the same for "
       "λ=0 (negative = more shared variability).",
    3: "Decoding of augmentation parameters: Pearson r of cross-validated ridge predictions on held-out images "
       "(folds split by image), mean over parameters and single parameters ({parameters}).",
    4: "ΔD_B of content/augmentation factorization: D_B between one image's covariance over augmentations and "
       "the covariance of clean responses over all images, mean over images, minus λ=0 (positive = more "
       "factorized).",
    5: "ΔD_B of crop/photometric factorization: D_B between one image's covariance under crops only and under "
       "photometric distortions only, mean over images, minus λ=0 (positive = more factorized).",
}
PAPER_DIFFERENCES = (
    "The paper trains ResNet-50 on ImageNet for 100 epochs (8 A100s) and scores Brain-Score's IT benchmarks. "
    "This run trains a narrow CIFAR ResNet-18 on real CIFAR-10 images (the overrides above) on 2 CPU cores, "
    "analyses CIFAR-10 test images at 32 px, and scores offline benchmarks built from real recordings (macaque "
    "V4, Cowley et al. 2023; monkey IT RDM, Kiani et al. 2007 / Kriegeskorte et al. 2008) with Brain-Score's "
    "own metrics."
)


def caption(config: Figure1Config, table: pd.DataFrame, models: dict[float, str], missing: dict[str, str],
            elapsed_s: float) -> str:
    """Markdown caption of the figure drawn from ``table`` (columns :data:`figures.plot.TABLE_COLUMNS`).

    Args:
        config: the run's settings (sizes, training overrides).
        table: the tidy Figure-1 table.
        models: zoo name of the model of each λ.
        missing: online benchmarks that could not be scored, and why.
        elapsed_s: wall time of the run.
    """
    scores = table[table["panel"] == 1]
    quantities = table["quantity"]
    parameters = [q[len("decoding_r["):-1] for q in quantities.unique() if q.startswith("decoding_r[")]
    images = table.loc[table["panel"] > 1, "n"]
    lines = [
        f"# Figure 1 ({config.mode} mode)",
        "",
        "Five panels over λ, the TeSSL equivariance weight (λ=0: plain Barlow Twins).",
        "1. Neural predictivity: " + ", ".join(scores["label"].unique()) + ".",
        "2. " + PANEL_TEXT[2],
        "3. " + PANEL_TEXT[3].format(parameters=", ".join(parameters)),
        "4. " + PANEL_TEXT[4],
        "5. " + PANEL_TEXT[5],
        "",
        ("Error bars: 95% bootstrap intervals over images (panels 2-5, paired with λ=0 for ΔD_B); "
         "score ± Brain-Score's error (panel 1)."),
        "",
        "## Models",
    ]
    lines += [f"- λ={format_lambda(lam)}: `{models[lam]}`" for lam in sorted(table["lambda_"].unique())]
    lines += ["", "## Sizes", (f"- analysis: {int(images.max())} images x K={config.K} augmentations, "
                               f"{config.n_boot} bootstrap resamples, seed {config.seed}")]
    if config.mode != "paper":
        lines += [f"- training overrides of `{BASE_CONFIG}`: `{' '.join(train_overrides(config.train))}`",
                  "", "## How this differs from the paper", PAPER_DIFFERENCES]
    if missing:
        lines += ["", "## Not scored (unreachable here)"] + [f"- {b}: {why}" for b, why in missing.items()]
    lines += ["", f"Total wall time of this run: {elapsed_s / 60:.1f} min."]
    return "\n".join(lines) + "\n"
