"""Stimulus noise of an RDM score: the bootstrap over stimuli (and subjects), vectorised.

An RDM benchmark compares a model RDM with one (or several subjects') neural RDM on a fixed
set of ``n`` stimuli; a different set of stimuli would give a different score. The bootstrap
over stimuli (rsatoolbox's ``bootstrap_sample_pattern``) resamples the ``n`` stimuli with
replacement and recomputes both RDMs on the resampled set: the dissimilarity of the pair
``(idx[a], idx[b])`` for every pair of positions ``a < b``. A stimulus drawn twice would be
paired with its own copy (dissimilarity 0 in both RDMs, by construction, not by data); those
pairs are left out, as rsatoolbox does (it sets them to NaN before comparing).

:func:`rdm_bootstrap` returns the score on every resample; its SD is the ``error`` the RDM
benchmarks report (:data:`N_BOOT` resamples, seed :data:`SEED`), which the Figure-1 table
combines with the seeds like every other within-seed error (``figures.figure1.seeds``). The
resamples are the same for every model (fixed :data:`SEED`), and the benchmarks save them
(``replicates``), so the difference of two models' scores is bootstrapped paired by stimuli.
"""

from __future__ import annotations

import numpy as np

from neuroequi.errors import ConfigError

N_BOOT = 1000
SEED = 0
METHODS = ("spearman", "pearson")


def pattern_resamples(n: int, n_boot: int = N_BOOT, seed: int = SEED) -> np.ndarray:
    """``(n_boot, n)`` stimulus indices drawn with replacement (one bootstrap sample per row)."""
    return np.random.default_rng([seed, n]).integers(0, n, size=(n_boot, n))


def _centred(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``values`` (``(..., B, P)``) minus the mean of their ``valid`` entries (``(B, P)``) along the last
    axis; 0 where not valid."""
    mean = np.where(valid, values, 0.0).sum(axis=-1) / valid.sum(axis=-1)
    return np.where(valid, values - mean[..., None], 0.0)


def _masked_corr(x: np.ndarray, y: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``(B, K)`` Pearson r of ``x`` (``(B, P)``) with each of ``y`` (``(K, B, P)``) along the last axis,
    using only the entries where ``valid`` (``(B, P)``)."""
    dx, dy = _centred(x, valid), _centred(y, valid)
    products = np.einsum("bp,kbp->bk", dx, dy)
    return products / np.sqrt(np.einsum("bp,bp->b", dx, dx)[:, None] * np.einsum("kbp,kbp->bk", dy, dy))


def _resampled_ranks(values: np.ndarray, entries: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Average ranks (1-based, ties averaged, as scipy's ``rankdata``) of ``values[entries]`` along each row
    among its ``valid`` entries; NaN elsewhere.

    Args:
        values: ``(m,)`` the dissimilarities every resample draws from (a flattened RDM).
        entries: ``(B, P)`` indices into ``values`` (one resample per row).
        valid: ``(B, P)`` which entries take part.

    Returns:
        ``(B, P)`` ranks. No sort per row: a resample only reweights the ``U`` distinct values, so the rank
        of the ``u``-th smallest is ``(# valid entries below it) + (its count + 1) / 2``, from the per-row
        counts of each distinct value and their running sum.
    """
    distinct, code = np.unique(values, return_inverse=True)
    n_rows, n_distinct = entries.shape[0], len(distinct)
    codes = code.reshape(-1)[entries]
    offsets = codes + n_distinct * np.arange(n_rows)[:, None]
    counts = np.bincount(offsets[valid], minlength=n_rows * n_distinct).reshape(n_rows, n_distinct)
    rank_of_code = np.cumsum(counts, axis=1) - counts + (counts + 1) / 2
    return np.where(valid, np.take(rank_of_code.ravel(), offsets), np.nan)


def rdm_bootstrap(
    model_rdm: np.ndarray, neural_rdms: np.ndarray, resamples: np.ndarray, method: str = "spearman"
) -> np.ndarray:
    """Similarity of the model RDM to each neural RDM on every stimulus resample.

    Args:
        model_rdm: ``(n, n)`` symmetric dissimilarities of the model.
        neural_rdms: ``(K, n, n)`` neural RDMs (subjects), or one ``(n, n)``.
        resamples: ``(B, n)`` stimulus indices (:func:`pattern_resamples`; rows of ``arange(n)``
            give the scores on the original set).
        method: ``"spearman"`` (rank correlation of the upper triangles) or ``"pearson"``.

    Returns:
        ``(B, K)`` similarities (``(B,)`` for one neural RDM); pairs of a stimulus with its own copy left out.
    """
    if method not in METHODS:
        raise ConfigError(f"rdm_bootstrap method {method!r}: expected one of {list(METHODS)}")
    model_rdm, neural = np.asarray(model_rdm, dtype=np.float64), np.asarray(neural_rdms, dtype=np.float64)
    single = neural.ndim == 2
    neural = neural[None] if single else neural
    n = model_rdm.shape[0]
    if model_rdm.shape != (n, n) or neural.shape[1:] != (n, n) or resamples.shape[1] != n:
        raise ConfigError(
            f"rdm_bootstrap: model RDM {model_rdm.shape}, neural RDMs {neural.shape} and resamples "
            f"{resamples.shape} must share the number of stimuli"
        )
    rows, cols = np.triu_indices(n, k=1)
    a, b = resamples[:, rows], resamples[:, cols]  # (B, P) stimulus of each resampled pair
    valid = a != b
    if method == "spearman":
        entries = a * n + b  # (B, P) positions in a flattened (n, n) RDM
        x = _resampled_ranks(model_rdm.ravel(), entries, valid)
        y = np.stack([_resampled_ranks(rdm.ravel(), entries, valid) for rdm in neural])  # (K, B, P)
    else:
        x, y = model_rdm[a, b], neural[:, a, b]
    out = _masked_corr(x, y, valid)  # (B, K)
    return out[:, 0] if single else out


def stimulus_replicates(
    model_rdm: np.ndarray, neural_rdm: np.ndarray, method: str = "spearman", n_boot: int = N_BOOT, seed: int = SEED
) -> np.ndarray:
    """``(n_boot,)`` similarities of ``model_rdm`` to one ``neural_rdm`` ``(n, n)`` on :func:`pattern_resamples`
    (the same resamples for every model, so two models' replicates are paired by stimulus resample)."""
    return rdm_bootstrap(model_rdm, neural_rdm, pattern_resamples(len(model_rdm), n_boot, seed), method)


def with_replicates(score, replicates: np.ndarray):
    """Set a Brain-Score ``score``'s ``error`` (the SD of the stimulus ``replicates``) and ``replicates`` (a list,
    which :func:`analyses.neural.scoring.score` saves, so a table can pair models by resample); return it."""
    score.attrs["error"] = float(np.std(replicates, ddof=1))
    score.attrs["replicates"] = [float(v) for v in replicates]
    return score
