"""The warm launcher of local jobs (figures/forkserver.py, figures.executors.LocalProcesses): a job
forked from it gives what the same job gives as a new interpreter (outputs bit for bit, log, exit
status), its CPU time is measured, it can be stopped, and a launcher that fails leaves new processes."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from dataclasses import replace
from pathlib import Path

import pytest
from test_figure1 import entry_job

from figures import configs
from figures.executors import LocalProcesses, Running
from figures.figure1 import pipeline
from figures.figure1.config import preset
from figures.forkserver import exit_status
from figures.jobs import Job
from figures.steps import StepLog, run_jobs
from neuroequi.errors import ConfigError

THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
#: A launcher that imports only what the test jobs need (starts in about a second).
LIGHT = ("numpy", "torch", "figures.jobs", "neuroequi.cli")


@pytest.fixture(autouse=True)
def job_entries_importable(monkeypatch):
    """The jobs (and the launcher) import tests/job_entries.py."""
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")]))
    )


def finish(executor: LocalProcesses, job: Job, timeout: float = 120) -> Running:
    """Start ``job`` and wait for its end."""
    job.log_path.parent.mkdir(parents=True, exist_ok=True)
    handle = executor.start(job)
    deadline = time.monotonic() + timeout
    while handle.poll() is None:
        assert time.monotonic() < deadline, f"{job.name} still runs"
        time.sleep(0.05)
    return handle


def ended(pid: int) -> bool:
    """No process ``pid`` runs (none, or a zombie that init has yet to reap: an orphan in a container)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def both(tmp_path: Path, entry: str, params: dict, preload: tuple[str, ...] = LIGHT) -> dict[str, tuple]:
    """``{"cold" | "warm": (exit status, log text, cpu seconds, describe(), out file text)}`` of the job
    (its folder written ``<folder>`` in the texts)."""
    runs = {}
    for kind in ("cold", "warm"):
        folder = tmp_path / kind
        executor = LocalProcesses(dict(THREADS), warm=kind == "warm", preload=preload)
        job = entry_job(folder / "out.txt", entry, entry, params)
        try:
            handle = finish(executor, job)
        finally:
            executor.close()
        out = folder / "out.txt"
        runs[kind] = (
            handle.poll(),
            job.log_path.read_text().replace(str(folder), "<folder>"),
            handle.cpu_seconds,
            handle.describe(),
            out.read_text().replace(str(folder), "<folder>") if out.is_file() else None,
        )
    assert "forked by the warm launcher" in runs["warm"][3] and "warm" not in runs["cold"][3]
    return runs


@pytest.mark.parametrize(
    "entry, params, status",
    [
        ("append", {"name": "append"}, 0),
        ("fail", {"code": 3}, 3),  # sys.exit(3) after printing boom
        ("fail", {"code": 2}, 2),  # a known error: one line, exit code 2
        ("crash", {}, 1),  # an uncaught exception: its traceback, exit code 1
    ],
)
def test_a_warm_job_exits_and_logs_as_a_new_process_does(tmp_path, entry, params, status):
    runs = both(tmp_path, entry, params)
    (cold_status, cold_log, cold_cpu, _, cold_out), (warm_status, warm_log, warm_cpu, _, warm_out) = (
        runs["cold"],
        runs["warm"],
    )
    assert cold_status == warm_status == status
    assert warm_log == cold_log and warm_out == cold_out
    assert cold_cpu > 0 and warm_cpu > 0
    if status == 2:
        assert warm_log == "neuroequi: error: no such file x\n"
    if status == 1:  # the frames a `python -m` run shows, from runpy's entry on
        assert re.match(
            r'Traceback \(most recent call last\):\n  File "<frozen runpy>", line \d+, in _run_mod', warm_log
        )
        assert warm_log.rstrip().endswith("RuntimeError: crashed on purpose")


def test_a_warm_job_sees_a_new_process_and_fresh_seeds(tmp_path):
    runs = both(tmp_path, "report", {})
    cold, warm = (json.loads(runs[kind][4]) for kind in ("cold", "warm"))
    draws = ("random", "numpy", "torch")
    assert {k: v for k, v in warm.items() if k not in draws} == {k: v for k, v in cold.items() if k not in draws}
    assert warm["argv"][0].endswith(os.path.join("figures", "jobs.py")) and warm["omp"] == "1"
    # two jobs of one launcher draw different numbers: neither uses the launcher's RNG states
    executor = LocalProcesses(dict(THREADS), warm=True, preload=LIGHT)
    try:
        again = [entry_job(tmp_path / f"again{i}" / "out.txt", "report", "report", {}) for i in range(2)]
        for job in again:
            assert finish(executor, job).poll() == 0
    finally:
        executor.close()
    first, second = (json.loads((job.log_path.parent / "out.txt").read_text()) for job in again)
    assert all(first[key] != second[key] for key in draws), (first, second)


