"""Training speed: equivariance wrappers vs their baselines (CPU), and the paper-scale path (CUDA).

``--device cpu`` (default). For CIFAR ResNet-18 (32 px, default batch 256, width 1) it measures, side by side in one run,
seconds per training step (augmentation + forward + backward + optimiser, after warm-up; the
methods interleaved step by step) of

* Barlow Twins vs TeSSL(Barlow Twins)     (target overhead <= 1.05x: one more projector)
* SimCLR vs EquiMod(SimCLR)               (~1.5x floor: the clean image is a third backbone pass)

and the images/s of a whole 1-epoch TeSSL run (``neuroequi.train.train``, logging and the
epoch-end kNN monitor included) against the steady-state step rate. Real CIFAR-10 images
(NEUROEQUI_DATA). Example quick run::

    python tests/benchmarks/bench_train.py --width 0.125 --steps 5 --epoch-images 5120

``--figure1``: the Figure-1 preset's own training step (``--preset``, default offline: width 1/8,
batch 256, one thread) against its variants, interleaved step by step, each as a speed ratio (median
and range over steps): bf16 / fp32 x channels-last / NCHW, and with ``--compile`` the backbone
compiled with inductor (compilation time printed). ``--thread-layout``: two 1-thread jobs of the
preset side by side against one 2-thread job, alternating rounds (images/s ratio)::

    python tests/benchmarks/bench_train.py --figure1 --compile --steps 20
    python tests/benchmarks/bench_train.py --thread-layout --steps 6 --rounds 5

``--device cuda``: the paper-scale path on one GPU. Synthetic batches of the paper's per-GPU
batch (CE-SSL: 1024 pairs over 8 GPUs = 256 images, two views each), bf16 autocast,
channels-last, ResNet-50: images/s (backbone passes per second) of a whole training step of the
``tessl-barlow-imagenet`` recipe (two 8192-wide projectors, LARS, one pass per half-view)
against a bare torchvision ResNet-50 training step (cross-entropy, SGD) on the same number of
images (target >= 0.9x for the paired loss's overhead), peak GPU memory of each, and one
``torchrun --nproc_per_node=1`` step of the real trainer on the recipe (a small synthetic
ImageFolder, so no data set is needed). Fails at once without CUDA::

    python tests/benchmarks/bench_train.py --device cuda [--batch 256 --steps 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch
from threadpoolctl import threadpool_limits

import neuroequi  # noqa: F401
from neuroequi.hardware import resolve_precision
from neuroequi.train import TrainConfig, config_from_dict, train
from neuroequi.train.distributed import DistInfo
from neuroequi.train.loop import Trainer

METHODS = {
    "barlow_twins": {"name": "barlow_twins", "options": {"projector": [2048, 2048, 2048], "lambda_offdiag": 0.0051}},
    "tessl(barlow_twins)": {
        "name": "barlow_twins",
        "options": {"projector": [2048, 2048, 2048], "lambda_offdiag": 0.0051},
        "equivariance": "tessl",
        "lam": 0.2,
    },
    "simclr": {"name": "simclr", "options": {"projector": [2048, 128], "temperature": 0.5}},
    "equimod(simclr)": {
        "name": "simclr",
        "options": {"projector": [2048, 128], "temperature": 0.5},
        "equivariance": "equimod",
        "lam": 1.0,
        "equimod": {"projector": [2048, 2048, 128]},
    },
}
PAIRS = (("barlow_twins", "tessl(barlow_twins)"), ("simclr", "equimod(simclr)"))


def config(args: argparse.Namespace, method: dict, out: str, name: str, images: int, knn: bool) -> dict:
    scale = args.width  # projector sizes follow the backbone width (64*width channels at the stem)
    method = {
        **method,
        "options": {
            **method["options"],
            "projector": [max(int(d * scale), 16) for d in method["options"]["projector"]],
        },
    }
    if "equimod" in method:
        method["equimod"] = {
            "projector": [max(int(d * scale), 16) for d in method["equimod"]["projector"]],
            "encoder_samples": 20_000,
        }
    return {
        "name": name,
        "output_dir": out,
        "epochs": 1,
        "batch_size": args.batch,
        "device": "cpu",
        "threads": args.threads,
        "precision": args.precision,
        "channels_last": not args.no_channels_last,
        "data": {"dataset": "cifar10", "subset": images},
        "model": {"arch": "resnet18_cifar", "width": args.width, "zero_init_residual": True},
        "method": method,
        "optim": {"name": "lars", "lr": 0.3, "warmup_epochs": 0.1, "weight_decay": 1e-4},
        "monitor": {
            "knn": knn,
            "knn_train_samples": 5000,
            "knn_test_samples": 1000,
            "progress": False,
            "log_every": 10,
        },
    }


def interleaved(steps: dict[str, Callable[[], object]], timed: int, warmup: int) -> dict[str, list[float]]:
    """Seconds of each of ``timed`` calls of every step function, the functions interleaved call by
    call (so a change in machine load hits all of them alike); ``warmup`` untimed rounds first."""
    times: dict[str, list[float]] = {name: [] for name in steps}
    for round_ in range(warmup + timed):
        for name, step in steps.items():
            t = time.perf_counter()
            step()
            if round_ >= warmup:
                times[name].append(time.perf_counter() - t)
    return times


def trainer_step(trainer: Trainer) -> Callable[[], object]:
    """One ``trainer.train_step`` on the trainer's next batch per call (epoch 0, training mode)."""
    trainer.model.train()
    trainer.plan.set_epoch(0)
    batches = iter(trainer.loader)
    return lambda: trainer.train_step(next(batches))


