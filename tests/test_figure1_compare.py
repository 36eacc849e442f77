"""``python -m figures.figure1.compare``: a rerun's means against a reference run's intervals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from figures.figure1.compare import agreement, flag_summary, load, main
from figures.figure1.table import read_table
from neuroequi.errors import ConfigError

FIGURES = Path(__file__).resolve().parents[1] / "figures"
SMOKE = FIGURES / "figure1_smoke.csv"


def test_a_table_lies_inside_its_own_intervals_and_a_shifted_mean_does_not():
    reference = read_table(SMOKE)
    same = agreement(reference, reference)
    drawn = reference[(reference["seed"] == "all") & reference["in_figure"] & reference["ci_low"].notna()]
    assert len(same) == len(drawn) and same["value_inside"].all()
    assert same["effect_inside"].dropna().all() and same["effect_inside"].isna().sum() == (drawn["lambda_"] == 0).sum()
    shifted = reference.copy()
    row = shifted.index[(shifted["seed"] == "all") & shifted["in_figure"] & shifted["ci_low"].notna()][0]
    shifted.loc[row, "value"] = shifted.loc[row, "ci_high"] + 1e-6
    result = agreement(reference, shifted)
    assert (~result["value_inside"]).sum() == 1
    assert not result.set_index(["quantity", "lambda_"]).loc[
        (shifted.loc[row, "quantity"], shifted.loc[row, "lambda_"]), "value_inside"
    ]


def test_a_rerun_without_the_references_rows_is_refused(tmp_path, capsys):
    reference = read_table(SMOKE)
    partial = reference[reference["lambda_"] == 0]
    with pytest.raises(ConfigError, match="rerun table lacks"):
        agreement(reference, partial)
    partial.to_csv(tmp_path / "rerun.csv", index=False)
    assert main([str(SMOKE), str(tmp_path / "rerun.csv"), "--out", str(tmp_path / "r.md")]) == 2
    assert capsys.readouterr().err.startswith("neuroequi: error: rerun table lacks")
    assert main([str(SMOKE), str(SMOKE), "--out", str(tmp_path / "r.md")]) == 0
    text = (tmp_path / "r.md").read_text()
    drawn = reference[(reference["seed"] == "all") & reference["in_figure"] & reference["ci_low"].notna()]
    assert f"**{len(drawn)} of {len(drawn)}** values" in text and "**no**" not in text


def test_replication_names_the_survivors_the_other_run_confirms():
    """The committed pooled table against itself: every survivor replicates; flip the sign of one in the rerun and
    it no longer does (the others still do)."""
    pooled = load(FIGURES / "figure1.csv")
    text = flag_summary(pooled, pooled)
    survivors = text.split("Surviving in the reference: ")[1].split("; **replicated**")[0]
    assert survivors != "none" and text.split("reference's")[1].split(": ", 1)[1].startswith(survivors)
    flipped = pooled.copy()
    row = (flipped["seed"] == "all") & (flipped["quantity"] == "delta_shared_variability") & (flipped["lambda_"] == 0.5)
    assert "delta_shared_variability at λ=0.5" in survivors
    flipped.loc[row, "effect"] *= -1
    replicated = flag_summary(pooled, flipped).split("survivors): ")[1].split(". Surviving in the rerun")[0]
    assert "delta_shared_variability at λ=0.5" not in replicated and "delta_shared_variability trend" in replicated


def test_expected_agreement_is_computed_from_the_rule(tmp_path):
    """The report states how many rows the rule expects inside, from each row's seed and image SDs: about
    0.91 per row for 3 vs 3 seeds without image noise, more where a shared image term widens the interval."""
    first, rerun = FIGURES / "figure1_first" / "figure1.csv", FIGURES / "figure1_rerun" / "figure1.csv"
    table = agreement(load(first), load(rerun))
    assert table["value_expected"].between(0.85, 1.0).all()
    assert table["value_expected"].mean() > 0.9
    assert main([str(first), str(rerun), "--out", str(tmp_path / "r.md")]) == 0
    assert f"The rule expects about {table['value_expected'].sum():.1f}" in (tmp_path / "r.md").read_text()


def test_committed_table_is_one_run_of_the_offline_preset_with_six_seeds():
    """figures/figure1.csv is one run of the shipped offline preset (its seeds, all six, no pooled tables): means
    over six seeds, every RDM benchmark tested with its stimulus term unless the reliability report greys it,
    and the subject-level human-IT benchmark ceiled in the table."""
    from figures.figure1.config import preset

    record = json.loads((FIGURES / "figure1_run.json").read_text())
    shipped = preset("offline")
    assert record["mode"] == "offline" and record["seeds"] == list(shipped.seeds) and len(shipped.seeds) >= 6
    assert not record.get("pooled_from")
    table = read_table(FIGURES / "figure1.csv")
    seeds = table[table["seed"] != "all"]
    assert sorted(seeds["seed"].unique(), key=int) == [str(s) for s in shipped.seeds]
    means = table[table["seed"] == "all"].set_index(["quantity", "lambda_"])
    assert (means["n_seeds"] == len(shipped.seeds)).all()
    np.testing.assert_allclose(
        means["value"], seeds.groupby(["quantity", "lambda_"])["value"].mean().reindex(means.index), rtol=0, atol=1e-12
    )
    tested = table.groupby("quantity")["tested"].first()
    greyed = set(record["not_separating"])
    for benchmark in ("Kiani2007.IT-rdm", "Kriegeskorte2008.hIT-rdm", "Kriegeskorte2008.hIT-subjects-rdm"):
        assert tested[benchmark] == ("no" if benchmark in greyed else "yes"), benchmark
        assert (means.loc[benchmark, "se_images"] > 0).all(), benchmark  # the stimulus bootstrap term
    assert "Kriegeskorte2008.hIT-subjects-rdm:raw" in tested.index  # ceiled: raw and ceiled rows


def test_tables_that_share_a_seed_are_not_pooled(tmp_path, capsys):
    from figures.figure1.combine import main as combine_main

    first = FIGURES / "figure1_first" / "figure1.csv"
    assert combine_main([str(first), str(first), "--out", str(tmp_path)]) == 2
    assert "is in more than one table" in capsys.readouterr().err
