"""Per-layer scores: activations computed once (ours) vs a Brain-Score ModelCommitment per layer.

Ours: :func:`analyses.neural.layers.score_layers` -- every layer's (PCA-reduced) activations from
one pass per stimulus set, then one ``ModelCommitment`` per layer serving them. Reference: what a
Brain-Score user does to score one layer at a time -- per layer a new ``PytorchWrapper``
(``model_zoo.brainscore.wrapper``) with Brain-Score's own ``LayerPCA`` hook (1,000 components;
its ImageNet images replaced by the same 1,000 local CIFAR-10 test images, which is all that
can be had offline) in a ``ModelCommitment`` that maps every region to that layer; the
activations (and the PCA) are recomputed for each layer (``RESULTCACHING_DISABLE=1``). Same
model, benchmarks, layers and threads; fresh caches. Prints both times, the ratio, each layer's
score by both (they differ only by the PCA implementation: scikit-learn's vs ours, the same
components up to sign) and the peak memory; writes ``analyses/neural/results/bench_layers.json``.

``--resnet50`` instead scores a randomly initialised ResNet-50 (224 px) at every stage (layer1..layer4,
avgpool) on every scored local benchmark (all of ``analyses.neural.local_benchmarks()`` but the held-out
layer-selection data) with ``LAYER_SELECTION`` (Brain-Score's layer-selection PCA, named in every row),
from fresh caches, and writes its per-layer files and run.json (time and peak memory per stage) to
``analyses/neural/results/resnet50-random/``; the bound it is held to: 15 min and 6 GiB on 2 cores.

Usage: NEUROEQUI_DATA=... python tests/benchmarks/bench_layers.py [--model M] [--benchmarks B ...] [--resnet50]
(`make bench` runs it through tests/benchmarks/record.py, which records its output in RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ["RESULTCACHING_DISABLE"] = "1"  # read when Brain-Score's caching is first used: before its import
import neuroequi  # noqa: E402,F401  (compat shim before torchvision)
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
REGIONS = ("V1", "V2", "V4", "IT")


def reference(loaded, benchmarks, layers) -> dict[tuple[str, str], float]:
    """Score per (layer, benchmark) through a fresh Brain-Score wrapper + LayerPCA + ModelCommitment per layer."""
    from brainscore_vision.model_helpers.activations import pca
    from brainscore_vision.model_helpers.brain_transformation import ModelCommitment

    from analyses.neural import load_benchmark, run_benchmark
    from analyses.neural.data import cifar10_pca_stimulus_set
    from model_zoo.brainscore import wrapper

    images = cifar10_pca_stimulus_set(1000)
    paths = [str(images.get_stimulus(s)) for s in images["stimulus_id"]]
    pca._get_imagenet_val = lambda num_images: paths[:num_images]
    benches = [load_benchmark(b) for b in benchmarks]
    scores = {}
    for layer in layers:
        activations_model = wrapper(loaded)
        activations_model.identifier = f"{loaded.identifier}-reference-{layer}"
        pca.LayerPCA.hook(activations_model, n_components=1000)
        candidate = ModelCommitment(
            identifier=activations_model.identifier,
            activations_model=activations_model,
            layers=[layer],
            region_layer_map=dict.fromkeys(REGIONS, layer),
        )
        for bench in benches:
            scores[layer, bench.identifier] = float(run_benchmark(bench, candidate).values)
    return scores


def compare(model: str, benchmarks: list[str]) -> str:
    import model_zoo
    from analyses.neural.layers import peak_rss_gb, score_layers
    from analyses.neural.reduction import LAYER_SELECTION
    from neuroequi.io import package_versions

    loaded = model_zoo.load(model)
    layers = list(loaded.layers)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as home:  # a fresh activation cache
        table, _ = score_layers(loaded, benchmarks, layers, LAYER_SELECTION, home=Path(home))
    t_ours = time.perf_counter() - start
    rss_ours = peak_rss_gb()
    start = time.perf_counter()
    theirs = reference(loaded, benchmarks, layers)
    t_ref = time.perf_counter() - start
    print(f"model {loaded.identifier}, layers {layers}, benchmarks {benchmarks}, {torch.get_num_threads()} threads")
    for row in table.itertuples():
        print(
            f"  {row.layer:>8} {row.benchmark:<20} ours {row.score:.4f}  reference {theirs[row.layer, row.benchmark]:.4f}"
        )
    diff = max(abs(r.score - theirs[r.layer, r.benchmark]) for r in table.itertuples())
    line = (
        f"bench_layers: {loaded.name}, {len(layers)} layers x {', '.join(benchmarks)}: activations once "
        f"{t_ours:.0f} s vs ModelCommitment per layer {t_ref:.0f} s, ratio {t_ref / t_ours:.2f}x; "
        f"max |score difference| {diff:.1e}; peak RSS {rss_ours:.2f} GiB (ours), {peak_rss_gb():.2f} GiB (both)"
    )
    print(line)
    record = {
        "model": loaded.identifier,
        "layers": layers,
        "benchmarks": benchmarks,
        "seconds_ours": round(t_ours, 1),
        "seconds_reference": round(t_ref, 1),
        "ratio": round(t_ref / t_ours, 3),
        "max_score_difference": diff,
        "scores": [
            {"layer": r.layer, "benchmark": r.benchmark, "ours": r.score, "reference": theirs[r.layer, r.benchmark]}
            for r in table.itertuples()
        ],
        "peak_rss_gb_ours": round(rss_ours, 3),
        "torch_threads": torch.get_num_threads(),
        "versions": package_versions("brainscore_vision"),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python tests/benchmarks/bench_layers.py",
    }
    out = ROOT / "analyses" / "neural" / "results" / "bench_layers.json"
    out.write_text(json.dumps(record, indent=2) + "\n")
    return line


#: The bound ``--resnet50`` is held to (issue: a 224-px ResNet-50 at every stage on every local benchmark).
BOUND_MINUTES, BOUND_GIB = 15, 6


def resnet50(batch_size: int) -> str:
    import model_zoo
    from analyses.neural import local_benchmarks
    from analyses.neural.layers import write_layer_scores
    from analyses.neural.reduction import LAYER_SELECTION

    benchmarks = [b for b in local_benchmarks() if b != "Cowley2023-selection.V4-pls"]
    loaded = model_zoo.load(model_zoo.random_entry("resnet50", seed=0, image_size=224))
    out = ROOT / "analyses" / "neural" / "results" / "resnet50-random"
    for old in (*out.glob("rows/*.json"), *out.glob("layer_scores.*")):
        old.unlink()  # a fresh run: no row reused
    with tempfile.TemporaryDirectory() as home:
        os.environ["NEUROEQUI_ZOO_HOME"] = home  # a fresh activation cache
        run = write_layer_scores(
            loaded,
            benchmarks,
            list(loaded.layers),
            out,
            LAYER_SELECTION,
            batch_size,
            command="python tests/benchmarks/bench_layers.py --resnet50",
        )
    stages = ", ".join(
        f"{k} {v['seconds']:.0f} s (peak RSS {v['peak_rss_gb']:.2f} GiB)" for k, v in run["stages"].items()
    )
    within = run["total_seconds"] <= BOUND_MINUTES * 60 and run["peak_rss_gb"] <= BOUND_GIB
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime  # this process's CPU seconds: what a shared machine does not inflate
    line = (
        f"bench_layers --resnet50: random ResNet-50 (224 px), {len(loaded.layers)} stages x {len(benchmarks)} "
        f"local benchmarks, reduction {LAYER_SELECTION.key}, {torch.get_num_threads()} threads: {stages}; "
        f"total {run['total_seconds']:.0f} s wall, {cpu:.0f} CPU s ({cpu / run['total_seconds']:.2f} cores busy), "
        f"peak RSS {run['peak_rss_gb']:.2f} GiB; load average after the run "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}; within {BOUND_MINUTES} min and {BOUND_GIB} GiB: "
        f"{'yes' if within else 'no'}"
    )
    print(line)
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cifar-resnet20-supervised")
    parser.add_argument("--benchmarks", nargs="+", default=["Cowley2023.V4-pls", "Kiani2007.IT-rdm"])
    parser.add_argument(
        "--resnet50",
        action="store_true",
        help="time and peak memory of a random ResNet-50, every stage, every local benchmark",
    )
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    # the line each prints is what `make bench` (tests/benchmarks/record.py) records in RESULTS.md
    if args.resnet50:
        resnet50(args.batch_size)
    else:
        compare(args.model, args.benchmarks)


if __name__ == "__main__":
    main()
