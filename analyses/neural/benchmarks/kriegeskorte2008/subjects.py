"""``Kriegeskorte2008.hIT-subjects-rdm``: human IT of the 92 images at the level of subjects.

``Kriegeskorte2008.hIT-rdm`` correlates the model RDM with the *mean* of the 8 subject-session
RDMs, without a ceiling or an error. This benchmark follows rsatoolbox's RSA inference (Schütt
et al. 2023) on the per-subject RDMs (``92_brainRDMs.mat``: 4 subjects × 2 sessions):

* each subject's RDM is the mean of its two sessions;
* raw score: the mean over subjects of the Spearman ρ between the upper triangles of the model
  RDM and the subject's RDM (rsatoolbox ``compare(..., method="spearman")``);
  ``subject_se``: the standard error of that mean over the 4 subjects;
* noise ceiling (rsatoolbox ``boot_noise_ceiling`` with ``method="spearman"``): lower bound,
  the mean over subjects of ρ(subject, mean rank-transformed RDM of the *other* subjects);
  upper bound, the same with the mean of *all* subjects;
* ceiled score: raw / lower bound (the leave-one-subject-out ceiling, as Brain-Score's
  Coggan2024 ceiling), NaN-free as long as the lower bound is positive;
* error: the SD of the ceiled score over a joint bootstrap of subjects and stimuli
  (rsatoolbox's ``bootstrap_sample``; :mod:`analyses.neural.rdm_bootstrap`, pairs of a
  stimulus with its own copy left out).

``tests/test_neural.py`` checks the raw score and both bounds against rsatoolbox to 1e-6.
"""

from __future__ import annotations

import numpy as np
from brainscore_core.metrics import Score
from brainscore_vision.benchmarks import BenchmarkBase
from scipy.stats import rankdata

from analyses.neural.benchmarks import BIBTEX_KRIEGESKORTE, KIANI_VISUAL_DEGREES, KriegeskorteRDM, record
from analyses.neural.data import kriegeskorte_stimulus_set
from analyses.neural.rdm_bootstrap import N_BOOT, SEED, pattern_resamples, rdm_bootstrap, with_replicates

IDENTIFIER = "Kriegeskorte2008.hIT-subjects-rdm"
CEILING_FORMULA = (
    "score = raw / lower noise-ceiling bound; raw = mean over the 4 subjects (sessions averaged) of the Spearman "
    "rho between the upper triangles of the model RDM and the subject's RDM; lower bound = mean over subjects of "
    "rho(subject, mean rank RDM of the other subjects), upper bound = the same with all subjects (rsatoolbox)"
)


def subject_rdms() -> tuple[np.ndarray, list[str]]:
    """``(4, 92, 92)`` human-IT RDMs, each subject's two sessions averaged, and the subject initials."""
    from neuroequi.data import kriegeskorte92_subject_rdms

    rdms, subjects = kriegeskorte92_subject_rdms()
    return rdms.mean(axis=1), subjects


def _upper(rdms: np.ndarray) -> np.ndarray:
    """Upper triangles ``(..., n (n-1) / 2)`` of ``(..., n, n)`` RDMs."""
    n = rdms.shape[-1]
    rows, cols = np.triu_indices(n, k=1)
    return rdms[..., rows, cols]


def _spearman(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman ρ between vector ``x`` ``(P,)`` and each row of ``y`` ``(K, P)``: ``(K,)``."""
    rx, ry = rankdata(x), rankdata(y, axis=1)
    rx, ry = rx - rx.mean(), ry - ry.mean(axis=1, keepdims=True)
    return ry @ rx / np.sqrt((ry**2).sum(axis=1) * (rx**2).sum())


def subject_scores(model_rdm: np.ndarray, subjects: np.ndarray) -> np.ndarray:
    """Spearman ρ ``(K,)`` between the model RDM ``(n, n)`` and each subject's RDM of ``subjects`` ``(K, n, n)``."""
    return _spearman(_upper(model_rdm), _upper(subjects))


def noise_ceiling(subjects: np.ndarray) -> tuple[float, float]:
    """``(lower, upper)`` Spearman noise-ceiling bounds of ``subjects`` ``(K, n, n)`` (module docstring)."""
    ranks = rankdata(_upper(subjects), axis=1)  # (K, P)
    k = len(ranks)
    total = ranks.sum(axis=0)
    upper = [_spearman(total / k, ranks[i : i + 1])[0] for i in range(k)]
    lower = [_spearman((total - ranks[i]) / (k - 1), ranks[i : i + 1])[0] for i in range(k)]
    return float(np.mean(lower)), float(np.mean(upper))


def bootstrap_ceiled(
    model_rdm: np.ndarray, subjects: np.ndarray, ceiling: float, n_boot: int = N_BOOT, seed: int = SEED
) -> np.ndarray:
    """``(n_boot,)`` ceiled scores on joint resamples of stimuli and subjects (ceiling held fixed)."""
    per_subject = rdm_bootstrap(model_rdm, subjects, pattern_resamples(len(model_rdm), n_boot, seed))  # (B, K)
    chosen = np.random.default_rng([seed, len(subjects)]).integers(0, len(subjects), size=per_subject.shape)
    return np.take_along_axis(per_subject, chosen, axis=1).mean(axis=1) / ceiling


class KriegeskorteSubjectsRDM(KriegeskorteRDM):
    """Model RDM vs the 4 subjects' human-IT RDMs of the 92 images, ceiled (module docstring); the same
    stimuli and recording as :class:`~analyses.neural.benchmarks.KriegeskorteRDM`."""

    ceiling_formula = CEILING_FORMULA

    def __init__(self):
        self.subjects, self.subject_names = subject_rdms()
        lower, upper = noise_ceiling(self.subjects)
        self.ceiling_bounds = (lower, upper)
        BenchmarkBase.__init__(
            self,
            identifier=IDENTIFIER,
            version=1,
            parent="IT",
            bibtex=BIBTEX_KRIEGESKORTE,
            ceiling_func=lambda: Score(lower),
        )
        self.stimulus_set, _ = kriegeskorte_stimulus_set("human_it")

    def __call__(self, candidate):
        from brainscore_vision.metrics.rdm.metric import RDM

        source = record(candidate, self.stimulus_set, "IT", (70, 170), KIANI_VISUAL_DEGREES)
        model_rdm = RDM()(source)
        order = [int(s.rsplit(".", 1)[1]) for s in model_rdm["stimulus_id"].values]
        subjects = self.subjects[:, order][:, :, order]
        per_subject = subject_scores(model_rdm.values, subjects)
        lower, upper = self.ceiling_bounds
        raw = float(per_subject.mean())
        score = Score(raw / lower)
        score.attrs["raw"] = Score(raw)
        score.attrs["ceiling"] = Score(lower)
        score.attrs["ceiling_upper"] = upper
        score.attrs["subject_se"] = float(per_subject.std(ddof=1) / np.sqrt(len(per_subject)))
        score.attrs["subject_scores"] = dict(zip(self.subject_names, map(float, per_subject)))
        return with_replicates(score, bootstrap_ceiled(model_rdm.values, subjects, lower))