def test_a_training_job_is_bit_identical_warm_and_cold(tmp_path):
    smoke = preset("smoke")
    config = replace(smoke, train={**smoke.train, "max_steps": 2})
    checkpoints, cpu = {}, {}
    root = tmp_path / "run"  # one folder (the checkpoints hold its path): cold, then warm
    for kind in ("cold", "warm"):
        configs.save(config, root / pipeline.CONFIG_FILE)
        final = pipeline.final_checkpoint(config, 0.5, 0, root)
        executor = LocalProcesses(dict(THREADS), warm=kind == "warm")  # the launcher of a real run
        try:
            handle = finish(executor, pipeline.job("train", 0.5, 0, root, done=final.is_file))
        finally:
            executor.close()
        assert handle.poll() == 0, [log.read_text() for log in (root / "train").glob("*.log")]
        assert ("forked by the warm launcher" in handle.describe()) is (kind == "warm")  # PRELOAD starts no thread
        checkpoints[kind] = {p.name: p.read_bytes() for p in final.parent.glob("*.pt")}
        cpu[kind] = handle.cpu_seconds
        root.rename(tmp_path / kind)
    assert checkpoints["warm"] == checkpoints["cold"] and "final.pt" in checkpoints["warm"]
    assert 0 < cpu["warm"] < cpu["cold"]  # the imports are the launcher's, not the job's
    assert (tmp_path / "warm" / "train" / "launcher.log").is_file()


def test_stop_ends_a_warm_job(tmp_path):
    executor = LocalProcesses(dict(THREADS), warm=True, preload=LIGHT)
    job = entry_job(tmp_path / "out.txt", "wait", "wait", {"seconds": 60})
    try:
        handle = executor.start(job)
        while "waiting" not in (job.log_path.read_text() if job.log_path.is_file() else ""):
            time.sleep(0.05)
        assert handle.poll() is None
        handle.stop()
        assert handle.poll() == -signal.SIGTERM
        assert ended(handle.pid)
    finally:
        executor.close()
    assert executor.server is None


def test_a_launcher_that_fails_leaves_new_processes(tmp_path, capfd, monkeypatch):
    (tmp_path / "crash_at_import.py").write_text("raise RuntimeError('no launcher today')\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ["PYTHONPATH"]]))
    executor = LocalProcesses(dict(THREADS), warm=True, preload=("crash_at_import",))
    job = entry_job(tmp_path / "out.txt", "append", "append", {"name": "append"})
    try:
        handle = finish(executor, job)
    finally:
        executor.close()
    assert handle.poll() == 0 and handle.describe().startswith("local process") and "warm" not in handle.describe()
    assert executor.warm is False
    warnings = [line for line in capfd.readouterr().err.splitlines() if "warm launcher" in line]
    assert len(warnings) == 1 and "did not start" in warnings[0] and "jobs start as new processes" in warnings[0]
    assert "no launcher today" in (tmp_path / "launcher.log").read_text()


def test_a_job_whose_launcher_dies_runs_again_as_a_new_process(tmp_path, capfd):
    executor = LocalProcesses(dict(THREADS), warm=True, preload=LIGHT)
    job = entry_job(tmp_path / "out.txt", "wait", "wait", {"seconds": 1})
    try:
        handle = executor.start(job)
        warm_pid = handle.pid
        os.kill(executor.server.process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while handle.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert handle.poll() == 0 and handle.cpu_seconds > 0 and handle.cold is not None
        assert ended(warm_pid)  # the forked job died with its launcher
        later = finish(executor, entry_job(tmp_path / "out.txt", "append", "append", {"name": "later"}))
        assert later.poll() == 0 and "warm" not in later.describe()
    finally:
        executor.close()
    warnings = [line for line in capfd.readouterr().err.splitlines() if "warm launcher" in line]
    assert len(warnings) == 2 and "died while wait ran" in warnings[0] and "has exited" in warnings[1]


def test_the_setting_is_one_typed_config_key(tmp_path):
    """``warm_jobs`` of the pipeline configs reaches the local executor; a value that is not a boolean is
    refused when the config is read, before any work."""
    from figures.executors import SlurmSettings, make_executor
    from figures.report.config import ReportConfig

    assert preset("smoke").warm_jobs is True and ReportConfig().warm_jobs is True
    assert preset("smoke", ["warm_jobs=false"]).warm_jobs is False
    with pytest.raises(ConfigError, match="warm_jobs"):
        preset("smoke", ["warm_jobs=maybe"])
    for warm in (True, False):
        executor = make_executor("local", SlurmSettings(), tmp_path, 1, warm)
        assert isinstance(executor, LocalProcesses) and executor.warm is warm


@pytest.mark.parametrize("code, status", [(None, 0), (0, 0), (3, 3), ("bye", 1)])
def test_exit_status_follows_the_interpreter(code, status, capsys):
    assert exit_status(code) == status
    assert capsys.readouterr().err == ("bye\n" if code == "bye" else "")


def with_module(tmp_path: Path, monkeypatch, name: str, source: str) -> tuple[Running, LocalProcesses]:
    """The ``append`` job run by a launcher that first imports a module ``name`` of ``source`` (then
    figures.jobs); its handle and the (closed) executor."""
    (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ["PYTHONPATH"]]))
    executor = LocalProcesses(dict(THREADS), warm=True, preload=(name, "figures.jobs"))
    try:
        handle = finish(executor, entry_job(tmp_path / "out.txt", "append", "append", {"name": "append"}))
    finally:
        executor.close()
    return handle, executor


