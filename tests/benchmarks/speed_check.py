"""Do the faster pipeline's numbers agree with the committed Figure-1 runs within seed noise?

Compares a run of the current code (a Figure-1 table, e.g. ``neuroequi figures --preset offline
lambdas=[0.0,0.5] seeds=[0,1] --out DIR``) with the committed tables
``figures/figure1_first/figure1.csv`` (seeds 0-2) and ``figures/figure1_rerun/figure1.csv`` (seeds 3-5), both
of the code before the speed-ups, for every λ of the new run:

* each drawn quantity's mean over seeds and its 95% interval: do the intervals overlap?
* each λ > 0 effect (vs λ=0) and its interval: do they overlap?
* each seed both runs trained: the difference of the single-seed values (same seed, same recipe).

With ``--repeat DIR ...`` it also lists repeat runs of the same code (each DIR: the run's
``figure1_run.json`` and ``sha256sum figure1.csv > figure1.csv.sha256``): wall time, job times, and
whether the table is byte-identical. Writes a Markdown report (``figures/figure1_speed_check/report.md``)::

    python tests/benchmarks/speed_check.py figures/figure1.csv --run-record figures/figure1_run.json \
        --repeat figures/figure1_speed_check/repeat --out figures/figure1_speed_check/report.md
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from figures.figure1.table import read_table  # noqa: E402

REFERENCES = {
    "committed first run (seeds 0-2, earlier code)": ROOT / "figures" / "figure1_first" / "figure1.csv",
    "committed rerun (seeds 3-5, earlier code)": ROOT / "figures" / "figure1_rerun" / "figure1.csv",
}
KEYS = ["quantity", "lambda_"]
FEWER = "; fewer than the references' 3, so its intervals are wider"


def overlap(low_a: float, high_a: float, low_b: float, high_b: float) -> bool:
    """True when the intervals [low_a, high_a] and [low_b, high_b] share a point."""
    return max(low_a, low_b) <= min(high_a, high_b)


def aggregated(table: pd.DataFrame, lambdas: set[float]) -> pd.DataFrame:
    """The drawn, aggregated rows (seed "all", with an interval) at ``lambdas``, indexed by quantity and λ."""
    rows = table[
        (table["seed"] == "all") & table["in_figure"] & table["ci_low"].notna() & table["lambda_"].isin(lambdas)
    ]
    return rows.set_index(KEYS)


def compare(new: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Per (quantity, λ) of ``new``: both means and intervals, overlap of values and (λ > 0) of effects."""
    lambdas = set(new["lambda_"])
    a, b = aggregated(new, lambdas), aggregated(reference, lambdas)
    b = b.loc[a.index.intersection(b.index)]
    a = a.loc[b.index]
    out = pd.DataFrame(
        {
            "label": a["label"],
            "new": a["value"],
            "new_low": a["ci_low"],
            "new_high": a["ci_high"],
            "ref": b["value"],
            "ref_low": b["ci_low"],
            "ref_high": b["ci_high"],
        }
    )
    out["value_overlap"] = [overlap(*x) for x in zip(out.new_low, out.new_high, out.ref_low, out.ref_high)]
    effect = a["effect_low"].notna() & b["effect_low"].notna()
    out["effect_overlap"] = [
        overlap(*x) if e else None
        for e, x in zip(effect, zip(a.effect_low, a.effect_high, b.effect_low, b.effect_high))
    ]
    out["new_effect"] = a["effect"].where(effect)
    out["ref_effect"] = b["effect"].where(effect)
    return out.reset_index()


