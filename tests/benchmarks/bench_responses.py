"""Benchmark: response extraction vs a bare ``model(x)`` loop on the same batches, fp32 and bf16.

For each network, the same K-augmentation ensemble of real CIFAR-10 test
images is run (a) through :func:`analyses.responses.extract_ensemble`
(sampling, augmenting, normalising, forward hook, float32 copy, xarray), and
(b) as a bare ``model(x)`` loop over the very same normalised view batches,
made beforehand and not timed, in the default NCHW layout. Ours runs in channels-last
layout (``analyses.responses.LAYOUT``), so the ratio = ours images/s ÷ bare images/s
(target >= 0.9) includes the layout's gain; the responses' relative Frobenius difference
from an NCHW pass over the same batches is printed with it; each side is timed ``--repeats`` times, interleaved, and
the best time is kept. bf16 (autocast) is timed the same way, and its accuracy
is reported against fp32: relative Frobenius error of the responses, and the
change of the Figure-1 distances computed from them.

``--device cuda``: the networks' weights and the bare loop's batches on the GPU;
ours still augments on the CPU (a background thread) and moves each batch over,
so the ratio shows whether the augmentation keeps the GPU busy. The Figure-1
distances are then computed on the GPU as well.

Run: ``.venv/bin/python tests/benchmarks/bench_responses.py [--threads 2] [--device cuda]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from record import environment
from threadpoolctl import threadpool_limits

import model_zoo
from analyses.measures import content_augmentation_factorization, crop_photometric_factorization, shared_variability
from analyses.probe import cifar10_subset
from analyses.linalg import resolve_device
from analyses.responses import PRECISIONS, ensemble_params, extract_ensemble, extract_ensembles, view_batches
from model_zoo import LoadedModel
from neuroequi.activations import layer_activations
from neuroequi.augment import get_policy
from neuroequi.augment.images import as_images, image_sizes
from neuroequi.errors import ConfigError


def bare_views(
    model: LoadedModel, images, policy, K: int, seed: int, batch_size: int, device: torch.device
) -> list[torch.Tensor]:
    """The normalised view batches extract_ensemble feeds the network for the ``full`` ensemble, on ``device``."""
    checked = as_images(images)
    params = ensemble_params(policy, "full", image_sizes(checked), K, seed)
    mean = torch.tensor(model.mean).view(1, 3, 1, 1)
    std = torch.tensor(model.std).view(1, 3, 1, 1)
    return [((views - mean) / std).to(device) for views in view_batches(policy, checked, params, K, batch_size)]


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_bare(module: torch.nn.Module, batches: list[torch.Tensor], bf16: bool, device: torch.device) -> float:
    synchronize(device)
    start = time.perf_counter()
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        for batch in batches:
            module(batch)
    synchronize(device)
    return time.perf_counter() - start


def figure1_distances(
    model: LoadedModel, images, ids, policy, K: int, precision: str, device: torch.device
) -> dict[str, float]:
    """The three Figure-1 distances (means over images / pairs) from responses at ``precision``."""
    r = extract_ensembles(model, images, policy, K=K, image_ids=ids, precision=precision, progress=False)
    return {
        "shared_variability": shared_variability(r["matched"], device=device).mean(),
        "content_augmentation_factorization": content_augmentation_factorization(
            r["full"], r["clean"], device=device
        ).mean(),
        "crop_photometric_factorization": crop_photometric_factorization(
            r["crop"], r["photometric"], device=device
        ).mean(),
    }


def bench(
    name: str, model: LoadedModel, n_images: int, K: int, batch_size: int, repeats: int, device: torch.device
) -> None:
    images, _, ids = cifar10_subset("test", n_images, seed=0)
    policy = get_policy("cifar" if model.image_size <= 64 else "barlow_twins_view1", size=model.image_size)
    model.module.to(device)
    batches = bare_views(model, images, policy, K, 0, batch_size, device)
    n_views = n_images * K
    extract_ensemble(model, images[:2], policy, "full", K=2, progress=False)  # warm-up
    results = {}
    print(f"[{name}] layer {model.layer()}, {n_images} images x K={K} = {n_views} views, batch {batch_size}")
    for precision in PRECISIONS:
        t_bare, t_ours = [], []
        for _ in range(repeats):  # interleaved, best of `repeats`: the machine is shared
            t_bare.append(time_bare(model.module, batches, precision == "bf16", device))
            start = time.perf_counter()
            results[precision] = extract_ensemble(
                model,
                images,
                policy,
                "full",
                K=K,
                image_ids=ids,
                batch_size=batch_size,
                precision=precision,
                progress=False,
            ).values
            t_ours.append(time.perf_counter() - start)  # its outputs are on the CPU: the device is done
        t_bare, t_ours = min(t_bare), min(t_ours)
        print(
            f"  {precision}: ours {n_views / t_ours:8.1f} img/s   bare model(x) {n_views / t_bare:8.1f} img/s"
            f"   ours/bare = {t_bare / t_ours:5.2f}   (target >= 0.9)"
        )
    with torch.inference_mode():
        nchw = layer_activations(model.module, iter(batches), [model.layer()], total=n_views, progress=False)
    nchw = nchw[model.layer()].numpy().reshape(results["fp32"].shape)
    rel = np.linalg.norm(results["fp32"] - nchw) / np.linalg.norm(nchw)
    print(f"  fp32 channels-last vs NCHW: relative Frobenius difference of the responses {rel:.2e}")
    rel = np.linalg.norm(results["bf16"] - results["fp32"]) / np.linalg.norm(results["fp32"])
    print(f"  bf16 vs fp32: relative Frobenius error of the responses {rel:.2e}")
    fp32, bf16 = (figure1_distances(model, images, ids, policy, K, p, device) for p in PRECISIONS)
    for label in fp32:
        print(
            f"  bf16 vs fp32: {label:<36} {fp32[label]:.5f} vs {bf16[label]:.5f}  (diff {bf16[label] - fp32[label]:+.1e})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch/BLAS threads (default 2, the CI machine)")
    parser.add_argument(
        "--images", type=int, default=128, help="CIFAR-10 test images for the CIFAR ResNet-20 (0: skip)"
    )
    parser.add_argument("--K", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3, help="timings per side, interleaved; the best is kept")
    parser.add_argument("--resnet50-images", type=int, default=8, help="images for the 224 px ResNet-50 (0: skip)")
    parser.add_argument("--resnet50-K", type=int, default=4, help="augmentations per image for the ResNet-50")
    parser.add_argument("--resnet50-batch", type=int, default=16, help="views per forward pass for the ResNet-50")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda[:N]")
    args = parser.parse_args()
    try:
        device = resolve_device(args.device)
    except ConfigError as err:
        raise SystemExit(f"--device {args.device}: {err}") from None
    torch.set_num_threads(args.threads)
    with threadpool_limits(limits=args.threads):
        print(f"threads: {args.threads}; device {device}; torch {torch.__version__}")
        for line in environment():
            print(f"  {line}")
        if args.images:
            bench(
                "cifar-resnet20-supervised",
                model_zoo.load("cifar-resnet20-supervised"),
                args.images,
                args.K,
                256,
                args.repeats,
                device,
            )
        if args.resnet50_images:
            r50 = model_zoo.load(model_zoo.random_entry("resnet50", seed=0, image_size=224))
            bench(
                "resnet50 (random init, 224 px)",
                r50,
                args.resnet50_images,
                args.resnet50_K,
                args.resnet50_batch,
                args.repeats,
                device,
            )


if __name__ == "__main__":
    main()