def step_times(args: argparse.Namespace, out: str) -> dict[str, list[float]]:
    """Seconds of each timed training step per method, interleaved (:func:`interleaved`)."""
    images = args.batch * (args.steps + args.warmup)
    info = DistInfo(0, 1, 0, torch.device("cpu"))
    steps = {
        name: trainer_step(Trainer(config_from_dict(config(args, method, out, "step", images, knn=False)), info))
        for name, method in METHODS.items()
    }
    return interleaved(steps, args.steps, args.warmup)


def ratio_line(times: dict[str, list[float]], name: str, reference: str) -> str:
    """Speed of ``name`` relative to ``reference`` (reference seconds / its seconds), step by step."""
    ratios = [r / t for t, r in zip(times[name], times[reference])]
    return f"speed vs {reference}: median {statistics.median(ratios):.3f}x (range {min(ratios):.3f}-{max(ratios):.3f})"


def figure1_variants(args: argparse.Namespace) -> None:
    """Training-step variants of the Figure-1 preset's job (``--preset``, λ 0.5, seed 0), interleaved
    step by step: precision bf16 / fp32 x channels-last on / off, and with ``--compile`` the preset's
    own layout and fp32 channels-last with the backbone compiled (:meth:`torch.nn.Module.compile`,
    inductor; the first step, the compilation, timed apart: cold or warm depends on inductor's
    on-disk cache, whose folder is printed). Speeds are relative to the first variant, the preset's
    own setting (``precision: auto`` resolved on this machine)."""
    base = figure1_config(args.preset)
    own = (resolve_precision(base.precision, "cpu"), base.channels_last)
    layouts = [own, *((p, cl) for p in ("bf16", "fp32") for cl in (True, False) if (p, cl) != own)]
    compiled = [own, ("fp32", True)] if own != ("fp32", True) else [own]
    variants = [(p, cl, False) for p, cl in layouts] + ([(p, cl, True) for p, cl in compiled] if args.compile else [])
    steps = {}
    print(
        f"preset {args.preset}: width {base.model.width}, batch {base.batch_size}, {base.threads} thread(s); "
        f"load average before {os.getloadavg()[0]:.1f}"
    )
    for precision, channels_last, compiled in variants:
        name = f"{precision} {'channels-last' if channels_last else 'NCHW'}{' compiled' if compiled else ''}"
        trainer = figure1_trainer(args.preset, precision=precision, channels_last=channels_last)
        step = trainer_step(trainer)
        if compiled:
            trainer.method.backbone.compile()
            start = time.perf_counter()
            step()
            print(
                f"  {name}: first step (compilation; inductor cache {cache_dir()}) {time.perf_counter() - start:.1f} s"
            )
        steps[name] = step
    times = interleaved(steps, args.steps, args.warmup)
    reference = next(iter(times))
    for name, t in times.items():
        print(f"  {name:32s} median {statistics.median(t):6.3f} s/step  {ratio_line(times, name, reference)}")
    print(f"  load average after {os.getloadavg()[0]:.1f}")


