"""The Figure-3 plots of the H-SSL experiment (Keller et al.'s Figure 3: change of top-1 accuracy against the
base size ``|g0|`` and against the topographic distance between ``g1`` and ``g2``), drawn from ``sweep.csv``.

One figure per sweep (``figure3_base``, ``figure3_distance``; PNG and PDF), one panel per group, one line per
method: the change of CIFAR-10 probe accuracy (percentage points) from the sweep's smallest value, with
95% intervals over seeds and test images (:mod:`analyses.hierarchical`). Figures never train or probe.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

#: Axis labels: the exact option each sweep varies.
XLABELS = {
    "rotation_base": "base size |g0|: rotations in g0 (rotation_base)",
    "grid_base": "base size |g0|: side of the patch of grid cells (grid_base)",
    "scale_base": "base size |g0|: scales in g0 (scale_base)",
    "rotation_distance": "topographic distance: max cyclic |r1 - r2| (rotation_distance)",
    "grid_distance": "topographic distance: max cells between t1, t2 (grid_distance)",
    "scale_distance": "topographic distance: max |j1 - j2| (scale_distance)",
}


def draw_sweeps(sweep: pd.DataFrame, out: Path) -> list[Path]:
    """Write ``figure3_<sweep>.{png,pdf}`` for every sweep in ``sweep`` (rows of ``sweep.csv``); the paths."""
    paths = []
    for name, rows in sweep.groupby("sweep", sort=False):
        groups = list(dict.fromkeys(rows["group"]))
        fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.4), squeeze=False)
        for ax, group in zip(axes[0], groups):
            panel = rows[rows["group"] == group]
            for method, line in panel.groupby("method", sort=False):
                delta = 100 * line["delta"]
                errors = [delta - 100 * line["delta_ci_low"], 100 * line["delta_ci_high"] - delta]
                ax.errorbar(
                    line["value"],
                    delta,
                    yerr=errors,
                    marker="o",
                    capsize=3,
                    label=method.upper().replace("SSL", "-SSL"),
                )
            ax.axhline(0, color="0.6", lw=0.8)
            ax.set_title(f"{group.capitalize()} ({int(panel['n_seeds'].iloc[0])} seed(s))")
            ax.set_xlabel(XLABELS[panel["key"].iloc[0]], fontsize=8)
            ax.set_xticks(sorted(panel["value"].unique()))
        axes[0][0].set_ylabel(f"change of top-1 accuracy (points)\nfrom {name} = smallest value")
        axes[0][-1].legend(fontsize=8)
        fig.tight_layout()
        for suffix in ("png", "pdf"):
            paths.append(out / f"figure3_{name}.{suffix}")
            fig.savefig(paths[-1], dpi=150)
        plt.close(fig)
    return paths
