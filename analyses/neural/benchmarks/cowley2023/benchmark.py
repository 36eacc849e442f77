"""Cowley et al. 2023 V4 benchmarks (PLS on real V4 responses): the scored sessions, session 210325
ceiled, and the held-out selection sessions (:mod:`analyses.neural.benchmarks`)."""

from __future__ import annotations

from analyses.neural.benchmarks import (
    COWLEY_BENCHMARK_SESSIONS,
    COWLEY_SELECTION_SESSIONS,
    UnceiledPLS,
    ceiled_session_pls,
)


def cowley_benchmark_sessions() -> UnceiledPLS:
    """``Cowley2023.V4-pls``: the scored sessions, unceiled."""
    return UnceiledPLS("Cowley2023.V4-pls", COWLEY_BENCHMARK_SESSIONS)


def cowley_210325():
    """``Cowley2023-210325.V4-pls``: one session, ceiled."""
    return ceiled_session_pls("210325")


def cowley_selection() -> UnceiledPLS:
    """``Cowley2023-selection.V4-pls``: held-out data for choosing a model's V4 layer, never for its scores."""
    return UnceiledPLS("Cowley2023-selection.V4-pls", COWLEY_SELECTION_SESSIONS)
