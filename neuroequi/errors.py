"""The one error hierarchy of neuroequi.

Every error a user can cause or fix (bad input, missing or corrupt file,
unreachable data, a locked run) derives from :class:`NeuroequiError`. The
``neuroequi`` console entry point prints such an error as one line on stderr
and exits with code 2; anything else is a bug and keeps its traceback.
Messages name the key or file, the value and what is allowed.
"""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DataUnavailableError",
    "IntegrityError",
    "LockedError",
    "NeuroequiError",
    "OfflineError",
    "WriteError",
    "write_error",
]

import errno

#: OS errors of a write the user can fix: no space or quota, no permission, a read-only file system.
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS})


class NeuroequiError(Exception):
    """Base of every error a user can cause or fix; printed as one line, exit code 2."""

    exit_code = 2


class ConfigError(NeuroequiError, ValueError):
    """A config value, CLI argument or API argument outside what is allowed."""


class DataUnavailableError(NeuroequiError, FileNotFoundError):
    """A dataset or weights file is missing and cannot be fetched (offline, unreachable)."""


class OfflineError(DataUnavailableError, ConnectionError):
    """A download was needed while ``NEUROEQUI_OFFLINE=1`` (or no network)."""


class IntegrityError(NeuroequiError, ValueError):
    """A file's content is not what was recorded (sha256 mismatch, non-finite tensors)."""


class CheckpointError(NeuroequiError, ValueError):
    """A file is missing, unreadable, truncated, corrupt, or not a neuroequi checkpoint."""


class LockedError(NeuroequiError, RuntimeError):
    """A run directory or catalogue is held by another live process."""


class WriteError(NeuroequiError, OSError):
    """An output could not be written: no space left, no permission, a read-only file system.

    ``errno`` and ``filename`` are the OS error's; the message is the one line built by :func:`write_error`."""

    def __str__(self) -> str:
        return str(self.args[0])


def write_error(err: OSError, path: object = None) -> WriteError | None:
    """The :class:`WriteError` naming ``path`` (None: the file the OS error names) and the OS error
    of ``err`` when its errno is one of :data:`WRITE_ERRNOS`; None for any other error."""
    if isinstance(err, NeuroequiError) or err.errno not in WRITE_ERRNOS:
        return None
    where = path if path is not None else err.filename
    error = WriteError(f"cannot write {str(where)!r}: {err.strerror or err} ({errno.errorcode.get(err.errno)})")
    error.errno, error.filename = err.errno, str(where)
    return error
