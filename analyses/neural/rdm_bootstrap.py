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

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from neuroequi.errors import ConfigError

N_BOOT = 1000
SEED = 0
METHODS = ("spearman", "pearson")
#: Resamples scored together: each step works on ``(BLOCK, n(n-1))`` arrays (under 2 MB for 92 stimuli), which
#: stay in the CPU's caches and are reused by the allocator; blocks of 100 or all 1000 resamples ran slower.
BLOCK = 25
#: Off-diagonal cells of an RDM below which :func:`_centred_ranks`' float32 sums are exact integers and halves
#: (2**24), and the most stimuli that keeps under it.
MAX_CELLS = 2**24
MAX_STIMULI = int((1 + np.sqrt(1 + 4 * (MAX_CELLS - 1))) / 2)


def pattern_resamples(n: int, n_boot: int = N_BOOT, seed: int = SEED) -> np.ndarray:
    """``(n_boot, n)`` stimulus indices drawn with replacement (one bootstrap sample per row)."""
    return np.random.default_rng([seed, n]).integers(0, n, size=(n_boot, n))


def _pair_weights(resamples: np.ndarray, cells: np.ndarray) -> torch.Tensor:
    """How often each resample reads each off-diagonal cell of an RDM: ``(B, C)`` float32 (exact counts).

    A resample (a row of ``resamples``, ``(B, n)``) pairs the stimuli at positions ``a < b`` and reads the cell
    ``(idx[a], idx[b])``; a stimulus paired with its own copy (a diagonal cell) is left out. ``cells`` ``(C,)``
    are off-diagonal positions of a flattened ``(n, n)`` RDM, in the order of the columns.
    """
    n_boot, n = resamples.shape
    rows, cols = np.triu_indices(n, k=1)
    column = np.full(n * n, len(cells))  # the diagonal -> one extra column, dropped
    column[cells] = np.arange(len(cells))
    keys = column[resamples[:, rows] * n + resamples[:, cols]] + (len(cells) + 1) * np.arange(n_boot)[:, None]
    counts = np.bincount(keys.ravel(), minlength=n_boot * (len(cells) + 1)).reshape(n_boot, -1)[:, :-1]
    return torch.from_numpy(counts).to(torch.float32)


