"""Where a pipeline's jobs run: local processes (default) or a SLURM cluster through ``submitit``.

A job (:class:`figures.jobs.Job`: a saved config and a library entry point, run as
``python -m figures.jobs SPEC``) is one command line; an executor starts it and
hands back a :class:`Running` handle that :func:`figures.steps.run_jobs` polls. The
same jobs, dependencies and "done" checks hold for every executor, so a run that
stops (or whose cluster jobs time out) resumes the same way: finished outputs are
reused, the rest run again.

* ``local``: child processes of the pipeline (their CPU time is measured, see
  :attr:`Running.cpu_seconds`). By default they start warm: one launcher per run
  (:mod:`figures.forkserver`) imports torch, torchvision, xarray, Brain-Score and the project
  once, computes nothing, and forks each job, which then runs exactly as ``python -m figures.jobs
  SPEC`` would (its log, exit status, fresh global seeds; its CPU time without the imports).
  ``warm_jobs: false`` in a pipeline's config starts every job as a new interpreter instead; a launcher that
  cannot start, refuses a job or dies is replaced by new interpreters with a one-line warning
  (a job it was running starts again);
* ``slurm``: one SLURM job per pipeline job, submitted with ``submitit``; a training
  job asks for :attr:`SlurmSettings.gpus` GPUs on one node and runs one task per GPU
  (``torch.distributed`` variables exported for :mod:`neuroequi.train`), an
  evaluation job one task with at most one GPU. Submitted job ids are recorded in
  the submitit folder, so a restarted pipeline re-attaches to its queued or running
  jobs instead of submitting them twice (and a failed or interrupted pipeline leaves
  its other SLURM jobs running);
* ``submitit-local``: the submitit path with submitit's own local executor (no cluster):
  what the tests run, and a way to check a cluster config on one machine.
"""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from figures.forkserver import PRELOAD, ForkServer, LauncherError
from figures.jobs import Job
from neuroequi.errors import ConfigError

ExecutorKind = Literal["local", "slurm", "submitit-local"]
#: SLURM states of a job that may still finish (a restarted pipeline waits for it instead of resubmitting).
ACTIVE_STATES = ("PENDING", "RUNNING", "REQUEUED", "CONFIGURING", "COMPLETING", "RESIZING", "SUSPENDED")


@dataclass(frozen=True)
class SlurmSettings:
    """Resources of the SLURM jobs (``executor: slurm``; ``submitit-local`` uses gpus only).

    Attributes:
        partition: SLURM partition (None: the cluster's default).
        gpus: GPUs of a training job, all on one node, one task each (DDP); evaluation jobs take
            at most one.
        cpus: CPUs per task (also the thread count of each job's torch / BLAS).
        time: wall-time limit of one job, minutes.
        mem: memory of one job, GB.
        account: SLURM account (None: the user's default).
        additional: further ``sbatch`` options, e.g. ``{"qos": "high", "constraint": "a100"}``.
    """

    partition: str | None = None
    gpus: int = 0
    cpus: int = 1
    time: int = 60
    mem: int = 16
    account: str | None = None
    additional: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, low in (("gpus", 0), ("cpus", 1), ("time", 1), ("mem", 1)):
            if getattr(self, key) < low:
                raise ConfigError(f"slurm.{key} must be >= {low}, got {getattr(self, key)}")


class Running(Protocol):
    """A started job."""

    def poll(self) -> int | None:
        """None while it runs; its exit status (0: success) once it has finished."""

    def stop(self) -> None:
        """Stop it (the pipeline failed or was interrupted; the job resumes next time)."""

    @property
    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) of the finished job where it is known (local processes), else None."""

    def describe(self) -> str:
        """Where to look when it failed (beyond the job's log)."""


class Executor(Protocol):
    """Starts jobs."""

    def start(self, job: Job) -> Running:
        """Start ``job`` (its output appended to ``job.log_path``)."""

    def close(self) -> None:
        """Release what :meth:`start` set up (the local jobs' launcher); ``start`` may be called again."""


class LocalProcess:
    """A child process; waited for with ``os.wait4`` so its CPU time is known."""

    def __init__(self, job: Job, env: dict[str, str]) -> None:
        with open(job.log_path, "ab") as log:
            self.process = subprocess.Popen(
                job.command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **env}
            )
        self.returncode: int | None = None
        self.usage: resource.struct_rusage | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status, usage = os.wait4(self.process.pid, os.WNOHANG)
            if pid:
                self.returncode, self.usage = os.waitstatus_to_exitcode(status), usage
                self.process.returncode = self.returncode
        return self.returncode

    def stop(self) -> None:
        if self.poll() is None:
            self.process.terminate()
            self.process.wait()

    @property
    def cpu_seconds(self) -> float | None:
        return None if self.usage is None else self.usage.ru_utime + self.usage.ru_stime

    def describe(self) -> str:
        return f"local process {self.process.pid}"


