"""Locks: one owner per run directory (real processes), stale locks, read-modify-write under file_lock."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import time

import pytest

from neuroequi.errors import LockedError
from neuroequi.locks import LOCK_NAME, file_lock, owner_lock


def test_second_owner_is_refused_and_named(tmp_path):
    with owner_lock(tmp_path):
        with pytest.raises(LockedError, match=str(os.getpid())):
            with owner_lock(tmp_path):
                pass
    assert not (tmp_path / LOCK_NAME).exists()


def test_lock_of_a_live_other_process_is_refused(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": child.pid, "host": os.uname().nodename}))
        with pytest.raises(LockedError, match=f"process {child.pid}"):
            with owner_lock(tmp_path):
                pass
        assert (tmp_path / LOCK_NAME).exists()  # nothing changed by the refusal
    finally:
        child.kill()
        child.wait()


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": child.pid, "host": os.uname().nodename}))
    with owner_lock(tmp_path) as lock:
        assert json.loads(lock.read_text())["pid"] == os.getpid()


def _increment(path: str, times: int) -> None:
    for _ in range(times):
        with file_lock(path):
            value = int(open(path).read() or 0)
            with open(path, "w") as fh:
                fh.write(str(value + 1))


def test_file_lock_serialises_read_modify_write_across_processes(tmp_path):
    path = tmp_path / "counter"
    path.write_text("0")
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_increment, args=(str(path), 25)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 4
    assert int(path.read_text()) == 100


def _contend(directory: str, barrier, wins, hold: float) -> None:
    """One of many processes released at the same instant: try to own ``directory``; count a win."""
    barrier.wait(timeout=60)
    try:
        with owner_lock(directory):
            with wins.get_lock():
                wins.value += 1
            time.sleep(hold)  # hold it while the others try
    except LockedError:
        pass


@pytest.mark.parametrize("stale", [True, False], ids=["stale-lock", "no-lock"])
def test_many_processes_released_at_once_exactly_one_owns(tmp_path, stale):
    """Issue 23: a stale lock and several `train --resume` released together gave two owners in 5 of 15 trials."""
    ctx = mp.get_context("fork")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    for trial in range(3):
        directory = tmp_path / f"run{trial}"
        directory.mkdir()
        if stale:
            (directory / LOCK_NAME).write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname()}))
        barrier, wins = ctx.Barrier(6), ctx.Value("i", 0)
        procs = [ctx.Process(target=_contend, args=(str(directory), barrier, wins, 0.5)) for _ in range(6)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        assert [p.exitcode for p in procs] == [0] * 6
        assert wins.value == 1, f"trial {trial}: {wins.value} processes owned the directory"
        assert not (directory / LOCK_NAME).exists()


def test_a_released_lock_is_owned_again(tmp_path):
    for _ in range(3):
        with owner_lock(tmp_path) as lock:
            assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert not (tmp_path / LOCK_NAME).exists()
