"""Neural benchmarks on the real recordings (offline), and online benchmarks failing fast offline."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from analyses.neural import load_benchmark
from analyses.neural.data import cowley_assembly, kriegeskorte_stimulus_set
from neuroequi.errors import ConfigError, OfflineError


@pytest.fixture(scope="session")
def neural_env(tmp_path_factory, data_root):
    """One zoo home for the session: each score is computed once here, never read from an earlier
    run. Brain-Score's own caches (fixed when it is imported) are left alone."""
    root = tmp_path_factory.mktemp("neural")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEUROEQUI_ZOO_HOME", str(root / "zoo"))
        yield root


@pytest.fixture(scope="session")
def scores(neural_env):
    """analyses.neural.scoring.score, memoised: (model, benchmark) -> result dict."""
    from analyses.neural.scoring import score

    done = {}

    def get(model, benchmark):
        if (model, benchmark) not in done:
            done[model, benchmark] = score(model, benchmark)
        return done[model, benchmark]

    return get


def test_cowley_repetition_assembly_matches_the_release(neural_env):
    from brainscore_vision.benchmark_helpers.neural_common import average_repetition

    from neuroequi.data import cowley2023_session

    session = cowley2023_session("210325")
    shown = ~np.isnan(session.responses_raw[0])
    reps = cowley_assembly("210325", repetitions=True)
    assert reps.sizes == {"presentation": int(shown.sum()), "neuroid": 50}
    assert not np.isnan(reps.values).any() and set(reps["region"].values) == {"V4"}
    averaged = average_repetition(reps)
    order = [int(s[-4:]) - 1 for s in averaged["stimulus_id"].values]  # ...imageNNNN, 1-based
    np.testing.assert_allclose(
        averaged.transpose("presentation", "neuroid").values, np.nanmean(session.responses_raw, axis=2).T[order]
    )
    np.testing.assert_allclose(np.nanmean(session.responses_raw, axis=2), session.responses, atol=1e-9)
    stimulus_set = reps.stimulus_set
    first = stimulus_set["stimulus_id"].values[0]
    from PIL import Image

    with Image.open(stimulus_set.get_stimulus(first)) as written:  # PNG keeps the decoded pixels
        np.testing.assert_array_equal(np.asarray(written), np.asarray(session.images[0]))


def test_any_present_session_is_a_benchmark(neural_env):
    from neuroequi.data import cowley2023_sessions

    assert {"190923", "201025", "210225", "210325"} <= set(cowley2023_sessions())
    benchmark = load_benchmark("Cowley2023-190925.V4-pls")  # a training session, unceiled
    assert benchmark.identifier == "Cowley2023-190925.V4-pls" and benchmark.sessions == ("190925",)
    with pytest.raises(ValueError, match="unknown Cowley 2023 session"):
        load_benchmark("Cowley2023-999999.V4-pls")
    with pytest.raises(ConfigError, match="unknown benchmark"):
        load_benchmark("Nope.IT-pls")


def test_210325_ceiling_is_brainscores_split_half_consistency(neural_env):
    benchmark = load_benchmark("Cowley2023-210325.V4-pls")
    ceiling = benchmark.ceiling
    assert 0.3 < float(ceiling) < 1
    assert ceiling.raw.sizes["split"] == 10  # Brain-Score's internal_consistency: 10 split halves
    assert "r_raw^2 / ceiling" in benchmark.ceiling_formula


def test_kiani_target_is_the_monkey_rdm(neural_env):
    stimulus_set, rdm = kriegeskorte_stimulus_set()
    assert len(stimulus_set) == 92 and rdm.shape == (92, 92)
    np.testing.assert_allclose(rdm, rdm.T)
    assert np.all(np.diag(rdm) == 0)


def test_trained_resnet20_beats_random_weights_on_kiani_rdm(scores):
    trained = scores("cifar-resnet20-supervised", "Kiani2007.IT-rdm")
    random = scores("cifar-resnet20-random", "Kiani2007.IT-rdm")
    print(f"\nKiani2007.IT-rdm: trained {trained['score']:.3f}, random {random['score']:.3f}")
    assert trained["score"] > random["score"] + 0.1
    assert trained["identifier"] == "cifar-resnet20-supervised-12fca82f"
    assert np.isnan(trained["ceiling"]) and trained["ceiling_formula"].startswith("none (unceiled)")