class WarmProcess:
    """A job forked by the warm launcher (:class:`figures.forkserver.ForkServer`); run again as a
    :class:`LocalProcess` if the launcher dies before reporting its exit."""

    def __init__(self, server: ForkServer, job: Job, env: dict[str, str]) -> None:
        self.server, self.job, self.env = server, job, env
        self.cold: LocalProcess | None = None
        self.id, self.pid = server.start(job.command[2], job.command[3:], str(job.log_path), env)

    def _exit(self) -> tuple[int, float] | None:
        exited = self.server.exited(self.id)
        return None if exited is None else (exited["code"], exited["cpu_s"])

    def poll(self) -> int | None:
        if self.cold is None and self._exit() is None and not self.server.alive:
            warn(f"the warm launcher died while {self.job.name} ran; it starts again as a new process")
            self.cold = LocalProcess(self.job, self.env)
        if self.cold is not None:
            return self.cold.poll()
        exited = self._exit()
        return None if exited is None else exited[0]

    def stop(self) -> None:
        if self.cold is not None:
            self.cold.stop()
        else:
            self.server.stop(self.id)

    @property
    def cpu_seconds(self) -> float | None:
        if self.cold is not None:
            return self.cold.cpu_seconds
        exited = self._exit()
        return None if exited is None else exited[1]

    def describe(self) -> str:
        if self.cold is not None:
            return self.cold.describe()
        return f"local process {self.pid}, forked by the warm launcher {self.server.process.pid}"


def warn(message: str) -> None:
    """One line on the pipeline's stderr."""
    print(f"[jobs] warning: {message}", file=sys.stderr, flush=True)


#: The warm launcher's own log (its imports' warnings), in the folder of the first job's log.
LAUNCHER_LOG = "launcher.log"


@dataclass
class LocalProcesses:
    """Jobs as child processes of the pipeline, with ``env`` added to their environment.

    With ``warm`` (a pipeline's ``warm_jobs`` setting, default on) a job whose command is ``python -m MODULE ...``
    (every :class:`figures.jobs.Job`) is forked by one launcher that has imported ``preload``,
    started at the first job with the jobs' environment (its own log: :data:`LAUNCHER_LOG` beside
    that job's log) and ended by :meth:`close`. A job the launcher cannot start runs as a new
    process, with a one-line warning, and so does every later job.
    """

    env: dict[str, str] = field(default_factory=dict)
    warm: bool = True
    preload: tuple[str, ...] = PRELOAD
    server: ForkServer | None = field(default=None, init=False, repr=False)

    def _server(self, job: Job) -> ForkServer | None:
        """The launcher (started at the first job, its log beside that job's log); None once it has
        failed (jobs start cold)."""
        if self.warm and self.server is None:
            try:
                self.server = ForkServer(self.env, job.log_path.parent / LAUNCHER_LOG, self.preload)
            except (LauncherError, OSError) as error:
                self.fall_back(f"the warm launcher did not start ({error})")
        elif self.warm and self.server is not None and not self.server.alive:
            self.fall_back("the warm launcher has exited")
        return self.server if self.warm else None

    def fall_back(self, why: str) -> None:
        """Start every later job as a new process, after a one-line warning saying ``why`` (the
        launcher's running jobs, if any, go on; :meth:`close` ends it)."""
        warn(f"{why}; jobs start as new processes")
        self.warm = False

    def start(self, job: Job) -> Running:
        if self.warm and job.command[:2] == [sys.executable, "-m"]:
            server = self._server(job)
            if server is not None:
                try:
                    return WarmProcess(server, job, self.env)
                except LauncherError as error:
                    self.fall_back(f"the warm launcher could not start {job.name}: {error}")
        return LocalProcess(job, self.env)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None


def run_command(command: list[str], log_path: str, env: dict[str, str], distributed: bool) -> int:
    """Body of one submitit job: run ``command`` with ``env`` added, appending its output to ``log_path``;
    its exit status (the pipeline reads a known error, status 2, the same way as from a local process).

    With ``distributed`` and several tasks in the job, every task exports the
    ``torch.distributed`` variables (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``,
    ``MASTER_PORT``) first, as ``torchrun`` would.
    """
    import submitit

    if distributed and submitit.JobEnvironment().num_tasks > 1:
        submitit.helpers.TorchDistributedEnvironment().export(set_cuda_visible_devices=False)
    with open(log_path, "ab") as log:
        return subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **env}).returncode