def test_what_an_import_prints_goes_to_the_launchers_log(tmp_path, monkeypatch):
    handle, _ = with_module(tmp_path, monkeypatch, "chatty", "print('hello from an import')\n")
    assert handle.poll() == 0 and "forked by the warm launcher" in handle.describe()
    assert (tmp_path / "launcher.log").read_text() == "hello from an import\n"


def test_warm_ups_run_once_in_the_launcher_and_a_failing_one_is_skipped(tmp_path, monkeypatch):
    """``module:function:argument`` is called after the import, in the launcher only (a job sees what it
    loaded without calling it); a warm-up that raises is one line in the launcher's log, and jobs run."""
    (tmp_path / "warm.py").write_text(
        "LOADED = []\n"
        "def load(what):\n    LOADED.append(what)\n    print('loaded', what)\n"
        "def broken():\n    raise OSError('no data here')\n"
    )
    (tmp_path / "seen.py").write_text(
        "import json, warm\ndef seen(config):\n    open(config.out, 'w').write(json.dumps(warm.LOADED))\n"
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ["PYTHONPATH"]]))
    executor = LocalProcesses(dict(THREADS), warm=True, preload=("warm:load:stimuli", "warm:broken", "figures.jobs"))
    import job_entries

    out = tmp_path / "out.txt"
    config = configs.save(job_entries.Order(str(out)), tmp_path / "order.yaml")
    job = Job("seen", "seen:seen", "job_entries:Order", config, {}, out.is_file, tmp_path / "seen.log")
    try:
        handle = finish(executor, job)
    finally:
        executor.close()
    assert handle.poll() == 0 and "forked by the warm launcher" in handle.describe()
    assert json.loads(out.read_text()) == ["stimuli"]
    assert (tmp_path / "launcher.log").read_text() == (
        "loaded stimuli\nwarm-up warm:broken skipped: OSError: no data here\n"
    )


def test_the_figure1_warm_up_preloads_the_runs_offline_benchmarks(data_root, tmp_path):
    """figures.figure1.jobs.warm_up, as the launcher runs it (a new process with the jobs' thread
    variables), builds the saved run config's local benchmarks, decodes their stimuli at the run's
    training view size into the image cache, and leaves the process safe to fork."""
    import subprocess
    import sys

    from figures.figure1.pipeline import train_config

    config = preset("smoke", ["benchmarks=[Kiani2007.IT-rdm,Kriegeskorte2008.hIT-rdm]"])
    path = configs.save(config, tmp_path / "config.yaml")
    script = (
        "import json, analyses.neural as n\n"
        "from figures.forkserver import preload, fork_hazard\n"
        "from model_zoo.activations import IMAGE_CACHE\n"
        f"done = preload(('figures.figure1.jobs:warm_up:{path}',))\n"
        "sizes = sorted({size for _, size in IMAGE_CACHE._items})\n"
        "print(json.dumps([done, sorted(n._PRELOADED), fork_hazard(), len(IMAGE_CACHE), sizes]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env={**os.environ, **THREADS}, check=True
    )
    done, preloaded, hazard, cached, sizes = json.loads(result.stdout.splitlines()[-1])
    assert done == [f"figures.figure1.jobs:warm_up:{path}"]
    assert preloaded == ["Kiani2007.IT-rdm", "Kriegeskorte2008.hIT-rdm"] and hazard is None
    assert sizes == [train_config(config, 0.0, 0, tmp_path).data.view_size]
    assert cached == 92  # the 92 images both benchmarks show, decoded once


