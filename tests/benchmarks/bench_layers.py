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

``--memory`` instead measures a randomly initialised ResNet-50 (224 px) on Cowley2023.V4-pls,
all stages, and writes its per-layer files and run.json (time and peak memory per stage) to
``analyses/neural/results/resnet50-random/``.

Usage: NEUROEQUI_DATA=... python tests/benchmarks/bench_layers.py [--model M] [--benchmarks B ...] [--memory]
(`make bench` runs it through tests/benchmarks/record.py, which records its output in RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import os
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
        candidate = ModelCommitment(identifier=activations_model.identifier, activations_model=activations_model,
                                    layers=[layer], region_layer_map=dict.fromkeys(REGIONS, layer))
        for bench in benches:
            scores[layer, bench.identifier] = float(run_benchmark(bench, candidate).values)
    return scores


def compare(model: str, benchmarks: list[str]) -> str:
    import model_zoo
    from analyses.neural.layers import peak_rss_gb, score_layers
    from neuroequi.io import package_versions

    loaded = model_zoo.load(model)
    layers = list(loaded.layers)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as home:  # a fresh activation cache
        table, _ = score_layers(loaded, benchmarks, layers, home=Path(home))
    t_ours = time.perf_counter() - start
    rss_ours = peak_rss_gb()
    start = time.perf_counter()
    theirs = reference(loaded, benchmarks, layers)
    t_ref = time.perf_counter() - start
    print(f"model {loaded.identifier}, layers {layers}, benchmarks {benchmarks}, {torch.get_num_threads()} threads")
    for row in table.itertuples():
        print(f"  {row.layer:>8} {row.benchmark:<20} ours {row.score:.4f}  reference {theirs[row.layer, row.benchmark]:.4f}")
    diff = max(abs(r.score - theirs[r.layer, r.benchmark]) for r in table.itertuples())
    line = (f"bench_layers: {loaded.name}, {len(layers)} layers x {', '.join(benchmarks)}: activations once "
            f"{t_ours:.0f} s vs ModelCommitment per layer {t_ref:.0f} s, ratio {t_ref / t_ours:.2f}x; "
            f"max |score difference| {diff:.1e}; peak RSS {rss_ours:.2f} GiB (ours), {peak_rss_gb():.2f} GiB (both)")
    print(line)
    record = {"model": loaded.identifier, "layers": layers, "benchmarks": benchmarks, "seconds_ours": round(t_ours, 1),
              "seconds_reference": round(t_ref, 1), "ratio": round(t_ref / t_ours, 3), "max_score_difference": diff,
              "scores": [{"layer": r.layer, "benchmark": r.benchmark, "ours": r.score,
                          "reference": theirs[r.layer, r.benchmark]} for r in table.itertuples()],
              "peak_rss_gb_ours": round(rss_ours, 3), "torch_threads": torch.get_num_threads(),
              "versions": package_versions("brainscore_vision"), "created": datetime.now(UTC).isoformat(timespec="seconds"),
              "command": "python tests/benchmarks/bench_layers.py"}
    out = ROOT / "analyses" / "neural" / "results" / "bench_layers.json"
    out.write_text(json.dumps(record, indent=2) + "\n")
    return line


def memory(batch_size: int) -> str:
    import model_zoo
    from analyses.neural.layers import write_layer_scores

    loaded = model_zoo.load(model_zoo.random_entry("resnet50", seed=0, image_size=224))
    out = ROOT / "analyses" / "neural" / "results" / "resnet50-random"
    with tempfile.TemporaryDirectory() as home:
        os.environ["NEUROEQUI_ZOO_HOME"] = home  # a fresh activation cache
        run = write_layer_scores(loaded, ["Cowley2023.V4-pls"], list(loaded.layers), out, batch_size=batch_size,
                                 command="python tests/benchmarks/bench_layers.py --memory")
    stages = ", ".join(f"{k} {v['seconds']:.0f} s (peak RSS {v['peak_rss_gb']:.2f} GiB)" for k, v in run["stages"].items())
    line = (f"bench_layers --memory: random ResNet-50 (224 px), {list(loaded.layers)} on Cowley2023.V4-pls: {stages}; "
            f"total {run['total_seconds']:.0f} s, peak RSS {run['peak_rss_gb']:.2f} GiB")
    print(line)
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cifar-resnet20-supervised")
    parser.add_argument("--benchmarks", nargs="+", default=["Cowley2023.V4-pls", "Kiani2007.IT-rdm"])
    parser.add_argument("--memory", action="store_true", help="peak memory of a random ResNet-50 on Cowley V4")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    # the line each prints is what `make bench` (tests/benchmarks/record.py) records in RESULTS.md
    if args.memory:
        memory(args.batch_size)
    else:
        compare(args.model, args.benchmarks)


if __name__ == "__main__":
    main()
