"""``neuroequi data list|fetch|verify [DATASET ...]``: the real datasets and their checksums."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from neuroequi.data.registry import SOURCES, data_dir, dataset_files, fetch, verify
from neuroequi.errors import ConfigError


@dataclass(frozen=True)
class DataConfig:
    """Settings of ``neuroequi data list|fetch|verify``.

    Attributes:
        datasets: dataset names of the registry (default: every one but cifar10).
    """

    datasets: tuple[str, ...] = ()


def _names(datasets: list[str]) -> list[str]:
    """The datasets to act on (default: every registered one but cifar10); ConfigError for an unknown one."""
    unknown = [d for d in datasets if d not in SOURCES]
    if unknown:
        raise ConfigError(f"unknown dataset(s) {unknown}; known: {sorted(SOURCES)}")
    return datasets or [d for d in SOURCES if d != "cifar10"]


def run(config: DataConfig, args: argparse.Namespace) -> int:
    """List, fetch or verify (``args.data_command``); returns a shell exit code (errors raise, see
    :mod:`neuroequi.cli`)."""
    names = _names(list(config.datasets))
    print(f"data directory: {data_dir()}")
    for name in names:
        files = dataset_files(name)
        if args.data_command == "list":
            src = SOURCES[name]
            print(f"{name}: {src.repo}@{src.commit[:10]} ({src.licence}), {len(files)} checksummed files")
        elif name == "cifar10":
            from neuroequi.data.loaders import cifar10

            sizes = {s: len(cifar10(s)) for s in ("train", "test")}
            print(f"cifar10: ok {sizes} (the JPEG tree has no checksums)")
        else:
            check = fetch if args.data_command == "fetch" else verify
            for entry in files:
                check(entry.relpath)
            print(f"{name}: ok ({len(files)} files, sha256 verified)")
    return 0
