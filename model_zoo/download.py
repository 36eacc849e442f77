"""Checkpoint files: the zoo's home, a sha256-checked download and trust-on-first-use pins.

The zoo keeps everything it writes under :func:`zoo_home` (``$NEUROEQUI_ZOO_HOME``,
default ``<user cache>/neuroequi/zoo``): downloaded checkpoints in
``checkpoints/``, the user catalogue, pinned hashes in ``pins.json`` and score
results in ``scores/``.

A URL whose sha256 is known is verified against it. A URL whose sha256 is not
published (the CE-SSL/TeSSL checkpoints) is hashed on first download and the
hash is *pinned* in ``pins.json``; every later use verifies against the pin
(trust on first use). Downloads stream to a temporary sibling of the file (:func:`neuroequi.io.atomic_write`)
with a progress bar (on a terminal only), are hashed while streaming and are renamed into place only when complete
and verified, so an interrupted or corrupt transfer never leaves a file that
looks valid. With ``NEUROEQUI_OFFLINE=1`` no connection is attempted: a file that
is not already there is an :class:`~neuroequi.errors.OfflineError` naming the URL
and where to put the file. ``pins.json`` is updated under a file lock.
"""

from __future__ import annotations

import http.client
import logging
import os
import urllib.error
import urllib.request
from functools import cache
from hashlib import sha256
from pathlib import Path

import pooch

from neuroequi.data.registry import offline
from neuroequi.errors import DataUnavailableError, IntegrityError, OfflineError
from neuroequi.io import atomic_write, progress, read_json_mapping, sha256_file, write_json
from neuroequi.locks import file_lock

log = logging.getLogger(__name__)

_CHUNK = 1 << 20


def zoo_home(home: str | os.PathLike | None = None) -> Path:
    """Directory the zoo reads and writes: ``home`` when given, else ``$NEUROEQUI_ZOO_HOME``,
    else the per-user cache (``<user cache>/neuroequi/zoo``)."""
    if home is not None:
        return Path(home).expanduser().resolve()
    env = os.environ.get("NEUROEQUI_ZOO_HOME")
    return Path(env).expanduser().resolve() if env else Path(pooch.os_cache("neuroequi")) / "zoo"


def _pins_path(home: Path | None) -> Path:
    return zoo_home(home) / "pins.json"


def read_pins(home: Path | None = None) -> dict[str, str]:
    """Pinned sha256 per URL (trust on first use); empty when nothing was pinned yet."""
    return read_json_mapping(_pins_path(home), "pinned hashes", "fix the file")


def pin(url: str, digest: str, home: Path | None = None) -> None:
    """Record ``digest`` as the trusted sha256 of ``url`` (read–modify–write under a file lock)."""
    with file_lock(_pins_path(home)):
        pins = read_pins(home)
        pins[url] = digest
        write_json(_pins_path(home), pins, sort_keys=True)


def expected_sha256(url: str, published: str | None, home: Path | None = None) -> str | None:
    """The hash a download of ``url`` must have: the published one, else the pin, else None."""
    return published or read_pins(home).get(url)


def _stream(response, part: Path, total: int | None, desc: str) -> str:
    """Copy ``response`` to ``part`` with a progress bar; return the sha256 of what was read."""
    digest = sha256()
    received = 0
    with open(part, "wb") as out, progress(total=total, unit="B", unit_scale=True, desc=desc) as bar:
        while block := response.read(_CHUNK):
            out.write(block)
            digest.update(block)
            received += len(block)
            bar.update(len(block))
    if total is not None and received != total:
        raise http.client.IncompleteRead(b"", total - received)
    return digest.hexdigest()


def download(
    url: str, target: Path, published_sha256: str | None = None, timeout: float = 30.0, home: Path | None = None
) -> Path:
    """Download ``url`` to ``target`` unless it is already there; verify its sha256.

    With ``published_sha256`` None and no pin yet, the file's hash is pinned on
    first download (trust on first use) and a warning says so.

    Pins are read from and written to ``pins.json`` of :func:`zoo_home` ``(home)``.

    Raises:
        OfflineError: the file is not there and ``NEUROEQUI_OFFLINE=1`` (no connection is tried).
        DataUnavailableError: no network, HTTP error, or an interrupted transfer.
        IntegrityError: the downloaded (or cached) file does not match the
            published or pinned sha256; a downloaded mismatch is deleted.
    """
    target = Path(target)
    expected = expected_sha256(url, published_sha256, home)
    if target.is_file():
        return verify(target, url, expected, home)
    where = f"Put the file at {target} (zoo home {zoo_home(home)}) and rerun" + (
        f"; it must have sha256 {expected}."
        if expected
        else "; its sha256 is not published, so it will be pinned on first use."
    )
    if offline():
        raise OfflineError(f"missing file, offline (NEUROEQUI_OFFLINE=1): {url} is not downloaded. {where}")
    with atomic_write(target, fsync=False) as part:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                length = response.headers.get("Content-Length")
                digest = _stream(response, part, int(length) if length else None, target.name)
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            raise DataUnavailableError(f"cannot download {url} ({type(exc).__name__}: {exc}). {where}") from exc
        if expected is not None and digest != expected:
            raise IntegrityError(
                f"download of {url} has sha256 {digest}, expected {expected}; the file was deleted. "
                "If the server's file changed on purpose, remove its pin from "
                f"{_pins_path(home)} to trust the new one."
            )
    if expected is None:
        pin(url, digest, home)
        log.warning("trust on first use: pinned sha256 %s for %s in %s", digest, url, _pins_path(home))
    return target


@cache
def _hash(path: Path, size: int, mtime_ns: int) -> str:
    return sha256_file(path)


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file, memoised on (path, size, mtime) so a large checkpoint is hashed once."""
    path = Path(path).resolve()
    stat = path.stat()
    return _hash(path, stat.st_size, stat.st_mtime_ns)


def verify(path: Path, url: str, expected: str | None, home: Path | None = None) -> Path:
    """Check a cached file against ``expected`` (or pin it when nothing is known yet)."""
    digest = file_sha256(path)
    if expected is None:
        pin(url, digest, home)
        log.warning("trust on first use: pinned sha256 %s of the cached %s (%s)", digest, path, url)
    elif digest != expected:
        raise IntegrityError(f"{path} has sha256 {digest}, expected {expected} for {url}; delete it to download again")
    return path
