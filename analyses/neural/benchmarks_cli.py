"""``neuroequi benchmarks list``: every benchmark with its region, species, data, metric, ceiling,
number of images and source (:mod:`analyses.neural.listing`)."""

from __future__ import annotations

import argparse


def run_list(config: None, args: argparse.Namespace) -> int:
    """Print the listing (``--json``: strict JSON; ``--no-count``: no data loaded, images empty); 0."""
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