def cache_dir() -> str:
    """Inductor's on-disk cache folder (``TORCHINDUCTOR_CACHE_DIR``, else its default under the temp dir)."""
    from torch._inductor.runtime.cache_dir_utils import cache_dir as inductor_cache_dir

    return inductor_cache_dir()


def figure1_config(preset_name: str) -> TrainConfig:
    """The training config of the Figure-1 preset's (λ 0.5, seed 0) job, writing into a temporary folder."""
    from figures.figure1 import pipeline
    from figures.figure1.config import preset

    return pipeline.train_config(preset(preset_name), 0.5, 0, Path(tempfile.mkdtemp()))


def figure1_trainer(preset_name: str, **changes: object) -> Trainer:
    """A CPU trainer of the Figure-1 preset's job with ``changes`` to its config (the Trainer resolves
    precision ``auto``, as :func:`neuroequi.train.train` does)."""
    config = replace(figure1_config(preset_name), **changes)
    return Trainer(config, DistInfo(0, 1, 0, torch.device("cpu")))


def layout_worker(preset_name: str, threads: int, conn) -> None:  # noqa: ANN001
    """Child of :func:`thread_layout`: times ``k`` steps each time it receives ``k`` (0 ends it)."""
    step = trainer_step(figure1_trainer(preset_name, threads=threads))
    step()
    conn.send(0.0)
    while k := conn.recv():
        start = time.perf_counter()
        for _ in range(k):
            step()
        conn.send(time.perf_counter() - start)


