"""The Figure-1 pipeline end to end at toy sizes (seed-aware table, caption, README block, resumability,
bit-identical reruns), its statistics, its presets, its command line, its executors and its job entry point."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import job_entries  # tests/job_entries.py: entry points of the executor tests' jobs

from figures import configs
from figures.executors import SlurmSettings, SubmititExecutor, check_executor, job_parameters, make_executor
from figures import jobs
from figures.figure1 import pipeline, readme
from figures.figure1.caption import number, verdict
from figures.figure1.inference import claims, expected_agreement, family, holm, rule_p_value, rule_power, trend_weights
from figures.figure1.config import Figure1Config, preset
from figures.figure1.seeds import percentile_interval, seed_interval
from figures.figure1.table import analysis_dir, analysis_marker, claims_path, read_table, run_tag, score_path
from figures.plot import TABLE_COLUMNS
from figures.jobs import Job
from figures.steps import StepLog, run_jobs
from neuroequi.cli import main
from neuroequi.errors import ConfigError, NeuroequiError, OfflineError
from neuroequi.io import write_json

SMOKE = preset("smoke")
REPO = Path(__file__).resolve().parent.parent


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_table_has_seed_rows_and_aggregated_rows(smoke_figure1):
    _, out, table = smoke_figure1
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert sorted(table["panel"].unique()) == [1, 2, 3, 4, 5]
    assert sorted(table["lambda_"].unique()) == list(SMOKE.lambdas)
    # every quantity: one row per λ and seed, and one aggregated row per λ
    counts = table.groupby(["quantity", "lambda_"])["seed"].apply(sorted)
    assert all(c == sorted([*map(str, SMOKE.seeds), "all"]) for c in counts), counts
    seeds, means = table[table["seed"] != "all"], table[table["seed"] == "all"]
    assert (seeds["n_seeds"] == 1).all() and (means["n_seeds"] == len(SMOKE.seeds)).all()
    deltas = table[table["quantity"].str.startswith("delta_")]
    np.testing.assert_allclose(deltas.loc[deltas["lambda_"] == 0.0, "value"], 0.0, atol=1e-12)  # the baseline
    assert (deltas["value"].abs() <= math.sqrt(2)).all()  # a difference of two D_B in [0, √2]
    np.testing.assert_allclose(deltas["effect"], deltas["value"], atol=1e-12)  # ΔD_B is its own effect
    assert table.loc[table["panel"] == 3, "value"].between(-1, 1).all()
    assert table.loc[table["panel"] == 1, "value"].between(-1, 1).all()
    with_ci = table.dropna(subset=["ci_low", "ci_high"])
    assert (with_ci["ci_low"] <= with_ci["value"] + 1e-12).all() and (
        with_ci["value"] <= with_ci["ci_high"] + 1e-12
    ).all()
    # the excludes_zero flag says exactly whether the effect's interval excludes 0 (λ > 0, aggregated rows)
    later = means[means["lambda_"] > 0]
    assert (
        set(later["excludes_zero"]) <= {"yes", "no"} and (means.loc[means["lambda_"] == 0, "excludes_zero"] == "").all()
    )
    np.testing.assert_array_equal(
        later["excludes_zero"] == "yes", (later["effect_low"] > 0) | (later["effect_high"] < 0)
    )
    # panel 1: the two IT benchmarks, Coggan's ceiled score drawn, its raw r in the table only
    assert set(table.loc[table["panel"] == 1, "quantity"]) == {
        "Kiani2007.IT-rdm",
        "tong.Coggan2024_fMRI.IT-rdm",
        "tong.Coggan2024_fMRI.IT-rdm:raw",
    }
    raw = table[table["quantity"].str.endswith(":raw")]
    assert not raw["in_figure"].any() and table.loc[~table.index.isin(raw.index), "in_figure"].all()
    saved = read_table(out / "figure1_smoke.csv")
    pd.testing.assert_frame_equal(saved, table, check_dtype=False, atol=0, rtol=0)
    for suffix in (".pdf", ".png"):
        assert (out / f"figure1_smoke{suffix}").stat().st_size > 10_000


def test_aggregated_rows_follow_from_the_seed_rows_and_the_saved_scores(smoke_figure1):
    results, _, table = smoke_figure1
    root = results / "figure1" / "smoke"
    for (quantity, lam), rows in table.groupby(["quantity", "lambda_"]):
        per_seed = rows[rows["seed"] != "all"].set_index("seed")
        mean = rows[rows["seed"] == "all"].iloc[0]
        assert mean["value"] == pytest.approx(per_seed["value"].mean(), abs=1e-12)
        assert mean["effect"] == pytest.approx(per_seed["effect"].mean(), abs=1e-12)
        baseline = table[(table["quantity"] == quantity) & (table["lambda_"] == 0.0)].set_index("seed")
        np.testing.assert_allclose(
            per_seed["effect"],
            per_seed["value"] - (0.0 if quantity.startswith("delta_") else baseline.loc[per_seed.index, "value"]),
            atol=1e-12,
        )
    # the saved held-out predictions give back the analysis's decoding r (what the replicates resample)
    from analyses.pipeline import DECODING, load_decoding

    for seed in SMOKE.seeds:
        decoding = load_decoding(analysis_dir(root, 0.5, seed) / DECODING)["decoding_r"]
        measures = pd.read_csv(analysis_marker(root, 0.5, seed)).set_index("quantity")
        np.testing.assert_allclose(
            decoding.r(), [measures.loc[f"decoding_r[{p}]", "value"] for p in decoding.parameters], rtol=0, atol=1e-12
        )
        # a neural score row is the score the job saved (Brain-Score's result, unchanged)
    for seed in SMOKE.seeds:
        saved = json.loads(score_path(root, 0.5, seed, "tong.Coggan2024_fMRI.IT-rdm").read_text())
        row = table[
            (table["quantity"] == "tong.Coggan2024_fMRI.IT-rdm:raw")
            & (table["lambda_"] == 0.5)
            & (table["seed"] == str(seed))
        ].iloc[0]
        assert row["value"] == saved["raw"] and saved["score"] == pytest.approx(
            min(max((saved["raw"] / saved["ceiling"]) ** 2, 0.0), 1.0), abs=1e-12
        )  # Brain-Score's (r/c)²


def test_seed_interval_adds_seeds_and_images():
    """Written here: with no image noise the half-width is t(S−1)·s/√S; with identical seeds, z·SD(images)."""
    points = np.array([0.1, 0.4, 0.25])
    low, high = seed_interval(points, np.repeat(points[:, None], 500, axis=1))
    expected = stats.t.ppf(0.975, 2) * points.std(ddof=1) / math.sqrt(3)
    assert (low + high) / 2 == pytest.approx(points.mean()) and (high - low) / 2 == pytest.approx(expected, rel=1e-12)
    images = np.random.default_rng(1).normal(0.0, 0.05, 4000)
    low, high = seed_interval(np.full(3, 0.2), 0.2 + np.tile(images, (3, 1)))
    assert (high - low) / 2 == pytest.approx(stats.norm.ppf(0.975) * images.std(ddof=1), rel=1e-9)
    one = seed_interval(np.array([0.2]), 0.2 + images[None, :])
    assert one == pytest.approx(percentile_interval(0.2 + images))


def simulated_experiments(n_experiments: int, n_seeds: int, n_images: int, effect: float, seed: int):
    """Vectorised experiments of the full rule: per-(seed, image) scores = effect + seed noise + image noise +
    residual; every seed sees the same images; the image bootstrap resamples images (the same resample for every
    seed). Returns per-experiment seed points ``(E, S)`` and within-seed replicates ``(E, S, B)``."""
    rng = np.random.default_rng(seed)
    seeds = rng.normal(0, 0.02, (n_experiments, n_seeds, 1))
    images = rng.normal(0, 0.10, (n_experiments, 1, n_images))  # shared by the seeds: one draw of the image set
    scores = effect + seeds + images + rng.normal(0, 0.05, (n_experiments, n_seeds, n_images))
    counts = np.random.default_rng(seed + 1).multinomial(n_images, np.full(n_images, 1 / n_images), size=200)
    replicates = scores @ counts.T / n_images  # (E, S, B): the mean over each image resample
    return scores.mean(axis=2), replicates


@pytest.mark.parametrize("n_seeds", [3, 6])
def test_rule_with_an_image_term_covers_the_truth_and_holds_its_false_positive_rate(n_seeds):
    """2,000 simulated experiments with seed AND image noise (the truth: the mean over seeds and over the
    population of images): the rule's interval covers it in >= 93% of experiments and, under no effect, excludes
    0 in <= 6%; a seeds-only interval (the image term left out) under-covers; the p-value says the same as the
    interval."""
    points, replicates = simulated_experiments(2000, n_seeds, 40, effect=0.0, seed=n_seeds)
    intervals = np.array([seed_interval(p, r) for p, r in zip(points, replicates)])
    excluded = (intervals[:, 0] > 0) | (intervals[:, 1] < 0)
    assert 1 - excluded.mean() >= 0.93 and excluded.mean() <= 0.06, excluded.mean()
    seeds_only = np.array([seed_interval(p, np.repeat(p[:, None], 2, axis=1)) for p in points])
    assert ((seeds_only[:, 0] > 0) | (seeds_only[:, 1] < 0)).mean() > 0.09  # the image term is needed
    from figures.figure1.seeds import seed_terms

    p_values = np.array([rule_p_value(p.mean(), *seed_terms(p, r), n_seeds) for p, r in zip(points[:200], replicates)])
    np.testing.assert_array_equal(p_values < 0.05, excluded[:200])


def test_holm_rejects_step_down_and_p_values_invert_the_interval():
    """Holm written out: sorted p against α/(m − k); a p-value of the rule is the level where the interval touches 0."""
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    np.testing.assert_array_equal(
        holm(p), [True, False, False, True, False]
    )  # 0.005 <= .05/4, 0.01 <= .05/3, 0.03 > .025
    np.testing.assert_array_equal(holm(np.array([0.001, 0.011, 0.02])), [True, True, True])
    from analyses.hierarchical import combined_interval

    p_value = rule_p_value(0.03, 0.01, 0.008, 4)
    low, _ = combined_interval(0.03, 0.01, 0.008, 4, level=1 - p_value)
    assert low == pytest.approx(0.0, abs=1e-9)
    assert rule_p_value(0.03, 0.01, 0.0, 4) == pytest.approx(2 * stats.t.sf(3.0, 3), rel=1e-9)  # a plain t-test


def test_trend_is_the_slope_on_the_rank_of_lambda():
    values = np.array([0.2, 0.25, 0.21, 0.3, 0.4])
    assert trend_weights(5) @ values == pytest.approx(np.polyfit(np.arange(5), values, 1)[0], rel=1e-12)
    assert trend_weights(5).sum() == pytest.approx(0.0, abs=1e-15)


def test_power_and_expected_agreement_follow_the_rule():
    """No effect: power = the level; images off: the t-test's power (noncentral t) and the rerun agreement
    P(|T| <= t/√2) of two 3-seed means (the README's old 83% was wrong: it is about 91%)."""
    assert rule_power(0.0, 1.0, 0.0, 3, n_sim=40000) == pytest.approx(0.05, abs=0.006)
    analytic = stats.nct.sf(stats.t.ppf(0.975, 5), 5, 1.0 * math.sqrt(6)) + stats.nct.cdf(
        -stats.t.ppf(0.975, 5), 5, math.sqrt(6)
    )
    assert rule_power(1.0, 1.0, 0.0, 6, n_sim=40000) == pytest.approx(analytic, abs=0.01)
    three = 2 * stats.t.cdf(stats.t.ppf(0.975, 2) / math.sqrt(2), 2) - 1
    assert expected_agreement(1.0, 0.0, 3, 3, shared_images=True, n_sim=40000) == pytest.approx(three, abs=0.01)
    assert three == pytest.approx(0.91, abs=0.01)
    assert expected_agreement(1.0, 0.5, 3, 3, True, n_sim=40000) > three  # a shared image term widens, cancels


def test_claims_need_holm_in_the_pool_and_an_independent_half(smoke_figure1):
    """On the smoke table: the family holds an effect per λ > 0 and a trend per reported quantity; an effect
    whose halves disagree in sign is never a claim; one made strong in both halves is."""
    _, out, table = smoke_figure1
    tests = family(table)
    saved = pd.read_csv(claims_path(out / "figure1_smoke"))
    assert len(saved) == len(tests) and set(tests["test"]) == {"effect", "trend"}
    aggregated = table[(table["seed"] == "all") & (table["lambda_"] > 0) & (table["survives"] != "")]
    assert set(aggregated["survives"]) <= {"yes", "no"}
    strong = table.copy()
    rows = (strong["quantity"] == "decoding_r_mean") & (strong["lambda_"] == 0.5)
    strong.loc[rows, ["effect", "effect_se_seeds", "effect_se_images"]] = [0.5, 0.001, 0.001]
    strong.loc[rows & (strong["seed"] != "all"), "effect"] = 0.5
    flipped = strong.copy()
    flipped.loc[rows, ["effect"]] = -0.5

    def claimed(halves: tuple[pd.DataFrame, pd.DataFrame]) -> bool:
        result = claims(strong, halves)
        return (
            result.loc[(result["quantity"] == "decoding_r_mean") & (result["test"] == "effect"), "claim"] == "yes"
        ).any()

    assert claimed((strong, strong)) and not claimed((strong, flipped))


def test_caption_and_readme_say_what_the_table_says(smoke_figure1, tmp_path):
    _, out, table = smoke_figure1
    caption = (out / "figure1_smoke_caption.md").read_text()
    assert "smoke mode" in caption and "2 training seeds per λ (0, 1)" in caption and "wall time" in caption
    assert re.search(r"λ=0.5, seed 1: `figure1-smoke-lam0.5-seed1-w[0-9a-f]{8}-c[0-9a-f]{8}`", caption)  # by content
    assert "1. Neural predictivity: Kiani2007.IT-rdm, tong.Coggan2024_fMRI.IT-rdm (ceiled)." in caption
    assert "(r / ceiling)²" in caption and "tong.Coggan2024_fMRI.IT-rdm:raw" in caption
    decoding = table[table["quantity"].str.startswith("decoding_r[")]["quantity"].unique()
    listed = re.search(r"single parameters \(([^)]*)\)", caption).group(1).split(", ")
    assert sorted(listed) == sorted(q[len("decoding_r[") : -1] for q in decoding) and len(listed) >= 2
    assert f"analysis: {SMOKE.n_images} images x K={SMOKE.K}" in caption
    assert "epochs=1 data.subset=256 model.width=0.0625" in caption
    means = table[(table["seed"] == "all") & (table["lambda_"] > 0)]
    for _, row in means[means["survives"] == "yes"].iterrows():  # every surviving effect is named, and bold
        effect = number(row["effect"], signed=True)
        assert f"λ=0.5 ({effect})" in caption and f"**{effect} [" in caption
    for _, row in means[means["survives"] == "no"].iterrows():
        assert f"| **{number(row['effect'], signed=True)}" not in caption
    assert "Holm's step-down" in caption and f"one family of {len(family(table))} tests" in caption
    # a README with a block, rewritten from the saved table: the block changes when the table does
    doc = tmp_path / "README.md"
    doc.write_text(f"intro\n{readme.BEGIN} x.csv -->\nSTALE BLOCK\n{readme.END}\nrest\n")
    readme.update_readme(doc, out / "figure1_smoke.csv")
    text = doc.read_text()
    assert text.startswith("intro\n") and text.endswith(f"{readme.END}\nrest\n") and "STALE BLOCK" not in text
    assert readme.committed_table(doc) == (out / "figure1_smoke.csv").resolve()
    tests = readme.read_claims(claims_path(out / "figure1_smoke"))
    assert verdict(tests) in text and "2 training seeds per λ (0, 1)" in text
    flipped = table.copy()
    target = flipped.index[
        (flipped["seed"] == "all") & (flipped["lambda_"] == 0.5) & (flipped["quantity"] == "Kiani2007.IT-rdm")
    ][0]
    flipped.loc[target, "survives"] = "no" if flipped.loc[target, "survives"] == "yes" else "yes"
    run = json.loads((out / "figure1_smoke_run.json").read_text())
    assert run["warm_jobs"] is True  # the launcher (warm_jobs: true, the default) held to the end
    assert readme.readme_block(flipped, run, "x.csv", tests) != readme.readme_block(table, run, "x.csv", tests)


def test_committed_readme_block_is_generated_from_the_committed_table():
    page = REPO / "docs" / "reproduction.md"
    text = page.read_text()
    table_path = readme.committed_table(page)
    assert table_path.is_file() and readme.run_record_path(table_path).is_file()
    block = readme.block_for(table_path, page)
    assert block in text, "the Figure-1 block of docs/reproduction.md is stale: run `python -m figures.figure1.readme`"


def test_same_seed_code_and_threads_give_bit_identical_checkpoints_and_tables(smoke_figure1, tmp_path):
    """Retrain and re-evaluate one model in place (same paths, so the checkpoints' stored config is the same):
    its checkpoint and the whole table come out byte for byte as before."""
    results, out, _ = smoke_figure1
    root = results / "figure1" / "smoke"
    lam, seed = 0.5, 1
    train_dir = pipeline.final_checkpoint(SMOKE, lam, seed, root).parent.parent
    backup = tmp_path / "backup"
    before = {
        "final.pt": sha256(train_dir / "checkpoints" / "final.pt"),
        "csv": sha256(out / "figure1_smoke.csv"),
        "replicates": sha256(analysis_dir(root, lam, seed) / "replicates.nc"),
    }
    moved = [train_dir, analysis_dir(root, lam, seed), score_path(root, lam, seed, "x").parent]
    for i, path in enumerate(moved):
        shutil.move(path, backup / str(i))
    try:
        pipeline.run(SMOKE, results, out, zoo_home=results.parent / "zoo")
        after = {
            "final.pt": sha256(train_dir / "checkpoints" / "final.pt"),
            "csv": sha256(out / "figure1_smoke.csv"),
            "replicates": sha256(analysis_dir(root, lam, seed) / "replicates.nc"),
        }
    finally:
        if not (train_dir / "checkpoints" / "final.pt").is_file():  # leave the shared run as it was
            for i, path in enumerate(moved):
                shutil.rmtree(path, ignore_errors=True)
                shutil.move(backup / str(i), path)
    assert after == before


def test_rerun_reuses_every_finished_step(smoke_figure1, tmp_path, capsys):
    results, _, table = smoke_figure1
    copy = tmp_path / "results"
    shutil.copytree(results, copy)
    # drop one score: only that step may run again
    score_path(copy / "figure1" / "smoke", 0.5, 1, "Kiani2007.IT-rdm").unlink()
    environment = dict(os.environ)
    again = pipeline.run(SMOKE, copy, tmp_path / "figures", zoo_home=tmp_path / "zoo")
    assert dict(os.environ) == environment  # the zoo home is passed, not set in the environment
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[figure1]")]
    ran = [
        line
        for line in lines
        if "reused" not in line and "started" not in line and "figure " not in line and "total" not in line
    ]
    assert len(ran) == 1 and "evaluate lam0.5-seed1" in ran[0] and "cpu" in ran[0], lines
    assert sum("reused" in line for line in lines) == 7  # four trainings, three evaluations
    job_log = (copy / "figure1" / "smoke" / "analyses" / "lam0.5-seed1.log").read_text()
    steps = re.findall(r"\[figure1\][^\r\n]*", job_log)[-4:]  # this run's analysis, replicates and two scores
    assert "analyse lam0.5-seed1" in steps[0] and "reused" in steps[0] and "reused" in steps[1]
    assert any("score lam0.5-seed1 Kiani2007.IT-rdm" in s and "reused" not in s for s in steps)
    assert (tmp_path / "zoo" / "catalogue.json").is_file()  # the checkpoints registered in the zoo passed
    pd.testing.assert_frame_equal(again, table, atol=1e-9)


def test_evaluation_job_through_submitits_local_executor(smoke_figure1, tmp_path):
    results, _, table = smoke_figure1
    copy = tmp_path / "results"
    shutil.copytree(results, copy)
    root = copy / "figure1" / "smoke"
    shutil.rmtree(analysis_dir(root, 0.0, 1))
    config = preset("smoke", ["executor=submitit-local"])
    again = pipeline.run(config, copy, tmp_path / "figures", zoo_home=tmp_path / "zoo")
    assert analysis_marker(root, 0.0, 1).is_file()
    records = list((root / "submitit" / "jobs").glob("*.json"))
    assert [r.name for r in records] == ["evaluate_lam0-seed1.json"]  # one job, submitted through submitit
    spec = json.loads(json.loads(records[0].read_text())["command"][-1])  # python -m figures.jobs SPEC
    assert (spec["entry"], spec["params"]["root"]) == ("figures.figure1.jobs:evaluate", str(root))
    pd.testing.assert_frame_equal(again, table, atol=1e-9)


def test_restarted_pipeline_attaches_to_its_running_slurm_job(tmp_path, monkeypatch, capsys):
    import submitit

    class FakeSlurmJob:  # what submitit.SlurmJob reports for a job id recorded by an earlier pipeline
        def __init__(self, folder, job_id):
            self.job_id, self.state, self.cancelled = job_id, states[job_id], False

        def done(self):
            return False

        def cancel(self, check=True):
            self.cancelled = True

    states = {"41": "RUNNING", "42": "COMPLETED"}
    monkeypatch.setattr(submitit, "SlurmJob", FakeSlurmJob)
    executor = SubmititExecutor("local", SlurmSettings(), tmp_path, env={})
    executor.cluster = "slurm"  # the attach logic only (no cluster here to submit to)
    job = Job(
        "train lam0-seed0", "m:f", "m:C", tmp_path / "c.yaml", {}, lambda: False, tmp_path / "t.log", distributed=True
    )
    record = tmp_path / "jobs" / "train_lam0-seed0.json"
    record.parent.mkdir()
    record.write_text(json.dumps({"job_id": "41", "command": job.command}))
    running = executor.start(job)
    assert running.job.job_id == "41" and running.poll() is None
    running.stop()  # a failing or interrupted pipeline leaves the SLURM job running
    assert not running.job.cancelled and "keeps running" in capsys.readouterr().out
    record.write_text(json.dumps({"job_id": "42", "command": job.command}))
    assert executor._attach(job) is None  # finished: the job is submitted again


def test_slurm_without_a_cluster_or_submitit_fails_fast(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch, no srun
    with pytest.raises(ConfigError, match="needs a SLURM cluster, but sbatch and srun are not on PATH"):
        pipeline.run(preset("smoke", ["executor=slurm"]), tmp_path / "results", tmp_path / "figures")
    assert not (tmp_path / "results").exists()  # before any work
    assert main(["figures", "figure1", "--preset", "smoke", "executor=slurm", "--results", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("neuroequi: error:") and "sbatch" in err and "\n" not in err
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "submitit" else real(name, *a))
    for kind in ("slurm", "submitit-local"):
        with pytest.raises(ConfigError, match="needs the Python package submitit"):
            check_executor(kind)
    check_executor("local")


def test_slurm_parameters_give_training_jobs_every_gpu():
    import submitit

    settings = SlurmSettings(partition="gpu", gpus=8, cpus=10, time=2880, mem=400, additional={"qos": "high"})
    train = Job("train lam0-seed0", "m:f", "m:C", Path("c"), {}, lambda: False, Path("l"), distributed=True)
    evaluate = Job("evaluate lam0-seed0", "m:f", "m:C", Path("c"), {}, lambda: False, Path("l"))
    params = job_parameters("slurm", settings, train)
    assert params == {
        "name": "train_lam0-seed0",
        "timeout_min": 2880,
        "gpus_per_node": 8,
        "tasks_per_node": 8,
        "cpus_per_task": 10,
        "mem_gb": 400,
        "slurm_partition": "gpu",
        "slurm_additional_parameters": {"qos": "high"},
    }
    assert job_parameters("slurm", settings, evaluate)["gpus_per_node"] == 1
    assert job_parameters("local", SlurmSettings(), evaluate)["tasks_per_node"] == 1
    # every name is one submitit knows: generic ones, and slurm_<name> of the SLURM executor
    generic = submitit.AutoExecutor._valid_parameters()
    slurm = submitit.SlurmExecutor._valid_parameters()
    assert all(k in generic or (k.startswith("slurm_") and k[len("slurm_") :] in slurm) for k in params)
    with pytest.raises(ConfigError, match="slurm.gpus must be >= 0"):
        preset("imagenet", ["images=/val", "slurm.gpus=-1"])


def test_interrupted_analysis_leaves_no_partial_result(smoke_figure1, tmp_path, monkeypatch):
    results, _, _ = smoke_figure1
    copy = tmp_path / "results"
    shutil.copytree(results, copy)
    root = copy / "figure1" / "smoke"
    marker = analysis_marker(root, 0.5, 0)
    marker.unlink()
    import analyses.pipeline

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(analyses.pipeline, "analyze", killed)
        with pytest.raises(KeyboardInterrupt):  # the body of the evaluation job, killed mid-way
            pipeline.evaluate(SMOKE, root, 0.5, 0, results.parent / "zoo", StepLog())
    assert not marker.exists()
    assert not [p for p in marker.parent.iterdir() if p.name.startswith(".figure1_measures.csv")]
    table = pipeline.run(SMOKE, copy, tmp_path / "figures", zoo_home=tmp_path / "zoo")
    assert marker.is_file() and len(table[table["lambda_"] == 0.5]) > 0


def entry_job(out: Path, name: str, entry: str, params: dict, after: tuple[str, ...] = ()) -> Job:
    """A job running ``tests/job_entries.py:<entry>`` on a saved config whose ``out`` is ``out``."""
    config = configs.save(job_entries.Order(str(out)), out.parent / "order.yaml")
    return Job(
        name,
        f"job_entries:{entry}",
        "job_entries:Order",
        config,
        params,
        lambda: out.is_file() and name in out.read_text().split(),
        out.parent / f"{name}.log",
        after=after,
    )


def ordered_job(out: Path, name: str, after: tuple[str, ...] = ()) -> Job:
    """A job that appends its name to ``out`` (after some CPU work) and is done once it has."""
    return entry_job(out, name, "append", {"name": name}, after)


@pytest.mark.parametrize(
    "kind, failure", [("local", "exit 3, local process"), ("submitit-local", "exit 3, submitit job")]
)
def test_jobs_run_after_their_dependencies_and_failures_show_the_log(tmp_path, kind, failure, monkeypatch):
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")]))
    )
    executor = make_executor(kind, SlurmSettings(), tmp_path / "submitit", threads=1)
    out, log = tmp_path / "order.txt", StepLog()
    jobs_ = [
        ordered_job(out, "second", after=("first",)),
        ordered_job(out, "first"),
        ordered_job(out, "third", after=("second",)),
    ]
    run_jobs(jobs_, 2, log, executor=executor)
    assert out.read_text().split() == ["first", "second", "third"] and set(log.jobs) == {"first", "second", "third"}
    if kind == "local":  # CPU time measured by os.wait4
        assert all(0 < t["cpu_s"] <= t["wall_s"] + 0.5 for t in log.jobs.values()), log.jobs
    bad = entry_job(out, "fail", "fail", {"code": 3})
    with pytest.raises(RuntimeError, match=f"(?s)fail failed \\({failure} .*boom"):
        run_jobs([bad], 2, StepLog(), executor=executor)
    known = entry_job(out, "known", "fail", {"code": 2})
    with pytest.raises(NeuroequiError, match="^known failed: neuroequi: error: no such file x \\(log: "):
        run_jobs([known], 2, StepLog(), executor=executor)  # a known error: its one line, not a traceback
    with pytest.raises(ValueError, match="unknown jobs"):
        run_jobs([entry_job(out, "a", "append", {"name": "a"}, after=("b",))], 1, log, executor=executor)


def test_presets_are_yaml_beside_the_code():
    folder = Path(pipeline.__file__).parent
    assert sorted(p.stem for p in folder.glob("*.yaml")) == ["imagenet", "offline", "paper", "smoke"]
    offline = preset("offline")
    assert (offline.mode, offline.lambdas, offline.seeds, offline.n_images, offline.probe_train) == (
        "offline",
        (0.0, 0.001, 0.1, 0.2, 0.5),
        (0, 1, 2, 3, 4, 5),
        128,
        0,
    )
    assert "Kriegeskorte2008.hIT-rdm" in offline.benchmarks and "tong.Coggan2024_fMRI.IT-rdm" in offline.benchmarks
    assert configs.train_overrides(offline.train) == [
        "epochs=1",
        "precision=auto",
        "model.width=0.125",
        "batch_size=256",
        "threads=1",
        "checkpoint_every=20",
        "monitor.probe=false",
        "monitor.knn=false",
    ]
    assert preset("paper", ["images=/val"]).seeds == (0,)
    assert preset("smoke", ["train.model.width=0.25"]).train["model"] == {"width": 0.25}
    imagenet = preset("imagenet", ["images=/val"])
    assert (imagenet.base_config, imagenet.seeds, imagenet.executor, imagenet.slurm.gpus) == (
        "imagenet_tessl_barlow_r50.yaml",
        (0, 1, 2),
        "slurm",
        8,
    )


@pytest.mark.parametrize(
    "name, overrides, match",
    [
        ("smoke", ["mode=nope"], "is not one of"),
        ("smoke", ["lambdas=[0.1, 0.5]"], "start with 0"),
        ("smoke", ["lambdas=[0.0, 1.5]"], r"\[0, 1\)"),
        ("smoke", ["K=1"], "K >= 2"),
        ("smoke", ["n_image=3"], "unknown key"),
        ("smoke", ["seeds=[0, 0]"], "distinct"),
        ("smoke", ["seeds=[]"], "distinct"),
        ("smoke", ["executor=cloud"], "is not one of"),
        ("smoke", ["objective=byol"], "is not one of"),
        ("paper", [], "--images"),
        ("paper", ["images=/val", "seeds=[0, 1]"], "one per λ"),
        ("imagenet", [], "--images"),
        ("nope", [], "unknown preset"),
    ],
)
def test_bad_configs(name, overrides, match):
    with pytest.raises(ConfigError, match=match):
        preset(name, overrides)


@pytest.fixture
def pipeline_calls(monkeypatch):
    """Replace the pipeline by a recorder: the (config, results, out, readme) of every call."""
    calls = []
    monkeypatch.setattr(
        pipeline, "run", lambda config, results, out, readme=None: calls.append((config, results, out, readme))
    )
    return calls


def test_cli_reads_the_preset_and_overrides(pipeline_calls, tmp_path):
    assert (
        main(
            [
                "figures",
                "figure1",
                "--preset",
                "smoke",
                "n_images=16",
                "--results",
                str(tmp_path),
                "train.epochs=2",
                "seeds=[3, 4, 5]",
            ]
        )
        == 0
    )
    ((config, results, out, doc),) = pipeline_calls
    assert (config.mode, config.n_images, config.train["epochs"], config.seeds, results, out, doc) == (
        "smoke",
        16,
        2,
        (3, 4, 5),
        tmp_path,
        Path("figures"),
        None,
    )
    assert main(["figures"]) == 0 and pipeline_calls[-1][0] == preset("offline")  # the default preset
    images = tmp_path / "val 1"  # a folder; the same as images=DIR
    assert main(["figures", "figure1", "--preset", "paper", "--images", str(images), "--readme", "R.md"]) == 0
    assert pipeline_calls[-1][0] == preset("paper", [f"images={images}"]) and pipeline_calls[-1][3] == Path("R.md")


def test_cli_has_no_hidden_evaluate_flag(pipeline_calls, capsys):
    """``neuroequi figures --evaluate 0.1`` once ran the whole pipeline; now it is refused."""
    with pytest.raises(SystemExit) as exit_:
        main(["figures", "figure1", "--evaluate", "0.1"])
    assert exit_.value.code == 2 and "unrecognized arguments: --evaluate" in capsys.readouterr().err
    assert pipeline_calls == []


def test_cli_errors_are_one_line(pipeline_calls, capsys):
    assert main(["figures", "figure1", "--preset", "smoke", "K=1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("neuroequi: error:") and "K >= 2" in err and "\n" not in err
    assert pipeline_calls == []


def test_make_figures_selects_the_preset_and_rewrites_the_readme_offline():
    def command(*args):
        return (
            subprocess.run(
                ["make", "--no-print-directory", "-n", "figures", *args],
                cwd=REPO,
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )

    assert command("FIGURE1=paper", "FIGURE1_ARGS=--images /val").endswith(
        "-m neuroequi.cli figures figure1 --preset paper --images /val"
    )
    assert command().endswith("-m neuroequi.cli figures figure1 --preset offline  --readme docs/reproduction.md")


def test_job_entry_point_runs_one_evaluation(tmp_path, monkeypatch):
    root, home = tmp_path / "figure1" / "smoke", tmp_path / "zoo"
    saved = preset("smoke", [f"zoo_home={home}"])  # the zoo is a field of the saved config
    configs.save(saved, root / pipeline.CONFIG_FILE)
    calls = []
    monkeypatch.setattr(pipeline, "evaluate", lambda *args: calls.append(args))
    monkeypatch.setattr(pipeline, "run", lambda *args: pytest.fail("a job must not run the pipeline"))
    spec = pipeline.job("evaluate", 0.5, 2, root, done=lambda: False).spec
    assert jobs.main([json.dumps(spec)]) == 0
    ((config, at, lam, seed, zoo, _),) = calls
    assert (config, at, lam, seed, zoo) == (saved, root, 0.5, 2, home)


def test_job_entry_point_trains_the_configured_run(tmp_path, monkeypatch):
    import neuroequi.train

    root = tmp_path / "figure1" / "smoke"
    config = preset("smoke", ["train.model.width=0.25"])
    configs.save(config, root / pipeline.CONFIG_FILE)
    trained = []
    monkeypatch.setattr(neuroequi.train, "train", lambda cfg, resume: trained.append((cfg, resume)) or Path("x"))
    assert jobs.main([json.dumps(pipeline.job("train", 0.5, 3, root, done=lambda: False).spec)]) == 0
    ((cfg, resume),) = trained
    assert resume and cfg.run_dir == root / "train" / run_tag(0.5, 3)
    assert (cfg.method.lam, cfg.seed, cfg.model.width, cfg.batch_size, cfg.data.subset) == (0.5, 3, 0.25, 64, 256)
    assert pipeline.final_checkpoint(config, 0.5, 3, root) == cfg.run_dir / "checkpoints" / "final.pt"


def test_objective_sets_the_method_and_its_default_options(tmp_path):
    from neuroequi.methods.invariance import SimCLROptions

    same = pipeline.train_config(preset("smoke"), 0.1, 0, tmp_path)
    assert same.method.name == "barlow_twins" and same.method.options.projector == (512, 512, 512)
    other = pipeline.train_config(
        preset("smoke", ["objective=simclr", "train.method.options.temperature=0.2"]), 0.1, 0, tmp_path
    )
    assert other.method.name == "simclr" and other.method.options == SimCLROptions(temperature=0.2)
    assert (other.method.equivariance, other.method.lam) == ("tessl", 0.1)
    assert pipeline.published_model(0.2, "mmcr") == "tessl-mmcr-lambda0.2-resnet50"
    with pytest.raises(ConfigError, match="neither a file nor one of"):
        pipeline.train_config(preset("smoke", ["base_config=nope.yaml"]), 0.1, 0, tmp_path)


def test_saved_config_reads_back_unchanged(tmp_path):
    config = preset(
        "offline",
        [
            "lambdas=[0.0, 1.0e-05, 0.123456789]",
            "images=/a b/c",
            "seeds=[4, 2]",
            "executor=slurm",
            "slurm.partition=gpu",
            "slurm.additional={qos: high}",
        ],
    )
    assert configs.load(Figure1Config, configs.save(config, tmp_path / "c.yaml")) == config


def test_paper_preset_without_network_stops_at_once(tmp_path, capsys):
    images = tmp_path / "val"
    (images / "n01440764").mkdir(parents=True)
    with pytest.raises(OfflineError, match="cannot run here") as err:
        pipeline.run(preset("paper", [f"images={images}"]), tmp_path / "results", tmp_path / "figures")
    assert "unreachable" in str(err.value)
    assert main(["figures", "figure1", "--preset", "paper", "--images", str(images), "--results", str(tmp_path)]) == 2
    assert "cannot run here" in capsys.readouterr().err


def test_the_smoke_preset_registers_its_toy_models_in_a_zoo_of_its_own(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROEQUI_ZOO_HOME", str(tmp_path / "user"))
    assert pipeline.default_zoo_home(tmp_path / "run", "smoke") == (tmp_path / "run" / "zoo").resolve()
    assert pipeline.default_zoo_home(tmp_path / "run", "offline") == (tmp_path / "user").resolve()


def test_a_results_folder_pools_complete_seeds_of_the_same_settings_only(tmp_path, capsys):
    """Seeds an earlier run of the same settings pooled in the results folder (its pool.json) join the pool when all
    their files are there; after a run with other settings (not just other seeds) they are not pooled, and the
    line says which settings differ."""
    from dataclasses import replace

    from figures.figure1.table import complete_seeds, replicates_path

    benchmarks = ("Kiani2007.IT-rdm",)
    for seed, complete in ((7, True), (8, False)):
        for lam in SMOKE.lambdas:
            replicates_path(tmp_path, lam, seed).parent.mkdir(parents=True, exist_ok=True)
            replicates_path(tmp_path, lam, seed).touch()
            if complete or lam == SMOKE.lambdas[0]:
                score_path(tmp_path, lam, seed, benchmarks[0]).parent.mkdir(parents=True, exist_ok=True)
                score_path(tmp_path, lam, seed, benchmarks[0]).touch()
    assert pipeline.earlier_pool(SMOKE, tmp_path) == ()  # a new folder
    earlier = replace(SMOKE, seeds=(7, 8))
    write_json(tmp_path / pipeline.POOL_FILE, {"settings": pipeline.pool_settings(earlier), "seeds": [7, 8]})
    pooled = pipeline.earlier_pool(SMOKE, tmp_path)  # other seeds only: pooled
    assert complete_seeds(SMOKE, tmp_path, benchmarks, pooled) == (*SMOKE.seeds, 7)
    assert complete_seeds(SMOKE, tmp_path, benchmarks) == SMOKE.seeds  # nothing recorded: nothing found by name
    assert pipeline.earlier_pool(replace(SMOKE, n_images=16), tmp_path) == ()
    assert "other settings (n_images: 8 -> 16)" in capsys.readouterr().out
    assert pipeline.halves((0, 1, 2)) is None and pipeline.halves((0, 1, 2, 3, 4)) == ((0, 1), (2, 3, 4))