@pytest.fixture(scope="session")
def cowley_scores(neural_env):
    """Both models on Cowley2023.V4-pls, one process each (the 2 cores of CI; ~150 s CPU each).

    The screen placement of the stimuli is cached first, in this process: Brain-Score's
    place_on_screen rewrites its output folder, which two processes must not do at once.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from analyses.neural import place_stimuli_on_screen
    from analyses.neural.scoring import score

    place_stimuli_on_screen(["Cowley2023.V4-pls"])
    models = ("cifar-resnet20-supervised", "cifar-resnet20-random")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            mp.setenv(var, "1")  # read by the workers' BLAS at start
        with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(score, models, ["Cowley2023.V4-pls"] * 2))
    return dict(zip(models, results))


@pytest.mark.slow
def test_trained_resnet20_beats_random_weights_on_cowley_v4_pls(cowley_scores):
    trained = cowley_scores["cifar-resnet20-supervised"]
    random = cowley_scores["cifar-resnet20-random"]
    print(
        f"\nCowley2023.V4-pls: trained {trained['score']:.3f} {trained['session_scores']}, "
        f"random {random['score']:.3f} {random['session_scores']}"
    )
    assert trained["score"] > random["score"] + 0.05
    assert set(trained["session_scores"]) == {"190923", "201025", "210225"}
    assert all(trained["session_scores"][s] > random["session_scores"][s] for s in trained["session_scores"])
    assert trained["score"] == pytest.approx(np.mean(list(trained["session_scores"].values())))
    assert 0 < trained["error"] < 0.05


def test_score_cli_prints_and_caches(scores, capsys, tmp_path):
    from analyses.neural.scoring import result_path, score
    from neuroequi.cli import main

    result = scores("cifar-resnet20-supervised", "Kiani2007.IT-rdm")  # computed (or cached) already
    assert main(["score", "--model", "cifar-resnet20-supervised", "--benchmark", "Kiani2007.IT-rdm"]) == 0
    out = capsys.readouterr().out
    for key in ("score", "raw", "ceiling", "error", "ceiling_formula", "brainscore_version"):
        assert f"{key}:" in out
    assert str(result_path("cifar-resnet20-supervised-12fca82f", "Kiani2007.IT-rdm")) in out
    # an explicit zoo home holds its own cache: the cached result there is what score returns
    home = tmp_path / "home"
    cached = result_path(result["identifier"], "Kiani2007.IT-rdm", home)
    cached.parent.mkdir(parents=True)
    cached.write_text(json.dumps({**result, "score": -1.0}))
    assert score("cifar-resnet20-supervised", "Kiani2007.IT-rdm", home=home)["score"] == -1.0
    assert scores("cifar-resnet20-supervised", "Kiani2007.IT-rdm")["score"] == result["score"]


def test_online_benchmark_offline_fails_fast_with_instructions(neural_env, tmp_path, monkeypatch, capsys):
    from brainscore_core.supported_data_standards.brainio import fetch

    from analyses.neural import online
    from neuroequi.cli import main

    monkeypatch.setenv("BRAINIO_HOME", str(tmp_path / "brainio"))
    monkeypatch.setattr(fetch, "_local_data_path", None)  # brainio re-reads BRAINIO_HOME
    if online.reachable("brainscore-storage.s3.amazonaws.com") is None:  # a network after all: simulate none
        monkeypatch.setattr(online, "reachable", lambda host, port=443, timeout=3.0: "simulated: no network")
    start = time.perf_counter()
    with pytest.raises(OfflineError) as err:
        load_benchmark("MajajHong2015public.IT-pls")
    assert time.perf_counter() - start < 20
    message = str(err.value)
    assert "'MajajHong2015public.IT-pls'" in message and "MajajHong2015_public.nc" in message
    assert f"BRAINIO_HOME={tmp_path / 'brainio'}" in message and "pre-seed" in message

    start = time.perf_counter()
    assert main(["score", "--model", "cifar-resnet20-supervised", "--benchmark", "Sanghavi2020.IT-pls"]) == 2
    assert time.perf_counter() - start < 30
    err = capsys.readouterr().err
    assert err.startswith("neuroequi: error: ") and "'Sanghavi2020.IT-pls'" in err and err.count("\n") == 1


def test_subject_level_human_it_matches_rsatoolbox(neural_env):
    """Per-subject Spearman scores and both noise-ceiling bounds equal rsatoolbox's to 1e-6 (the monkey-IT RDM
    stands in for a model RDM); the 8 subject-sessions average to the group RDM of Kriegeskorte2008.hIT-rdm."""
    rsatoolbox = pytest.importorskip("rsatoolbox")
    from rsatoolbox.inference import boot_noise_ceiling
    from scipy.spatial.distance import squareform

    from analyses.neural.benchmarks.kriegeskorte2008.subjects import noise_ceiling, subject_rdms, subject_scores
    from neuroequi.data import kriegeskorte92, kriegeskorte92_subject_rdms

    sessions, names = kriegeskorte92_subject_rdms()
    data = kriegeskorte92()
    np.testing.assert_allclose(sessions.mean(axis=(0, 1)), data.rdm_human_it, atol=1e-12)
    subjects, _ = subject_rdms()
    assert subjects.shape == (4, 92, 92) and names == ["BE", "KO", "SN", "TI"]
    reference = rsatoolbox.rdm.RDMs(np.array([squareform(s, checks=False) for s in subjects]))
    model = rsatoolbox.rdm.RDMs(squareform(data.rdm_monkey_it, checks=False)[None])
    np.testing.assert_allclose(
        subject_scores(data.rdm_monkey_it, subjects),
        rsatoolbox.rdm.compare(model, reference, method="spearman")[0],
        atol=1e-6,
    )
    np.testing.assert_allclose(noise_ceiling(subjects), boot_noise_ceiling(reference, method="spearman"), atol=1e-6)


def test_stimulus_bootstrap_recomputes_both_rdms_and_widens_with_fewer_images(neural_env):
    """Every resample's score is the Spearman rho of the pairs of distinct resampled stimuli (a stimulus with its own
    copy left out); the error grows as the image set shrinks (about as 1/sqrt(images))."""
    from scipy.stats import spearmanr

    from analyses.neural.rdm_bootstrap import pattern_resamples, rdm_bootstrap, stimulus_replicates

    monkey, human = kriegeskorte_stimulus_set("monkey_it")[1], kriegeskorte_stimulus_set("human_it")[1]
    resamples = pattern_resamples(92, 5, seed=3)
    boot = rdm_bootstrap(monkey, human, resamples)
    rows, cols = np.triu_indices(92, k=1)
    for idx, value in zip(resamples, boot):
        a, b = idx[rows], idx[cols]
        keep = a != b
        assert keep.sum() < len(keep)  # a resample of 92 draws repeats stimuli
        assert value == pytest.approx(spearmanr(monkey[a, b][keep], human[a, b][keep])[0], abs=1e-12)
    assert rdm_bootstrap(monkey, human, np.arange(92)[None])[0] == pytest.approx(
        spearmanr(monkey[rows, cols], human[rows, cols])[0], abs=1e-12
    )
    errors = [np.std(stimulus_replicates(monkey[:n, :n], human[:n, :n], n_boot=300)) for n in (92, 46, 23)]
    assert errors[0] < errors[1] < errors[2], errors


def test_stimulus_bootstrap_ranks_ties_and_several_subjects_as_scipy():
    """Tied dissimilarities (average ranks) and a stack of subject RDMs: each (resample, subject) score is
    scipy's Spearman rho of that subject's pairs of distinct resampled stimuli."""
    from scipy.stats import spearmanr

    from analyses.neural.rdm_bootstrap import pattern_resamples, rdm_bootstrap

    rng = np.random.default_rng(4)
    n = 30
    rdms = np.round(rng.random((4, n, n)) * 8) / 8  # few distinct values: many ties
    rdms = (rdms + rdms.transpose(0, 2, 1)) / 2
    model, subjects = rdms[0], rdms[1:]
    resamples = pattern_resamples(n, 6, seed=1)
    boot = rdm_bootstrap(model, subjects, resamples)
    assert boot.shape == (6, 3)
    rows, cols = np.triu_indices(n, k=1)
    for idx, values in zip(resamples, boot):
        a, b = idx[rows], idx[cols]
        keep = a != b
        expected = [spearmanr(model[a, b][keep], s[a, b][keep])[0] for s in subjects]
        np.testing.assert_allclose(values, expected, atol=1e-12)
