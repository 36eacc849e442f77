"""Does a rerun with other training seeds land inside a Figure-1 run's intervals, and which claims replicate?

For every aggregated row (``seed == "all"``) of a reference table, the rerun's mean over its own
seeds is checked against the reference's 95% interval (value and, for λ > 0, effect vs λ=0). How
many should land inside is computed from the rule (:func:`figures.figure1.inference.expected_agreement`,
per row, with the reference's seed SD and image SD; images shared between the runs except for PLS
scores), not assumed. The effects and trends that survive Holm's correction in the reference are
checked for replication in the rerun (:func:`figures.figure1.inference.replication`). Writes a
Markdown report; the README includes it verbatim::

    python -m figures.figure1.compare REFERENCE.csv RERUN.csv --out REPORT.md

Tables written before the interval terms were columns get them back from their run record
(:func:`figures.figure1.combine.upgrade`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from figures.figure1.combine import finished, upgrade
from figures.figure1.inference import TREND, expected_agreement, family, replication, shared_images
from figures.figure1.table import read_table, untestable
from neuroequi.cli import report
from neuroequi.errors import ConfigError
from neuroequi.io import atomic_write, format_lambda

KEYS = ["quantity", "lambda_"]


def agreement(reference: pd.DataFrame, rerun: pd.DataFrame) -> pd.DataFrame:
    """One row per (quantity, λ) drawn in the figure with an interval (ΔD_B at λ=0 is 0 by definition and
    has none): the reference's mean and interval, the rerun's mean, ``value_inside`` and, for λ > 0, the
    same for the effect vs λ=0 (``effect_inside``)."""

    def aggregated(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[(frame["seed"] == "all") & frame["in_figure"] & frame["ci_low"].notna()].set_index(KEYS)

    ref, new = aggregated(reference), aggregated(rerun)
    missing = ref.index.difference(new.index)
    if len(missing):
        raise ConfigError(
            f"rerun table lacks {len(missing)} aggregated rows of the reference, e.g. {missing[0]} "
            "(the same preset and λ grid are needed)"
        )
    new = new.loc[ref.index]
    out = pd.DataFrame(
        {
            "label": ref["label"],
            "ref_seeds": ref["n_seeds"],
            "rerun_seeds": new["n_seeds"],
            "ref_value": ref["value"],
            "ref_low": ref["ci_low"],
            "ref_high": ref["ci_high"],
            "rerun_value": new["value"],
            "ref_effect": ref["effect"],
            "ref_effect_low": ref["effect_low"],
            "ref_effect_high": ref["effect_high"],
            "rerun_effect": new["effect"],
        }
    )
    out["value_inside"] = (out["ref_low"] <= out["rerun_value"]) & (out["rerun_value"] <= out["ref_high"])
    has_effect = out["ref_effect_low"].notna()
    inside = (out["ref_effect_low"] <= out["rerun_effect"]) & (out["rerun_effect"] <= out["ref_effect_high"])
    out["effect_inside"] = inside.where(has_effect)
    n_ref, n_new = ref["n_seeds"].astype(int), new["n_seeds"].astype(int)

    def expected(prefix: str) -> list[float]:
        return [
            expected_agreement(sd * np.sqrt(a), images, a, b, shared_images(q[0]), n_sim=4000, seed=i)
            if np.isfinite(sd)
            else np.nan
            for i, (q, sd, images, a, b) in enumerate(
                zip(ref.index, ref[f"{prefix}se_seeds"], ref[f"{prefix}se_images"], n_ref, n_new)
            )
        ]

    out["value_expected"] = expected("") if "se_seeds" in ref else np.nan
    out["effect_expected"] = pd.Series(expected("effect_") if "se_seeds" in ref else np.nan, index=out.index).where(
        has_effect
    )
    return out.reset_index()


def _names(tests: pd.DataFrame) -> str:
    if tests.empty:
        return "none"
    return "; ".join(
        f"{r['quantity']} "
        + ("trend over λ" if r["test"] == TREND else f"at λ={format_lambda(r['lambda_'])}")
        + f" ({r['estimate']:+.3f})"
        for _, r in tests.iterrows()
    )


def flag_summary(reference: pd.DataFrame, rerun: pd.DataFrame) -> str:
    """Which effects and trends survive Holm's correction in each run (:func:`figures.figure1.inference.family`),
    and which of them the other run confirms (:func:`figures.figure1.inference.replication`, either way round,
    as Figure 1's claims do)."""
    ref, new = family(reference), family(rerun)
    ref_found, new_found = ref[ref["survives"] == "yes"], new[new["survives"] == "yes"]
    return (
        f"Tests: {len(ref)} per run (effects vs λ=0 and trends over λ; Holm, α = 0.05). Surviving in the "
        f"reference: {_names(ref_found)}; **replicated** by the rerun (same sign, surviving Holm over the "
        f"reference's {len(ref_found)} survivors): {_names(ref[replication(ref, new).to_numpy() == 'yes'])}. "
        f"Surviving in the rerun: {_names(new_found)}; **replicated** by the reference: "
        f"{_names(new[replication(new, ref).to_numpy() == 'yes'])}."
    )


def markdown(table: pd.DataFrame, reference: str, rerun: str, flags: str = "") -> str:
    """The report: counts, the effects each run flags (``flags``, :func:`flag_summary`), then one line per (quantity, λ)."""
    values = int(table["value_inside"].sum())
    effects = table["effect_inside"].dropna()
    expected = (
        f" The rule expects about {table['value_expected'].sum():.1f} and "
        f"{table['effect_expected'].sum():.1f} (the chance that a fresh mean lands inside, per row, from the "
        "reference's seed and image SDs, simulated)."
        if table["value_expected"].notna().any()
        else ""
    )
    lines = [
        f"Rerun `{rerun}` against `{reference}` (aggregated rows drawn in the figure): the rerun's mean lies "
        f"inside the reference's 95% interval for **{values} of {len(table)}** values and "
        f"**{int(effects.sum())} of {len(effects)}** effects vs λ=0.{expected}",
        "",
        *([flags, ""] if flags else []),
        "| quantity | λ | reference [95% CI] | rerun | inside | effect: reference [95% CI] | rerun | inside |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, r in table.iterrows():
        effect = (
            "| — | — | — |"
            if pd.isna(r["effect_inside"])
            else f"| {r['ref_effect']:+.4f} [{r['ref_effect_low']:+.4f}, {r['ref_effect_high']:+.4f}] | "
            f"{r['rerun_effect']:+.4f} | {'yes' if r['effect_inside'] else '**no**'} |"
        )
        lines.append(
            f"| {r['quantity']} | {format_lambda(r['lambda_'])} | {r['ref_value']:.4f} [{r['ref_low']:.4f}, "
            f"{r['ref_high']:.4f}] | {r['rerun_value']:.4f} | {'yes' if r['value_inside'] else '**no**'} {effect}"
        )
    return "\n".join(lines) + "\n"


def load(path: Path) -> pd.DataFrame:
    """A saved table with its interval terms and tests (upgraded from its run record when it predates them)."""
    table = read_table(path)
    record = path.with_name(path.stem + "_run.json")
    if record.is_file():
        run = json.loads(record.read_text())
        table = upgrade(table, run["n_boot"], run["analysis_seed"])
    return finished(table, untestable(table)) if "se_seeds" in table else table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m figures.figure1.compare", description=__doc__.splitlines()[0])
    parser.add_argument("reference", type=Path)
    parser.add_argument("rerun", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="the Markdown report to write")
    args = parser.parse_args(argv)
    try:
        for path in (args.reference, args.rerun):
            if not path.is_file():
                raise ConfigError(f"table {str(path)!r} is not a file (a figure1.csv written by neuroequi figures)")
        reference, rerun = (load(path) for path in (args.reference, args.rerun))
        table = agreement(reference, rerun)
    except ConfigError as err:
        return report(err)
    with atomic_write(args.out) as tmp:
        tmp.write_text(markdown(table, str(args.reference), str(args.rerun), flag_summary(reference, rerun)))
    print(
        f"{args.out}: {int(table['value_inside'].sum())}/{len(table)} values and "
        f"{int(table['effect_inside'].dropna().sum())}/{int(table['effect_inside'].notna().sum())} effects inside"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
