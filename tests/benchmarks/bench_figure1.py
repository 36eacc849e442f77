"""One whole Figure-1 run (train → analyse → score → table → figure) of a preset, timed job by job.

Runs :func:`figures.figure1.pipeline.run` into a temporary folder (nothing reused) and prints the
wall time, every job kind's mean wall and CPU time (the run record's ``jobs``), the precision
``precision: auto`` chose and the machine (:func:`neuroequi.hardware.describe`). The per-job
means are what a preset's size is extrapolated from (total ≈ jobs × per-job time / parallel jobs).

    python tests/benchmarks/bench_figure1.py                                     # smoke preset (CPU, ~2 min)
    python tests/benchmarks/bench_figure1.py --preset offline seeds=[0]           # one seed of the offline preset
    python tests/benchmarks/bench_figure1.py --preset offline --device cuda parallel=8   # gpu_check.sh

``--device cuda`` trains on the GPU (``train.device=cuda``); the analyses stay on the CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def job_summary(jobs: dict[str, dict[str, float | None]], kind: str) -> str:
    """'5 jobs: wall mean 104.1 s (range 99.8-114.5), CPU mean 99.0 s' for the jobs named ``<kind> ...``."""
    walls = [t["wall_s"] for name, t in jobs.items() if name.startswith(kind + " ")]
    cpus = [t["cpu_s"] for name, t in jobs.items() if name.startswith(kind + " ") and t.get("cpu_s") is not None]
    if not walls:
        return "none"
    cpu = f", CPU mean {sum(cpus) / len(cpus):.1f} s" if cpus else ""
    return (
        f"{len(walls)} jobs: wall mean {sum(walls) / len(walls):.1f} s (range {min(walls):.1f}-{max(walls):.1f}){cpu}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="smoke")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("overrides", nargs="*", help="key=value overrides of the preset")
    args = parser.parse_args()

    from figures.figure1.config import preset
    from figures.figure1.pipeline import run
    from neuroequi.hardware import describe, resolve_precision

    config = preset(args.preset, [*args.overrides, f"train.device={args.device}"])
    precision = resolve_precision(str(config.train.get("precision", "fp32")), args.device)
    print(
        f"preset {args.preset} ({' '.join(args.overrides) or 'as shipped'}); device {args.device}; "
        f"{len(config.lambdas)} λ x {len(config.seeds)} seeds, {config.parallel} jobs side by side; "
        f"training precision {config.train.get('precision', 'fp32')} -> {precision}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"hardware: {json.dumps(describe(args.device))}")
    with tempfile.TemporaryDirectory() as tmp:
        run(config, Path(tmp) / "results", Path(tmp) / "out", zoo_home=Path(tmp) / "zoo")
        stem = "figure1" if config.mode == "offline" else f"figure1_{config.mode}"
        record = json.loads((Path(tmp) / "out" / f"{stem}_run.json").read_text())
    print(f"total wall time {record['elapsed_s'] / 60:.2f} min ({record['elapsed_s']:.0f} s)")
    for kind in ("train", "evaluate"):
        print(f"  {kind:<8} {job_summary(record['jobs'], kind)}")


if __name__ == "__main__":
    main()
