"""The warm launcher of local jobs: a process that has imported the jobs' libraries once and forks each job.

A local job is ``python -m figures.jobs SPEC`` (:class:`figures.jobs.Job`); a fresh interpreter
spends seconds importing torch, torchvision, xarray, Brain-Score, ... before the job computes
anything. The launcher (``python -m figures.forkserver``, one per pipeline run, started by
:class:`figures.executors.LocalProcesses` with the environment the jobs get, thread variables
included, since OpenMP and BLAS read them when they load) imports :data:`PRELOAD` and computes
nothing: no tensor op, no thread, no CUDA. For each job it forks; the child appends its
stdout/stderr to the job's log, adds the job's environment, draws fresh seeds for the global RNGs
(as a new interpreter does) and runs the module as ``__main__`` with the job's arguments, then
exits the way the interpreter would (the same exit code for a return, ``sys.exit``, a known
error or a traceback). The launcher reaps its children with ``os.wait4`` and reports their exit
status and CPU time (user + system, the job's own: the imports are not in it).

The launcher and the pipeline talk through the launcher's stdin and stdout, one JSON object a
line: requests (:class:`StartRequest`, :class:`StopRequest`) in, events (:class:`Ready`,
:class:`Started`, :class:`Refused`, :class:`Exited`) out. When its stdin closes (the pipeline
finished, failed or died) it stops its jobs and exits; a job dies with its launcher (Linux's
parent-death signal), so no job outlives both. The pipeline side is :class:`ForkServer`.
"""

from __future__ import annotations

import importlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import warnings
from pathlib import Path
from typing import Any, Literal, NoReturn, TypedDict

#: What the launcher imports before it forks (in this order: :mod:`neuroequi` first makes torchvision
#: importable, :mod:`neuroequi._compat`); a module that does not import is skipped (the job fails cold
#: the same way).
PRELOAD = (
    "neuroequi",
    "torch",
    "torchvision",
    "neuroequi.train",
    "neuroequi.registry",
    "neuroequi.hssl",
    "model_zoo",
    "analyses.pipeline",
    "analyses.neural.scoring",
    "brainscore_vision",
    "brainscore_vision.model_helpers.brain_transformation",
    "figures.figure1.pipeline",
    "figures.figure1.jobs",
    "figures.jobs",
    "neuroequi.cli",
)
#: Seconds the pipeline waits for the launcher's imports, then for each fork.
READY_TIMEOUT_S, START_TIMEOUT_S = 300.0, 60.0
#: torch's fixed default seed in builds that do not seed each process from entropy.
TORCH_FIXED_SEED = 67280421310721
_PR_SET_PDEATHSIG = 1


class StartRequest(TypedDict):
    """Run a job: fork, then ``python -m <module> <args>`` in the child.

    Keys: ``op`` ("start"); ``id`` (the pipeline's number for the job); ``module`` and ``args`` (the
    job's command after ``python -m``); ``log`` (file its stdout and stderr are appended to);
    ``env`` (variables added to the launcher's environment); ``cwd`` (its working directory)."""

    op: Literal["start"]
    id: int
    module: str
    args: list[str]
    log: str
    env: dict[str, str]
    cwd: str


class StopRequest(TypedDict):
    """Stop job ``id`` (SIGTERM, as :meth:`subprocess.Popen.terminate`); its :class:`Exited` follows."""

    op: Literal["stop"]
    id: int


class Ready(TypedDict):
    """The launcher has imported ``preloaded`` (module names) in ``seconds``; its process id ``pid``."""

    event: Literal["ready"]
    pid: int
    preloaded: list[str]
    seconds: float


class Started(TypedDict):
    """Job ``id`` runs as process ``pid``."""

    event: Literal["started"]
    id: int
    pid: int


class Refused(TypedDict):
    """Job ``id`` was not forked (``reason``: e.g. a thread was running in the launcher)."""

    event: Literal["refused"]
    id: int
    reason: str


class Exited(TypedDict):
    """Job ``id`` finished: ``code`` as :func:`os.waitstatus_to_exitcode` (negative: killed by that
    signal), ``cpu_s`` its user + system CPU seconds (its waited-for children included)."""

    event: Literal["exited"]
    id: int
    code: int
    cpu_s: float


class LauncherError(Exception):
    """The launcher did not start, died, or refused a job (the caller runs the job cold)."""


# ---------------------------------------------------------------- the launcher (its own process)


