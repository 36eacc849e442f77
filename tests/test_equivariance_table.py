"""``neuroequi figures equivariance-table`` end to end at toy size: train, register, benchmark, probe, tables, resume."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from figures.equivariance_table.config import EquivarianceTableConfig, preset, runs
from figures.equivariance_table.pipeline import final_checkpoint, run_table, zoo_prefix
from neuroequi.errors import ConfigError


def smoke() -> EquivarianceTableConfig:
    return preset("smoke")


@pytest.fixture(scope="module")
def table_run(tmp_path_factory, data_root):
    """One smoke run of the pipeline with a private zoo; ``(out, zoo, table)``."""
    base = tmp_path_factory.mktemp("eqtable")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEUROEQUI_ZOO_HOME", str(base / "zoo"))
        yield base / "out", base / "zoo", run_table(smoke(), base / "out")


@pytest.mark.slow
def test_the_table_has_every_run_family_and_variant(table_run):
    out, _, table = table_run
    config = smoke()
    names = [r.name for r in runs(config)]
    assert names == ["sie_rotation", "sie_color", "sie_all", "recon_equi", "vicreg", "sie_all_known"]
    families = {"rotation", "color", "flip", "classification"}
    main = table[table["variant"] == "main"]
    assert set(main["run"]) == set(names) - {"sie_all_known"} and set(main["family"]) == families
    assert len(main) == 5 * 4
    unknown = table[table["variant"] == "unknown"]
    assert set(unknown["run"]) == {"sie_all_known", "recon_equi", "vicreg"} and len(unknown) == 3 * 4
    assert np.isfinite(table["value"]).all()
    assert ((table["ci_low"] <= table["value"] + 1e-12) & (table["value"] <= table["ci_high"] + 1e-12)).all()
    assert set(table.loc[table["family"].isin(["flip", "classification"]), "metric"]) == {"accuracy"}
    assert pd.read_csv(out / "smoke" / "table.csv").shape == table.shape
    md = (out / "smoke" / "table.md").read_text()
    for heading in (
        "## Main table",
        "## Unknown transformations (64 of 320 images",
        "## The poster's numbers",
        "## Orderings",
    ):
        assert heading in md
    assert "| SIE(rot) |" in md and "| Reconstruction (ours) |" in md and "0.845" in md


@pytest.mark.slow
def test_the_checkpoints_are_zoo_models_that_analyze_and_score_run_on(table_run, tmp_path, monkeypatch):
    import model_zoo
    from analyses.neural.scoring import score
    from analyses.pipeline import AnalysisConfig, analyze

    out, zoo, _ = table_run
    monkeypatch.setenv("NEUROEQUI_ZOO_HOME", str(zoo))
    by_name = {r.name: r for r in runs(smoke())}
    for run, method in (("sie_all", "none_sie"), ("recon_equi", "none_recon_equi")):
        final = final_checkpoint(smoke(), by_name[run], out / "smoke")
        loaded = model_zoo.load(model_zoo.run_name(final, zoo_prefix(smoke(), by_name[run])))
        assert loaded.entry.method == method and loaded.layer() == "avgpool"
        table = analyze(
            loaded, AnalysisConfig(n_images=5, K=6, probe_train=0, n_boot=20, progress=False), tmp_path / run
        )
        measures = pd.read_csv(table)
        assert math.isfinite(float(measures.loc[measures["quantity"] == "shared_variability", "value"].iloc[0]))
        result = score(loaded.entry.name, "Kiani2007.IT-rdm")  # Brain-Score's metric on real IT data
        assert math.isfinite(float(result["score"]))


@pytest.mark.slow
def test_a_second_run_reuses_every_step(table_run, capsys, monkeypatch):
    out, zoo, table = table_run
    monkeypatch.setenv("NEUROEQUI_ZOO_HOME", str(zoo))
    capsys.readouterr()
    again = run_table(smoke(), out)
    printed = capsys.readouterr().out
    assert printed.count("reused") == 3 * len(runs(smoke()))  # train, predict, probe of every run
    pd.testing.assert_frame_equal(again, table)


def test_bad_table_configs():
    with pytest.raises(ConfigError, match="unknown transformation family"):
        preset("smoke", ["families=[rotation, shear]"])
    with pytest.raises(ConfigError, match="known_fraction"):
        preset("smoke", ["known_fraction=0.1"])
    with pytest.raises(ConfigError, match="unknown preset"):
        preset("gpu")
    assert preset("cpu").families == ("rotation", "translation", "color", "blur")  # application order
