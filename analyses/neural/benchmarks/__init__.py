"""Local Brain-Score benchmarks on the real recordings in the data directory (no network).

All are ``brainscore_vision.benchmarks.BenchmarkBase`` objects scored with
Brain-Score's own metrics and ceilings. Two pieces inside Brain-Score's ``pls`` metric are swapped:
the PLS estimator is :class:`analyses.neural.pls.NipalsPLS`, scikit-learn's algorithm with the same
coefficients computed on torch, and the per-neuroid Pearson r is :class:`analyses.neural.pls.NeuroidPearsonr`,
one vectorised pass with the same r (:func:`pls_metric`; ``tests/test_pls.py`` compares,
``tests/benchmarks/bench_pls.py`` times both).

``Cowley2023.V4-pls``
    V4, test sessions 190923, 201025, 210225 (1,200 natural images each), each
    scored separately with Brain-Score's ``pls`` metric (PLS regression, 25
    components, 10 random 90/10 image splits, Pearson r per neuron on held-out
    images, median over neurons, mean over splits), *unceiled*; the score is the
    mean over sessions, its error the standard error of that mean from the
    per-session split errors, ``sqrt(sum err_s^2) / n_sessions``.
``Cowley2023-<session>.V4-pls``
    One session. Ceiled where the session has per-repeat responses (210325 in
    this release, 640 images): Brain-Score's ``internal_consistency`` ceiling
    (split-half over repetitions, Spearman-Brown corrected, median over neurons)
    and ``explained_variance``: ``score = r_raw^2 / ceiling`` (as MajajHong2015).
    Unceiled otherwise.
``Kiani2007.IT-rdm``
    The 92 Kriegeskorte images; model RDM (Brain-Score's ``RDM``: 1 - Pearson r
    between activation patterns) against the monkey-IT RDM of Kiani et al.
    (2007), compared by Brain-Score's ``RDMSimilarity`` (Spearman rho of the upper
    triangles); unceiled. Its error: the SD of the score over a bootstrap of the
    stimuli (:mod:`analyses.neural.rdm_bootstrap`).
``Kriegeskorte2008.hIT-rdm``
    The same images, metric, model RDM and error against the human-IT fMRI RDM of
    Kriegeskorte et al. (2008) (316 voxels, mean of 8 subject-sessions); unceiled.
    The subject-level benchmark is :mod:`analyses.neural.benchmarks.kriegeskorte2008.subjects`.

Screen size: the Cowley images are placed at 11.2 degrees (Brain-Score's
Cowley2026 packaging of the same recordings); the 92 images at 8 degrees (the
size the monkeys saw is not part of the released data; 8 is the standard
model field of view, so they are shown full-field; the human-IT benchmark shows
them the same way, so both IT RDMs are compared with the same model RDM).
"""

from __future__ import annotations

import numpy as np
from brainscore_core.metrics import Score
from brainscore_vision.benchmarks import BenchmarkBase

from analyses.neural.data import COWLEY_TIME_BIN, cowley_assembly, kriegeskorte_stimulus_set
from analyses.neural.rdm_bootstrap import stimulus_replicates, with_replicates
from neuroequi.errors import ConfigError

COWLEY_VISUAL_DEGREES = 11.2
KIANI_VISUAL_DEGREES = 8
#: The sessions averaged by ``Cowley2023.V4-pls``: the release's test sessions of 1,200 images
#: (``neuroequi.data.COWLEY2023_TEST_SESSIONS`` lists all five test sessions).
COWLEY_BENCHMARK_SESSIONS = ("190923", "201025", "210225")
#: Held-out sessions for choosing a model's V4 layer (``Cowley2023-selection.V4-pls``): a training
#: session of monkey WE and the validation session of monkey PE; no image of theirs is in a test session.
COWLEY_SELECTION_SESSIONS = ("190925", "210224")

