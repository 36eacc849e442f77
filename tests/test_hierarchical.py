"""Intervals over seeds, then images (analyses.hierarchical), against the formula written out here."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analyses.hierarchical import combined_interval, hierarchical_interval, image_bootstrap


def test_image_bootstrap_is_the_mean_over_seeds_and_a_shared_image_resample():
    scores = (np.random.default_rng(0).random((3, 7)) > 0.4).astype(float)
    draws = np.random.default_rng(4).integers(7, size=(50, 7))
    expected = [np.mean([scores[s, draws[b]].mean() for s in range(3)]) for b in range(50)]
    np.testing.assert_allclose(image_bootstrap(scores, 50, seed=4), expected, rtol=0, atol=1e-12)


def test_interval_is_t_times_the_seed_error_combined_with_the_image_error():
    rng = np.random.default_rng(2)
    scores = (rng.random((3, 500)) > np.array([[0.4], [0.5], [0.45]])).astype(float)
    mean, low, high = hierarchical_interval(scores, 400, seed=1)
    se_seeds = np.std(scores.mean(axis=1), ddof=1) / np.sqrt(3)
    se_images = np.std(image_bootstrap(scores, 400, seed=1), ddof=1)
    half = np.sqrt((stats.t.ppf(0.975, 2) * se_seeds) ** 2 + (stats.norm.ppf(0.975) * se_images) ** 2)
    assert mean == pytest.approx(scores.mean()) and (low, high) == pytest.approx((mean - half, mean + half), abs=1e-12)


def test_three_seeds_that_merely_agree_in_sign_rarely_exclude_zero():
    """Paired differences with no true effect: the interval excludes 0 in about 5% of experiments (a
    percentile bootstrap over the seeds would do so far more often)."""
    rng = np.random.default_rng(3)
    excluded = 0
    for _ in range(300):
        seed_effects = rng.normal(0, 0.02, size=(3, 1))  # training noise, no true effect
        scores = seed_effects + rng.normal(0, 0.05, size=(3, 200))
        _, low, high = hierarchical_interval(scores, 200, seed=0)
        excluded += low > 0 or high < 0
    assert excluded / 300 < 0.10


def test_one_seed_is_the_percentile_interval_of_the_images_and_constants_have_none():
    scores = (np.random.default_rng(5).random((1, 300)) > 0.5).astype(float)
    _, low, high = hierarchical_interval(scores, 500, seed=0)
    assert (low, high) == pytest.approx(tuple(np.percentile(image_bootstrap(scores, 500, seed=0), [2.5, 97.5])))
    assert hierarchical_interval(np.ones((2, 5)), 100) == (1.0, 1.0, 1.0)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="seeds >= 1, images >= 2"):
        image_bootstrap(np.ones(5))
    with pytest.raises(ValueError, match="n_boot must be >= 1"):
        image_bootstrap(np.ones((2, 5)), 0)
    with pytest.raises(ValueError, match="n_seeds must be >= 2"):
        combined_interval(0.0, 1.0, 1.0, 1)
