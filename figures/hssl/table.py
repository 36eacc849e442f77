"""The H-SSL experiment's tables, made from the runs' per-image probe predictions.

* ``table.csv`` -- one row per (backbone, method): ``probe_accuracy`` (CIFAR-10 test accuracy of the
  logistic-regression probe on the group-pooled ``h``, mean over training seeds and test images), its 95%
  interval over training seeds and test images (t-corrected for few seeds; :mod:`analyses.hierarchical`), the
  accuracy of every seed, the mean final SSL loss and training time.
* ``differences.csv`` -- paired differences of accuracy (same seed index, same test images) with the same
  kind of interval and whether it excludes zero: within a backbone ``assl - frozen``, ``hssl - frozen``,
  ``hssl - assl``; within a group ``<method>: equivariant - control``.
* ``sweep.csv`` -- the Figure-3 sweeps: per group, sweep (``base``: ``|g0|``; ``distance``: topographic
  distance) and value, the accuracy and its change from the sweep's first (smallest) value, paired.
* ``report.md`` -- the three tables in Markdown and, per group, the verdict on each claim of the paper
  (:data:`CLAIMS`), worded from ``differences.csv`` only (the README includes this file verbatim).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from analyses.hierarchical import hierarchical_interval
from figures.hssl.config import BACKBONES, SWEEP_KEYS, HsslConfig, Run, sweep_run
from neuroequi.io import atomic_write, json_float

#: File names in the experiment's output folder.
TABLE, DIFFERENCES, SWEEP, REPORT = "table.csv", "differences.csv", "sweep.csv", "report.md"
#: The columns ``neuroequi figures hssl`` prints.
SHOWN = ("group", "backbone", "method", "n_seeds", "probe_accuracy", "ci_low", "ci_high", "train_seconds")


def correct(out: Path, run: Run) -> np.ndarray:
    """``(I,)`` 1.0 where the run's probe classified the test image correctly, in the saved image order."""
    frame = pd.read_csv(out / "runs" / run.name / "predictions.csv")
    return (frame["label"] == frame["prediction"]).to_numpy(dtype=np.float64)


def scores(out: Path, runs: list[Run]) -> np.ndarray:
    """``(seeds, I)`` correctness of ``runs`` (one per seed, in order)."""
    return np.stack([correct(out, run) for run in runs])


def _interval(matrix: np.ndarray, config: HsslConfig) -> dict[str, float]:
    mean, low, high = hierarchical_interval(matrix, config.n_boot, seed=config.probe_seed)
    return {"value": mean, "ci_low": low, "ci_high": high}


def _contrast(out: Path, config: HsslConfig, a: list[Run], b: list[Run], **labels: object) -> dict[str, object]:
    """Paired difference ``a - b`` (seed index by seed index, image by image) with its interval."""
    result = _interval(scores(out, a) - scores(out, b), config)
    return {
        **labels,
        "difference": result["value"],
        "ci_low": result["ci_low"],
        "ci_high": result["ci_high"],
        "excludes_zero": bool(result["ci_low"] > 0 or result["ci_high"] < 0),
        "n_seeds": len(a),
    }


def main_table(config: HsslConfig, out: Path) -> pd.DataFrame:
    """``table.csv``'s rows (see module doc)."""
    rows = []
    for backbone in config.backbones:
        for method in config.methods:
            runs = [Run(backbone, method, seed) for seed in config.seeds]
            matrix = scores(out, runs)
            metas = [json.loads((out / "runs" / run.name / "run.json").read_text()) for run in runs]
            accuracy = _interval(matrix, config)
            rows.append(
                {
                    "group": BACKBONES[backbone].group,
                    "backbone": backbone,
                    "structure": BACKBONES[backbone].structure,
                    "method": method,
                    "n_seeds": len(runs),
                    "probe_accuracy": accuracy["value"],
                    "ci_low": accuracy["ci_low"],
                    "ci_high": accuracy["ci_high"],
                    "seed_accuracies": ";".join(f"{a:.4f}" for a in matrix.mean(axis=1)),
                    "n_test": matrix.shape[1],
                    "final_ssl_loss": float(np.mean([json_float(m["final_ssl_loss"]) for m in metas])),
                    "train_seconds": round(float(np.mean([m["train_seconds"] for m in metas])), 1),
                }
            )
    return pd.DataFrame(rows)


def differences(config: HsslConfig, out: Path) -> pd.DataFrame:
    """``differences.csv``'s rows (see module doc)."""

    def runs(backbone: str, method: str) -> list[Run]:
        return [Run(backbone, method, seed) for seed in config.seeds]

    rows = []
    pairs = [("assl", "frozen"), ("hssl", "frozen"), ("hssl", "assl")]
    for backbone in config.backbones:
        for a, b in pairs:
            if {a, b} <= set(config.methods):
                rows.append(
                    _contrast(
                        out,
                        config,
                        runs(backbone, a),
                        runs(backbone, b),
                        group=BACKBONES[backbone].group,
                        contrast=f"{backbone}: {a} - {b}",
                    )
                )
    for backbone in config.backbones:
        control = f"{backbone}_control"
        if control in config.backbones:
            for method in config.methods:
                rows.append(
                    _contrast(
                        out,
                        config,
                        runs(backbone, method),
                        runs(control, method),
                        group=BACKBONES[backbone].group,
                        contrast=f"{method}: {backbone} - {control}",
                    )
                )
    return pd.DataFrame(rows)


