"""The tidy Figure-1 table: one row per (λ, quantity), columns :data:`figures.plot.TABLE_COLUMNS`.

Built from what the pipeline saved: each λ's measures table (``figure1_measures.csv``),
its ΔD_B rows against the λ=0 model's per-image distances
(:func:`analyses.pipeline.delta_table`: paired bootstrap over images), and its
benchmark scores (JSON).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from figures.figure1.config import Figure1Config
from figures.plot import TABLE_COLUMNS
from neuroequi.io import format_lambda

PANEL_OF_QUANTITY = {
    "delta_shared_variability": 2,
    "decoding_r_mean": 3,
    "delta_content_augmentation_factorization": 4,
    "delta_crop_photometric_factorization": 5,
}
DECODING_GROUPS = ("crop_x", "crop_w", "brightness", "saturation", "flip")


def lam_tag(lam: float) -> str:
    """File-name tag of a λ value: 0 -> 'lam0', 0.001 -> 'lam0.001'."""
    return f"lam{format_lambda(lam)}"


def analysis_marker(root: Path, lam: float) -> Path:
    """The file that says the analysis of ``lam`` is finished (a copy of its measures table)."""
    return root / "analyses" / lam_tag(lam) / "figure1_measures.csv"


def score_path(root: Path, lam: float, benchmark: str) -> Path:
    """Where the score of the ``lam`` model on ``benchmark`` is saved."""
    return root / "scores" / lam_tag(lam) / f"{benchmark}.json"


def measure_rows(measures: pd.DataFrame, lam: float) -> pd.DataFrame:
    """Panel 2-5 rows of one model's tidy measures table (columns as the measures table's)."""
    keep = set(PANEL_OF_QUANTITY) | {f"decoding_r[{p}]" for p in DECODING_GROUPS}
    rows = measures[measures["quantity"].isin(keep)].copy()
    rows["panel"] = rows["quantity"].map(lambda q: PANEL_OF_QUANTITY.get(q, 3))
    rows["lambda_"] = lam
    return rows[list(TABLE_COLUMNS)]


def score_row(result: dict, lam: float) -> dict:
    """Panel-1 row of one score result (interval: score ± Brain-Score's error)."""
    value, error = float(result["score"]), float(result["error"])
    ceiled = not str(result["ceiling_formula"]).startswith("none")
    label = f"{result['benchmark']}{' (ceiled)' if ceiled else ''}"
    err = 0.0 if np.isnan(error) else error
    return {"panel": 1, "quantity": result["benchmark"], "label": label, "lambda_": lam, "value": value,
            "ci_low": value - err if err else np.nan, "ci_high": value + err if err else np.nan, "n": np.nan}


def build_table(config: Figure1Config, root: Path, benchmarks: tuple[str, ...]) -> pd.DataFrame:
    """The tidy Figure-1 table from the per-λ measures and scores saved under ``root``.

    ΔD_B rows compare each λ's per-image distances with the λ=0 model's on the
    same images (paired bootstrap, :func:`analyses.pipeline.delta_table`).
    """
    from analyses.pipeline import delta_table

    baseline = analysis_marker(root, config.lambdas[0]).parent
    frames = []
    for lam in config.lambdas:
        marker = analysis_marker(root, lam)
        deltas = delta_table(marker.parent, baseline, n_boot=config.n_boot, seed=config.seed)
        frames.append(measure_rows(pd.concat([pd.read_csv(marker), deltas], ignore_index=True), lam))
        scores = [json.loads(score_path(root, lam, b).read_text()) for b in benchmarks]
        frames.append(pd.DataFrame([score_row(s, lam) for s in scores]))
    return pd.concat(frames, ignore_index=True).sort_values(["panel", "quantity", "lambda_"])
