"""The README's Figure-1 block, generated from a saved table and its run record.

The block lies between ``<!-- figure1:begin <table path> -->`` and ``<!-- figure1:end -->``;
:func:`readme_block` writes it from the table (``figure1.csv``) and the run record
beside it (``figure1_run.json``), so every number and every claim in it comes from
those files. ``make figures`` rewrites it after the run; by hand::

    python -m figures.figure1.readme [--table figures/figure1.csv] [--readme README.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
from pathlib import Path

import pandas as pd

from figures.figure1.caption import (
    correction_text,
    effects_markdown,
    means_markdown,
    power_line,
    separation_lines,
    trends_markdown,
    verdict,
)
from figures.figure1.table import claims_path, read_table
from neuroequi.errors import ConfigError
from neuroequi.hardware import describe
from neuroequi.io import atomic_write, format_lambda

BEGIN, END = "<!-- figure1:begin", "<!-- figure1:end -->"
_BLOCK = re.compile(re.escape(BEGIN) + r" (?P<table>\S+) -->\n.*?" + re.escape(END), re.S)


def machine() -> dict[str, object]:
    """The machine a run computed on: CPU model, CPU count, torch and its BLAS, numpy's BLAS, native bf16
    (:func:`neuroequi.hardware.describe`: what ``precision: auto`` chose)."""
    import torch
    from threadpoolctl import threadpool_info

    cpu = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        models = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
        ]
        cpu = models[0] if models else cpu
    blas = sorted(
        {
            f"{p['internal_api']} {p.get('version') or ''}".strip()
            for p in threadpool_info()
            if p.get("user_api") == "blas"
        }
    )
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "torch_mkldnn": bool(torch.backends.mkldnn.is_available()),
        "numpy_blas": blas,
        **describe("cpu"),
    }


def run_record_path(table_path: Path) -> Path:
    """The run record written beside a table: ``figure1.csv`` -> ``figure1_run.json``."""
    return table_path.with_name(table_path.stem + "_run.json")


def job_times(jobs: dict[str, dict[str, float | None]], kind: str) -> str:
    """'mean 104 s wall / 99 s CPU over 15 jobs' for the jobs named ``<kind> ...``."""
    times = [t for name, t in jobs.items() if name.startswith(kind + " ")]
    if not times:
        return "none ran (all reused)"
    wall = sum(t["wall_s"] for t in times) / len(times)
    cpus = [t["cpu_s"] for t in times if t["cpu_s"] is not None]
    cpu = f" / {sum(cpus) / len(cpus):.0f} s CPU" if cpus else ""
    return f"mean {wall:.0f} s wall{cpu} over {len(times)} jobs"


def readme_block(table: pd.DataFrame, run: dict, table_path: str, tests: pd.DataFrame) -> str:
    """The README's Figure-1 block (markers included) for ``table`` saved at ``table_path``
    (relative to the README), its run record ``run`` and its family of tests ``tests`` (``figure1_claims.csv``)."""
    png = str(Path(table_path).with_suffix(".png"))
    excluded = run.get("not_separating", {})
    lambdas = ", ".join(format_lambda(lam) for lam in run["lambdas"])
    machine_ = run["machine"]
    lines = [
        f"{BEGIN} {table_path} -->",
        f"![Figure 1, {run['mode']} mode]({png})",
        "",
        f"*This block is generated from `{table_path}`, `{claims_path(Path(table_path).with_suffix(''))}` and "
        f"`{run_record_path(Path(table_path))}` by "
        "`python -m figures.figure1.readme` (`make figures` rewrites all three).*",
        "",
        f"The run: {run['mode']} mode, TeSSL ({run['objective']}) for λ ∈ {{{lambdas}}}, "
        f"{len(run['seeds'])} training seeds per λ ({', '.join(map(str, run['seeds']))}), "
        f"{run['n_images']} analysis images × K={run['K']} augmentations (the same for every model), "
        f"{run['n_boot']} bootstrap resamples. "
        + (
            f"Pooled from {len(run['pooled_from'])} runs ({', '.join(f'`{p}`' for p in run['pooled_from'])}) by "
            "`python -m figures.figure1.combine`; their wall times add up to "
            if run.get("pooled_from")
            else "Wall time "
        )
        + f"**{run['elapsed_s'] / 60:.1f} min** on "
        f"{machine_['cpus']} CPUs ({machine_['cpu']}), executor `{run['executor']}` with {run['parallel']} jobs "
        f"side by side; training jobs: {job_times(run['jobs'], 'train')}; evaluation jobs (analysis, replicates, "
        f"local scores): {job_times(run['jobs'], 'evaluate')}.",
        "",
        verdict(tests),
        "",
        correction_text(tests, excluded),
        "",
        power_line(tests),
        *[line for text in separation_lines(excluded) for line in ("", text)],
        "",
        "Mean over seeds [95% interval over seeds and images, stimuli, or Brain-Score's error]:",
        "",
        *means_markdown(table),
        "",
        "Effect vs λ=0, paired by seed (and image) [95% interval]; **bold**: survives Holm's correction:",
        "",
        *effects_markdown(table),
        "",
        "Trend over λ (slope per λ step, seeds as the unit):",
        "",
        *trends_markdown(tests),
    ]
    if run["mode"] == "smoke":
        lines[5:5] = [
            "**A smoke run** (toy sizes that check the pipeline end to end; its numbers say nothing "
            "about λ): `make figures` replaces this block with the offline run.",
            "",
        ]
    if run.get("not_scored"):
        lines += ["", "Not scored (unreachable here): " + ", ".join(f"`{b}`" for b in run["not_scored"]) + "."]
    return "\n".join([*lines, END])


def block_for(table_path: Path, readme: Path) -> str:
    """:func:`readme_block` of the table saved at ``table_path`` and its run record."""
    record, tests = run_record_path(table_path), claims_path(table_path.with_suffix(""))
    if not table_path.is_file() or not record.is_file() or not tests.is_file():
        raise ConfigError(f"figure1 README block needs {table_path}, {tests} and {record}; run `make figures` first")
    relative = os.path.relpath(table_path.resolve(), readme.resolve().parent)
    return readme_block(read_table(table_path), json.loads(record.read_text()), relative, read_claims(tests))


def read_claims(path: Path) -> pd.DataFrame:
    """A saved family of tests (``figure1_claims.csv``), its yes/no columns as text."""
    text = {"survives": str, "replicated": str, "claim": str}
    return pd.read_csv(path, dtype=text, float_precision="round_trip").fillna({c: "" for c in text})


def committed_table(readme: Path) -> Path:
    """The table the README's Figure-1 block was generated from (named in its begin marker)."""
    match = _BLOCK.search(readme.read_text())
    if match is None:
        raise ConfigError(f"{readme} has no Figure-1 block ({BEGIN} <table> --> ... {END})")
    return (readme.resolve().parent / match["table"]).resolve()


