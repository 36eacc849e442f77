"""``neuroequi score --model ID --benchmark BENCH``: score a model, print and save the result."""

from __future__ import annotations

import argparse
import json


def configure(parser: argparse.ArgumentParser) -> None:
    """Options ``--model``, ``--benchmark``, ``--recompute``, ``--json``."""
    parser.add_argument("--model", required=True,
                        help="catalogue name (see `neuroequi zoo list`) or a neuroequi checkpoint file")
    parser.add_argument("--benchmark", required=True,
                        help="Cowley2023.V4-pls, Cowley2023-<session>.V4-pls, Kiani2007.IT-rdm, "
                             "Kriegeskorte2008.hIT-rdm, tong.Coggan2024_fMRI.{V1,V2,V4,IT}-rdm, "
                             "MajajHong2015public.IT-pls, MajajHong2015.IT-pls, Sanghavi2020.IT-pls, "
                             "SanghaviJozwik2020.IT-pls, SanghaviMurty2020.IT-pls")
    parser.add_argument("--recompute", action="store_true", help="ignore a cached result")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    """Score and print; 0 on success. Weights or benchmark data that cannot be had raise
    ``neuroequi.errors`` errors (one line, exit code 2 from the entry point)."""
    from analyses.neural.scoring import RESULT_KEYS, result_path, score

    result = score(args.model, args.benchmark, recompute=args.recompute)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key in RESULT_KEYS:
            print(f"{key:>18}: {result[key]}")
        for key in ("session_scores", "session_errors"):
            if key in result:
                print(f"{key:>18}: " + ", ".join(f"{s} {v:.4f}" for s, v in result[key].items()))
        print(f"{'saved':>18}: {result_path(result['identifier'], result['benchmark'])}")
    return 0