BIBTEX_COWLEY = """@article{cowley2023compact,
  title={Compact deep neural network models of visual cortex},
  author={Cowley, Benjamin R. and Stan, Patricia L. and Pillow, Jonathan W. and Smith, Matthew A.},
  journal={bioRxiv},
  year={2023},
  doi={10.1101/2023.11.22.568315}
}"""
BIBTEX_KRIEGESKORTE = """@article{kriegeskorte2008matching,
  title={Matching categorical object representations in inferior temporal cortex of man and monkey},
  author={Kriegeskorte, Nikolaus and Mur, Marieke and Ruff, Douglas A. and Kiani, Roozbeh and Bodurka, Jerzy
          and Esteky, Hossein and Tanaka, Keiji and Bandettini, Peter A.},
  journal={Neuron}, volume={60}, number={6}, pages={1126--1141}, year={2008}
}"""
BIBTEX_KIANI = (
    """@article{kiani2007object,
  title={Object category structure in response patterns of neuronal population in monkey inferior temporal cortex},
  author={Kiani, Roozbeh and Esteky, Hossein and Mirpour, Koorosh and Tanaka, Keiji},
  journal={Journal of Neurophysiology},
  volume={97}, number={6}, pages={4296--4309}, year={2007}
}
"""
    + BIBTEX_KRIEGESKORTE
)
#: IT RDMs of the 92 images: benchmark -> (RDM of ``neuroequi.data.Kriegeskorte92``, bibtex).
KRIEGESKORTE_RDMS = {
    "Kiani2007.IT-rdm": ("monkey_it", BIBTEX_KIANI),
    "Kriegeskorte2008.hIT-rdm": ("human_it", BIBTEX_KRIEGESKORTE),
}

UNCEILED_PLS = (
    "none (unceiled): raw Pearson r of Brain-Score's pls metric (PLS-25, 10 random 90/10 image "
    "splits, median over neurons, mean over splits)"
)
EXPLAINED_VARIANCE = (
    "brainscore explained_variance: score = r_raw^2 / ceiling; ceiling = internal_consistency "
    "(split-half Pearson r over repetitions, Spearman-Brown corrected, median over neurons, "
    "mean over 10 splits)"
)
UNCEILED_RDM = "none (unceiled): Spearman rho between the upper triangles of the model and IT RDMs"


def pls_metric():
    """Brain-Score's ``pls`` metric with unstratified splits (the images have no object categories).

    Brain-Score's ``CrossRegressedCorrelation`` (splits, Pearson r, median over neuroids) around its
    ``XarrayRegression``; the estimator inside is :class:`analyses.neural.pls.NipalsPLS`, scikit-learn's
    ``PLSRegression(n_components=25, scale=False)`` computed on torch (same coefficients), and the per-neuroid
    Pearson r is :class:`analyses.neural.pls.NeuroidPearsonr`, Brain-Score's ``pearsonr_correlation`` in one
    vectorised pass (same r); ``bench_pls.py`` times both against Brain-Score's.
    """
    from brainscore_vision.metric_helpers.xarray_utils import XarrayRegression
    from brainscore_vision.metrics.regression_correlation import CrossRegressedCorrelation

    from analyses.neural.pls import NeuroidPearsonr, NipalsPLS

    return CrossRegressedCorrelation(
        regression=XarrayRegression(NipalsPLS(n_components=25)),
        correlation=NeuroidPearsonr(),
        crossvalidation_kwargs=dict(stratification_coord=None),
    )


def record(candidate, stimulus_set, region: str, time_bin, visual_degrees: float):
    """What a BrainModel's ``region`` responds to ``stimulus_set``: ``(presentation, neuroid)``.

    The recording steps of Brain-Score's ``NeuralBenchmark.__call__``.
    """
    from brainscore_vision.benchmark_helpers.screen import place_on_screen

    candidate.start_recording(region, time_bins=[time_bin])
    stimulus_set = place_on_screen(
        stimulus_set, target_visual_degrees=candidate.visual_degrees(), source_visual_degrees=visual_degrees
    )
    source = candidate.look_at(stimulus_set, number_of_trials=1)
    if "time_bin" in source.dims and source.sizes["time_bin"] == 1:
        source = source.squeeze("time_bin")
    return source


class UnceiledPLS(BenchmarkBase):
    """Brain-Score's pls metric per Cowley session, unceiled, averaged over sessions."""

    ceiling_formula = UNCEILED_PLS

    def __init__(self, identifier: str, sessions: tuple[str, ...]):
        if not sessions:
            raise ConfigError(f"{identifier}: no sessions given")
        super().__init__(
            identifier=identifier, version=1, parent="V4", bibtex=BIBTEX_COWLEY, ceiling_func=lambda: Score(np.nan)
        )
        self.sessions = tuple(sessions)
        self._assemblies = {s: cowley_assembly(s) for s in self.sessions}

    def __call__(self, candidate):
        per_session = {}
        for session, assembly in self._assemblies.items():
            source = record(candidate, assembly.stimulus_set, "V4", COWLEY_TIME_BIN, COWLEY_VISUAL_DEGREES)
            per_session[session] = pls_metric()(source, assembly)
        values = np.array([float(s.values) for s in per_session.values()])
        errors = np.array([float(s.attrs["error"]) for s in per_session.values()])
        score = Score(values.mean())
        score.attrs["raw"] = Score(values.mean())
        score.attrs["error"] = float(np.sqrt((errors**2).sum()) / len(errors))
        score.attrs["ceiling"] = Score(np.nan)
        score.attrs["session_scores"] = {s: float(v) for s, v in zip(per_session, values)}
        score.attrs["session_errors"] = {s: float(e) for s, e in zip(per_session, errors)}
        return score


