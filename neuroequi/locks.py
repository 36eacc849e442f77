"""Locks that keep two processes from writing the same state.

* :func:`owner_lock` — a directory (a training run) is owned by one process:
  a ``.lock`` file created exclusively holds the owner's pid, host and start
  time. A second process gets :class:`~neuroequi.errors.LockedError` naming
  the owner; a lock left by a dead process on this host (stale) is taken over
  with a warning. The lock is removed when the owner exits the block.
* :func:`file_lock` — a short read–modify–write of a shared file (the zoo
  catalogue) under an exclusive ``fcntl.flock`` on a sibling ``.lock`` file;
  waits up to ``timeout`` seconds, then raises LockedError.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from neuroequi.errors import LockedError

__all__ = ["LOCK_NAME", "file_lock", "owner_lock", "pid_alive"]

LOCK_NAME = ".lock"
log = logging.getLogger(__name__)


def pid_alive(pid: int) -> bool:
    """True when a process with ``pid`` exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError as err:
        return err.errno == errno.EPERM
    return True


def _read_owner(lock: Path) -> dict:
    try:
        return json.loads(lock.read_text())
    except (OSError, ValueError):
        return {}


@contextlib.contextmanager
def owner_lock(directory: str | os.PathLike, what: str = "run directory") -> Iterator[Path]:
    """Own ``directory`` for the duration of the block (see the module docstring)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lock = directory / LOCK_NAME
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner = _read_owner(lock)
            pid, host = int(owner.get("pid", -1)), owner.get("host")
            if host == me["host"] and not pid_alive(pid):
                log.warning("%s %s: removing the stale lock of dead process %s", what, directory, pid)
                lock.unlink(missing_ok=True)
                continue
            raise LockedError(
                f"{what} {str(directory)!r} is in use by process {pid} on {host} (lock file {str(lock)!r}); "
                f"wait for it to finish, or delete the lock file if that process is gone"
            ) from None
        with os.fdopen(fd, "w") as fh:
            json.dump(me, fh)
        break
    try:
        yield lock
    finally:
        if _read_owner(lock).get("pid") == me["pid"]:
            lock.unlink(missing_ok=True)


@contextlib.contextmanager
def file_lock(path: str | os.PathLike, timeout: float = 60.0) -> Iterator[None]:
    """Hold an exclusive lock for a read–modify–write of ``path`` (waits up to ``timeout`` s)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_name(f".{path.name}.lock")
    with open(lock, "a") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LockedError(f"{str(path)!r} stayed locked by another process for {timeout:g} s "
                                      f"(lock file {str(lock)!r})") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