def check_readme(readme: Path) -> None:
    """ConfigError unless ``readme`` is a file holding a Figure-1 block (checked before a pipeline's work)."""
    if not readme.is_file():
        raise ConfigError(f"--readme {str(readme)!r} " + ("is not a file" if readme.exists() else "does not exist"))
    if _BLOCK.search(readme.read_text()) is None:
        raise ConfigError(f"{readme} has no Figure-1 block ({BEGIN} <table> --> ... {END}) to rewrite")


def update_readme(readme: Path, table_path: Path) -> Path:
    """Replace the Figure-1 block of ``readme`` by the one generated from ``table_path`` (atomic write)."""
    check_readme(readme)
    text = readme.read_text()
    block = block_for(table_path, readme)
    with atomic_write(readme) as tmp:
        tmp.write_text(_BLOCK.sub(lambda _: block, text, count=1))
    return readme


def main(argv: list[str] | None = None) -> int:
    """``python -m figures.figure1.readme``: rewrite the README's Figure-1 block from a saved table."""
    parser = argparse.ArgumentParser(prog="python -m figures.figure1.readme", description=main.__doc__)
    parser.add_argument("--readme", type=Path, default=Path("docs/reproduction.md"))
    parser.add_argument(
        "--table", type=Path, default=None, help="the saved table (default: the one the block names now)"
    )
    args = parser.parse_args(argv)
    try:
        update_readme(args.readme, args.table or committed_table(args.readme))
    except ConfigError as err:
        print(f"figures.figure1.readme: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