def same_seeds(new: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Single-seed values of the seeds both tables hold: ``|new - reference|`` per (quantity, λ, seed)."""
    cols = [*KEYS, "seed"]
    a = new[(new["seed"] != "all") & new["in_figure"]].set_index(cols)["value"]
    b = reference[(reference["seed"] != "all") & reference["in_figure"]].set_index(cols)["value"]
    both = a.index.intersection(b.index)
    return pd.DataFrame({"new": a.loc[both], "ref": b.loc[both], "abs_diff": (a.loc[both] - b.loc[both]).abs()})


def job_lines(run_record: Path) -> list[str]:
    """The new run's settings and per-kind job times, from its run record (``figure1_run.json``)."""
    record = json.loads(run_record.read_text())
    lines = [
        f"New run's training overrides: `{' '.join(record['train_overrides'])}`; machine: {record['machine']['cpu']}, "
        f"native bf16: {record['machine'].get('native_bf16')}; {record['parallel']} jobs side by side, "
        f"{record['elapsed_s'] / 60:.1f} min wall; "
        + (
            "jobs forked by the warm launcher (their CPU time leaves out the imports)."
            if record.get("warm_jobs")
            else "every job a new process."
        )
    ]
    for kind in ("train", "evaluate"):
        jobs = [t for name, t in record["jobs"].items() if name.startswith(kind + " ")]
        cpu = [t["cpu_s"] for t in jobs if t.get("cpu_s") is not None]
        if cpu:
            lines.append(
                f"- {kind} jobs: {len(jobs)}, CPU time mean {sum(cpu) / len(cpu):.1f} s "
                f"(range {min(cpu):.1f}-{max(cpu):.1f}), wall mean {sum(t['wall_s'] for t in jobs) / len(jobs):.0f} s"
            )
    return [*lines, ""]


def repeat_lines(new_path: Path, repeats: list[Path]) -> list[str]:
    """One line per repeat run of the same code (a folder with its ``figure1_run.json`` and
    ``figure1.csv.sha256``, the ``sha256sum`` line of its table): wall time, mean job times, and
    whether its table equals the new run's byte for byte."""
    lines = []
    for folder in repeats:
        record = json.loads((folder / "figure1_run.json").read_text())
        means = []
        for kind in ("train", "evaluate"):
            walls = [t["wall_s"] for name, t in record["jobs"].items() if name.startswith(kind + " ")]
            means.append(f"{kind} jobs {sum(walls) / len(walls):.0f} s mean wall")
        same = (folder / "figure1.csv.sha256").read_text().split()[0] == hashlib.sha256(
            new_path.read_bytes()
        ).hexdigest()
        lines.append(
            f"- repeat run `{folder.name}` (same code, machine {record['machine']['cpu']}): "
            f"{record['elapsed_s'] / 60:.1f} min wall, {', '.join(means)}; "
            f"table byte-identical to the new run's: {'yes' if same else 'NO'}"
        )
    return [*lines, ""] if lines else []


def report(new_path: Path, run_record: Path | None = None, repeats: list[Path] | None = None) -> str:
    new = read_table(new_path)
    seeds = sorted(set(new.loc[new["seed"] != "all", "seed"]), key=int)
    lambdas = sorted(set(new["lambda_"]))
    lines = [
        "# Figure 1: the current pipeline (precision: auto, monitors off) against the committed runs",
        "",
        f"Written by `python tests/benchmarks/speed_check.py {new_path.name} --out ...`. New run: the current code's "
        f"offline preset at λ ∈ {{{', '.join(f'{x:g}' for x in lambdas)}}}, seeds {', '.join(seeds)} "
        f"({len(seeds)} seeds{FEWER if len(seeds) < 3 else ''}). "
        "An interval pair that overlaps is consistent with seed and image noise.",
        "",
    ]
    if run_record is not None:
        lines += job_lines(run_record)
    lines += repeat_lines(new_path, repeats or [])
    for name, path in REFERENCES.items():
        ref = read_table(path)
        table = compare(new, ref)
        values, effects = table["value_overlap"], table["effect_overlap"].dropna()
        lines += [
            f"## vs the {name}",
            "",
            f"Values: {int(values.sum())} of {len(values)} intervals overlap; effects vs λ=0: "
            f"{int(effects.astype(bool).sum())} of {len(effects)} overlap.",
            "",
            "| quantity | λ | new [95% CI] | reference [95% CI] | overlap | effect new / ref | overlap |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in table.itertuples():
            eff = "" if pd.isna(r.new_effect) else f"{r.new_effect:+.3f} / {r.ref_effect:+.3f}"
            lines.append(
                f"| {r.label} | {r.lambda_:g} | {r.new:.3f} [{r.new_low:.3f}, {r.new_high:.3f}] | "
                f"{r.ref:.3f} [{r.ref_low:.3f}, {r.ref_high:.3f}] | {'yes' if r.value_overlap else 'NO'} | "
                f"{eff} | {'' if r.effect_overlap is None else ('yes' if r.effect_overlap else 'NO')} |"
            )
        seeds_both = same_seeds(new, ref)
        if len(seeds_both):
            lines += [
                "",
                f"Same seeds in both ({', '.join(sorted(set(seeds_both.index.get_level_values('seed'))))}): "
                f"max |new − reference| of a single-seed value {seeds_both['abs_diff'].max():.2e} over "
                f"{len(seeds_both)} values ({int((seeds_both['abs_diff'] == 0).sum())} identical).",
            ]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("new", type=Path, help="the new run's Figure-1 table (figure1.csv)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--run-record", type=Path, default=None, help="the new run's figure1_run.json (job times)")
    parser.add_argument(
        "--repeat",
        type=Path,
        nargs="*",
        default=[],
        help="folders of repeat runs of the same code (each with figure1_run.json and figure1.csv.sha256)",
    )
    args = parser.parse_args()
    args.out.write_text(report(args.new, args.run_record, args.repeat))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
