"""Brain-Score's Coggan2024 RDM benchmarks with a stimulus-bootstrap error.

:class:`Coggan2024WithStimulusError` is Brain-Score's own ``Coggan2024_fMRI_Benchmark``
(score, ceiling and ceiler unchanged) whose score also carries ``error``: the SD of the
ceiled score over resamples of the 24 stimuli (:mod:`analyses.neural.rdm_bootstrap`: the
model RSM and every subject's RSM recomputed on the resampled set, pairs of a stimulus with
its own copy left out, Pearson r as Brain-Score's ``get_score``, mean over subjects,
``(r / ceiling)^2`` clipped to [0, 1] as its ceiler and ``bound_score``).
"""

from __future__ import annotations

import numpy as np
from brainscore_vision.benchmarks.coggan2024_fMRI.benchmark import RSA, Coggan2024_fMRI_Benchmark
from brainscore_vision.metric_helpers import Defaults

from analyses.neural.benchmarks import record
from analyses.neural.rdm_bootstrap import pattern_resamples, rdm_bootstrap, with_replicates


def ceiled_resamples(model_rsm: np.ndarray, subject_rsms: np.ndarray, ceiling: float) -> np.ndarray:
    """``(B,)`` ceiled scores of ``model_rsm`` ``(n, n)`` against ``subject_rsms`` ``(K, n, n)`` on stimulus resamples."""
    r = rdm_bootstrap(model_rsm, subject_rsms, pattern_resamples(len(model_rsm)), method="pearson").mean(axis=1)
    return np.clip((r / ceiling) ** 2, 0.0, 1.0)


class Coggan2024WithStimulusError(Coggan2024_fMRI_Benchmark):
    """Brain-Score's Coggan2024 benchmark; its score's ``error`` is the stimulus-bootstrap SD (module docstring)."""

    def __call__(self, candidate):
        score = super().__call__(candidate)
        source = record(candidate, self._assembly.stimulus_set, self.region, (0, 250), self._visual_degrees)
        model_rsm = RSA(source, Defaults.neuroid_dim).values
        subjects = np.moveaxis(self._assembly.values, 2, 0)
        return with_replicates(score, ceiled_resamples(model_rsm, subjects, float(score.attrs["ceiling"])))