class SubmititJob:
    """A submitit job (SLURM or submitit's local executor). Stopping cancels a local one; a SLURM
    job keeps running (hours of GPU work are not thrown away because another job failed or the
    pipeline was interrupted), and the next run of the pipeline attaches to it."""

    def __init__(self, job: Any, cancel_on_stop: bool) -> None:
        self.job, self.cancel_on_stop = job, cancel_on_stop

    def poll(self) -> int | None:
        """The command's exit status (every task's worst), or 1 when the job itself failed (e.g. its time limit)."""
        if not self.job.done():
            return None
        try:
            return max(int(code) for code in self.job.results())
        except Exception:  # noqa: BLE001 (submitit raises whatever ended the job: timeout, node failure, ...)
            return 1

    def stop(self) -> None:
        if self.job.done():
            return
        if self.cancel_on_stop:
            self.job.cancel(check=False)
        else:
            print(f"[slurm] job {self.job.job_id} keeps running; the next run attaches to it", flush=True)

    @property
    def cpu_seconds(self) -> float | None:
        return None

    def describe(self) -> str:
        return f"submitit job {self.job.job_id} (stderr: {self.job.paths.stderr})"


def job_parameters(cluster: Literal["slurm", "local"], settings: SlurmSettings, job: Job) -> dict[str, Any]:
    """``submitit.AutoExecutor`` parameters of ``job``: a distributed (training) job takes ``settings.gpus``
    GPUs on one node and one task per GPU, any other job one task and at most one GPU."""
    gpus = settings.gpus if job.distributed else min(settings.gpus, 1)
    params: dict[str, Any] = {
        "name": job.name.replace(" ", "_"),
        "timeout_min": settings.time,
        "gpus_per_node": gpus,
        "tasks_per_node": max(gpus, 1),
        "cpus_per_task": settings.cpus,
        "mem_gb": settings.mem,
    }
    if cluster == "slurm":
        params |= {
            "slurm_partition": settings.partition,
            "slurm_account": settings.account,
            "slurm_additional_parameters": dict(settings.additional),
        }
    return {key: value for key, value in params.items() if value is not None}


class SubmititExecutor:
    """Jobs submitted through ``submitit`` (``cluster``: ``slurm`` or ``local``) into ``folder``."""

    def __init__(
        self, cluster: Literal["slurm", "local"], settings: SlurmSettings, folder: Path, env: dict[str, str]
    ) -> None:
        import submitit

        self.cluster, self.settings, self.folder, self.env = cluster, settings, Path(folder), env
        self.executor = submitit.AutoExecutor(folder=self.folder / "%j", cluster=cluster)

    def _record(self, job: Job) -> Path:
        return self.folder / "jobs" / (job.name.replace(" ", "_") + ".json")

    def _attach(self, job: Job) -> Running | None:
        """The queued or running SLURM job a previous pipeline submitted for ``job``, if any."""
        record = self._record(job)
        if self.cluster != "slurm" or not record.is_file():
            return None
        import submitit

        previous = submitit.SlurmJob(folder=self.folder / "%j", job_id=json.loads(record.read_text())["job_id"])
        return SubmititJob(previous, cancel_on_stop=False) if previous.state in ACTIVE_STATES else None

    def start(self, job: Job) -> Running:
        attached = self._attach(job)
        if attached is not None:
            return attached
        self.executor.update_parameters(**job_parameters(self.cluster, self.settings, job))
        submitted = self.executor.submit(run_command, job.command, str(job.log_path), self.env, job.distributed)
        record = self._record(job)
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({"job_id": submitted.job_id, "command": job.command}))
        return SubmititJob(submitted, cancel_on_stop=self.cluster == "local")

    def close(self) -> None:
        """Nothing to release (submitted jobs are submitit's)."""


def check_executor(kind: ExecutorKind) -> None:
    """ConfigError naming what is missing when ``kind`` cannot run here (fails before any work)."""
    if kind == "local":
        return
    if importlib.util.find_spec("submitit") is None:
        raise ConfigError(
            f"executor {kind!r} needs the Python package submitit, which is not installed "
            "(pip install submitit), or use executor=local"
        )
    missing = [command for command in ("sbatch", "srun") if shutil.which(command) is None]
    if kind == "slurm" and missing:
        raise ConfigError(
            f"executor 'slurm' needs a SLURM cluster, but {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not on PATH (run on the cluster's login node, "
            "or use executor=local)"
        )


def make_executor(
    kind: ExecutorKind,
    settings: SlurmSettings,
    folder: Path,
    threads: int,
    warm: bool = True,
    warm_up: tuple[str, ...] = (),
) -> Executor:
    """The executor of ``kind``; every job computes on ``threads`` threads (torch, OpenMP, BLAS) and draws no
    progress bars (``TQDM_DISABLE=1``, Brain-Score's too: a job writes a log file, one line per step).
    ``warm``: local jobs forked from the warm launcher (:class:`LocalProcesses`); ``warm_up``:
    ``module:function[:argument]`` calls that launcher makes after its imports (:func:`figures.forkserver.preload`)."""
    check_executor(kind)
    env = {var: str(threads) for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    env["TQDM_DISABLE"] = "1"
    if kind == "local":
        return LocalProcesses(env, warm=warm, preload=PRELOAD + warm_up)
    return SubmititExecutor("slurm" if kind == "slurm" else "local", settings, folder, env)