def thread_layout(args: argparse.Namespace) -> None:
    """Images/s of two 1-thread jobs side by side against one 2-thread job (the preset's job, its
    precision), the two layouts alternating in rounds of ``--steps`` steps per job."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    pipes, procs = [], []
    for threads in (1, 1, 2):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=layout_worker, args=(args.preset, threads, child))
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    for pipe in pipes:
        pipe.recv()
    print(f"preset {args.preset}: load average before {os.getloadavg()[0]:.1f}; {args.steps} steps per job per round")
    ratios = []
    for round_ in range(args.rounds):
        for pipe in pipes[:2]:
            pipe.send(args.steps)
        side_by_side = 2 * args.steps / max(pipe.recv() for pipe in pipes[:2])
        pipes[2].send(args.steps)
        one_job = args.steps / pipes[2].recv()
        ratios.append(side_by_side / one_job)
        print(
            f"  round {round_}: 2 jobs x 1 thread {side_by_side:.2f} steps/s, 1 job x 2 threads {one_job:.2f} steps/s"
        )
    for pipe in pipes:
        pipe.send(0)
    for proc in procs:
        proc.join()
    print(
        f"  throughput 2x1 / 1x2: median {statistics.median(ratios):.3f}x (range {min(ratios):.3f}-{max(ratios):.3f}); "
        f"load average after {os.getloadavg()[0]:.1f}"
    )


def cuda_step_rate(step: Callable[[], None], steps: int, warmup: int) -> tuple[float, float]:
    """(seconds per step, peak GiB) of ``step`` on CUDA after ``warmup`` untimed steps."""
    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps, torch.cuda.max_memory_allocated() / 2**30


def tessl_step(batch: int, device: str = "cuda", size: int = 224) -> Callable[[], None]:
    """One training step of the ``tessl-barlow-imagenet`` recipe on a synthetic batch of ``size``-px
    views (bf16 autocast, channels-last), as ``Trainer.train_step`` does it."""
    from neuroequi.augment import AugParams
    from neuroequi.methods import Batch
    from neuroequi.train.distributed import convert_batchnorm
    from neuroequi.train.model import build_model
    from neuroequi.train.optim import build_optimizer
    from neuroequi.train.recipes import load_recipe

    config = load_recipe("tessl-barlow-imagenet", [f"batch_size={batch}", "precision=bf16"])
    torch.manual_seed(0)
    method = convert_batchnorm(build_model(config)).to(device).to(memory_format=torch.channels_last)
    o = config.optim
    optimizer = build_optimizer(
        o.name, method, o.lr, o.weight_decay, o.momentum, (0.9, 0.999), o.lars_eta, o.exclude_bias_bn
    )
    g = torch.Generator(device=device).manual_seed(0)
    views = tuple(
        torch.randn(batch, 3, size, size, device=device, generator=g).contiguous(memory_format=torch.channels_last)
        for _ in range(2)
    )
    empty = AugParams(torch.zeros(batch, 0), ())
    data = Batch(views, (empty, empty), None, torch.zeros(batch, dtype=torch.long, device=device))

    def step() -> None:
        with torch.autocast(device, dtype=torch.bfloat16):
            out = method(data)
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        optimizer.step()
        method.after_step(0, 1)

    return step


def bare_resnet50_step(images: int) -> Callable[[], None]:
    """One torchvision ResNet-50 training step (cross-entropy, SGD) on ``images`` synthetic images."""
    from torchvision.models import resnet50

    torch.manual_seed(0)
    model = resnet50().cuda().to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    g = torch.Generator(device="cuda").manual_seed(1)
    x = torch.randn(images, 3, 224, 224, device="cuda", generator=g).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 1000, (images,), device="cuda", generator=g)

    def step() -> None:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def synthetic_image_folder(root: Path, images: int = 128, size: int = 256) -> Path:
    """``images`` random RGB PNGs in two class folders under ``root/train``."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(images):
        folder = root / "train" / f"class{i % 2}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return root / "train"


