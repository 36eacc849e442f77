"""``neuroequi benchmarks list``: every benchmark with its region, species, data, metric, ceiling,
number of images and source (:mod:`analyses.neural.listing`)."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    """Sub-command ``list`` (``--json``, ``--no-count``)."""
    sub = parser.add_subparsers(dest="benchmarks_command", metavar="SUBCOMMAND", required=True)
    listing = sub.add_parser("list", help="every benchmark: region, species, data, metric, ceiling, images, source")
    listing.add_argument("--json", action="store_true", help="print JSON (one object per benchmark)")
    listing.add_argument("--no-count", action="store_true",
                         help="do not count images (no data is loaded; the column is empty)")


def run(args: argparse.Namespace) -> int:
    """Print the listing; 0."""
    from analyses.neural.listing import COLUMNS, benchmark_rows
    from neuroequi.io import to_json

    rows = benchmark_rows(count=not args.no_count)
    if args.json:
        print(to_json(rows, indent=2))
        return 0
    for row in rows:
        print(row["identifier"])
        for key in COLUMNS[1:]:
            value = row[key]
            print(f"  {key:<8} {'–' if value is None else value}")
    return 0
