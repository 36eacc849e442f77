"""The vectorised stimulus bootstrap of an RDM score against a per-resample reference written here: the pairs of
positions ``a < b`` of each resample, those of a stimulus with its own copy left out, ranked with scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import rankdata

from analyses.neural import rdm_bootstrap as rb


def reference(model: np.ndarray, neural: np.ndarray, resamples: np.ndarray, method: str) -> np.ndarray:
    """``(B, K)`` r of the model's resampled pairs with each neural RDM's, one resample at a time."""
    rows, cols = np.triu_indices(model.shape[0], k=1)
    out = np.full((len(resamples), len(neural)), np.nan)
    for i, idx in enumerate(resamples):
        a, b = idx[rows], idx[cols]
        keep = a != b
        if keep.sum() < 2:
            continue
        x = model[a[keep], b[keep]]
        for k, rdm in enumerate(neural):
            y = rdm[a[keep], b[keep]]
            if method == "spearman":
                x_, y_ = rankdata(x), rankdata(y)
            else:
                x_, y_ = x, y
            out[i, k] = np.corrcoef(x_, y_)[0, 1]
    return out


def rdms(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A model RDM that is not symmetric (some pairs a few ulps apart, one pair far apart, ties) and three neural
    RDMs: two symmetric (one with many ties), one not."""
    rng = np.random.default_rng(seed)
    model = 1 - np.corrcoef(rng.normal(size=(n, 6)))  # not bit-symmetric
    model[np.triu_indices(n, k=1)] = np.nextafter(model[np.triu_indices(n, k=1)], 9)  # a ulp above its twin
    model[0, 1], model[2, 3], model[3, 2] = 5.0, model[4, 5], model[5, 4]  # a pair far apart; ties across pairs
    neural = rng.random((3, n, n))
    neural[:2] = (neural[:2] + neural[:2].transpose(0, 2, 1)) / 2
    neural[1] = np.round(neural[1] * 4) / 4  # few distinct values: many ties
    return model, neural


@pytest.mark.parametrize("method", ["spearman", "pearson"])
def test_rdm_bootstrap_is_the_score_of_each_resample(method, monkeypatch):
    monkeypatch.setattr(rb, "BLOCK", 4)  # several blocks, the last one short
    n = 9
    model, neural = rdms(n, 0)
    resamples = np.vstack([rb.pattern_resamples(n, 9, seed=2), np.zeros((1, n), int), np.arange(n)])
    boot = rb.rdm_bootstrap(model, neural, resamples, method)
    expected = reference(model, neural, resamples, method)
    assert boot.shape == (11, 3) and np.isnan(boot[9]).all()  # a resample of one stimulus: no pair left
    np.testing.assert_allclose(boot, expected, rtol=1e-12, atol=1e-14)
    assert np.array_equal(rb.rdm_bootstrap(model, neural, resamples, method), boot, equal_nan=True)
    assert rb.rdm_bootstrap(model, neural[0], resamples, method) == pytest.approx(boot[:, 0], nan_ok=True, rel=1e-14)


def test_tied_pairs_of_an_asymmetric_rdm_rank_apart():
    """Two values a ulp apart are two ranks, not a tie: the score moves when one copy of a pair is read more often."""
    n = 6
    model, neural = rdms(n, 1)
    resamples = rb.pattern_resamples(n, 40, seed=5)
    symmetrised = np.triu(model, 1) + np.triu(model, 1).T
    boot, expected = rb.rdm_bootstrap(model, neural[:2], resamples), reference(model, neural[:2], resamples, "spearman")
    np.testing.assert_allclose(boot, expected, rtol=1e-12, atol=1e-14)
    assert not np.allclose(boot, rb.rdm_bootstrap(symmetrised, neural[:2], resamples), rtol=1e-9, equal_nan=True)


def test_no_resamples_give_no_scores_and_too_many_stimuli_are_refused():
    """Zero resamples: an empty result of the documented shape; more stimuli than the float32 rank sums count
    exactly (``n(n-1) >= 2**24``): refused, naming the limit."""
    from neuroequi.errors import ConfigError

    rdm = np.random.default_rng(0).random((5, 5))
    assert rb.rdm_bootstrap(rdm, rdm, np.empty((0, 5), int)).shape == (0,)
    assert rb.rdm_bootstrap(rdm, np.stack([rdm, rdm]), np.empty((0, 5), int)).shape == (0, 2)
    n = rb.MAX_STIMULI + 1
    assert n * (n - 1) >= 2**24 > (n - 1) * (n - 2)
    big = np.zeros((n, n), np.float32)
    with pytest.raises(ConfigError, match=f"{n} stimuli; at most {n - 1}"):
        rb.rdm_bootstrap(big, big, np.zeros((1, n), int))