def cuda_main(args: argparse.Namespace) -> None:
    """The paper-scale GPU benchmark (see the module docstring)."""
    if not torch.cuda.is_available():
        sys.exit(
            "bench_train.py --device cuda: CUDA is not available here (torch.cuda.is_available() is False); "
            "run it on a machine with a GPU, or use --device cpu"
        )
    torch.backends.cudnn.benchmark = True
    name = torch.cuda.get_device_name()
    print(f"{name}: ResNet-50, 224 px, {args.batch} images x 2 views per step, bf16 autocast, channels-last")
    results = {}
    for label, factory in (
        ("tessl-barlow-imagenet step", lambda: tessl_step(args.batch)),
        ("bare torchvision ResNet-50 step", lambda: bare_resnet50_step(2 * args.batch)),
    ):
        seconds, peak = cuda_step_rate(factory(), args.steps, args.warmup)
        results[label] = seconds
        print(
            f"  {label:34s} {seconds * 1000:8.1f} ms/step  {2 * args.batch / seconds:8.0f} img/s  peak {peak:6.1f} GiB"
        )
        torch.cuda.empty_cache()
    ratio = results["bare torchvision ResNet-50 step"] / results["tessl-barlow-imagenet step"]
    print(f"  TeSSL-Barlow / bare ResNet-50 images/s: {ratio:.3f}x (target >= 0.9x)")
    with tempfile.TemporaryDirectory() as out:
        root = synthetic_image_folder(Path(out))
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=1",
            "-m",
            "neuroequi.train",
            "--preset",
            "tessl-barlow-imagenet",
            f"data.root={root}",
            "data.val_root=null",
            "data.workers=4",
            "batch_size=64",
            "max_steps=1",
            "precision=bf16",
            "monitor.knn=false",
            "monitor.progress=false",
            f"output_dir={out}",
            "name=torchrun-step",
        ]
        start = time.perf_counter()
        done = subprocess.run(
            command, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "4"}, check=False
        )
        wall = time.perf_counter() - start
        if done.returncode:
            print(done.stdout[-2000:], done.stderr[-4000:], sep="\n")
            sys.exit(f"torchrun step failed with exit code {done.returncode}")
        log = (Path(out) / "torchrun-step" / "log.csv").read_text().splitlines()
        print(
            f"  torchrun --nproc_per_node=1 -m neuroequi.train --preset tessl-barlow-imagenet (batch 64, 1 step): "
            f"ok in {wall:.1f} s wall (start-up and checkpoint included); log.csv: {log[1] if len(log) > 1 else 'empty'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument(
        "--batch", type=int, default=None, help="images per step (cpu: 256; cuda: 256 per GPU, as the paper)"
    )
    parser.add_argument("--width", type=float, default=1.0, help="backbone width multiplier (1 = ResNet-18)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=None, help="timed steps per method (cpu: 5; cuda: 20)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first (cpu: 2; cuda: 5)")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--no-channels-last", action="store_true")
    parser.add_argument(
        "--epoch-images", type=int, default=50_000, help="images in the 1-epoch run (50000: all of CIFAR-10)"
    )
    parser.add_argument(
        "--figure1",
        action="store_true",
        help="time variants of the Figure-1 preset's training step instead (precision x channels-last)",
    )
    parser.add_argument("--compile", action="store_true", help="--figure1: also the backbone compiled (inductor)")
    parser.add_argument(
        "--thread-layout", action="store_true", help="two 1-thread preset jobs side by side vs one 2-thread job"
    )
    parser.add_argument("--rounds", type=int, default=5, help="--thread-layout: alternating rounds")
    parser.add_argument("--preset", default="offline", help="Figure-1 preset of --figure1 / --thread-layout")
    args = parser.parse_args()
    cuda = args.device == "cuda"
    args.batch = args.batch or 256
    args.steps = args.steps or (20 if cuda else 5)
    args.warmup = args.warmup if args.warmup is not None else (5 if cuda else 2)
    if cuda:
        cuda_main(args)
        return
    if args.figure1 or args.thread_layout:
        sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for figures
        (figure1_variants if args.figure1 else thread_layout)(args)
        return
    torch.set_num_threads(args.threads)
    print(
        f"CIFAR ResNet-18 width {args.width}, 32 px, batch {args.batch}, {args.threads} threads, {args.precision}, "
        f"channels_last={not args.no_channels_last}"
    )
    with threadpool_limits(limits=args.threads), tempfile.TemporaryDirectory() as out:
        times = step_times(args, out)
        sps = {name: statistics.median(t) for name, t in times.items()}
        for name, t in times.items():
            print(
                f"  {name:22s} median {sps[name]:7.3f} s/step (min {min(t):7.3f})   {args.batch / sps[name]:8.1f} img/s"
            )
        for base, wrapped in PAIRS:
            paired = statistics.median(w / b for w, b in zip(times[wrapped], times[base]))
            print(
                f"  ratio {wrapped} / {base}: {paired:.3f}x (median of per-step ratios; min-time ratio "
                f"{min(times[wrapped]) / min(times[base]):.3f}x)"
            )
        start = time.perf_counter()
        train(config_from_dict(config(args, METHODS["tessl(barlow_twins)"], out, "epoch", args.epoch_images, knn=True)))
        wall = time.perf_counter() - start
        steps = args.epoch_images // args.batch
        epoch_ips = steps * args.batch / wall
        step_ips = args.batch / sps["tessl(barlow_twins)"]
        print(
            f"  1-epoch TeSSL run: {steps} steps, {wall:.1f} s wall (start-up, kNN monitor, checkpoints included), "
            f"{epoch_ips:.1f} img/s; steady-state {step_ips:.1f} img/s; ratio epoch/steady {epoch_ips / step_ips:.3f}"
        )


if __name__ == "__main__":
    main()
