"""Resumable pipeline steps: a step whose output file exists is skipped.

Every step of the Figure-1 pipeline writes exactly one output file (atomically:
:func:`neuroequi.io.atomic_write`), so an interrupted run leaves either a finished file or
nothing, and the next run continues from the first missing output.
:func:`run_step` runs one step in this process; :func:`run_jobs` runs commands
as processes side by side, each after the jobs it depends on.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from neuroequi.io import atomic_write


@dataclass
class StepLog:
    """One line per step: what ran, how long it took, whether it was reused."""

    started: float = field(default_factory=time.perf_counter)
    lines: list[str] = field(default_factory=list)

    def record(self, name: str, seconds: float, reused: bool, summary: str = "") -> None:
        """Print and keep the step's one-line summary."""
        state = "reused" if reused else f"{seconds:7.1f} s"
        line = f"[figure1] {name:<42} {state:>9}  {summary}".rstrip()
        print(line, flush=True)
        self.lines.append(line)

    @property
    def elapsed(self) -> float:
        """Seconds since the pipeline started."""
        return time.perf_counter() - self.started


def run_step(log: StepLog, name: str, output: Path, make: Callable[[Path], str | None]) -> Path:
    """Produce ``output`` with ``make(tmp_path)`` unless it exists already.

    ``make`` writes to the temporary path it is given (:func:`neuroequi.io.atomic_write`)
    and may return a short summary for the log; the file is renamed into place
    only when ``make`` returns, so a killed step leaves no partial output behind.
    """
    if output.exists():
        log.record(name, 0.0, reused=True)
        return output
    start = time.perf_counter()
    with atomic_write(output) as tmp:
        summary = make(tmp)
    log.record(name, time.perf_counter() - start, reused=False, summary=summary or "")
    return output


@dataclass
class Job:
    """One command of a pipeline, run as its own process.

    Attributes:
        name: what the log calls it, e.g. ``train lam0.1``.
        command: the argv to run.
        done: True when the job's outputs exist (checked before and after it runs).
        log_path: where the process's stdout/stderr go.
        after: names of the jobs that must finish first.
        on_done: called in the parent once the job has finished (e.g. register a model).
    """

    name: str
    command: list[str]
    done: Callable[[], bool]
    log_path: Path
    after: tuple[str, ...] = ()
    on_done: Callable[[], None] | None = None


def _tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def run_jobs(jobs: list[Job], parallel: int, log: StepLog, env: dict[str, str] | None = None) -> None:
    """Run ``jobs`` as processes, at most ``parallel`` at a time, each after its dependencies.

    A job whose outputs exist is reused without running. If a job fails, the
    running ones are stopped (they resume next time) and RuntimeError shows the
    last lines of the failed job's log.
    """
    if parallel < 1:
        raise ValueError(f"parallel must be >= 1, got {parallel}")
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
    running: list[tuple[Job, subprocess.Popen, float]] = []
    try:
        while pending or running:
            ready = [j for j in pending if set(j.after) <= finished]
            while ready and len(running) < parallel:
                job = ready.pop(0)
                pending.remove(job)
                job.log_path.parent.mkdir(parents=True, exist_ok=True)
                with open(job.log_path, "ab") as fh:
                    proc = subprocess.Popen(job.command, stdout=fh, stderr=subprocess.STDOUT, env=env)
                running.append((job, proc, time.perf_counter()))
                print(f"[figure1] {job.name} started (log: {job.log_path})", flush=True)
            if not running:
                raise RuntimeError(f"jobs {[j.name for j in pending]} wait for jobs that never finish")
            time.sleep(0.5)
            for item in [r for r in running if r[1].poll() is not None]:
                job, proc, started = item
                running.remove(item)
                if proc.returncode != 0 or not job.done():
                    raise RuntimeError(f"{job.name} failed (exit {proc.returncode}); last lines of "
                                       f"{job.log_path}:\n{_tail(job.log_path)}")
                if job.on_done:
                    job.on_done()
                finished.add(job.name)
                log.record(job.name, time.perf_counter() - started, reused=False)
    finally:  # interrupted or failed: stop the others (they resume next time)
        for _, proc, _ in running:
            proc.terminate()
            proc.wait()
