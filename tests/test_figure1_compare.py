"""``python -m figures.figure1.compare``: a rerun's means against a reference run's intervals."""

from __future__ import annotations

from pathlib import Path

import pytest

from figures.figure1.compare import agreement, flag_summary, main
from figures.figure1.table import read_table
from neuroequi.errors import ConfigError

SMOKE = Path(__file__).resolve().parents[1] / "figures" / "figure1_smoke.csv"


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
    assert not result.set_index(["quantity", "lambda_"]).loc[(shifted.loc[row, "quantity"], shifted.loc[row, "lambda_"]), "value_inside"]


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


def test_flag_summary_names_effects_found_by_both_runs_and_by_one():
    reference = read_table(SMOKE)
    rows = reference.index[(reference["seed"] == "all") & (reference["lambda_"] > 0)][:2]
    a, b = reference.copy(), reference.copy()
    a.loc[rows, "excludes_zero"] = "yes"
    b.loc[rows[:1], "excludes_zero"] = "yes"
    label = reference.loc[rows[0], "quantity"]
    text = flag_summary(a, b)
    assert text.split("In the reference only")[0].count(" at λ=") == 1 and label in text.split(". In the")[0]
    assert reference.loc[rows[1], "quantity"] in text.split("In the reference only: ")[1]
    assert text.endswith("In the rerun only: none.")