def preload(modules: tuple[str, ...] = PRELOAD) -> list[str]:
    """Import ``modules`` (what they print goes to the launcher's log, once); those that imported.

    An entry ``module:function`` or ``module:function:argument`` also calls ``function()`` or
    ``function(argument)`` after the import: a warm-up that loads data every job would otherwise load
    itself (e.g. :func:`figures.figure1.jobs.warm_up`); it must start no thread (forking checks).
    A warm-up that fails is reported on one line in the log and skipped: the jobs load what they need.
    """
    done = []
    for entry in modules:
        name, _, call = entry.partition(":")
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if call:
            function, _, argument = call.partition(":")
            try:
                getattr(module, function)(*([argument] if argument else []))
            except Exception as error:  # noqa: BLE001 (an optimisation only: the jobs load what they need)
                print(f"warm-up {entry} skipped: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
                continue
        done.append(entry)
    return done


def fork_hazard() -> str | None:
    """Why forking now would be unsafe (another thread, e.g. an OpenMP pool; CUDA), or None."""
    tasks = f"/proc/{os.getpid()}/task"
    threads = len(os.listdir(tasks)) if os.path.isdir(tasks) else threading.active_count()
    if threads != 1:
        return f"the launcher runs {threads} threads"
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        return "the launcher has initialised CUDA"
    return None


def exit_status(code: Any) -> int:
    """The exit status the interpreter gives ``SystemExit(code)`` (printing a non-integer ``code``)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def run_main(module: str, args: list[str]) -> int:
    """Run ``module`` as ``__main__`` with ``args``, as ``python -m module args`` does (the same runpy
    function, so a traceback shows the same frames); its exit status.

    As the interpreter: an uncaught exception prints its traceback (status 1); a KeyboardInterrupt
    prints it and ends the process by SIGINT; at the end non-daemon threads are joined and the
    ``atexit`` functions run."""
    import atexit
    import runpy

    sys.argv = [module, *args]  # runpy puts the module's file first, as -m does
    try:
        with warnings.catch_warnings():  # the launcher imported it (a cold -m run has not): no news
            warnings.filterwarnings("ignore", f"'{module}' found in sys.modules", RuntimeWarning)
            runpy._run_module_as_main(module)  # type: ignore[attr-defined]
        code = 0
    except SystemExit as exit_:
        code = exit_status(exit_.code)
    except BaseException as error:  # noqa: BLE001 (the interpreter's top level: any exception)
        error = error.with_traceback(error.__traceback__.tb_next if error.__traceback__ else None)  # from runpy on
        sys.excepthook(type(error), error, error.__traceback__)
        code = -signal.SIGINT if isinstance(error, KeyboardInterrupt) else 1
    threading._shutdown()  # type: ignore[attr-defined]  (what Py_FinalizeEx does first)
    atexit._run_exitfuncs()
    return code


def fresh_seeds() -> None:
    """Seed the global RNGs the launcher imported from fresh entropy, as a new interpreter does
    (Python's ``random``, NumPy's global state, torch's default CPU generator unless the build seeds
    it with a fixed value: then the launcher left it untouched; CUDA's are seeded when CUDA starts,
    in the job)."""
    import random

    random.seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    torch = sys.modules.get("torch")
    if torch is not None and torch.initial_seed() != TORCH_FIXED_SEED:
        torch.default_generator.seed()


def child(request: StartRequest, launcher: int) -> NoReturn:
    """The forked job: never returns to the launcher's loop."""
    code = 1
    try:
        for signum in (signal.SIGTERM, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if sys.platform.startswith("linux"):
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != launcher:  # the launcher died before the line above
            os._exit(1)
        os.close(EVENTS)  # the pipeline sees the launcher's end as the end of its events
        null = os.open(os.devnull, os.O_RDONLY)
        log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(null)
        os.close(log)
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        fresh_seeds()
        code = run_main(request["module"], request["args"])
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001, S110 (a closed stream: nothing to flush)
                pass
        if code == -signal.SIGINT:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        os._exit(code)


#: The launcher's file descriptor of its events (its stdout as started; fd 1 then points to its log,
#: so that nothing an import prints can garble an event).
EVENTS = 1


def send(message: Ready | Started | Refused | Exited) -> None:
    """One event to the pipeline (unbuffered: the children never share a buffer with it)."""
    os.write(EVENTS, (json.dumps(message) + "\n").encode())


def serve(modules: tuple[str, ...] = PRELOAD) -> int:
    """The launcher's loop: import ``modules``, then fork each started job and report it until stdin closes."""
    import time

    global EVENTS
    EVENTS = os.dup(1)
    os.dup2(2, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the jobs; the pipeline stops the launcher
    began = time.perf_counter()
    preloaded = preload(modules)
    send(Ready(event="ready", pid=os.getpid(), preloaded=preloaded, seconds=round(time.perf_counter() - began, 3)))
    jobs: dict[int, int] = {}  # pid -> job id
    pending = b""
    try:
        while True:
            readable, _, _ = select.select([0], [], [], 0.05)
            if readable:
                data = os.read(0, 1 << 16)
                if not data:
                    return 0
                pending += data
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    handle(json.loads(line), jobs)
            reap(jobs)
    finally:
        for pid in jobs:
            os.kill(pid, signal.SIGTERM)
        for pid in jobs:
            os.waitpid(pid, 0)


def handle(request: StartRequest | StopRequest, jobs: dict[int, int]) -> None:
    """Fork a started job, or signal a stopped one."""
    if request["op"] == "stop":
        for pid, job in jobs.items():
            if job == request["id"]:
                os.kill(pid, signal.SIGTERM)
        return
    hazard = fork_hazard()
    if hazard is not None:
        send(Refused(event="refused", id=request["id"], reason=hazard))
        return
    sys.stdout.flush()
    sys.stderr.flush()
    launcher = os.getpid()
    pid = os.fork()
    if pid == 0:
        child(request, launcher)
    jobs[pid] = request["id"]
    send(Started(event="started", id=request["id"], pid=pid))


def reap(jobs: dict[int, int]) -> None:
    """Report every finished job (exit status and CPU time, from ``os.wait4``)."""
    while jobs:
        pid, status, usage = os.wait4(-1, os.WNOHANG)
        if not pid:
            return
        cpu = usage.ru_utime + usage.ru_stime
        send(Exited(event="exited", id=jobs.pop(pid), code=os.waitstatus_to_exitcode(status), cpu_s=cpu))


# ---------------------------------------------------------------- the pipeline's side


class ForkServer:
    """A running launcher, seen from the pipeline: start and stop jobs, read their exits. What the
    launcher prints (its imports' warnings, a traceback) is appended to ``log``.

    A thread reads the launcher's events; :attr:`alive` turns False when its stdout closes (it
    exited or was killed). Raises :class:`LauncherError` when it does not report ready in
    :data:`READY_TIMEOUT_S` seconds."""

    def __init__(self, env: dict[str, str], log: Path, modules: tuple[str, ...] = PRELOAD) -> None:
        command = [sys.executable, "-m", "figures.forkserver", *modules]
        self.log = log
        with open(log, "ab") as stderr:
            self.process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env={**os.environ, **env}
            )
        self.changed = threading.Condition()
        self.alive, self.ready = True, None
        self.pids: dict[int, int] = {}
        self.refused: dict[int, str] = {}
        self.exits: dict[int, Exited] = {}
        self.next_id = 0
        threading.Thread(target=self._read, name="forkserver-events", daemon=True).start()
        if not self._wait(lambda: self.ready is not None, READY_TIMEOUT_S):
            self.close()
            raise LauncherError(f"it did not start (exit status {self.process.poll()}, log: {log})")

    def _read(self) -> None:
        assert self.process.stdout is not None
        try:
            for line in self.process.stdout:
                message = json.loads(line)
                with self.changed:
                    event, job = message["event"], message.get("id")
                    if event == "ready":
                        self.ready = message
                    elif event == "started":
                        self.pids[job] = message["pid"]
                    elif event == "refused":
                        self.refused[job] = message["reason"]
                    else:
                        self.exits[job] = message
                    self.changed.notify_all()
        finally:  # its stdout closed (or garbled): it is gone for the pipeline
            with self.changed:
                self.alive = False
                self.changed.notify_all()

    def _wait(self, condition: Any, timeout: float) -> bool:
        """Wait until ``condition()`` holds (True) or the launcher is gone or ``timeout`` passed (False)."""
        with self.changed:
            self.changed.wait_for(lambda: condition() or not self.alive, timeout)
            return bool(condition())

    def _send(self, request: StartRequest | StopRequest) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError) as error:
            raise LauncherError("it has exited") from error

    def start(self, module: str, args: list[str], log: str, env: dict[str, str]) -> tuple[int, int]:
        """Fork ``python -m module args`` (output appended to ``log``, ``env`` added); (job id, process id)."""
        with self.changed:
            job, self.next_id = self.next_id, self.next_id + 1
        self._send(StartRequest(op="start", id=job, module=module, args=args, log=log, env=env, cwd=os.getcwd()))
        if not self._wait(lambda: job in self.pids or job in self.refused, START_TIMEOUT_S):
            raise LauncherError("it did not fork the job" if self.alive else "it has exited")
        if job in self.refused:
            raise LauncherError(f"it refused to fork ({self.refused[job]})")
        return job, self.pids[job]

    def exited(self, job: int) -> Exited | None:
        """The job's exit, once the launcher has reported it."""
        with self.changed:
            return self.exits.get(job)

    def stop(self, job: int) -> None:
        """Terminate the job and wait for its exit (or for the launcher's end: the job dies with it)."""
        if self.alive and self.exited(job) is None:
            try:
                self._send(StopRequest(op="stop", id=job))
            except LauncherError:
                return
            self._wait(lambda: job in self.exits, START_TIMEOUT_S)

    def close(self) -> None:
        """End the launcher (it stops its jobs first) and wait for it."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except BrokenPipeError:
                pass
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


if __name__ == "__main__":  # python -m figures.forkserver [MODULE ...]
    from figures.forkserver import serve as serve_imported  # not __main__'s copy: a job runs in __main__

    sys.exit(serve_imported(tuple(sys.argv[1:]) or PRELOAD))