def sweep_table(config: HsslConfig, out: Path) -> pd.DataFrame:
    """``sweep.csv``'s rows (see module doc)."""
    rows = []
    for sweep, groups in config.sweeps.items():
        for group, values in groups.items():
            for method in config.sweep_methods:
                runs = {v: [sweep_run(group, sweep, v, method, seed) for seed in config.sweep_seeds] for v in values}
                for value in values:
                    accuracy = _interval(scores(out, runs[value]), config)
                    change = _contrast(out, config, runs[value], runs[values[0]])
                    rows.append(
                        {
                            "group": group,
                            "sweep": sweep,
                            "key": SWEEP_KEYS[sweep][group],
                            "value": value,
                            "method": method,
                            "n_seeds": len(config.sweep_seeds),
                            "probe_accuracy": accuracy["value"],
                            "ci_low": accuracy["ci_low"],
                            "ci_high": accuracy["ci_high"],
                            "reference": values[0],
                            "delta": change["difference"],
                            "delta_ci_low": change["ci_low"],
                            "delta_ci_high": change["ci_high"],
                            "delta_excludes_zero": change["excludes_zero"],
                        }
                    )
    return pd.DataFrame(rows)


#: The paper's claims (Keller et al. 2023, Tables 1-2) as (contrast on the equivariant backbone ``B``, claim).
#: ``{B}`` is the group's equivariant backbone; a claim holds when the paired interval lies above zero.
CLAIMS = (
    ("{B}: hssl - frozen", "H-SSL on the equivariant backbone beats its frozen random initialisation"),
    ("{B}: assl - frozen", "A-SSL on the equivariant backbone beats its frozen random initialisation"),
    ("hssl: {B} - {B}_control", "H-SSL needs the structure: it is better with the equivariant backbone than without"),
)


def _ci(value: float, low: float, high: float) -> str:
    return f"{value:+.3f} [{low:+.3f}, {high:+.3f}]"


def verdict(row: pd.Series) -> str:
    """``holds`` (interval above 0), ``reversed`` (below 0) or ``not shown`` (interval contains 0)."""
    if not row["excludes_zero"]:
        return "not shown (interval contains 0)"
    return "holds" if row["difference"] > 0 else "reversed (interval below 0)"


def markdown_report(tables: dict[str, pd.DataFrame], config: HsslConfig) -> str:
    """``report.md``: accuracy table, paired differences, the paper's claims per group and the sweeps."""
    table, diffs = tables["table"], tables["differences"].set_index("contrast")
    lines = [
        f"Linear-probe CIFAR-10 test accuracy, mean over {len(config.seeds)} training seeds "
        f"(95% interval over seeds and {int(table['n_test'].iloc[0])} test images: mean ± √((t·SE_seeds)² + (z·SE_images)²)):",
        "",
        "| group | backbone | structure | method | accuracy [95% CI] | per seed |",
        "|---|---|---|---|---|---|",
    ]
    for _, r in table.iterrows():
        lines.append(
            f"| {r['group']} | {r['backbone']} | {r['structure']} | {r['method']} | "
            f"{r['probe_accuracy']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}] | {r['seed_accuracies'].replace(';', ', ')} |"
        )
    lines += [
        "",
        "Paired differences (same seed index, same test images):",
        "",
        "| contrast | difference [95% CI] | excludes 0 |",
        "|---|---|---|",
    ]
    for contrast, r in diffs.iterrows():
        lines.append(
            f"| {contrast} | {_ci(r['difference'], r['ci_low'], r['ci_high'])} | {'yes' if r['excludes_zero'] else 'no'} |"
        )
    lines += [
        "",
        "The paper's claims at this size (from the paired differences above):",
        "",
        "| group | claim | contrast | verdict |",
        "|---|---|---|---|",
    ]
    for backbone in (b for b in config.backbones if f"{b}_control" in BACKBONES):  # the equivariant ones
        for template, claim in CLAIMS:
            contrast = template.format(B=backbone)
            if contrast in diffs.index:
                lines.append(f"| {BACKBONES[backbone].group} | {claim} | {contrast} | {verdict(diffs.loc[contrast])} |")
    if "sweep" in tables:
        lines += [
            "",
            f"Figure-3 sweeps (H-SSL, equivariant backbone, {len(config.sweep_seeds)} seeds): change of accuracy "
            "from the smallest value, paired:",
            "",
            "| group | sweep | value | accuracy | change [95% CI] | excludes 0 |",
            "|---|---|---|---|---|---|",
        ]
        for _, r in tables["sweep"].iterrows():
            lines.append(
                f"| {r['group']} | {r['sweep']} ({r['key']}) | {r['value']} | {r['probe_accuracy']:.3f} | "
                f"{_ci(r['delta'], r['delta_ci_low'], r['delta_ci_high'])} | {'yes' if r['delta_excludes_zero'] else 'no'} |"
            )
    return "\n".join(lines) + "\n"


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Save a table as CSV (atomically)."""
    with atomic_write(path) as tmp:
        frame.to_csv(tmp, index=False)
    return path


def write_tables(config: HsslConfig, out: Path) -> dict[str, pd.DataFrame]:
    """Make and write ``table.csv``, ``differences.csv``, (with sweeps) ``sweep.csv`` and ``report.md``; return the tables by name."""
    tables = {"table": main_table(config, out), "differences": differences(config, out)}
    write_csv(tables["table"], out / TABLE)
    write_csv(tables["differences"], out / DIFFERENCES)
    if config.sweeps:
        tables["sweep"] = sweep_table(config, out)
        write_csv(tables["sweep"], out / SWEEP)
    with atomic_write(out / REPORT) as tmp:
        tmp.write_text(markdown_report(tables, config))
    return tables
