"""Activation extraction: the zoo's paths vs Brain-Score's PytorchWrapper and THINGSvision, and local benchmark time.

Same model (the supervised CIFAR ResNet-20 from the registry), the same layer and the same
stimuli (the 1,200 images of Cowley session 190923, 112 px PNG files), in one run, every side
run once per repeat, the repeats interleaved (a change of machine load hits every side alike);
each side's best and median images/s, its wall-time range and median CPU time (all threads).

* Brain-Score's ``PytorchWrapper`` with its own ``load_preprocess_images``, reading the files
  (no activation cache).
* Ours from the same files (``model_zoo.activations.extract_files``): **cold**, the per-process
  image cache emptied before the pass, so every file is decoded as Brain-Score decodes it -- the
  like-for-like comparison, target >= 2x; **warm**, a second pass in the same process, each file's
  resized pixels from the cache (what an evaluation job gets when several benchmarks or the PCA
  fit show the same stimuli); warm with channels-last convolutions (``fast=True``: values equal
  up to float rounding, not bit for bit).
* Ours from the in-memory PIL images (``model_zoo.activations.extract``) against THINGSvision's
  extractor (``get_extractor_from_model``, PyTorch backend, ``extract_features(..., flatten_acts=True)``)
  on batches made by our preprocessing of the same images (timed with it): like for like, target >= 1x.

Two floors, timed the same way: the network alone on ready batches (Brain-Score's time over
it is about the most any extractor that runs the network in eager PyTorch can gain, up to the
run's noise) and the decode + resize of every file alone. Ours decodes in a thread pool (``DECODE_THREADS``) and prefetches the next batch while the network
runs; torch has one thread on every side. Each ratio is stated for best and median times, with
the largest activation difference. Then the wall time of one full local benchmark score (fresh
caches), ``analyses.neural.scoring.score``.

THINGSvision (2.7.3) is installed only for this benchmark, never with the project: its
requirements would replace torch (``pip install --no-deps --target DIR thingsvision==2.7.3
torchtyping==0.1.5 typeguard==2.13.3`` plus a TensorFlow it imports at load time; pass
``--thingsvision-path DIR``). Without it the script says so in one line and times the others.

Usage: NEUROEQUI_DATA=... python tests/benchmarks/bench_brainscore.py [--benchmarks Kiani2007.IT-rdm ...]
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import tempfile
import time

import neuroequi  # noqa: F401  (compat shim before torchvision)
import numpy as np
import torch
from threadpoolctl import threadpool_limits


def _timed(fn) -> tuple[float, float, object]:
    """Wall and CPU seconds (this process, every thread) of one call, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


#: (key, label) of each timed side, in the order each repeat runs them.
SIDES = (
    ("brainscore", "Brain-Score PytorchWrapper (files, load_preprocess_images)"),
    ("cold", "ours, files, cold (image cache emptied first)"),
    ("warm", "ours, files, warm (decoded pixels from the image cache)"),
    ("warm_fast", "ours, files, warm, channels-last (fast=True)"),
    ("memory", "ours, in-memory PIL (model_zoo.activations.extract)"),
    ("thingsvision", "THINGSvision extractor (in-memory PIL, our preprocessing)"),
    ("network", "floor: the network alone (ready batches of 64, our hooks)"),
    ("decode", "floor: decode + resize of every file alone (cold, our threads)"),
)
#: (numerator side, denominator side, what the pair compares, target).
RATIOS = (
    ("cold", "brainscore", "like for like: both decode every file in the pass", 2.0),
    ("warm", "brainscore", "ours with each file decoded once per process (cache hit)", None),
    ("warm_fast", "brainscore", "as above, channels-last convolutions", None),
    ("memory", "thingsvision", "like for like: same PIL images, same preprocessing", 1.0),
    ("network", "brainscore", "about the most any extractor running this network in eager PyTorch can gain", None),
)


