"""Small file utilities every layer uses: atomic writes, strict JSON, sha256, output folders, package
versions, λ labels, progress bars.

Only the standard library and :mod:`neuroequi.errors` are imported at module level (tqdm when a
bar is made), so any module of any layer may import this one.

JSON is written strictly (:func:`to_json`, :func:`write_json`): a non-finite float (NaN, ±inf,
numpy's too) becomes ``null``, never the ``NaN`` token that strict parsers reject, and anything
else that is not JSON raises.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import platform
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from neuroequi.errors import ConfigError, write_error

__all__ = [
    "atomic_write",
    "finite_or_none",
    "format_lambda",
    "json_float",
    "output_folder",
    "package_versions",
    "progress",
    "read_json_mapping",
    "sha256_file",
    "to_json",
    "write_json",
]


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, *, fsync: bool = True) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; on a clean exit rename it onto ``path``.

    The temporary file lives in the same directory (so :func:`os.replace` is
    atomic), is named ``.<name>.<random>.tmp`` and is removed if the block
    raises, so a reader never sees a partial ``path``. The caller writes the
    temporary path with any writer (``torch.save``, ``to_netcdf``, ``to_csv``,
    ``PIL.Image.save``); the suffix of ``path`` is kept so format sniffing by
    extension still works. With ``fsync`` the data reach the disk before the rename.

    A write that fails for want of space or permission (:data:`neuroequi.errors.WRITE_ERRNOS`),
    in the block or around it, is a :class:`~neuroequi.errors.WriteError` naming ``path`` and
    the OS error; ``path`` is left as it was.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    except OSError as err:
        raise write_error(err, path) or err from err
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if fsync and tmp.exists():
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as err:
        error = write_error(err, path)
        if error is None:
            raise
        raise error from err
    finally:
        tmp.unlink(missing_ok=True)


def write_result_files(out: Path, stem: str, table: Any, text: str) -> None:
    """Write a report's two result files atomically: ``out/<stem>.csv`` (``table``, a pandas DataFrame,
    floats to 6 decimals) and ``out/<stem>.md`` (``text``), then print ``text``."""
    with atomic_write(Path(out) / f"{stem}.csv") as tmp:
        table.to_csv(tmp, index=False, float_format="%.6f")
    with atomic_write(Path(out) / f"{stem}.md") as tmp:
        tmp.write_text(text)
    print(text)


def output_folder(path: str | os.PathLike, what: str = "output folder") -> Path:
    """``path`` as a folder to write into, checked before any work (it need not exist yet).

    ConfigError naming ``what`` and the path when something other than a folder is there (or
    at a parent); :class:`~neuroequi.errors.WriteError` when its nearest existing folder cannot
    be written (no permission, read-only, no space: a file is created there and removed)."""
    path = Path(path)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(
            f"{what} {str(path)!r} exists and is not a folder"
            if existing == path
            else f"{what} {str(path)!r} cannot be a folder: {str(existing)!r} is a file"
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=".neuroequi-write-check.", dir=existing)
    except OSError as err:
        raise write_error(err, path) or err from err
    os.close(fd)
    os.unlink(probe)
    return path


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks of ``chunk`` bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def package_versions(*extra: str) -> dict[str, str]:
    """Versions of python, neuroequi, torch, torchvision, numpy and of the ``extra`` packages named.

    A package that is not installed is reported as ``"absent"``.
    """
    from importlib import metadata

    import neuroequi

    versions = {"python": platform.python_version(), "neuroequi": neuroequi.__version__}
    for name in ("torch", "torchvision", "numpy", *extra):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def format_lambda(lam: float) -> str:
    """The one spelling of λ in names, labels and tables: ``0``, ``0.001``, ``0.5`` (``%g``)."""
    return f"{float(lam):g}"


def finite_or_none(data: Any) -> Any:
    """``data`` with every non-finite float (NaN, ±inf; numpy scalars too) replaced by None, recursively
    through mappings, lists and tuples (tuples become lists); numpy scalars and arrays become Python
    numbers and lists."""
    if isinstance(data, Mapping):
        return {key: finite_or_none(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite_or_none(value) for value in data]
    if hasattr(data, "tolist") and type(data).__module__ == "numpy":  # numpy scalar or array
        return finite_or_none(data.tolist())
    if isinstance(data, float) and not math.isfinite(data):
        return None
    return data


def to_json(data: Any, **kwargs: Any) -> str:
    """``json.dumps`` that writes strict JSON: non-finite numbers as ``null`` (:func:`finite_or_none`),
    ``allow_nan=False`` so nothing else can slip through. ``kwargs``: ``indent``, ``sort_keys``, ..."""
    return json.dumps(finite_or_none(data), allow_nan=False, **kwargs)


def write_json(
    path: str | os.PathLike, data: Any, *, indent: int | None = 2, sort_keys: bool = False, fsync: bool = True
) -> Path:
    """Write ``data`` to ``path`` as strict JSON (:func:`to_json`), atomically, with a final newline."""
    path = Path(path)
    with atomic_write(path, fsync=fsync) as tmp:
        tmp.write_text(to_json(data, indent=indent, sort_keys=sort_keys, ensure_ascii=False) + "\n")
    return path


def progress(iterable: Iterable | None = None, *, enabled: bool | None = None, **kwargs: Any):
    """A tqdm bar that draws only on a terminal: ``enabled`` None means "stderr is a terminal", so a
    log file gets no ``\\r`` lines (the caller logs one summary line per step instead).
    ``kwargs`` go to tqdm (``total``, ``desc``, ``unit``, ``leave``)."""
    from tqdm.auto import tqdm

    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(iterable, disable=not enabled, **kwargs)


def json_float(value: Any) -> float:
    """A number read from strict JSON as a float: ``null`` (a non-finite value, :func:`to_json`) is NaN."""
    return math.nan if value is None else float(value)


def read_json_mapping(path: Path, what: str, fix: str) -> dict:
    """The JSON object in ``path`` (``{}`` when there is no file); ConfigError naming ``what``, the
    file and ``fix`` when it is not JSON (e.g. truncated) or not an object."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise ConfigError(f"{what} {str(path)!r} is not valid JSON ({err}); {fix}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {str(path)!r} must hold a JSON object, got {type(data).__name__}; {fix}")
    return data
