"""The equivariance table in the poster's layout, with intervals, beside the poster's numbers.

Rows: the runs (SIE per family, SIE(all), the reconstruction method, VICReg; then the
unknown-transformations variant). Columns: the augmentation-prediction score of each family
(R², flip: accuracy) and the linear classification probe's CIFAR-10 test accuracy. Cells:
``value [95% interval]``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from figures.equivariance_table.config import EquivarianceTableConfig, Run
from neuroequi.io import atomic_write

POSTER_FAMILIES = ("rotation", "color", "blur", "translation")
POSTER: dict[tuple[str, str], tuple[float, float, float, float]] = {
    ("main", "SIE(all)"): (0.845, 0.864, 0.889, 0.886),
    ("main", "Reconstruction (ours)"): (0.826, 0.906, 0.972, 0.890),
    ("unknown", "SIE(all)"): (0.402, 0.395, 0.511, 0.479),
    ("unknown", "Reconstruction (ours)"): (0.815, 0.879, 0.944, 0.878),
}
"""The poster's CIFAR-10 numbers for rotation / colour / blur-radius / translation prediction
(Wang, Krajsek & Scharr; as quoted in issue 15). ``unknown``: 80% of the images with unknown
transformations, 20% with known parameters (SIE can use only the 20%)."""

COLUMNS = ("run", "label", "variant", "family", "metric", "value", "ci_low", "ci_high", "n")


def build_table(config: EquivarianceTableConfig, runs: list[Run], root: Path) -> pd.DataFrame:
    """Tidy table (:data:`COLUMNS`) from every run's saved benchmark and probe files.

    The unknown-transformations variant repeats the reconstruction and VICReg rows of the main
    table (they train on all images either way, with no parameters).
    """
    frames = []
    for run in runs:
        folder = root / "eval" / run.name
        prediction = pd.read_csv(folder / "augmentation_prediction.csv")
        probe = json.loads((folder / "probe.json").read_text())
        rows = prediction[["family", "metric", "value", "ci_low", "ci_high", "n"]].copy()
        rows.loc[len(rows)] = {
            "family": "classification",
            "metric": "accuracy",
            **{k: probe[k] for k in ("value", "ci_low", "ci_high", "n")},
        }
        variants = [run.variant] + (
            ["unknown"] if run.name in ("recon_equi", "vicreg") and config.known_fraction > 0 else []
        )
        for variant in variants:
            frames.append(rows.assign(run=run.name, label=run.label, variant=variant))
    return pd.concat(frames, ignore_index=True)[list(COLUMNS)]


def cell(row: pd.Series) -> str:
    """``0.845 [0.831, 0.860]``."""
    return f"{row['value']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]"


def layout(table: pd.DataFrame, variant: str) -> pd.DataFrame:
    """One variant in the poster's layout: a row per run, a column per family (+ classification)."""
    part = table[table["variant"] == variant]
    wide = part.assign(cell=part.apply(cell, axis=1)).pivot(index="label", columns="family", values="cell")
    families = [f for f in POSTER_FAMILIES if f in wide.columns]
    others = [f for f in wide.columns if f not in POSTER_FAMILIES and f != "classification"]
    order = list(dict.fromkeys(part["label"]))
    return wide.loc[order, families + others + ["classification"]]


def orderings(table: pd.DataFrame) -> list[str]:
    """For each poster family and variant: the poster's ordering of SIE(all) vs the reconstruction
    method, and whether this run shows the same (and whether the intervals overlap)."""
    lines = []
    for variant in ("main", "unknown"):
        part = table[table["variant"] == variant]
        sie = part[part["run"] == ("sie_all" if variant == "main" else "sie_all_known")].set_index("family")
        ours = part[part["run"] == "recon_equi"].set_index("family")
        if sie.empty or ours.empty:
            continue
        for k, family in enumerate(POSTER_FAMILIES):
            if family not in sie.index or family not in ours.index:
                continue
            p_sie, p_ours = POSTER[(variant, "SIE(all)")][k], POSTER[(variant, "Reconstruction (ours)")][k]
            s, o = sie.loc[family], ours.loc[family]
            if o["value"] == s["value"]:
                verdict = "a tie"
            else:
                verdict = (
                    "the same ordering" if (o["value"] > s["value"]) == (p_ours > p_sie) else "the reverse ordering"
                )
            overlap = o["ci_low"] <= s["ci_high"] and s["ci_low"] <= o["ci_high"]
            lines.append(
                f"- {variant}, {family}: poster ours {p_ours:.3f} vs SIE {p_sie:.3f} "
                f"({'ours > SIE' if p_ours > p_sie else 'SIE > ours'}); measured ours {o['value']:.3f} vs SIE "
                f"{s['value']:.3f}: {verdict}, intervals {'overlap' if overlap else 'disjoint'}"
            )
    return lines


def markdown_table(frame: pd.DataFrame, fmt: str = "{}") -> str:
    """A DataFrame as a GitHub Markdown table (index as the first column); ``fmt`` formats the cells."""
    header = [str(frame.index.name or ""), *map(str, frame.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for index, row in frame.iterrows():
        lines.append("| " + " | ".join([str(index), *(fmt.format(v) for v in row)]) + " |")
    return "\n".join(lines)


def markdown(table: pd.DataFrame, config: EquivarianceTableConfig) -> str:
    """The tables (both variants), the poster's numbers and the orderings, as Markdown."""
    known = round(config.known_fraction * config.train_images)
    parts = [
        f"### Equivariance table ({config.name})",
        "",
        f"CIFAR-10, {config.train_images} training images, {config.epochs} epochs, ResNet-18 (CIFAR stem) width "
        f"{config.width:g}, seed {config.seed}. Cells: value [95% bootstrap interval over test images]. Families: "
        "R² of predicting the transformation's parameters from [h(x) ; h(t(x))] on held-out CIFAR-10 test images "
        "(flip: accuracy); classification: linear probe accuracy on CIFAR-10 test images. One training seed per "
        "run: the intervals hold test-image noise only, not training noise, so no ordering below is established "
        "beyond this seed.",
        "",
        "#### Main table",
        "",
        markdown_table(layout(table, "main")),
    ]
    if (table["variant"] == "unknown").any():
        parts += [
            "",
            f"#### Unknown transformations ({known} of {config.train_images} images with known parameters)",
            "",
            "SIE trains on the known images only; the reconstruction method and VICReg use every image "
            "(they need no parameters: same runs as the main table).",
            "",
            markdown_table(layout(table, "unknown")),
        ]
    poster = pd.DataFrame({f"{v}: {label}": values for (v, label), values in POSTER.items()}, index=POSTER_FAMILIES).T
    parts += [
        "",
        "#### The poster's numbers (R²; as quoted in issue 15)",
        "",
        markdown_table(poster, "{:.3f}"),
        "",
        "#### Orderings: poster vs this run",
        "",
        *orderings(table),
    ]
    return "\n".join(parts) + "\n"


def write_outputs(table: pd.DataFrame, config: EquivarianceTableConfig, root: Path) -> list[Path]:
    """Write ``table.csv`` (tidy) and ``table.md`` (poster layout) under ``root``."""
    paths = [root / "table.csv", root / "table.md"]
    with atomic_write(paths[0]) as tmp:
        table.to_csv(tmp, index=False)
    with atomic_write(paths[1]) as tmp:
        tmp.write_text(markdown(table, config))
    return paths
