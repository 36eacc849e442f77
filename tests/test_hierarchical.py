"""Hierarchical bootstrap over seeds, then images (analyses.hierarchical)."""

from __future__ import annotations

import numpy as np
import pytest

from analyses.hierarchical import hierarchical_bootstrap, hierarchical_interval


def _reference(scores: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """The definition, one resample at a time, with the same random draws (seeds first, then images per slot)."""
    rng = np.random.default_rng(seed)
    n_seeds, n_images = scores.shape
    seeds = rng.integers(n_seeds, size=(n_boot, n_seeds))
    images = [rng.integers(n_images, size=(n_boot, n_images)) for _ in range(n_seeds)]
    out = np.empty(n_boot)
    for b in range(n_boot):
        out[b] = np.mean([np.mean([scores[seeds[b, slot], i] for i in images[slot][b]]) for slot in range(n_seeds)])
    return out


def test_matches_the_definition_resample_by_resample():
    scores = (np.random.default_rng(0).random((3, 7)) > 0.4).astype(float)
    np.testing.assert_allclose(hierarchical_bootstrap(scores, 50, seed=4), _reference(scores, 50, 4), rtol=0, atol=1e-12)


def test_seed_variation_widens_the_interval_and_constants_have_none():
    rng = np.random.default_rng(1)
    images = (rng.random(400) > 0.5).astype(float)
    same = np.stack([images] * 3)  # three seeds that agree on every image
    shifted = np.stack([images, np.roll(images, 1) * 0, np.ones(400)])  # three seeds that disagree a lot
    _, low_same, high_same = hierarchical_interval(same, 1000)
    mean, low, high = hierarchical_interval(shifted, 1000)
    assert high - low > 3 * (high_same - low_same) and low <= mean <= high
    assert hierarchical_interval(np.ones((2, 5)), 100) == (1.0, 1.0, 1.0)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="seeds >= 1, images >= 2"):
        hierarchical_bootstrap(np.ones(5))
    with pytest.raises(ValueError, match="n_boot must be >= 1"):
        hierarchical_bootstrap(np.ones((2, 5)), 0)
