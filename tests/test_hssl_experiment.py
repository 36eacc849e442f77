"""The A-SSL vs H-SSL experiment (``figures.hssl``, ``neuroequi figures hssl``): config, rows, table, reuse."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from figures.configs import train_overrides
from figures.hssl import pipeline
from figures.hssl.config import BACKBONES, Run, plan, preset, sweep_run
from neuroequi.cli import main
from neuroequi.errors import ConfigError


def test_preset_rows_are_every_backbone_with_every_method_and_seed_then_the_sweeps():
    config = preset("cpu")
    assert (config.seeds, config.threads, config.parallel) == ((0, 1, 2), 1, 2)
    runs = plan(config)
    table = len(BACKBONES) * 3 * 3
    assert runs[:3] == [Run("p4cnn", "frozen", s) for s in (0, 1, 2)] and len(set(runs)) == len(runs)
    assert {r.group for r in runs[:table]} == {"rotation", "translation", "scale"} and not any(
        r.options for r in runs[:table]
    )
    sweeps = runs[table:]
    # every sweep point that is not the table's own setting is a run of its own, once per sweep seed
    assert Run("sesn", "hssl", 1, (("scale_base", 3), ("scale_distance", 3))) in sweeps
    assert Run("z2cnn", "hssl", 0, (("grid_base", 8), ("grid_distance", 0))) in sweeps
    assert Run("p4cnn", "hssl", 0) in runs[:table] and all(r.method == "hssl" and r.seed in (0, 1) for r in sweeps)
    assert plan(preset("cpu", ["backbones=[sesn_control]", "methods=[hssl, frozen]", "seeds=[3]", "sweeps={}"])) == [
        Run("sesn_control", "hssl", 3),
        Run("sesn_control", "frozen", 3),
    ]


def test_run_options_carry_the_group_settings_and_the_papers_scale_augmentation():
    assert Run("sesn", "assl", 0).method_options((0.57, 1.0))["scale_range"] == [0.57, 1.0]
    assert "scale_range" not in Run("sesn", "hssl", 0).method_options((0.57, 1.0))
    assert Run("z2cnn", "hssl", 0).method_options(None)["group"] == "translation"
    assert sweep_run("scale", "distance", 5, "hssl", 0) == Run("sesn", "hssl", 0)  # the table's own setting


@pytest.mark.parametrize(
    "override, match",
    [
        ("epochs=0", "epochs must be >= 1, got 0"),
        ("backbones=[resnet18]", "choose from"),
        ("methods=[byol]", "is not one of"),
        ("probe_test=0", "probe_test must be >= 1"),
        ("sizes=3", "unknown key"),
        ("seeds=[0, 0]", "without repeats"),
        ("scale_range=[0.5, 1.5]", r"0 < min <= max <= 1"),
        ("sweeps={size: {scale: [1, 2]}}", "unknown sweep"),
        ("sweeps={base: {scale: [2, 1]}}", "increasing values"),
    ],
)
def test_bad_settings_are_one_line_config_errors(override, match, capsys):
    with pytest.raises(ConfigError, match=match):
        preset("cpu", [override])
    assert main(["figures", "hssl", override, "--out", "/nonexistent/never-written"]) == 2
    assert "neuroequi: error:" in capsys.readouterr().err


def test_set_flag_is_gone_overrides_are_plain(capsys):
    """One grammar: ``--set k=v`` is refused; ``train.k=v`` overrides the training config."""
    with pytest.raises(SystemExit) as exit_:
        main(["figures", "hssl", "--set", "batch_size=32"])
    assert exit_.value.code == 2 and "unrecognized arguments: --set" in capsys.readouterr().err


def test_training_overrides_are_a_mapping_passed_on_in_order():
    config = preset("cpu", ["train.optim.lr=0.001", "train.method.options.grid_distance=1", "train.batch_size=32"])
    assert train_overrides(config.train) == ["optim.lr=0.001", "method.options.grid_distance=1", "batch_size=32"]


def test_the_experiment_is_not_part_of_the_base_library():
    import neuroequi.hssl

    assert not hasattr(neuroequi.hssl, "experiment")
    assert not (Path(neuroequi.hssl.__file__).parent / "experiment.py").exists()


@pytest.mark.slow
def test_toy_experiment_writes_tables_and_sweep_plots_and_reuses_finished_runs(tmp_path, data_root, capsys):
    """``neuroequi figures hssl --preset toy``: all three groups, two seeds, the sweeps; a second call reuses every run."""
    argv = [
        "hssl",
        "--preset",
        "toy",
        "--out",
        str(tmp_path),
        "methods=[frozen, hssl]",
        f"train.data.cache_dir={tmp_path / 'cache'}",
    ]
    assert main(argv) == 0
    assert f"{tmp_path / 'figure3_distance.png'}" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "table.csv")
    assert set(table["group"]) == {"rotation", "translation", "scale"} and len(table) == len(BACKBONES) * 2
    assert table["n_seeds"].eq(2).all() and table["n_test"].eq(40).all()
    assert ((table["ci_low"] <= table["probe_accuracy"]) & (table["probe_accuracy"] <= table["ci_high"])).all()
    # the row's accuracy is the mean of its seeds' accuracies (same test images for every seed)
    seeds = table["seed_accuracies"].str.split(";").apply(lambda v: sum(map(float, v)) / len(v))
    assert (seeds - table["probe_accuracy"]).abs().max() < 1e-4
    differences = pd.read_csv(tmp_path / "differences.csv")
    assert "sesn: hssl - frozen" in set(differences["contrast"]) and "hssl: sesn - sesn_control" in set(
        differences["contrast"]
    )
    assert (differences["excludes_zero"] == ((differences["ci_low"] > 0) | (differences["ci_high"] < 0))).all()
    # report.md words each claim from differences.csv: holds iff the paired interval lies above 0
    claims = [
        line.split(" | ")
        for line in (tmp_path / "report.md").read_text().splitlines()
        if "needs the structure" in line or "beats its frozen" in line
    ]
    assert len(claims) == 3 * 2  # per group: the H-SSL claims; the A-SSL one needs methods with assl
    by_contrast = differences.set_index("contrast")
    for cells in claims:
        row = by_contrast.loc[cells[2]]
        expected = "holds" if row["ci_low"] > 0 else "reversed" if row["ci_high"] < 0 else "not shown"
        assert cells[3].startswith(expected), cells
    sweep = pd.read_csv(tmp_path / "sweep.csv")
    assert set(zip(sweep["sweep"], sweep["group"])) == {
        (s, g) for s in ("base", "distance") for g in ("rotation", "translation", "scale")
    }
    first = sweep.groupby(["sweep", "group"]).head(1)
    assert (first["delta"] == 0).all() and (first["value"] == first["reference"]).all()
    for name in ("figure3_base.png", "figure3_base.pdf", "figure3_distance.png", "scale_equivariance.csv"):
        assert (tmp_path / name).stat().st_size > 0
    equivariance = pd.read_csv(tmp_path / "scale_equivariance.csv")
    assert set(equivariance["backbone"]) == {"sesn", "sesn_control"} and equivariance["j"].max() == 5
    checkpoint = Path(json.loads((tmp_path / "runs" / "sesn_hssl_seed1" / "run.json").read_text())["checkpoint"])
    stamp = checkpoint.stat().st_mtime_ns
    again = pipeline.run(preset("toy", argv[5:]), tmp_path)  # finished runs are reused, not retrained
    assert checkpoint.stat().st_mtime_ns == stamp
    pd.testing.assert_frame_equal(again, table)
    with pytest.raises(ConfigError, match=r"holds runs made with other \['epochs'\]"):
        pipeline.run(preset("toy", [*argv[5:], "epochs=2"]), tmp_path)
