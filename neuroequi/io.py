"""Small file utilities every layer uses: atomic writes, JSON files, sha256, output folders, package versions, λ labels.

Only the standard library, torch, numpy and :mod:`neuroequi.errors` are imported
here, so any module of any layer may import this one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import tempfile
from collections.abc import Iterator
from pathlib import Path

from neuroequi.errors import ConfigError

__all__ = ["atomic_write", "format_lambda", "output_folder", "package_versions", "read_json_mapping", "sha256_file",
           "write_json"]


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, *, fsync: bool = True) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; on a clean exit rename it onto ``path``.

    The temporary file lives in the same directory (so :func:`os.replace` is
    atomic), is named ``.<name>.<random>.tmp`` and is removed if the block
    raises, so a reader never sees a partial ``path``. The caller writes the
    temporary path with any writer (``torch.save``, ``to_netcdf``, ``to_csv``,
    ``PIL.Image.save``); the suffix of ``path`` is kept so format sniffing by
    extension still works. With ``fsync`` the data reach the disk before the rename.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if fsync and tmp.exists():
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def output_folder(path: str | os.PathLike, what: str = "output folder") -> Path:
    """``path`` as a folder to write into (it need not exist yet); ConfigError naming ``what``
    and the path when something other than a folder is there."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{what} {str(path)!r} exists and is not a folder")
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


def write_json(path: Path, data: object) -> None:
    """Write ``data`` as indented, key-sorted JSON to ``path`` atomically."""
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
