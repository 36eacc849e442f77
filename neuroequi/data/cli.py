"""``neuroequi data list|fetch|verify [DATASET ...]``: the real datasets and their checksums."""

from __future__ import annotations

import argparse

from neuroequi.data.registry import SOURCES, data_dir, dataset_files, fetch, verify
from neuroequi.errors import ConfigError

SUBCOMMANDS: dict[str, str] = {
    "list": "list the datasets of the registry: source, licence, number of checksummed files",
    "fetch": "download the missing files of datasets, then verify every file's sha256",
    "verify": "verify every file's sha256 without downloading (a missing file is an error)",
}


def configure(parser: argparse.ArgumentParser) -> None:
    """Sub-commands ``list``, ``fetch`` and ``verify``, each with optional dataset names."""
    sub = parser.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)
    for name, help_text in SUBCOMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.add_argument("datasets", nargs="*", metavar="DATASET",
                             help=f"datasets (default: all but cifar10): {', '.join(SOURCES)}")


def _names(datasets: list[str]) -> list[str]:
    """The datasets to act on (default: every registered one but cifar10); ConfigError for an unknown one."""
    unknown = [d for d in datasets if d not in SOURCES]
    if unknown:
        raise ConfigError(f"unknown dataset(s) {unknown}; known: {sorted(SOURCES)}")
    return datasets or [d for d in SOURCES if d != "cifar10"]


def run(args: argparse.Namespace) -> int:
    """List, fetch or verify; returns a shell exit code (errors raise, see :mod:`neuroequi.cli`)."""
    names = _names(args.datasets)
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
