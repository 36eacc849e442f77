"""Activation extraction: the zoo's in-memory path vs Brain-Score's PytorchWrapper, and local benchmark time.

Same model (the supervised CIFAR ResNet-20 from the registry) and the same
stimuli (the 1,200 images of Cowley session 190923): ours preprocesses the
in-memory PIL images and hooks the layer directly (``model_zoo.activations.extract``);
the reference is Brain-Score's ``PytorchWrapper`` with its own
``load_preprocess_images`` reading the same images from PNG files (no
activation cache). Both run with one BLAS/torch thread. Then the wall time of
one full local benchmark score (fresh caches), ``analyses.neural.scoring.score``.

Usage: NEUROEQUI_DATA=... python tests/benchmarks/bench_brainscore.py [--benchmarks Kiani2007.IT-rdm ...]
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
import time

import neuroequi  # noqa: F401  (compat shim before torchvision)
import numpy as np
import torch
from threadpoolctl import threadpool_limits


def _best_of(fn, repeats: int) -> tuple[float, object]:
    """Shortest wall time of ``repeats`` calls, and the last result."""
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def extraction(layer: str, repeats: int) -> None:
    from brainscore_vision.model_helpers.activations.pytorch import PytorchWrapper, load_preprocess_images

    import model_zoo
    from analyses.neural.data import cowley_stimulus_set
    from model_zoo.activations import extract
    from neuroequi.data import cowley2023_session

    session = cowley2023_session("190923")
    stimulus_set = cowley_stimulus_set(session)
    paths = [str(stimulus_set.get_stimulus(s)) for s in stimulus_set["stimulus_id"]]
    loaded = model_zoo.load("cifar-resnet20-supervised")
    reference = PytorchWrapper(model=loaded.module, identifier=loaded.identifier,
                               preprocessing=functools.partial(load_preprocess_images, image_size=32))
    t_ours, ours = _best_of(lambda: extract(loaded, session.images, [layer]), repeats)
    t_ref, theirs = _best_of(lambda: reference(paths, layers=[layer]), repeats)
    diff = np.abs(ours[layer] - theirs.transpose("presentation", "neuroid").values).max()
    n = len(paths)
    print(f"model {loaded.identifier}, layer {layer} ({ours[layer].shape[1]} features), {n} images, best of {repeats}")
    print(f"  ours (model_zoo.activations.extract, in-memory PIL): {n / t_ours:8.1f} images/s ({t_ours:.2f} s)")
    print(f"  Brain-Score PytorchWrapper (files, load_preprocess_images): {n / t_ref:8.1f} images/s ({t_ref:.2f} s)")
    print(f"  ratio ours/reference: {t_ref / t_ours:.2f}x   max |difference| of activations: {diff:.2e}")


def benchmark_time(benchmarks: list[str]) -> None:
    from analyses.neural.scoring import score

    for benchmark in benchmarks:
        with tempfile.TemporaryDirectory() as tmp:  # nothing cached: scores, activations, screen, ceilings
            os.environ["RESULTCACHING_DISABLE"] = "1"
            start, cpu = time.perf_counter(), time.process_time()
            result = score("cifar-resnet20-supervised", benchmark, home=tmp)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        print(f"{benchmark}: one full score of cifar-resnet20-supervised in {elapsed:.1f} s wall, {cpu:.1f} s CPU "
              f"(score {result['score']:.4f}, raw {result['raw']:.4f}, ceiling {result['ceiling']:.4f}, "
              f"error {result['error']:.4f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layer", default="layer3")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--benchmarks", nargs="*", default=["Kiani2007.IT-rdm", "Cowley2023.V4-pls"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        extraction(args.layer, args.repeats)
        benchmark_time(args.benchmarks)


if __name__ == "__main__":
    main()
