"""Cowley et al. 2023, V4 (registers only; :mod:`.benchmark`)."""

from analyses.neural.benchmarks.cowley2023.benchmark import cowley_210325, cowley_benchmark_sessions, cowley_selection
from analyses.neural.registry import register

register("Cowley2023.V4-pls", cowley_benchmark_sessions)
register("Cowley2023-210325.V4-pls", cowley_210325)
# held-out data for choosing a model's V4 layer (analyses.neural.commitment), never for its scores
register("Cowley2023-selection.V4-pls", cowley_selection)
