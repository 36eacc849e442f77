"""Hierarchical bootstrap over training seeds, then test images.

A per-image score matrix ``scores (S, I)`` (e.g. 1 where the probe of the model trained with seed ``s``
classifies test image ``i`` correctly, else 0; or the difference of two such matrices, paired by seed
and image) has the statistic ``mean over seeds of the mean over images``. One bootstrap resample draws
``S`` seeds with replacement and, for each drawn seed, ``I`` images with replacement (independently
per drawn seed), and takes the same mean. The percentile interval of the resamples covers both
sources of variation: which seed a model was trained with and which test images it was scored on.
With one seed it reduces to the bootstrap over images.
"""

from __future__ import annotations

import numpy as np

from analyses.measures import interval

__all__ = ["hierarchical_bootstrap", "hierarchical_interval"]


def hierarchical_bootstrap(scores: np.ndarray, n_boot: int = 2000, seed: int = 0) -> np.ndarray:
    """``(n_boot,)`` resampled means of ``scores (S, I)``: seeds with replacement, then images within each draw."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[0] < 1 or scores.shape[1] < 2:
        raise ValueError(f"scores must be (seeds >= 1, images >= 2), got shape {scores.shape}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    n_seeds, n_images = scores.shape
    rng = np.random.default_rng(seed)
    seeds = rng.integers(n_seeds, size=(n_boot, n_seeds))  # (B, S): the seeds of each resample
    total = np.zeros(n_boot)
    for slot in range(n_seeds):  # one drawn seed per slot, its images drawn afresh: (B, I) at a time
        images = rng.integers(n_images, size=(n_boot, n_images))
        total += scores[seeds[:, slot, None], images].mean(axis=1)
    return total / n_seeds


def hierarchical_interval(
    scores: np.ndarray, n_boot: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """``(mean, ci_low, ci_high)`` of ``scores (S, I)``: the mean over seeds and images and the central
    ``level`` percentile interval of :func:`hierarchical_bootstrap`."""
    samples = hierarchical_bootstrap(scores, n_boot, seed)
    low, high = interval(samples, level)
    return float(np.mean(scores)), low, high
