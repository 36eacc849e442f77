"""The H-SSL experiment's tables, made from the runs' per-image probe predictions.

* ``table.csv`` -- one row per (backbone, method): ``probe_accuracy`` (CIFAR-10 test accuracy of the
  logistic-regression probe on the group-pooled ``h``, mean over training seeds and test images), its 95%
  interval from a hierarchical bootstrap (seeds, then test images; :mod:`analyses.hierarchical`), the
  accuracy of every seed, the mean final SSL loss and training time.
* ``differences.csv`` -- paired differences of accuracy (same seed index, same test images) with the same
  kind of interval and whether it excludes zero: within a backbone ``assl - frozen``, ``hssl - frozen``,
  ``hssl - assl``; within a group ``<method>: equivariant - control``.
* ``sweep.csv`` -- the Figure-3 sweeps: per group, sweep (``base``: ``|g0|``; ``distance``: topographic
  distance) and value, the accuracy and its change from the sweep's first (smallest) value, paired.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from analyses.hierarchical import hierarchical_interval
from figures.hssl.config import BACKBONES, SWEEP_KEYS, HsslConfig, Run, sweep_run
from neuroequi.io import atomic_write

#: File names in the experiment's output folder.
TABLE, DIFFERENCES, SWEEP = "table.csv", "differences.csv", "sweep.csv"
#: The columns ``neuroequi hssl`` prints.
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
    return {**labels, "difference": result["value"], "ci_low": result["ci_low"], "ci_high": result["ci_high"],
            "excludes_zero": bool(result["ci_low"] > 0 or result["ci_high"] < 0), "n_seeds": len(a)}


def main_table(config: HsslConfig, out: Path) -> pd.DataFrame:
    """``table.csv``'s rows (see module doc)."""
    rows = []
    for backbone in config.backbones:
        for method in config.methods:
            runs = [Run(backbone, method, seed) for seed in config.seeds]
            matrix = scores(out, runs)
            metas = [json.loads((out / "runs" / run.name / "run.json").read_text()) for run in runs]
            accuracy = _interval(matrix, config)
            rows.append({
                "group": BACKBONES[backbone].group, "backbone": backbone, "structure": BACKBONES[backbone].structure,
                "method": method, "n_seeds": len(runs), "probe_accuracy": accuracy["value"],
                "ci_low": accuracy["ci_low"], "ci_high": accuracy["ci_high"],
                "seed_accuracies": ";".join(f"{a:.4f}" for a in matrix.mean(axis=1)), "n_test": matrix.shape[1],
                "final_ssl_loss": float(np.mean([m["final_ssl_loss"] for m in metas])),
                "train_seconds": round(float(np.mean([m["train_seconds"] for m in metas])), 1),
            })
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
                rows.append(_contrast(out, config, runs(backbone, a), runs(backbone, b), group=BACKBONES[backbone].group,
                                      contrast=f"{backbone}: {a} - {b}"))
    for backbone in config.backbones:
        control = f"{backbone}_control"
        if control in config.backbones:
            for method in config.methods:
                rows.append(_contrast(out, config, runs(backbone, method), runs(control, method),
                                      group=BACKBONES[backbone].group, contrast=f"{method}: {backbone} - {control}"))
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
                    rows.append({
                        "group": group, "sweep": sweep, "key": SWEEP_KEYS[sweep][group], "value": value, "method": method,
                        "n_seeds": len(config.sweep_seeds), "probe_accuracy": accuracy["value"],
                        "ci_low": accuracy["ci_low"], "ci_high": accuracy["ci_high"], "reference": values[0],
                        "delta": change["difference"], "delta_ci_low": change["ci_low"], "delta_ci_high": change["ci_high"],
                        "delta_excludes_zero": change["excludes_zero"],
                    })
    return pd.DataFrame(rows)


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Save a table as CSV (atomically)."""
    with atomic_write(path) as tmp:
        frame.to_csv(tmp, index=False)
    return path


def write_tables(config: HsslConfig, out: Path) -> dict[str, pd.DataFrame]:
    """Make and write ``table.csv``, ``differences.csv`` and (with sweeps) ``sweep.csv``; return them by name."""
    tables = {"table": main_table(config, out), "differences": differences(config, out)}
    write_csv(tables["table"], out / TABLE)
    write_csv(tables["differences"], out / DIFFERENCES)
    if config.sweeps:
        tables["sweep"] = sweep_table(config, out)
        write_csv(tables["sweep"], out / SWEEP)
    return tables
