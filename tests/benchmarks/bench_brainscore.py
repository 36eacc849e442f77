"""Activation extraction: the zoo's in-memory path vs Brain-Score's PytorchWrapper, and local benchmark time.

Same model (the supervised CIFAR ResNet-20 from the registry) and the same
stimuli (the 1,200 images of Cowley session 190923): ours preprocesses the
in-memory PIL images and hooks the layer directly (``model_zoo.activations.extract``);
the reference is Brain-Score's ``PytorchWrapper`` with its own
``load_preprocess_images`` reading the same images from PNG files (no
activation cache); the second anchor is THINGSvision's extractor
(``get_extractor_from_model``, PyTorch backend, ``extract_features(..., flatten_acts=True)``) on
batches made by our preprocessing of the same images (timed with it). Targets: ours >= 2x
Brain-Score and >= THINGSvision, activations equal. All run with one BLAS/torch thread, in one run.
Then the wall time of one full local benchmark score (fresh caches), ``analyses.neural.scoring.score``.

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
import sys
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
    reference = PytorchWrapper(
        model=loaded.module,
        identifier=loaded.identifier,
        preprocessing=functools.partial(load_preprocess_images, image_size=32),
    )
    things = thingsvision_extract(loaded, session.images, layer)
    times: dict[str, list[float]] = {"ours": [], "brainscore": [], "thingsvision": []}
    for _ in range(repeats):  # interleaved, so a change of machine load hits every side alike
        t, ours = _best_of(lambda: extract(loaded, session.images, [layer]), 1)
        times["ours"].append(t)
        t, theirs = _best_of(lambda: reference(paths, layers=[layer]), 1)
        times["brainscore"].append(t)
        if things is not None:
            t, tv = _best_of(things, 1)
            times["thingsvision"].append(t)
    n, best = len(paths), {k: min(v) for k, v in times.items() if v}
    diff = np.abs(ours[layer] - theirs.transpose("presentation", "neuroid").values).max()
    print(f"model {loaded.identifier}, layer {layer} ({ours[layer].shape[1]} features), {n} images, best of {repeats}")
    print(
        f"  ours (model_zoo.activations.extract, in-memory PIL): {n / best['ours']:8.1f} images/s "
        f"(range {_range(times['ours'])} s)"
    )
    print(
        f"  Brain-Score PytorchWrapper (files, load_preprocess_images): {n / best['brainscore']:8.1f} images/s "
        f"(range {_range(times['brainscore'])} s)"
    )
    print(
        f"  ratio ours/Brain-Score: {best['brainscore'] / best['ours']:.2f}x (target >= 2)   "
        f"max |difference| of activations: {diff:.2e}"
    )
    if things is None:
        print("  THINGSvision: not importable here (install it for this benchmark only, see the docstring): skipped")
        return
    tdiff = np.abs(ours[layer] - tv).max()
    print(
        f"  THINGSvision extractor (our preprocessing, flatten_acts): {n / best['thingsvision']:8.1f} images/s "
        f"(range {_range(times['thingsvision'])} s)"
    )
    print(
        f"  ratio ours/THINGSvision: {best['thingsvision'] / best['ours']:.2f}x (target >= 1)   "
        f"max |difference| of activations: {tdiff:.2e}"
    )


def _range(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


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
