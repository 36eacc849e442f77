"""Intervals of a mean over training seeds and test images, valid with a handful of seeds.

A per-image score matrix ``scores (S, I)`` (e.g. 1 where the probe of the model trained with seed ``s``
classifies test image ``i`` correctly, else 0; or the difference of two such matrices, paired by seed
and image) has the statistic ``mean over seeds of the mean over images``. Its interval adds the two
sources of variation (:func:`combined_interval`): which seeds the models were trained with, as
``t(S−1) · SE_seeds`` (the standard error of the mean of the ``S`` seed means, times the quantile of
Student's t with ``S − 1`` degrees of freedom), and which test images they were scored on, as
``z · SE_images`` (a bootstrap over images, the same resample for every seed: every seed saw the same
images). A percentile bootstrap over 3 seeds would be about their range, far too narrow: an effect whose
seeds merely agree in sign would "exclude 0" about one time in four. One seed: the percentile interval
of the image bootstrap alone.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm
from scipy.stats import t as student_t

from analyses.measures import interval, require_finite

__all__ = ["combined_interval", "hierarchical_interval", "image_bootstrap"]


def combined_interval(
    mean: float, sd_seeds: float, sd_images: float, n_seeds: int, level: float = 0.95
) -> tuple[float, float]:
    """``mean ± sqrt((t·sd_seeds)² + (z·sd_images)²)``: ``t`` of Student's t with ``n_seeds − 1`` degrees of
    freedom and ``z`` of the normal, both at the central ``level`` (``n_seeds >= 2``)."""
    if n_seeds < 2:
        raise ValueError(f"n_seeds must be >= 2 for a t interval, got {n_seeds}")
    quantile = 0.5 + level / 2
    half = float(np.hypot(student_t.ppf(quantile, n_seeds - 1) * sd_seeds, norm.ppf(quantile) * sd_images))
    return mean - half, mean + half


def image_bootstrap(scores: np.ndarray, n_boot: int = 2000, seed: int = 0) -> np.ndarray:
    """``(n_boot,)`` means of ``scores (S, I)`` over seeds and over images resampled with replacement, the
    same resample for every seed."""
    scores = require_finite(np.asarray(scores, dtype=np.float64), "scores")
    if scores.ndim != 2 or scores.shape[0] < 1 or scores.shape[1] < 2:
        raise ValueError(f"scores must be (seeds >= 1, images >= 2), got shape {scores.shape}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    per_image = scores.mean(axis=0)  # (I,): the mean over seeds commutes with the image resample
    images = np.random.default_rng(seed).integers(scores.shape[1], size=(n_boot, scores.shape[1]))
    return per_image[images].mean(axis=1)


def hierarchical_interval(
    scores: np.ndarray, n_boot: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """``(mean, ci_low, ci_high)`` of ``scores (S, I)`` (module doc): with ``S >= 2`` seeds the
    :func:`combined_interval` of ``SE_seeds = sd(seed means) / sqrt(S)`` and ``SE_images`` = the SD of
    :func:`image_bootstrap`; with one seed the central ``level`` percentile interval of the image bootstrap.
    A NaN or inf in ``scores`` is a ConfigError (never an interval of the resamples that missed it)."""
    samples = image_bootstrap(scores, n_boot, seed)
    mean = float(np.mean(scores))
    if scores.shape[0] == 1:
        low, high = interval(samples, level)
        return mean, low, high
    seed_means = np.asarray(scores, dtype=np.float64).mean(axis=1)
    low, high = combined_interval(
        mean,
        float(np.std(seed_means, ddof=1) / np.sqrt(len(seed_means))),
        float(np.std(samples, ddof=1)),
        len(seed_means),
        level,
    )
    return mean, low, high
