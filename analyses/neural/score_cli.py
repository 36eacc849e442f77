"""``neuroequi score``: a model's neural scores, at its committed layers or at every layer.

::

    neuroequi score --model M --benchmark B [--benchmark B2 ...] [--layers all|L1,L2] [--out DIR]
                    [--config FILE] [KEY=VALUE ...]

Every setting is a key of :class:`ScoreConfig`; ``--model``, ``--benchmark``, ``--layers`` and
``--recompute`` are aliases of keys (:mod:`neuroequi.cli`). Without ``layers``: one score per benchmark at the committed layer
(:func:`analyses.neural.scoring.score`, cached per identifier). With ``layers``: every named layer
on each (local) benchmark (:func:`analyses.neural.layers.score_layers`), written to ``out`` as
``layer_scores.csv`` (one row per layer and benchmark), ``layer_scores.png`` (score against
depth) and ``run.json`` (settings, time and peak memory per stage, package versions).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

from analyses.neural.reduction import Reduction


@dataclass(frozen=True)
class ScoreConfig:
    """Settings of ``neuroequi score``.

    Attributes:
        model: catalogue name or checkpoint file.
        benchmarks: benchmark identifiers (the local ones of ``analyses.neural`` or any of Brain-Score's).
        layers: empty: the committed layers; ``[all]`` or layer names: a score per layer.
        region_layer_map: regions to map to other layers than committed (committed-layer scores),
            e.g. ``region_layer_map={IT: layer2}``.
        recompute: ignore cached committed-layer results.
        reduction: how per-layer scores reduce large layers (default: not at all, as Brain-Score scores a
            committed layer; ``reduction.components=1000``: the PCA of Brain-Score's layer selection, named
            in every row). Scores at the committed layers are never reduced.
        batch_size: images per forward pass (per-layer scores).
    """

    model: str = ""
    benchmarks: tuple[str, ...] = ()
    layers: tuple[str, ...] = ()
    region_layer_map: dict[str, str] = field(default_factory=dict)
    recompute: bool = False
    reduction: Reduction = Reduction()
    batch_size: int = 64


def _committed(config: ScoreConfig, as_json: bool) -> None:
    from neuroequi.io import to_json

    from analyses.neural.scoring import RESULT_KEYS, result_path, score
    from neuroequi.errors import WriteError

    not_cached = []
    for benchmark in config.benchmarks:
        result = score(
            config.model, benchmark, recompute=config.recompute, region_layer_map=config.region_layer_map or None
        )
        if "not_cached" in result:
            not_cached.append(f"{benchmark} (score {result['score']:.4f}, printed above): {result['not_cached']}")
        if as_json:
            print(to_json(result, indent=2))
            continue
        for key in (*RESULT_KEYS, "layer_map_source"):
            print(f"{key:>18}: {result.get(key)}")
        for key in ("session_scores", "session_errors"):
            if key in result:
                print(f"{key:>18}: " + ", ".join(f"{s} {v:.4f}" for s, v in result[key].items()))
        saved = "not cached" if "not_cached" in result else result_path(result["identifier"], result["benchmark"])
        print(f"{'saved':>18}: {saved}", flush=True)
    if not_cached:  # every score was printed; the cache failure is still an error
        raise WriteError("score not cached: " + "; ".join(not_cached))


def _per_layer(config: ScoreConfig, out: Path | None, as_json: bool) -> None:
    from neuroequi.io import to_json

    from model_zoo import load, zoo_home
    from analyses.neural.layers import write_layer_scores

    loaded = load(config.model)
    out = out or zoo_home() / "scores" / loaded.identifier / "layers"
    run = write_layer_scores(
        loaded,
        config.benchmarks,
        config.layers,
        out,
        config.reduction,
        config.batch_size,
        command="neuroequi " + " ".join(sys.argv[1:]),
    )
    if as_json:
        print(to_json(run, indent=2))
    else:
        print(Path(run["files"]["csv"]).read_text())
        print(
            f"wrote {', '.join(run['files'].values())} ({run['total_seconds']:.0f} s, "
            f"peak RSS {run['peak_rss_gb']:.2f} GiB)"
        )


def run(config: ScoreConfig, args: argparse.Namespace) -> int:
    """Score and print; 0 on success. Unknown models, benchmarks or layers, and weights or data that
    cannot be had, raise ``neuroequi.errors`` errors (one line, exit code 2 from the entry point)."""
    from neuroequi.errors import ConfigError

    if config.reduction.components and not config.layers:
        raise ConfigError(
            f"reduction.components={config.reduction.components}: a reduction applies to per-layer "
            "scores (--layers); scores at the committed layers are unreduced, as Brain-Score scores them"
        )
    if config.layers:
        _per_layer(config, args.out, args.json)
    else:
        _committed(config, args.json)
    return 0
