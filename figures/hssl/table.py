"""The H-SSL experiment's table: one row per run (backbone, method), saved as CSV."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from figures.hssl.config import BACKBONES, Run
from neuroequi.io import atomic_write

#: File name of the table in the experiment's output folder.
TABLE = "table.csv"
#: The columns :func:`neuroequi hssl` prints.
SHOWN = ("backbone", "method", "probe_accuracy", "ci_low", "ci_high", "final_ssl_loss", "train_seconds")


def table_row(run: Run, probe: dict, *, final_ssl_loss: float, train_seconds: float, probe_seconds: float,
              checkpoint: str, weights_sha256: str) -> dict[str, object]:
    """One table row from a run (``backbone``, ``method``) and its probe's tidy row (value, interval, n)."""
    return {
        "backbone": run.backbone, "structure": BACKBONES[run.backbone], "method": run.method,
        "probe_accuracy": probe["value"], "ci_low": probe["ci_low"], "ci_high": probe["ci_high"],
        "n_test": probe["n"], "final_ssl_loss": final_ssl_loss, "train_seconds": round(train_seconds, 1),
        "probe_seconds": round(probe_seconds, 1), "checkpoint": checkpoint, "weights_sha256": weights_sha256,
    }


def write_table(table: pd.DataFrame, path: Path) -> Path:
    """Save the table as CSV (atomically)."""
    with atomic_write(path) as tmp:
        table.to_csv(tmp, index=False)
    return path
