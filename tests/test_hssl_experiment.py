"""The A-SSL vs H-SSL experiment (``figures.hssl``, ``neuroequi hssl``): config, rows, table, reuse."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from figures.configs import train_overrides
from figures.hssl import pipeline
from figures.hssl.config import BACKBONES, Run, plan, preset
from neuroequi.cli import main
from neuroequi.errors import ConfigError


def test_preset_rows_are_every_backbone_with_every_method():
    config = preset("cpu")
    assert (config.train_images, config.epochs, config.threads) == (5000, 5, 1)
    rows = plan(config)
    assert len(rows) == len(BACKBONES) * 3 == len(set(rows))
    assert rows[:3] == [Run("p4cnn", m) for m in ("frozen", "assl", "hssl")]
    assert plan(preset("cpu", ["backbones=[p4cnn_control]", "methods=[hssl, frozen]"])) == [
        Run("p4cnn_control", "hssl"), Run("p4cnn_control", "frozen")]


@pytest.mark.parametrize(
    "override, match",
    [("epochs=0", "epochs must be >= 1, got 0"), ("backbones=[resnet18]", "choose from"),
     ("methods=[byol]", "is not one of"), ("probe_test=0", "probe_test must be >= 1"), ("sizes=3", "unknown key")],
)
def test_bad_settings_are_one_line_config_errors(override, match, capsys):
    with pytest.raises(ConfigError, match=match):
        preset("cpu", [override])
    assert main(["hssl", override, "--out", "/nonexistent/never-written"]) == 2
    assert "neuroequi: error:" in capsys.readouterr().err


def test_training_overrides_are_a_mapping_passed_on_in_order():
    config = preset("cpu", ["train.optim.lr=0.001", "train.method.options.grid_distance=1", "train.batch_size=32"])
    assert train_overrides(config.train) == ["optim.lr=0.001", "method.options.grid_distance=1", "batch_size=32"]


def test_the_experiment_is_not_part_of_the_base_library():
    import neuroequi.hssl

    assert not hasattr(neuroequi.hssl, "experiment")
    assert not (Path(neuroequi.hssl.__file__).parent / "experiment.py").exists()


@pytest.mark.slow
def test_experiment_writes_its_table_and_reuses_finished_runs(tmp_path, data_root, capsys):
    """``neuroequi hssl`` at toy sizes: one CSV row per (backbone, method), a second call reuses the run."""
    argv = ["hssl", "--out", str(tmp_path), "train_images=64", "epochs=1", "probe_train=60", "probe_test=40",
            "width=0.25", "backbones=[p4cnn_control]", "methods=[frozen, hssl]", "train.batch_size=32",
            f"train.data.cache_dir={tmp_path / 'cache'}"]
    assert main(argv) == 0
    assert f"wrote {tmp_path / 'table.csv'}" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "table.csv")
    assert list(table["method"]) == ["frozen", "hssl"] and set(table["backbone"]) == {"p4cnn_control"}
    assert table["structure"].eq(BACKBONES["p4cnn_control"]).all()
    assert table["probe_accuracy"].between(0, 1).all() and (table["ci_low"] <= table["probe_accuracy"]).all()
    assert table["n_test"].eq(40).all() and table["final_ssl_loss"].iloc[1] > 0
    checkpoint = Path(table["checkpoint"].iloc[1])
    assert checkpoint.is_file() and checkpoint.parent.parent.name == "p4cnn_control_hssl"
    stamp = checkpoint.stat().st_mtime_ns
    config = preset("cpu", argv[3:])
    again = pipeline.run(config, tmp_path)  # the library entry point: finished runs are reused, not retrained
    assert checkpoint.stat().st_mtime_ns == stamp
    assert again["probe_accuracy"].tolist() == table["probe_accuracy"].tolist()
    assert again["weights_sha256"].tolist() == table["weights_sha256"].tolist()