def test_a_failing_pipeline_leaves_no_job_and_no_launcher(tmp_path):
    """run_jobs stops the running warm job and ends the launcher when another job's follow-up fails
    (here a KeyboardInterrupt, as Ctrl-C raises it in the pipeline)."""
    executor = LocalProcesses(dict(THREADS), warm=True, preload=LIGHT)
    handles: list[Running] = []
    start = executor.start
    executor.start = lambda job: handles.append(start(job)) or handles[-1]  # type: ignore[method-assign]

    def interrupt() -> None:
        raise KeyboardInterrupt

    slow = entry_job(tmp_path / "slow" / "out.txt", "slow", "wait", {"seconds": 60})
    quick = replace(entry_job(tmp_path / "quick" / "out.txt", "quick", "append", {"name": "quick"}), on_done=interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_jobs([slow, quick], 2, StepLog(), executor=executor)
    launcher = handles[0].server.process
    assert [h.poll() for h in handles] == [-signal.SIGTERM, 0] and all(ended(h.pid) for h in handles)
    assert launcher.poll() == 0 and executor.server is None


PIPELINE = """
import sys
from pathlib import Path
import job_entries
from figures import configs
from figures.executors import LocalProcesses
from figures.jobs import Job
from figures.steps import StepLog, run_jobs
out = Path(sys.argv[1])
config = configs.save(job_entries.Order(str(out)), out.parent / "order.yaml")
job = Job("slow", "job_entries:wait", "job_entries:Order", config, {"seconds": 60}, lambda: False, out.parent / "slow.log")
executor = LocalProcesses({}, warm=True, preload=("figures.jobs", "neuroequi.cli"))
start = executor.start
def started(job):
    handle = start(job)
    print(handle.pid, executor.server.process.pid, flush=True)
    return handle
executor.start = started
run_jobs([job], 1, StepLog(), executor=executor)
"""


@pytest.mark.parametrize("end", ["Ctrl-C", "kill"])
def test_an_interrupted_or_killed_pipeline_leaves_no_job_and_no_launcher(tmp_path, end):
    """Ctrl-C (SIGINT to the whole process group: the job, the launcher, the pipeline, which stops
    the job and ends the launcher); a killed pipeline closes the launcher's stdin, and the launcher
    stops its jobs and exits."""
    import subprocess
    import sys

    pipeline_ = subprocess.Popen(
        [sys.executable, "-c", PIPELINE, str(tmp_path / "out.txt")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own process group, as a shell gives a command
    )
    job_pid, launcher_pid = map(int, pipeline_.stdout.readline().split())
    log = tmp_path / "slow.log"
    while "waiting" not in (log.read_text() if log.is_file() else ""):
        time.sleep(0.05)
    if end == "Ctrl-C":
        os.killpg(pipeline_.pid, signal.SIGINT)
    else:
        pipeline_.kill()
    pipeline_.wait(timeout=60)
    deadline = time.monotonic() + 30
    while not (ended(job_pid) and ended(launcher_pid)):
        assert time.monotonic() < deadline, "the job or its launcher outlived the pipeline"
        time.sleep(0.05)


def test_a_launcher_with_a_thread_refuses_to_fork(tmp_path, monkeypatch, capfd):
    """Forking a process with threads is unsafe: the job runs as a new process instead."""
    source = "import threading, time\nthreading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
    handle, executor = with_module(tmp_path, monkeypatch, "threaded", source)
    assert handle.poll() == 0 and "warm" not in handle.describe() and executor.warm is False
    warnings = [line for line in capfd.readouterr().err.splitlines() if "warm launcher" in line]
    assert warnings == [
        "[jobs] warning: the warm launcher could not start append: it refused to fork (the launcher runs 2 threads); "
        "jobs start as new processes"
    ]
