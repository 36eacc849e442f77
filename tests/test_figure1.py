"""The Figure-1 pipeline end to end at toy sizes (table, caption, resumability), its presets,
its command line and its job entry point."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from figures import configs
from figures.figure1 import jobs, pipeline
from figures.figure1.config import Figure1Config, preset
from figures.figure1.table import analysis_marker, lam_tag, score_path
from figures.plot import TABLE_COLUMNS
from figures.steps import Job, StepLog, run_jobs
from neuroequi.cli import main
from neuroequi.errors import ConfigError, OfflineError

SMOKE = preset("smoke")
REPO = Path(__file__).resolve().parent.parent


def test_table_shape_and_ranges(smoke_figure1):
    _, out, table = smoke_figure1
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert sorted(table["panel"].unique()) == [1, 2, 3, 4, 5]
    assert sorted(table["lambda_"].unique()) == list(SMOKE.lambdas)
    # every quantity has one row per λ
    assert (table.groupby("quantity")["lambda_"].nunique() == len(SMOKE.lambdas)).all()
    deltas = table[table["quantity"].str.startswith("delta_")]
    baseline = deltas[deltas["lambda_"] == 0.0]
    np.testing.assert_allclose(baseline["value"], 0.0, atol=1e-12)  # λ=0 is the baseline
    assert (deltas["value"].abs() <= math.sqrt(2)).all()  # a difference of two D_B in [0, √2]
    decoding = table[table["panel"] == 3]
    assert decoding["value"].between(-1, 1).all()
    with_ci = table.dropna(subset=["ci_low", "ci_high"])
    assert (with_ci["ci_low"] <= with_ci["value"] + 1e-12).all()
    assert (with_ci["value"] <= with_ci["ci_high"] + 1e-12).all()
    neural = table[table["panel"] == 1]
    assert neural["value"].between(-1, 1).all()
    saved = pd.read_csv(out / "figure1_smoke.csv")
    assert len(saved) == len(table)
    for suffix in (".pdf", ".png"):
        assert (out / f"figure1_smoke{suffix}").stat().st_size > 10_000
    caption = (out / "figure1_smoke_caption.md").read_text()
    assert "smoke mode" in caption and "λ=0.5: `figure1-smoke-lam0.5`" in caption and "wall time" in caption
    # written from the table: its benchmarks, its decoded parameters, its image count
    assert "1. Neural predictivity: Kiani2007.IT-rdm." in caption
    parameters = sorted(q[len("decoding_r["):-1] for q in decoding["quantity"].unique() if q.startswith("decoding_r["))
    listed = re.search(r"single parameters \(([^)]*)\)", caption).group(1).split(", ")
    assert sorted(listed) == parameters and len(parameters) >= 2
    assert f"analysis: {SMOKE.n_images} images x K={SMOKE.K}" in caption
    assert "epochs=1 data.subset=256 model.width=0.0625" in caption


def test_rerun_reuses_every_finished_step(smoke_figure1, tmp_path, capsys):
    results, _, table = smoke_figure1
    copy = tmp_path / "results"
    shutil.copytree(results, copy)
    # drop one score: only that step may run again
    score_path(copy / "figure1" / "smoke", 0.5, "Kiani2007.IT-rdm").unlink()
    environment = dict(os.environ)
    again = pipeline.run(SMOKE, copy, tmp_path / "figures", zoo_home=tmp_path / "zoo")
    assert dict(os.environ) == environment  # the zoo home is passed, not set in the environment
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("[figure1]")]
    ran = [l for l in lines if "reused" not in l and "started" not in l and "figure " not in l and "total" not in l]
    assert len(ran) == 1 and "evaluate lam0.5" in ran[0], lines
    assert sum("reused" in l for l in lines) == 3  # both trainings, the λ=0 evaluation
    job_log = (copy / "figure1" / "smoke" / "analyses" / "lam0.5.log").read_text()
    analysed, scored = re.findall(r"\[figure1\][^\r\n]*", job_log)[-2:]  # this run's two steps
    assert "analyse lam0.5" in analysed and "reused" in analysed
    assert "score lam0.5 Kiani2007.IT-rdm" in scored and "reused" not in scored
    assert (tmp_path / "zoo" / "catalogue.json").is_file()  # the checkpoints registered in the zoo passed
    pd.testing.assert_frame_equal(again.reset_index(drop=True), table.reset_index(drop=True), atol=1e-9)


def test_interrupted_analysis_leaves_no_partial_result(smoke_figure1, tmp_path, monkeypatch):
    results, _, _ = smoke_figure1
    copy = tmp_path / "results"
    shutil.copytree(results, copy)
    root = copy / "figure1" / "smoke"
    marker = analysis_marker(root, 0.5)
    marker.unlink()
    import analyses.pipeline

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(analyses.pipeline, "analyze", killed)
        with pytest.raises(KeyboardInterrupt):  # the body of the λ=0.5 evaluation job, killed mid-way
            pipeline.evaluate(SMOKE, root, 0.5, results.parent / "zoo", StepLog())
    assert not marker.exists()
    assert not [p for p in marker.parent.iterdir() if p.name.startswith(".figure1_measures.csv")]
    table = pipeline.run(SMOKE, copy, tmp_path / "figures", zoo_home=tmp_path / "zoo")
    assert marker.is_file() and len(table[table["lambda_"] == 0.5]) > 0


def test_failed_job_stops_with_its_log(tmp_path):
    log = StepLog()
    bad = Job("fail", [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"], lambda: False,
              tmp_path / "fail.log")
    with pytest.raises(RuntimeError, match="(?s)fail failed \\(exit 3\\).*boom"):
        run_jobs([bad], 2, log)
    with pytest.raises(ValueError, match="unknown jobs"):
        run_jobs([Job("a", ["true"], lambda: False, tmp_path / "a.log", after=("b",))], 1, log)


def test_jobs_run_after_their_dependencies(tmp_path):
    out = tmp_path / "order.txt"
    script = "import sys; open(sys.argv[1], 'a').write(sys.argv[2] + '\\n')"

    def job(name, after=()):
        return Job(name, [sys.executable, "-c", script, str(out), name],
                   lambda: out.is_file() and name in out.read_text().split(), tmp_path / f"{name}.log", after=after)

    run_jobs([job("second", after=("first",)), job("first"), job("third", after=("second",))], 2, StepLog())
    assert out.read_text().split() == ["first", "second", "third"]


def test_presets_are_yaml_beside_the_code():
    folder = Path(pipeline.__file__).parent
    assert sorted(p.stem for p in folder.glob("*.yaml")) == ["offline", "paper", "smoke"]
    offline = preset("offline")
    assert offline.mode == "offline" and offline.lambdas == (0.0, 0.001, 0.1, 0.2, 0.5) and offline.n_images == 128
    assert configs.train_overrides(offline.train) == [
        "epochs=1", "model.width=0.125", "batch_size=256", "threads=1", "checkpoint_every=20",
        "monitor.knn_train_samples=2000", "monitor.knn_test_samples=500"]
    assert preset("paper", ["images=/val"]).probe_train == 0
    assert preset("smoke", ["train.model.width=0.25"]).train["model"] == {"width": 0.25}


@pytest.mark.parametrize(
    "name, overrides, match",
    [
        ("smoke", ["mode=nope"], "is not one of"),
        ("smoke", ["lambdas=[0.1, 0.5]"], "start with 0"),
        ("smoke", ["lambdas=[0.0, 1.5]"], r"\[0, 1\)"),
        ("smoke", ["K=1"], "K >= 2"),
        ("smoke", ["n_image=3"], "unknown key"),
        ("paper", [], "--images"),
        ("nope", [], "unknown preset"),
    ],
)
def test_bad_configs(name, overrides, match):
    with pytest.raises(ConfigError, match=match):
        preset(name, overrides)


@pytest.fixture
def pipeline_calls(monkeypatch):
    """Replace the pipeline by a recorder: the (config, results, out) of every call."""
    calls = []
    monkeypatch.setattr(pipeline, "run", lambda config, results, out: calls.append((config, results, out)))
    return calls


def test_cli_reads_the_preset_and_overrides(pipeline_calls, tmp_path):
    assert main(["figures", "--preset", "smoke", "n_images=16", "--results", str(tmp_path), "train.epochs=2"]) == 0
    ((config, results, out),) = pipeline_calls
    assert (config.mode, config.n_images, config.train["epochs"], results, out) == (
        "smoke", 16, 2, tmp_path, Path("figures"))
    assert main(["figures"]) == 0 and pipeline_calls[-1][0] == preset("offline")  # the default preset
    images = tmp_path / "val 1"  # a folder; the same as images=DIR
    assert main(["figures", "--preset", "paper", "--images", str(images)]) == 0
    assert pipeline_calls[-1][0] == preset("paper", [f"images={images}"])


def test_cli_has_no_hidden_evaluate_flag(pipeline_calls, capsys):
    """``neuroequi figures --evaluate 0.1`` once ran the whole pipeline; now it is refused."""
    with pytest.raises(SystemExit) as exit_:
        main(["figures", "--evaluate", "0.1"])
    assert exit_.value.code == 2 and "unrecognized arguments: --evaluate" in capsys.readouterr().err
    assert pipeline_calls == []


def test_cli_errors_are_one_line(pipeline_calls, capsys):
    assert main(["figures", "--preset", "smoke", "K=1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("neuroequi: error:") and "K >= 2" in err and "\n" not in err
    assert pipeline_calls == []


def test_make_figures_selects_the_preset():
    command = subprocess.run(["make", "-n", "figures", "FIGURE1=paper", "FIGURE1_ARGS=--images /val"], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    assert command.endswith("-m neuroequi.cli figures --preset paper --images /val")


def test_job_entry_point_runs_one_evaluation(tmp_path, monkeypatch):
    root, home = tmp_path / "figure1" / "smoke", tmp_path / "zoo"
    configs.save(SMOKE, root / pipeline.CONFIG_FILE)
    calls = []
    monkeypatch.setattr(pipeline, "evaluate", lambda *args: calls.append(args))
    monkeypatch.setattr(pipeline, "run", lambda *args: pytest.fail("a job must not run the pipeline"))
    assert jobs.main(["evaluate", str(root), repr(0.5), "--zoo-home", str(home)]) == 0
    ((config, at, lam, zoo, _),) = calls
    assert (config, at, lam, zoo) == (SMOKE, root, 0.5, home)


def test_job_entry_point_trains_the_configured_run(tmp_path, monkeypatch):
    import neuroequi.train

    root = tmp_path / "figure1" / "smoke"
    config = preset("smoke", ["seed=3", "train.model.width=0.25"])
    configs.save(config, root / pipeline.CONFIG_FILE)
    trained = []
    monkeypatch.setattr(neuroequi.train, "train", lambda cfg, resume: trained.append((cfg, resume)) or Path("x"))
    assert jobs.main(["train", str(root), "0.5", "--zoo-home", str(tmp_path / "zoo")]) == 0
    ((cfg, resume),) = trained
    assert resume and cfg.run_dir == root / "train" / lam_tag(0.5)
    assert (cfg.method.lam, cfg.seed, cfg.model.width, cfg.batch_size, cfg.data.subset) == (0.5, 3, 0.25, 64, 256)
    assert pipeline.final_checkpoint(config, 0.5, root) == cfg.run_dir / "checkpoints" / "final.pt"


def test_saved_config_reads_back_unchanged(tmp_path):
    config = preset("offline", ["lambdas=[0.0, 1.0e-05, 0.123456789]", "images=/a b/c"])
    assert configs.load(Figure1Config, configs.save(config, tmp_path / "c.yaml")) == config


def test_paper_preset_without_network_stops_at_once(tmp_path, capsys):
    images = tmp_path / "val"
    (images / "n01440764").mkdir(parents=True)
    with pytest.raises(OfflineError, match="cannot run here") as err:
        pipeline.run(preset("paper", [f"images={images}"]), tmp_path / "results", tmp_path / "figures")
    assert "unreachable" in str(err.value)
    assert main(["figures", "--preset", "paper", "--images", str(images), "--results", str(tmp_path)]) == 2
    assert "cannot run here" in capsys.readouterr().err
