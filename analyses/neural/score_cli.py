"""``neuroequi score``: a model's neural scores, at its committed layers or at every layer.

::

    neuroequi score --model M --benchmark B [--benchmark B2 ...] [--layers all|L1,L2] [--out DIR]
                    [--config FILE] [KEY=VALUE ...]

Every setting is a key of :class:`ScoreConfig` (``--config FILE`` and/or ``key=value`` anywhere
on the line); ``--model``, ``--benchmark``, ``--layers`` and ``--out`` are the same keys as flags
and win over them. Without ``layers``: one score per benchmark at the committed layer
(:func:`analyses.neural.scoring.score`, cached per identifier). With ``layers``: every named layer
on each (local) benchmark (:func:`analyses.neural.layers.score_layers`), written to ``out`` as
``layer_scores.csv`` (one row per layer and benchmark), ``layer_scores.png`` (score against
depth) and ``run.json`` (settings, time and peak memory per stage, package versions).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path

from analyses.neural.layers import Reduction


@dataclass(frozen=True)
class ScoreConfig:
    """Settings of ``neuroequi score``.

    Attributes:
        model: catalogue name or checkpoint file.
        benchmarks: benchmark identifiers (see ``neuroequi score --help``).
        layers: empty: the committed layers; ``[all]`` or layer names: a score per layer.
        region_layer_map: regions to map to other layers than committed (committed-layer scores),
            e.g. ``region_layer_map={IT: layer2}``.
        recompute: ignore cached committed-layer results.
        reduction: how per-layer scores reduce large layers (``reduction.components=0``: not at all).
        batch_size: images per forward pass (per-layer scores).
        out: folder of the per-layer files (default ``<zoo home>/scores/<identifier>/layers``).
    """

    model: str = ""
    benchmarks: tuple[str, ...] = ()
    layers: tuple[str, ...] = ()
    region_layer_map: dict[str, str] = field(default_factory=dict)
    recompute: bool = False
    reduction: Reduction = Reduction()
    batch_size: int = 64
    out: str = ""


BENCHMARK_HELP = ("Cowley2023.V4-pls, Cowley2023-<session>.V4-pls, Kiani2007.IT-rdm, Kriegeskorte2008.hIT-rdm, "
                  "tong.Coggan2024_fMRI.{V1,V2,V4,IT}-rdm, MajajHong2015public.IT-pls, "
                  "MajajHong2015.IT-pls, Sanghavi2020.IT-pls, SanghaviJozwik2020.IT-pls, SanghaviMurty2020.IT-pls "
                  "(repeat the flag or separate by commas)")


def configure(parser: argparse.ArgumentParser) -> None:
    """Flags ``--model``, ``--benchmark``, ``--layers``, ``--out``, ``--recompute``, ``--json``;
    settings via ``--config FILE`` / ``key=value``."""
    from neuroequi.cli import add_config_arguments

    parser.add_argument("--model", help="catalogue name (see `neuroequi zoo list`) or a neuroequi checkpoint file")
    parser.add_argument("--benchmark", action="append", help=BENCHMARK_HELP)
    parser.add_argument("--layers", help="'all' or comma-separated layer names: one score per layer")
    parser.add_argument("--out", help="folder for layer_scores.csv/.png and run.json (per-layer scores)")
    parser.add_argument("--recompute", action="store_true", help="ignore a cached result")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    add_config_arguments(parser)
    parser.epilog = (parser.epilog or "") + (
        " Keys: model, benchmarks, layers, region_layer_map, recompute, batch_size, out, "
        "reduction.components (default 1000; 0: no reduction), reduction.images, reduction.max_fit_gb.")


def config_from_args(args: argparse.Namespace) -> ScoreConfig:
    """The typed config: defaults, ``--config``, ``key=value``, then the flags."""
    from neuroequi.cli import command_config
    from neuroequi.errors import ConfigError

    config = command_config(ScoreConfig, args, where="score")
    flags = {}
    if args.model:
        flags["model"] = args.model
    if args.benchmark:
        flags["benchmarks"] = tuple(b.strip() for flag in args.benchmark for b in flag.split(",") if b.strip())
    if args.layers:
        flags["layers"] = tuple(l.strip() for l in args.layers.split(",") if l.strip())
    if args.out:
        flags["out"] = args.out
    if args.recompute:
        flags["recompute"] = True
    config = dataclasses.replace(config, **flags)
    if not config.model or not config.benchmarks:
        raise ConfigError("score: give a model and at least one benchmark (--model M --benchmark B, "
                          "or model=M benchmarks=[B])")
    return config


def _committed(config: ScoreConfig, as_json: bool) -> None:
    from neuroequi.io import to_json
    from analyses.neural.scoring import RESULT_KEYS, result_path, score

    for benchmark in config.benchmarks:
        result = score(config.model, benchmark, recompute=config.recompute,
                       region_layer_map=config.region_layer_map or None)
        if as_json:
            print(to_json(result, indent=2))
            continue
        for key in (*RESULT_KEYS, "layer_map_source"):
            print(f"{key:>18}: {result.get(key)}")
        for key in ("session_scores", "session_errors"):
            if key in result:
                print(f"{key:>18}: " + ", ".join(f"{s} {v:.4f}" for s, v in result[key].items()))
        print(f"{'saved':>18}: {result_path(result['identifier'], result['benchmark'])}")


def _per_layer(config: ScoreConfig, as_json: bool) -> None:
    from neuroequi.io import to_json
    from model_zoo import load, zoo_home
    from analyses.neural.layers import write_layer_scores

    loaded = load(config.model)
    out = Path(config.out) if config.out else zoo_home() / "scores" / loaded.identifier / "layers"
    run = write_layer_scores(loaded, config.benchmarks, config.layers, out, config.reduction, config.batch_size,
                             command="neuroequi " + " ".join(sys.argv[1:]))
    if as_json:
        print(to_json(run, indent=2))
    else:
        print(Path(run["files"]["csv"]).read_text())
        print(f"wrote {', '.join(run['files'].values())} ({run['total_seconds']:.0f} s, "
              f"peak RSS {run['peak_rss_gb']:.2f} GiB)")


def run(args: argparse.Namespace) -> int:
    """Score and print; 0 on success. Unknown models, benchmarks or layers, and weights or data that
    cannot be had, raise ``neuroequi.errors`` errors (one line, exit code 2 from the entry point)."""
    config = config_from_args(args)
    (_per_layer if config.layers else _committed)(config, args.json)
    return 0
