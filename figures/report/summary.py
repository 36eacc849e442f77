"""The report's figure and markdown, drawn from its tidy table (:data:`figures.report.pipeline.COLUMNS`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from model_zoo import LoadedModel
from neuroequi.io import atomic_write

#: Measures the figure shows (the CSV holds every row, e.g. decoding r per parameter).
FIGURE_MEASURES = (
    "shared_variability",
    "content_augmentation_factorization",
    "crop_photometric_factorization",
    "decoding_r_mean",
    "decoding_diff_r_mean",
)


def panels(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """``(title, rows)`` of each panel: a benchmark (its ceiled score where ceiled, else raw), a measure
    of :data:`FIGURE_MEASURES`, an augmentation family."""
    out = []
    bench = table[table["kind"] == "benchmark"]
    for name, rows in bench.groupby("name", sort=False):
        ceiled = rows[rows["statistic"] == "ceiled"]
        out.append((f"{name} ({'ceiled' if len(ceiled) else 'raw'})", ceiled if len(ceiled) else rows))
    measures = table[table["kind"] == "measure"]
    for name in FIGURE_MEASURES:
        rows = measures[measures["name"] == name]
        if len(rows):
            out.append((name, rows))
    augmentation = table[table["kind"] == "augmentation"]
    for name, rows in augmentation.groupby("name", sort=False):
        family = name.removeprefix("augmentation_prediction").strip("[]")
        out.append((f"predict {family} ({rows['statistic'].iloc[0]})", rows))
    return out


def draw_summary(table: pd.DataFrame, path: Path) -> Path:
    """Value against layer depth, one panel per :func:`panels` entry, one line per model (intervals as bars)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chosen = panels(table)
    columns = min(5, max(1, len(chosen)))
    rows = math.ceil(len(chosen) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.0 * columns, 2.4 * rows), squeeze=False)
    for ax, (title, data) in zip(axes.flat, chosen):
        for k, (model, lines) in enumerate(data.groupby("model", sort=False)):
            lines = lines.sort_values("depth")
            low = (lines["value"] - lines["ci_low"]).clip(lower=0).fillna(0)
            high = (lines["ci_high"] - lines["value"]).clip(lower=0).fillna(0)
            ax.errorbar(
                lines["depth"],
                lines["value"],
                yerr=[low, high],
                color=f"C{k}",
                marker="o",
                markersize=3,
                capsize=2,
                linewidth=1,
                label=model,
            )
        ticks = data.drop_duplicates("depth").sort_values("depth")
        ax.set_xticks(ticks["depth"], ticks["layer"], rotation=45, ha="right", fontsize=6)
        ax.tick_params(axis="y", labelsize=6)
        ax.set_title(title, fontsize=7)
    for ax in list(axes.flat)[len(chosen) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    with atomic_write(path, fsync=False) as tmp:
        fig.savefig(tmp, format="png", dpi=130)
    plt.close(fig)
    return path


def _fmt(value: float) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.3f}"


def _interval(low: float, high: float) -> str:
    return "–" if not (np.isfinite(low) and np.isfinite(high)) else f"{low:.3f} – {high:.3f}"


def best_layers(table: pd.DataFrame) -> pd.DataFrame:
    """Per model and benchmark: the layer with the highest score (ceiled where ceiled), its value and interval."""
    bench = table[(table["kind"] == "benchmark") & table["value"].notna()]
    main = bench[
        (bench["statistic"] == "ceiled") | ~bench["name"].isin(bench.loc[bench["statistic"] == "ceiled", "name"])
    ]
    return main.loc[main.groupby(["model", "name"], sort=False)["value"].idxmax()]


def markdown(table: pd.DataFrame, config, loaded: Sequence[LoadedModel]) -> str:
    """A short account: the models, the settings, the best layer per benchmark, and where the rest is."""
    lines = ["# Model report", ""]
    for m in loaded:
        lines.append(
            f"- **{m.name}** (`{m.identifier}`): {m.entry.arch}, {m.image_size} px, layers "
            f"{', '.join(sorted(set(table.loc[table['model'] == m.name, 'layer']), key=list(m.layers).index))}"
        )
    lines += [
        "",
        f"{len(table)} rows in `report.csv` (one per model, layer, benchmark or measure, statistic); "
        "`report.png` draws them against layer depth.",
        "",
    ]
    best = best_layers(table)
    if len(best):
        lines += [
            "## Best layer per benchmark",
            "",
            "| model | benchmark | layer | score | 95% interval | ceiling |",
            "|---|---|---|---|---|---|",
        ]
        for r in best.itertuples():
            lines.append(
                f"| {r.model} | {r.name} ({r.statistic}) | {r.layer} | {_fmt(r.value)} | "
                f"{_interval(r.ci_low, r.ci_high)} | {_fmt(r.ceiling)} |"
            )
        lines.append("")
    reductions = sorted(set(table.loc[table["kind"] == "benchmark", "reduction"].dropna().str.split(" ").str[0]))
    unscored = table[table["note"].notna()]
    m, a = config.measures, config.augmentation
    lines += [
        "## How",
        "",
        *(
            [
                f"- Benchmarks: {', '.join(config.benchmarks)}; every layer scored with Brain-Score's own metric and "
                f"ceiling; large layers reduced as named in each row ({', '.join(reductions) or 'none'}). Interval: "
                "score ± 1.96 × Brain-Score's standard error over cross-validation splits (none where a benchmark has no "
                "error, the RDM benchmarks)."
            ]
            if "benchmarks" in config.pieces
            else []
        ),
        *(
            [
                f"- Figure-1 measures: {m.n_images} images × {m.K} augmentations per layer, bootstrap intervals over "
                f"images ({m.n_boot} resamples)."
            ]
            if "measures" in config.pieces
            else []
        ),
        *(
            [
                f"- Augmentation prediction: probes fitted on {a.n_train} CIFAR-10 training images, scored on "
                f"{a.n_test} test images ({', '.join(a.families)}), bootstrap intervals over test images "
                f"({a.n_boot} resamples)."
            ]
            if "augmentation" in config.pieces
            else []
        ),
        "- Larger settings: `neuroequi report --help` (e.g. `measures.n_images=64 augmentation.n_train=2000`).",
    ]
    if len(unscored):
        lines += [
            "",
            "Not scored (empty rows in `report.csv`, the reason in `note`): "
            + "; ".join(f"{r.model} {r.layer} on {r.name}" for r in unscored.itertuples())
            + ".",
        ]
    return "\n".join(lines) + "\n"
