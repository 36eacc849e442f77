"""Local jobs started warm (forked by :mod:`figures.forkserver`) against new interpreters: start-up and real jobs.

Runs the smoke Figure-1 pipeline (one seed) twice, with new processes (``warm_jobs=false``)
and warm, and says whether its table came out byte for byte the same. Then, alternating cold and
warm ``--repeats`` times, with one launcher started once (its start-up printed on its own):

* a trivial job (``tests/job_entries.py:wait`` with 0 s; a cold one imports only
  :mod:`figures.jobs` and its entry's module, no torch): seconds from ``start()`` to its first log
  line, and to its exit: the cost of a process and an interpreter;
* the smoke training job of ``(λ=0.5, seed 0)`` and its evaluation job (outputs removed first):
  wall and CPU seconds (the run record's ``wall_s`` / ``cpu_s``), and whether the warm job's
  outputs (the checkpoints; every evaluation output) are byte for byte the cold one's.

Median and range of each; the load average before and after (the machine may be shared). Also
which imports matter: each preloaded module's import time, and how much of a cold job's import
time lies outside the launcher's modules.

    python tests/benchmarks/bench_jobs.py                # ~4 min on 2 CPUs
    python tests/benchmarks/bench_jobs.py --repeats 5
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE.parent))  # tests/: job_entries
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE.parent), os.environ.get("PYTHONPATH")]))

THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
LAM, SEED = 0.5, 0


def digest(paths: list[Path]) -> str:
    """sha256 of the files under ``paths`` (names and bytes, in sorted order; logs left out)."""
    sha = hashlib.sha256()
    for path in sorted(p for root in paths for p in ([root] if root.is_file() else root.rglob("*")) if p.is_file()):
        if path.suffix != ".log":
            sha.update(path.name.encode() + path.read_bytes())
    return sha.hexdigest()[:16]


def time_job(executor, job, first_line: bool = False) -> tuple[float | None, float, float | None]:
    """(seconds to the job's first log line or None, seconds to its exit, its CPU seconds); fails if it fails."""
    log_size = job.log_path.stat().st_size if job.log_path.is_file() else 0
    began = time.perf_counter()
    handle = executor.start(job)
    first = None
    while (code := handle.poll()) is None:
        if first_line and first is None and job.log_path.is_file() and job.log_path.stat().st_size > log_size:
            first = time.perf_counter() - began
        time.sleep(0.002 if first_line else 0.02)
    wall = time.perf_counter() - began
    if code != 0:
        raise SystemExit(f"{job.name} failed (exit {code}): see {job.log_path}")
    return first, wall, handle.cpu_seconds


PRELOAD_REPORT = """
import json, sys, time, importlib
from figures.forkserver import PRELOAD
seconds = {}
for name in PRELOAD:
    began = time.perf_counter()
    importlib.import_module(name)
    seconds[name] = time.perf_counter() - began
print(json.dumps({"seconds": seconds, "modules": sorted(sys.modules)}))
"""


def preload_report(specs: dict[str, str]) -> None:
    """Print each preloaded module's own import time (a new process, in :data:`PRELOAD`'s order: 0 s
    when an earlier one imported it), then for each job spec the import time (``-X importtime``,
    self times summed) of a cold job inside and outside the launcher's modules."""
    import subprocess

    env = {**os.environ, **THREADS}
    run = subprocess.run([sys.executable, "-c", PRELOAD_REPORT], capture_output=True, text=True, env=env, check=True)
    report = json.loads(run.stdout.splitlines()[-1])
    print(
        "preload, each module's import in a new process: "
        + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in report["seconds"].items())
    )
    preloaded = set(report["modules"])
    for name, spec in specs.items():
        cold = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "figures.jobs", spec], capture_output=True, text=True, env=env
        )
        inside = outside = 0.0
        missing: dict[str, float] = {}
        for line in cold.stderr.splitlines():
            if line.startswith("import time:") and "self [us]" not in line:
                own, _, module = line.split("|")
                seconds = int(own.split(":")[1]) / 1e6
                if module.strip() in preloaded:
                    inside += seconds
                else:
                    outside += seconds
                    missing[module.strip()] = seconds
        top = ", ".join(f"{m} {s * 1e3:.0f} ms" for m, s in sorted(missing.items(), key=lambda x: -x[1])[:3])
        print(
            f"{name} job, cold: imports {inside:.2f} s in modules the launcher has, {outside:.2f} s in "
            f"{len(missing)} others (largest: {top or 'none'})"
        )


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values):6.2f} s (range {min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from dataclasses import replace

    from figures.executors import LocalProcesses
    from figures.figure1 import pipeline
    from figures.figure1.config import preset
    from figures.forkserver import PRELOAD
    from figures.jobs import Job
    from test_figure1 import entry_job

    load_before = os.getloadavg()
    config = replace(preset("smoke"), seeds=(SEED,))
    print(f"preload: {', '.join(PRELOAD)}")
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        tables = {}
        for setting in ("off", "on"):
            began = time.perf_counter()
            out = tmp / setting
            pipeline.run(
                replace(config, warm_jobs=setting == "on"), out / "results", out / "figures", zoo_home=out / "zoo"
            )
            tables[setting] = (out / "figures" / "figure1_smoke.csv").read_bytes()
            print(f"smoke pipeline (1 seed), warm_jobs={setting == 'on'}: {time.perf_counter() - began:.1f} s")
        print(f"smoke table warm == cold, byte for byte: {tables['on'] == tables['off']}")

        root = tmp / "on" / "results" / "figure1" / "smoke"
        train_dir = pipeline.final_checkpoint(config, LAM, SEED, root).parent.parent
        evaluation = list(pipeline.evaluation_keys(config, root, LAM, SEED))
        # each job: how to make it, what to remove before it runs, what to compare (not the timing logs)
        jobs: dict[str, tuple[Callable[[], Job], list[Path], list[Path]]] = {
            "training": (
                lambda: pipeline.job("train", LAM, SEED, root, done=lambda: False),
                [train_dir],
                [train_dir / "checkpoints"],
            ),
            "evaluation": (
                lambda: pipeline.job("evaluate", LAM, SEED, root, done=lambda: False),
                evaluation,
                evaluation,
            ),
        }
        preload_report({name: json.dumps(make().spec) for name, (make, _, _) in jobs.items()})
        warm = LocalProcesses(dict(THREADS), warm=True)
        trivial = tmp / "trivial"
        _, wall, _ = time_job(warm, entry_job(trivial / "out.txt", "launcher", "wait", {"seconds": 0}))
        print(f"first warm job (trivial), the launcher's start-up included (once per run): {wall:.2f} s wall")
        executors = {"cold": LocalProcesses(dict(THREADS), warm=False), "warm": warm}
        first: dict[str, list[float]] = {"cold": [], "warm": []}
        exits: dict[str, list[float]] = {"cold": [], "warm": []}
        walls: dict[tuple[str, str], list[float]] = {}
        cpus: dict[tuple[str, str], list[float]] = {}
        same: dict[str, list[bool]] = {name: [] for name in jobs}
        try:
            for repeat in range(args.repeats):
                order = ("cold", "warm") if repeat % 2 == 0 else ("warm", "cold")
                for kind in order:
                    job = entry_job(trivial / "out.txt", f"{kind}{repeat}", "wait", {"seconds": 0})
                    line, wall, _ = time_job(executors[kind], job, first_line=True)
                    first[kind].append(line if line is not None else wall)
                    exits[kind].append(wall)
                for name, (make, removed, compared) in jobs.items():
                    digests = {}
                    for kind in order:
                        for path in removed:  # run it again from nothing
                            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
                        _, wall, cpu = time_job(executors[kind], make())
                        walls.setdefault((name, kind), []).append(wall)
                        cpus.setdefault((name, kind), []).append(cpu or 0.0)
                        digests[kind] = digest(compared)
                    same[name].append(digests["cold"] == digests["warm"])
                print(f"repeat {repeat + 1}/{args.repeats} done ({' then '.join(order)})", flush=True)
        finally:
            warm.close()
    load_after = os.getloadavg()
    print(f"\n{args.repeats} repeats, cold and warm alternating; 1 thread per job, one job at a time")
    for kind in ("cold", "warm"):
        print(f"trivial job (no torch), {kind}: first log line {summary(first[kind])}; exit {summary(exits[kind])}")
    for name in jobs:
        for kind in ("cold", "warm"):
            print(f"{name} job, {kind}: wall {summary(walls[name, kind])}; CPU {summary(cpus[name, kind])}")
        saved = statistics.median(walls[name, "cold"]) - statistics.median(walls[name, "warm"])
        print(f"{name} job: warm saves {saved:.2f} s wall (medians); outputs identical: {all(same[name])}")
    print(
        "load average (1, 5, 15 min): before "
        f"{', '.join(f'{x:.1f}' for x in load_before)}; after {', '.join(f'{x:.1f}' for x in load_after)}"
    )


if __name__ == "__main__":
    main()
