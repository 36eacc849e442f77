"""Checkpoint files: the zoo's home, a sha256-checked download and trust-on-first-use pins.

The zoo keeps everything it writes under :func:`zoo_home` (``$NEUROEQUI_ZOO_HOME``,
default ``<user cache>/neuroequi/zoo``): downloaded checkpoints in
``checkpoints/``, the user catalogue, pinned hashes in ``pins.json`` and score
results in ``scores/``.

A URL whose sha256 is known is verified against it. A URL whose sha256 is not
published (the CE-SSL/TeSSL checkpoints) is hashed on first download and the
hash is *pinned* in ``pins.json``; every later use verifies against the pin
(trust on first use). Downloads stream to ``<file>.part`` with a tqdm progress
bar, are hashed while streaming and are renamed into place only when complete
and verified, so an interrupted or corrupt transfer never leaves a file that
looks valid.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import tempfile
import urllib.error
import urllib.request
from functools import cache
from hashlib import sha256
from pathlib import Path

import pooch
from tqdm.auto import tqdm
from neuroequi.errors import DataUnavailableError, IntegrityError

log = logging.getLogger(__name__)

_CHUNK = 1 << 20


class CheckpointUnavailableError(DataUnavailableError):
    """A checkpoint file is missing and cannot be downloaded (offline, server error, truncated)."""


class ChecksumMismatchError(IntegrityError):
    """A file's sha256 does not match the expected (published or pinned) value."""


def zoo_home() -> Path:
    """Directory the zoo writes to: ``$NEUROEQUI_ZOO_HOME`` or the per-user cache."""
    env = os.environ.get("NEUROEQUI_ZOO_HOME")
    return Path(env).expanduser().resolve() if env else Path(pooch.os_cache("neuroequi")) / "zoo"


def _pins_path() -> Path:
    return zoo_home() / "pins.json"


def read_pins() -> dict[str, str]:
    """Pinned sha256 per URL (trust on first use); empty when nothing was pinned yet."""
    path = _pins_path()
    return json.loads(path.read_text()) if path.is_file() else {}


def write_json_atomic(path: Path, data: object) -> None:
    """Write ``data`` as JSON to ``path`` via a temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
    os.replace(tmp, path)


def pin(url: str, digest: str) -> None:
    """Record ``digest`` as the trusted sha256 of ``url``."""
    pins = read_pins()
    pins[url] = digest
    write_json_atomic(_pins_path(), pins)


def expected_sha256(url: str, published: str | None) -> str | None:
    """The hash a download of ``url`` must have: the published one, else the pin, else None."""
    return published or read_pins().get(url)


def _stream(response, part: Path, total: int | None, desc: str) -> str:
    """Copy ``response`` to ``part`` with a progress bar; return the sha256 of what was read."""
    digest = sha256()
    received = 0
    with open(part, "wb") as out, tqdm(total=total, unit="B", unit_scale=True, desc=desc) as bar:
        while block := response.read(_CHUNK):
            out.write(block)
            digest.update(block)
            received += len(block)
            bar.update(len(block))
    if total is not None and received != total:
        raise http.client.IncompleteRead(b"", total - received)
    return digest.hexdigest()


def download(url: str, target: Path, published_sha256: str | None = None, timeout: float = 30.0) -> Path:
    """Download ``url`` to ``target`` unless it is already there; verify its sha256.

    With ``published_sha256`` None and no pin yet, the file's hash is pinned on
    first download (trust on first use) and a warning says so.

    Raises:
        CheckpointUnavailableError: no network, HTTP error, or an interrupted transfer.
        ChecksumMismatchError: the downloaded (or cached) file does not match the
            published or pinned sha256; a downloaded mismatch is deleted.
    """
    target = Path(target)
    expected = expected_sha256(url, published_sha256)
    if target.is_file():
        return verify(target, url, expected)
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    where = (
        f"Put the file at {target} (NEUROEQUI_ZOO_HOME={zoo_home()}) and rerun"
        + (f"; it must have sha256 {expected}." if expected else
           "; its sha256 is not published, so it will be pinned on first use.")
    )
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            digest = _stream(response, part, int(length) if length else None, target.name)
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        part.unlink(missing_ok=True)
        raise CheckpointUnavailableError(
            f"cannot download {url} ({type(exc).__name__}: {exc}). {where}"
        ) from exc
    if expected is not None and digest != expected:
        part.unlink(missing_ok=True)
        raise ChecksumMismatchError(
            f"download of {url} has sha256 {digest}, expected {expected}; the file was deleted. "
            "If the server's file changed on purpose, remove its pin from "
            f"{_pins_path()} to trust the new one."
        )
    os.replace(part, target)
    if expected is None:
        pin(url, digest)
        log.warning("trust on first use: pinned sha256 %s for %s in %s", digest, url, _pins_path())
    return target


@cache
def _hash(path: Path, size: int, mtime_ns: int) -> str:
    from neuroequi.io import sha256_file

    return sha256_file(path)


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file, memoised on (path, size, mtime) so a large checkpoint is hashed once."""
    path = Path(path).resolve()
    stat = path.stat()
    return _hash(path, stat.st_size, stat.st_mtime_ns)


def verify(path: Path, url: str, expected: str | None) -> Path:
    """Check a cached file against ``expected`` (or pin it when nothing is known yet)."""
    digest = file_sha256(path)
    if expected is None:
        pin(url, digest)
        log.warning("trust on first use: pinned sha256 %s of the cached %s (%s)", digest, path, url)
    elif digest != expected:
        raise ChecksumMismatchError(
            f"{path} has sha256 {digest}, expected {expected} for {url}; delete it to download again"
        )
    return path
