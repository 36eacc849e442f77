"""Locks that keep two processes from writing the same state.

* :func:`owner_lock` — a directory (a training run) is owned by one process:
  a ``.lock`` file, held under an exclusive ``fcntl.flock`` for as long as the
  directory is owned, holds the owner's pid, host and start time. A second
  process gets :class:`~neuroequi.errors.LockedError` naming the owner; a lock
  left by a dead process on this host (stale) is taken over with a warning, in
  the same atomic step. The lock is removed when the owner exits the block.
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


def _locked_fd(lock: Path) -> int | None:
    """An fd of ``lock`` (created if missing) holding its exclusive ``flock``, or None when a live
    process holds it. The fd is checked to still be the file at ``lock`` (an owner that released
    it unlinked it), so every winner locks the same inode: exactly one process wins."""
    while True:
        fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # locked a file its owner had just removed: try the one at the path now


@contextlib.contextmanager
def owner_lock(directory: str | os.PathLike, what: str = "run directory") -> Iterator[Path]:
    """Own ``directory`` for the duration of the block (see the module docstring).

    The ``.lock`` file is held with an exclusive ``flock`` for the whole block, so acquisition
    and the take-over of a stale lock are one atomic step: of many processes started at the
    same instant exactly one wins (the kernel drops the ``flock`` of a process that dies, so
    its lock becomes stale at once). A lock whose recorded owner is alive on this host, or on
    another host (whose processes cannot be checked), is refused even without its ``flock``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lock = directory / LOCK_NAME
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
    fd = _locked_fd(lock)
    owner = _read_owner(lock)
    for _ in range(20):  # a winner of the same instant may not have written its pid yet
        if fd is not None or owner:
            break
        time.sleep(0.01)
        owner = _read_owner(lock)
    pid, host = int(owner.get("pid", -1)), owner.get("host")
    alive = bool(owner) and pid != me["pid"] and (host != me["host"] or pid_alive(pid))
    if fd is None or alive:
        if fd is not None:
            os.close(fd)
        raise LockedError(
            f"{what} {str(directory)!r} is in use by process {pid} on {host} (lock file {str(lock)!r}); "
            f"wait for it to finish, or delete the lock file if that process is gone"
        )
    if owner:
        log.warning("%s %s: taking over the stale lock of dead process %s", what, directory, pid)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
        yield lock
    finally:
        lock.unlink(missing_ok=True)  # still holding the flock: nobody else owns this inode
        os.close(fd)


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
                    raise LockedError(
                        f"{str(path)!r} stayed locked by another process for {timeout:g} s (lock file {str(lock)!r})"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