def extraction(layer: str, repeats: int) -> None:
    from brainscore_vision.model_helpers.activations.pytorch import PytorchWrapper, load_preprocess_images

    import model_zoo
    from analyses.neural.data import cowley_stimulus_set
    from model_zoo.activations import DECODE_THREADS, IMAGE_CACHE, extract, extract_files, load_preprocessed
    from neuroequi.activations import layer_activations
    from neuroequi.data import cowley2023_session

    session = cowley2023_session("190923")
    stimulus_set = cowley_stimulus_set(session)
    paths = [str(stimulus_set.get_stimulus(s)) for s in stimulus_set["stimulus_id"]]
    loaded = model_zoo.load("cifar-resnet20-supervised")
    reference = PytorchWrapper(
        model=loaded.module,
        identifier=loaded.identifier,
        preprocessing=functools.partial(load_preprocess_images, image_size=32),
    )
    things = thingsvision_extract(loaded, session.images, layer)

    def cold():  # noqa: ANN202
        IMAGE_CACHE.clear()
        return extract_files(loaded, paths, [layer])[layer]

    def decode():  # noqa: ANN202
        IMAGE_CACHE.clear()
        return [load_preprocessed(paths[i : i + 64], 32, loaded.mean, loaded.std) for i in range(0, n, 64)]

    n = len(paths)
    ready = [load_preprocessed(paths[i : i + 64], 32, loaded.mean, loaded.std) for i in range(0, n, 64)]
    layer_activations(loaded.module, ready, [layer])  # warm-up (oneDNN primitives), so no side pays it

    calls = {
        "brainscore": lambda: reference(paths, layers=[layer]).transpose("presentation", "neuroid").values,
        "cold": cold,
        "warm": lambda: extract_files(loaded, paths, [layer])[layer],
        "warm_fast": lambda: extract_files(loaded, paths, [layer], fast=True)[layer],
        "memory": lambda: extract(loaded, session.images, [layer])[layer],
        "thingsvision": things,
        "network": lambda: layer_activations(loaded.module, ready, [layer])[layer].numpy(),
        "decode": decode,
    }
    calls = {k: v for k, v in calls.items() if v is not None}
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in calls}
    values: dict[str, np.ndarray] = {}
    load_before = os.getloadavg()
    for _ in range(repeats):  # interleaved, so a change of machine load hits every side alike
        for key, call in calls.items():
            wall, cpu, values[key] = _timed(call)
            times[key].append((wall, cpu))
    load_after = os.getloadavg()
    print(
        f"model {loaded.identifier}, layer {layer} ({values['cold'].shape[1]} features), {n} images (PNG files, "
        f"{session.images[0].size[0]} px), {repeats} interleaved repeats; torch threads 1, "
        f"decode threads {DECODE_THREADS} (ours); load average (1 min) {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after"
    )
    print(f"  {'side':<60} {'best img/s':>10} {'median':>8}  wall range s   median CPU s")
    for key, label in SIDES:
        if key not in times:
            continue
        walls, cpus = [w for w, _ in times[key]], [c for _, c in times[key]]
        print(
            f"  {label:<60} {n / min(walls):10.1f} {n / statistics.median(walls):8.1f}  "
            f"{min(walls):5.2f}-{max(walls):5.2f}   {statistics.median(cpus):8.2f}"
        )
    for num, den, what, target in RATIOS:
        if num not in times or den not in times:
            print(f"  {num}/{den}: {den} not run (see the docstring)")
            continue
        best = min(w for w, _ in times[den]) / min(w for w, _ in times[num])
        median = statistics.median(w for w, _ in times[den]) / statistics.median(w for w, _ in times[num])
        diff = float(np.abs(values[num] - values[den]).max())
        goal = f" (target >= {target:g})" if target else ""
        print(
            f"  ratio {num}/{den}: {best:.2f}x best, {median:.2f}x median{goal}; max |difference| of activations "
            f"{diff:.2e} (relative to max |activation| {diff / float(np.abs(values[den]).max()):.1e}) -- {what}"
        )


def thingsvision_extract(loaded, images, layer: str, batch_size: int = 128):  # noqa: ANN001, ANN201
    """A callable that extracts ``layer`` with THINGSvision (``(N, D)`` array), or None when it is not importable."""
    try:
        from thingsvision import get_extractor_from_model
    except ImportError:
        return None
    from model_zoo.activations import preprocess

    extractor = get_extractor_from_model(model=loaded.module, device="cpu", backend="pt")

    class Batches:  # THINGSvision wants len(batches); made lazily, so preprocessing is timed with it
        def __len__(self) -> int:
            return -(-len(images) // batch_size)

        def __iter__(self):  # noqa: ANN204
            for start in range(0, len(images), batch_size):
                yield preprocess(images[start : start + batch_size], loaded.image_size, loaded.mean, loaded.std)

    return lambda: extractor.extract_features(
        batches=Batches(), module_name=layer, flatten_acts=True, output_type="ndarray"
    )


def benchmark_time(benchmarks: list[str]) -> None:
    from analyses.neural.scoring import score

    for benchmark in benchmarks:
        with tempfile.TemporaryDirectory() as tmp:  # nothing cached: scores, activations, screen, ceilings
            os.environ["RESULTCACHING_DISABLE"] = "1"
            start, cpu = time.perf_counter(), time.process_time()
            result = score("cifar-resnet20-supervised", benchmark, home=tmp)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        print(
            f"{benchmark}: one full score of cifar-resnet20-supervised in {elapsed:.1f} s wall, {cpu:.1f} s CPU "
            f"(score {result['score']:.4f}, raw {result['raw']:.4f}, ceiling {result['ceiling']:.4f}, "
            f"error {result['error']:.4f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layer", default="layer3")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--benchmarks", nargs="*", default=["Kiani2007.IT-rdm", "Cowley2023.V4-pls"])
    parser.add_argument("--thingsvision-path", default=None, help="a folder THINGSvision was installed into (--target)")
    args = parser.parse_args()
    if args.thingsvision_path:
        sys.path.append(args.thingsvision_path)
    torch.set_num_threads(1)
    with threadpool_limits(1):
        extraction(args.layer, args.repeats)
        benchmark_time(args.benchmarks)


if __name__ == "__main__":
    main()