def _rank_order(values: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For ``values`` ``(C,)``: the order that sorts them ``(C,)``, the sorted positions where each of the ``U``
    distinct values starts, and one past the end ``(U + 1,)``, and the distinct value of each ``(C,)``
    (int64 tensors)."""
    _, code = np.unique(values, return_inverse=True)
    bounds = np.concatenate([[0], np.cumsum(np.bincount(code))])
    return tuple(torch.from_numpy(a) for a in (np.argsort(code, kind="stable"), bounds, code))


def _centred_ranks(rank_order: tuple[torch.Tensor, ...], weights: torch.Tensor) -> torch.Tensor:
    """Average ranks (1-based, ties averaged, as scipy's ``rankdata``) of ``C`` values (given by their
    :func:`_rank_order`) each repeated ``weights`` ``(B, C)`` times, minus each row's mean rank ``(N + 1) / 2``
    (``N`` the row's total weight): ``(B, C)`` float64.

    No sort per row: the running sum of a row's weights in sorted order, read where each distinct value starts
    (``below``) and ends (``up_to``), gives its average rank ``(below + up_to + 1) / 2`` (exact in float32:
    integers and halves below 2**24).
    """
    order, bounds, code = rank_order
    running = torch.zeros(weights.shape[0], weights.shape[1] + 1, dtype=torch.float32)
    torch.cumsum(weights.index_select(1, order), dim=1, out=running[:, 1:])
    at_bounds = running if len(bounds) == running.shape[1] else running.index_select(1, bounds)  # no ties: all
    centred = (at_bounds[:, :-1] + at_bounds[:, 1:] - running[:, -1:]) / 2  # (B, U)
    return centred.index_select(1, code).double()


def _centred_values(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``values`` ``(C,)`` float64 minus their mean under each row of ``weights`` ``(B, C)``: ``(B, C)``."""
    weights = weights.double()
    return values - (weights @ values / weights.sum(dim=1))[:, None]


#: ``centre(prepared RDM, weights (B, C))``: its ``(B, C)`` entries centred per row (ranks or values).
Centre = Callable[[Any, torch.Tensor], torch.Tensor]


def _block_corr(prepared: list, symmetric: list[bool], centre: Centre, weights: torch.Tensor) -> np.ndarray:
    """``(B, K)`` Pearson r of the centred ``x = centre(prepared[0], weights)`` with each centred
    ``y = centre(prepared[k], ...)``, each row's entries repeated ``weights`` ``(B, 2P)`` times (the cells of
    :func:`_resampled_corr`). A ``symmetric`` RDM is ranked on its ``P`` pairs under the folded weights (the
    pair drawn either way round) and meets ``x`` folded the same way: half the work, the same sums."""
    n_pairs = weights.shape[1] // 2
    x, w64 = centre(prepared[0], weights), weights.double()
    weighted = w64 * x
    spread_x = (weighted * x).sum(dim=1)
    folds = {  # (weights, as float64, x weighted by them)
        False: (weights, w64, weighted),
        True: (
            weights[:, :n_pairs] + weights[:, n_pairs:],
            w64[:, :n_pairs] + w64[:, n_pairs:],
            weighted[:, :n_pairs] + weighted[:, n_pairs:],
        ),
    }
    out = np.empty((len(weights), len(prepared) - 1))
    for k, (rdm, sym) in enumerate(zip(prepared[1:], symmetric)):
        w, w64, wx = folds[sym]
        y = centre(rdm, w)
        cross, spread = (wx * y).sum(dim=1), (w64 * y * y).sum(dim=1)
        out[:, k] = (cross / torch.sqrt(spread_x * spread)).numpy()
    return out


def _resampled_corr(rdms: np.ndarray, resamples: np.ndarray, method: str) -> np.ndarray:
    """``(B, K)`` similarity of ``rdms[0]`` to each of ``rdms[1:]`` (``(1 + K, n, n)``) on every resample, computed
    on :data:`BLOCK` resamples at a time (each RDM's sort is shared by all blocks).

    The cells are the ``P = n(n-1)/2`` upper-triangle positions, then the lower triangle's in the same pair
    order: an RDM need not be symmetric to the last bit (``1 - np.corrcoef`` is not), and then its two copies
    of a pair rank apart, as the resampled pairs ``(idx[a], idx[b])``, ``a < b``, read them.
    """
    n = rdms.shape[-1]
    rows, cols = np.triu_indices(n, k=1)
    cells = np.concatenate([rows * n + cols, cols * n + rows])
    symmetric = [np.array_equal(rdm, rdm.T) for rdm in rdms[1:]]
    own = [cells] + [cells[: len(rows)] if sym else cells for sym in symmetric]
    if method == "spearman":
        prepared, centre = [_rank_order(rdm.ravel()[c]) for rdm, c in zip(rdms, own)], _centred_ranks
    else:
        prepared, centre = [torch.from_numpy(rdm.ravel()[c]) for rdm, c in zip(rdms, own)], _centred_values
    blocks = [
        _block_corr(prepared, symmetric, centre, _pair_weights(resamples[start : start + BLOCK], cells))
        for start in range(0, len(resamples), BLOCK)
    ]
    return np.concatenate(blocks)


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
    if n * (n - 1) >= MAX_CELLS:
        raise ConfigError(
            f"rdm_bootstrap: {n} stimuli; at most {MAX_STIMULI} (the float32 rank sums are exact below {MAX_CELLS} cells)"
        )
    if len(resamples) == 0:
        return np.empty((0,) if single else (0, len(neural)))
    out = _resampled_corr(np.concatenate([model_rdm[None], neural]), resamples, method)  # (B, K)
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
