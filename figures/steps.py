"""Resumable pipeline steps: a step whose output file exists is skipped.

Every step of the Figure-1 pipeline writes exactly one output file (atomically:
:func:`neuroequi.io.atomic_write`), so an interrupted run leaves either a finished file or
nothing, and the next run continues from the first missing output.
:func:`run_step` runs one step in this process; :func:`run_jobs` runs jobs
(:class:`figures.jobs.Job`: a saved config and a library entry point) side by side through an executor (:mod:`figures.executors`: local processes or a
SLURM cluster), each after the jobs it depends on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from figures.executors import Executor, LocalProcesses, Running
from figures.jobs import Job
from figures.reuse import StepKey, decide, write_key
from neuroequi.errors import NeuroequiError
from neuroequi.io import atomic_write


@dataclass
class StepLog:
    """One line per step: what ran, how long it took, whether it was reused; the jobs' times."""

    #: The command whose steps these are: every line starts ``[<prefix>]``.
    prefix: str = "figure1"
    started: float = field(default_factory=time.perf_counter)
    lines: list[str] = field(default_factory=list)
    #: ``{job name: {"wall_s": ..., "cpu_s": ... or None}}`` of the jobs that ran (not reused).
    jobs: dict[str, dict[str, float | None]] = field(default_factory=dict)

    def record(self, name: str, seconds: float, reused: bool, summary: str = "") -> None:
        """Print and keep the step's one-line summary."""
        state = "reused" if reused else f"{seconds:7.1f} s"
        line = f"[{self.prefix}] {name:<42} {state:>9}  {summary}".rstrip()
        print(line, flush=True)
        self.lines.append(line)

    @property
    def elapsed(self) -> float:
        """Seconds since the pipeline started."""
        return time.perf_counter() - self.started


def run_step(
    log: StepLog,
    name: str,
    output: Path,
    make: Callable[[Path], str | None],
    key: StepKey | None = None,
    reuse: str = "recompute",
) -> Path:
    """Produce ``output`` with ``make(tmp_path)`` unless it is saved already.

    ``make`` writes to the temporary path it is given (:func:`neuroequi.io.atomic_write`)
    and may return a short summary for the log; the file is renamed into place
    only when ``make`` returns, so a killed step leaves no partial output behind.
    With a ``key`` (:class:`figures.reuse.StepKey`: the step's settings and inputs) the output is
    reused only when its key file records the same key; otherwise it is recomputed (the log line
    names the changed keys) or, with ``reuse='refuse'``, refused (:func:`figures.reuse.decide`).
    Without a key, an existing output is reused.
    """
    reasons = (None if output.exists() else ["no output"]) if key is None else decide(name, output, key, reuse)
    if reasons is None:
        log.record(name, 0.0, reused=True)
        return output
    start = time.perf_counter()
    with atomic_write(output) as tmp:
        summary = make(tmp)
    if key is not None:
        write_key(output, key)
    if reasons != ["no output"]:
        summary = f"recomputed ({'; '.join(reasons)}) {summary or ''}"
    log.record(name, time.perf_counter() - start, reused=False, summary=summary or "")
    return output


def _tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def run_jobs(
    jobs: list[Job], parallel: int, log: StepLog, env: dict[str, str] | None = None, executor: Executor | None = None
) -> None:
    """Run ``jobs`` through ``executor`` (default: local processes with ``env`` added to their
    environment), at most ``parallel`` at a time, each after its dependencies.

    A job whose outputs exist is reused without running. If a job fails, the
    running ones are stopped (they resume next time): a job that failed with a known error
    (exit code 2, its last line ``neuroequi: error: ...``) raises NeuroequiError with that line
    and the log's path; any other failure (a bug) raises RuntimeError with the log's last lines.
    The wall and CPU time of every job that ran are kept in ``log.jobs``. The executor is closed
    at the end (:meth:`figures.executors.Executor.close`: the local jobs' launcher ends).
    """
    if parallel < 1:
        raise ValueError(f"parallel must be >= 1, got {parallel}")
    executor = executor if executor is not None else LocalProcesses(dict(env or {}))
    names = {job.name for job in jobs}
    for job in jobs:
        unknown = set(job.after) - names
        if unknown:
            raise ValueError(f"job {job.name!r} waits for unknown jobs {sorted(unknown)}")
    finished: set[str] = set()
    pending = []
    for job in jobs:
        if job.done():
            log.record(job.name, 0.0, reused=True)
            if job.on_done:
                job.on_done()
            finished.add(job.name)
        else:
            pending.append(job)
    running: list[tuple[Job, Running, float]] = []
    try:
        while pending or running:
            ready = [j for j in pending if set(j.after) <= finished]
            while ready and len(running) < parallel:
                job = ready.pop(0)
                pending.remove(job)
                job.log_path.parent.mkdir(parents=True, exist_ok=True)
                started = time.perf_counter()  # the wall time includes starting (a warm launcher's imports)
                running.append((job, executor.start(job), started))
                print(f"[{log.prefix}] {job.name} started (log: {job.log_path})", flush=True)
            if not running:
                raise RuntimeError(f"jobs {[j.name for j in pending]} wait for jobs that never finish")
            time.sleep(0.5)
            for item in [r for r in running if r[1].poll() is not None]:
                job, handle, started = item
                running.remove(item)
                code = handle.poll()
                if code == NeuroequiError.exit_code:
                    raise NeuroequiError(f"{job.name} failed: {_tail(job.log_path, 1)} (log: {job.log_path})")
                if code != 0 or not job.done():
                    raise RuntimeError(
                        f"{job.name} failed (exit {code}, {handle.describe()}); last lines "
                        f"of {job.log_path}:\n{_tail(job.log_path)}"
                    )
                if job.on_done:
                    job.on_done()
                finished.add(job.name)
                wall, cpu = time.perf_counter() - started, handle.cpu_seconds
                log.jobs[job.name] = {"wall_s": round(wall, 2), "cpu_s": None if cpu is None else round(cpu, 2)}
                log.record(job.name, wall, reused=False, summary="" if cpu is None else f"cpu {cpu:.1f} s")
    finally:  # interrupted or failed: stop the others (they resume next time)
        for _, handle, _ in running:
            handle.stop()
        executor.close()
