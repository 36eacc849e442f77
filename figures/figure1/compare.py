"""Does a rerun with other training seeds land inside a Figure-1 run's intervals?

For every aggregated row (``seed == "all"``) of a reference table, the rerun's mean over its own
seeds is checked against the reference's 95% interval (value and, for λ > 0, effect vs λ=0).
Writes a Markdown report; the README includes it verbatim::

    python -m figures.figure1.compare REFERENCE.csv RERUN.csv --out REPORT.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from figures.figure1.table import read_table
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
        raise ConfigError(f"rerun table lacks {len(missing)} aggregated rows of the reference, e.g. {missing[0]} "
                          "(the same preset and λ grid are needed)")
    new = new.loc[ref.index]
    out = pd.DataFrame({
        "label": ref["label"], "ref_seeds": ref["n_seeds"], "rerun_seeds": new["n_seeds"],
        "ref_value": ref["value"], "ref_low": ref["ci_low"], "ref_high": ref["ci_high"], "rerun_value": new["value"],
        "ref_effect": ref["effect"], "ref_effect_low": ref["effect_low"], "ref_effect_high": ref["effect_high"],
        "rerun_effect": new["effect"],
    })
    out["value_inside"] = (out["ref_low"] <= out["rerun_value"]) & (out["rerun_value"] <= out["ref_high"])
    has_effect = out["ref_effect_low"].notna()
    inside = (out["ref_effect_low"] <= out["rerun_effect"]) & (out["rerun_effect"] <= out["ref_effect_high"])
    out["effect_inside"] = inside.where(has_effect)
    return out.reset_index()


def flagged(frame: pd.DataFrame) -> dict[tuple[str, float], float]:
    """``{(quantity, λ): effect}`` of the aggregated rows whose effect vs λ=0 excludes 0."""
    rows = frame[(frame["seed"] == "all") & (frame["excludes_zero"] == "yes")]
    return {(r["quantity"], r["lambda_"]): r["effect"] for _, r in rows.iterrows()}


def _names(keys: list[tuple[str, float]], *effects: dict[tuple[str, float], float]) -> str:
    if not keys:
        return "none"
    return "; ".join(f"{label} at λ={format_lambda(lam)} (" + " / ".join(f"{e[(label, lam)]:+.3f}" for e in effects) + ")"
                     for label, lam in keys)


def flag_summary(reference: pd.DataFrame, rerun: pd.DataFrame) -> str:
    """Which effects each run finds distinguishable from noise, and which both find with the same sign."""
    ref, new = flagged(reference), flagged(rerun)
    both = [k for k in ref if k in new and (ref[k] > 0) == (new[k] > 0)]
    only_ref, only_new = [k for k in ref if k not in both], [k for k in new if k not in both]
    return (f"Effects whose interval excludes 0 in **both** runs, with the same sign (reference / rerun): "
            f"{_names(both, ref, new)}. In the reference only: {_names(only_ref, ref)}. In the rerun only: "
            f"{_names(only_new, new)}.")


def markdown(table: pd.DataFrame, reference: str, rerun: str, flags: str = "") -> str:
    """The report: counts, the effects each run flags (``flags``, :func:`flag_summary`), then one line per (quantity, λ)."""
    values = int(table["value_inside"].sum())
    effects = table["effect_inside"].dropna()
    lines = [f"Rerun `{rerun}` against `{reference}` (aggregated rows drawn in the figure): the rerun's mean lies "
             f"inside the reference's 95% interval for **{values} of {len(table)}** values and "
             f"**{int(effects.sum())} of {len(effects)}** effects vs λ=0.", "", *([flags, ""] if flags else []),
             "| quantity | λ | reference [95% CI] | rerun | inside | effect: reference [95% CI] | rerun | inside |",
             "|---|---|---|---|---|---|---|---|"]
    for _, r in table.iterrows():
        effect = ("| — | — | — |" if pd.isna(r["effect_inside"]) else
                  f"| {r['ref_effect']:+.4f} [{r['ref_effect_low']:+.4f}, {r['ref_effect_high']:+.4f}] | "
                  f"{r['rerun_effect']:+.4f} | {'yes' if r['effect_inside'] else '**no**'} |")
        lines.append(f"| {r['quantity']} | {format_lambda(r['lambda_'])} | {r['ref_value']:.4f} [{r['ref_low']:.4f}, "
                     f"{r['ref_high']:.4f}] | {r['rerun_value']:.4f} | {'yes' if r['value_inside'] else '**no**'} {effect}")
    return "\n".join(lines) + "\n"


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
        reference, rerun = read_table(args.reference), read_table(args.rerun)
        table = agreement(reference, rerun)
    except ConfigError as err:
        return report(err)
    with atomic_write(args.out) as tmp:
        tmp.write_text(markdown(table, str(args.reference), str(args.rerun), flag_summary(reference, rerun)))
    print(f"{args.out}: {int(table['value_inside'].sum())}/{len(table)} values and "
          f"{int(table['effect_inside'].dropna().sum())}/{int(table['effect_inside'].notna().sum())} effects inside")
    return 0


if __name__ == "__main__":
    sys.exit(main())