def ceiled_session_pls(session: str):
    """``Cowley2023-<session>.V4-pls``: Brain-Score's NeuralBenchmark, ceiled by internal consistency."""
    from brainscore_vision import load_ceiling
    from brainscore_vision.benchmark_helpers.neural_common import NeuralBenchmark, average_repetition

    repetitions = cowley_assembly(session, repetitions=True)
    benchmark = NeuralBenchmark(
        identifier=f"Cowley2023-{session}.V4-pls",
        version=1,
        assembly=average_repetition(repetitions),
        similarity_metric=pls_metric(),
        visual_degrees=COWLEY_VISUAL_DEGREES,
        number_of_trials=1,
        ceiling_func=lambda: load_ceiling("internal_consistency")(repetitions),
        parent="V4",
        bibtex=BIBTEX_COWLEY,
    )
    benchmark.ceiling_formula = EXPLAINED_VARIANCE
    return benchmark


def session_pls(session: str):
    """One Cowley session: ceiled where per-repeat responses exist, unceiled otherwise."""
    from neuroequi.data import cowley2023_session

    if cowley2023_session(session).responses_raw is not None:
        return ceiled_session_pls(session)
    return UnceiledPLS(f"Cowley2023-{session}.V4-pls", (session,))


class KriegeskorteRDM(BenchmarkBase):
    """Model RDM vs an IT RDM of the 92 Kriegeskorte images (one of :data:`KRIEGESKORTE_RDMS`):
    monkey IT (Kiani et al. 2007) or human IT (Kriegeskorte et al. 2008)."""

    ceiling_formula = UNCEILED_RDM

    def __init__(self, identifier: str):
        if identifier not in KRIEGESKORTE_RDMS:
            raise ConfigError(f"unknown 92-image RDM benchmark {identifier!r}; known: {list(KRIEGESKORTE_RDMS)}")
        rdm, bibtex = KRIEGESKORTE_RDMS[identifier]
        super().__init__(
            identifier=identifier, version=1, parent="IT", bibtex=bibtex, ceiling_func=lambda: Score(np.nan)
        )
        self.stimulus_set, self.target_rdm = kriegeskorte_stimulus_set(rdm)

    def __call__(self, candidate):
        from brainscore_vision.metrics.rdm.metric import RDM, RDMSimilarity

        source = record(candidate, self.stimulus_set, "IT", (70, 170), KIANI_VISUAL_DEGREES)
        model_rdm = RDM()(source)
        order = [int(s.rsplit(".", 1)[1]) for s in model_rdm["stimulus_id"].values]
        target = model_rdm.copy(data=self.target_rdm[np.ix_(order, order)])
        rho = float(RDMSimilarity()(model_rdm, target))
        score = Score(rho)
        score.attrs["raw"] = Score(rho)
        score.attrs["ceiling"] = Score(np.nan)
        return with_replicates(score, stimulus_replicates(model_rdm.values, target.values))


def benchmark_stimuli(benchmark) -> list[tuple[object, float]]:
    """``(stimulus set, its visual degrees)`` of every recording a local benchmark makes."""
    from brainscore_vision.benchmark_helpers.neural_common import NeuralBenchmark
    from brainscore_vision.benchmarks.coggan2024_fMRI.benchmark import Coggan2024_fMRI_Benchmark

    if isinstance(benchmark, UnceiledPLS):
        return [(a.stimulus_set, COWLEY_VISUAL_DEGREES) for a in benchmark._assemblies.values()]
    if isinstance(benchmark, KriegeskorteRDM):
        return [(benchmark.stimulus_set, KIANI_VISUAL_DEGREES)]
    if isinstance(benchmark, (NeuralBenchmark, Coggan2024_fMRI_Benchmark)):
        return [(benchmark._assembly.stimulus_set, benchmark._visual_degrees)]
    raise ConfigError(f"{getattr(benchmark, 'identifier', benchmark)!r} is not a local benchmark of this package")
