"""Draw Figure 1 (five panels over λ) from the tidy table the pipeline saves.

The table (``figure1.csv``; columns :data:`TABLE_COLUMNS`, described in
:mod:`figures.figure1.table`) has, per quantity and λ, one row per training seed and
one aggregated row (``seed == "all"``: mean over seeds, interval over seeds and images,
``survives`` = whether the effect vs λ=0 survives Holm's correction over the family of tests,
``tested`` = whether a benchmark is in the family of tests).
Each panel draws the aggregated rows with their intervals, the seeds as small dots,
and marks filled where the effect vs λ=0 survives the correction (open where it does not);
a benchmark without a test is drawn grey and dotted.

Figures never train or extract: this module only reads that table.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

TABLE_COLUMNS = (
    "panel",
    "quantity",
    "label",
    "lambda_",
    "seed",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "n_seeds",
    "effect",
    "effect_low",
    "effect_high",
    "excludes_zero",
    "in_figure",
    "se_seeds",
    "se_images",
    "effect_se_seeds",
    "effect_se_images",
    "p_value",
    "survives",
    "tested",
)

PANEL_TITLES = {
    1: "Neural predictivity",
    2: "Shared augmentation variability",
    3: "Augmentation-parameter decoding",
    4: "Content / augmentation factorization",
    5: "Crop / photometric factorization",
}

# Exact y-labels; the README's 'Figure 1' section maps each to the paper's wording.
PANEL_YLABELS = {
    1: "score (Pearson r or RDM Spearman ρ;\nceiled where marked)",
    2: "ΔD_B = D_B(Σ_aug(x₁), Σ_aug(x₂)) − same at λ=0\n(mean over image pairs)",
    3: "decoding r (Pearson, held-out images)",
    4: "ΔD_B = D_B(Σ_aug(x), Σ_content) − same at λ=0\n(mean over images)",
    5: "ΔD_B = D_B(Σ_crop(x), Σ_photo(x)) − same at λ=0\n(mean over images)",
}


def legend_label(quantity: str, label: str) -> str:
    """Short legend entry: the decoded parameter on panel 3, else the row's label."""
    if quantity == "decoding_r_mean":
        return "mean over parameters"
    if quantity.startswith("decoding_r["):
        return quantity[len("decoding_r[") : -1]
    return label


def validate_table(table: pd.DataFrame) -> pd.DataFrame:
    """Check the tidy table's columns and panels; return it sorted by panel, quantity, λ (seeds in order)."""
    missing = [c for c in TABLE_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"figure table lacks columns {missing}; expected {list(TABLE_COLUMNS)}")
    bad = sorted(set(table["panel"]) - set(PANEL_TITLES))
    if bad:
        raise ValueError(f"figure table has unknown panels {bad}; panels are 1..5")
    if not (table["seed"] == "all").any():
        raise ValueError("figure table has no aggregated rows (seed 'all')")
    return table.sort_values(["panel", "quantity", "lambda_"], kind="stable").reset_index(drop=True)


def draw_figure1(table: pd.DataFrame, out_stem: Path, title: str | None = None) -> list[Path]:
    """Draw the five panels; write ``<out_stem>.pdf`` and ``.png``; return their paths.

    The x-axis is categorical over the λ values present (they are not evenly
    spaced: 0, 0.001, 0.1, 0.2, 0.5), so every λ gets the same room. Per quantity:
    the mean over seeds with its interval (line and error bars), each seed's value
    (small dots), and a filled marker where the effect vs λ=0 excludes 0.
    """
    table = validate_table(table)
    table = table[table["in_figure"].astype(bool)]
    lambdas = np.sort(table["lambda_"].unique())
    xpos = {lam: i for i, lam in enumerate(lambdas)}
    n_seeds = int(table.loc[table["seed"] == "all", "n_seeds"].max())
    fig, axes = plt.subplots(1, 5, figsize=(22, 4.6), constrained_layout=True)
    for panel, ax in zip(PANEL_TITLES, axes):
        rows = table[table["panel"] == panel]
        for k, (quantity, group) in enumerate(rows.groupby("quantity", sort=False)):
            greyed = (group["tested"] == "no").any()  # the benchmark does not tell trained from random networks
            color = "0.7" if greyed else f"C{k % 10}"
            means = group[group["seed"] == "all"]
            seeds = group[group["seed"] != "all"]
            shift = 0.06 * (k - (rows["quantity"].nunique() - 1) / 2)  # side by side, not on top of each other
            x = means["lambda_"].map(xpos).to_numpy(dtype=float) + shift
            y = means["value"].to_numpy(dtype=float)
            lo, hi = y - means["ci_low"].to_numpy(dtype=float), means["ci_high"].to_numpy(dtype=float) - y
            yerr = None if np.all(np.isnan(lo)) else np.nan_to_num(np.vstack([lo, hi]))
            label = legend_label(quantity, group["label"].iloc[0])
            ax.errorbar(
                x,
                y,
                yerr=yerr,
                color=color,
                capsize=3,
                lw=1.2,
                ls=":" if greyed else "-",
                label=f"{label} (not tested: see the caption)" if greyed else label,
            )
            filled = (means["survives"] == "yes").to_numpy()
            ax.scatter(x[filled], y[filled], color=color, s=30, zorder=3)
            ax.scatter(x[~filled], y[~filled], facecolor="white", edgecolor=color, s=30, zorder=3)
            ax.scatter(
                seeds["lambda_"].map(xpos).to_numpy(dtype=float) + shift,
                seeds["value"],
                color=color,
                s=6,
                alpha=0.45,
                lw=0,
            )
        if panel in (2, 4, 5):
            ax.axhline(0.0, color="0.6", lw=0.8, ls="--")
        if rows.empty:
            ax.text(0.5, 0.5, "no results", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(f"{panel}. {PANEL_TITLES[panel]}", fontsize=11)
        ax.set_ylabel(PANEL_YLABELS[panel], fontsize=9)
        ax.set_xticks(range(len(lambdas)), [f"{lam:g}" for lam in lambdas])
        ax.set_xlabel("λ (TeSSL equivariance weight)")
        if rows["quantity"].nunique() > 1:
            ax.legend(fontsize=7, frameon=False)
    note = (
        f"mean over {n_seeds} seeds, 95% interval over seeds (Student's t) and images or Brain-Score's error; "
        "dots: single seeds; filled marker: the effect vs λ=0 survives Holm's correction; grey dotted: a benchmark "
        "without a test (it does not separate trained from random networks, or lacks a stimulus term)"
    )
    fig.suptitle(f"{title}\n{note}" if title else note, fontsize=10)
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [out_stem.with_suffix(".pdf"), out_stem.with_suffix(".png")]
    for path in paths:
        fig.savefig(path, dpi=130, metadata={"CreationDate": None} if path.suffix == ".pdf" else None)
    plt.close(fig)
    return paths
