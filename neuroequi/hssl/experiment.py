"""``neuroequi hssl``: the CPU-sized A-SSL vs H-SSL experiment (direction of Keller et al.'s Tables 1-2).

For the rotation-equivariant p4 CNN and its non-equivariant control (same output size, emulated
group axis), three rows each:

* ``frozen`` -- the randomly initialised backbone, not trained;
* ``assl``   -- trained by A-SSL (two roto-translated copies of each image, the same bundle);
* ``hssl``   -- trained by H-SSL (one image, two bundles moved on the group in feature space).

Training goes through :func:`neuroequi.train.train` with ``neuroequi/configs/cifar10_hssl_p4_cpu.yaml``
(real CIFAR-10 images, photometric-only views, the group part done by the objective); every run
keeps its checkpoints under ``<out>/train/<arch>_<method>``, so a second call reuses finished runs and
resumes interrupted ones. The evaluation is :func:`analyses.probe.linear_probe`: a logistic
regression on the frozen group-pooled features ``h`` (layer ``avgpool``) of clean CIFAR-10 training
images, scored on test images. The table is written as CSV (one row per backbone and method).

Expected direction (the paper's): with the p4 backbone A-SSL and H-SSL are close and above frozen;
with the control H-SSL falls to (or below) the frozen level. The defaults (5,000 images, 5 epochs,
one thread per run) take about 6 minutes on a shared 2-core machine; runs are seeded and repeat
exactly.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd
import torch

import neuroequi

CONFIG = Path(neuroequi.__file__).parent / "configs" / "cifar10_hssl_p4_cpu.yaml"
BACKBONES = {"p4cnn": "equivariant (p4)", "p4cnn_control": "none (emulated group axis)"}
METHODS = ("frozen", "assl", "hssl")


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``neuroequi hssl``."""
    parser.add_argument("--out", default="results/hssl", help="output directory (table.csv, train/)")
    parser.add_argument("--train-images", type=int, default=5000, help="CIFAR-10 training images for SSL")
    parser.add_argument("--probe-train", type=int, default=5000, help="labelled training images for the probe")
    parser.add_argument("--probe-test", type=int, default=2000, help="test images scored by the probe")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--width", type=float, default=0.5, help="channel multiplier (0.5: 8/16/32 per group element)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: two threads per run slow down on a shared machine)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backbones", nargs="+", default=list(BACKBONES), choices=list(BACKBONES))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="training-config override (repeatable), e.g. --set method.options.grid_distance=1 --set optim.lr=0.001",
    )


def train_run(arch: str, method: str, args: argparse.Namespace) -> Path:
    """Train (or reuse / resume) one run; the path of its final checkpoint."""
    from neuroequi.train import load_config, train

    out = Path(args.out)
    overrides = [
        f"name={arch}_{method}", f"output_dir={out / 'train'}", f"seed={args.seed}", f"epochs={args.epochs}",
        f"threads={args.threads}", f"data.subset={args.train_images}", f"model.arch={arch}",
        f"model.width={args.width}", f"method.name={method}", "monitor.knn=false", "monitor.probe=false",
        "monitor.progress=false", *args.overrides,
    ]
    return train(load_config(CONFIG, overrides), resume=True)


def frozen_extractor(arch: str, width: float, seed: int):
    """An :class:`analyses.responses.Extractor` of a randomly initialised backbone's group-pooled ``h``."""
    from analyses.responses import Extractor
    from model_zoo.loading import state_dict_sha256
    from neuroequi.registry import build_backbone
    from neuroequi.methods.base import IMAGENET_MEAN, IMAGENET_STD

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        backbone = build_backbone(arch, width).eval()
    digest = state_dict_sha256(backbone)
    return Extractor(backbone, "avgpool", IMAGENET_MEAN, IMAGENET_STD, 32, digest, f"{arch}-frozen-{digest[:8]}")


def final_ssl_loss(checkpoint: Path) -> float:
    """Mean SSL loss of the last epoch of the run that wrote ``checkpoint`` (without the online
    probe's loss when the run had one)."""
    last = json.loads((checkpoint.parent.parent / "epochs.jsonl").read_text().splitlines()[-1])
    return float(last.get("mean_ssl_loss", last["mean_loss"]))


def evaluate(arch: str, method: str, args: argparse.Namespace) -> dict[str, object]:
    """Train if needed, probe, and return one table row."""
    from analyses.probe import linear_probe
    from analyses.responses import Extractor
    from neuroequi.augment import get_policy

    start = time.perf_counter()
    if method == "frozen":
        extractor, loss, checkpoint = frozen_extractor(arch, args.width, args.seed), float("nan"), ""
    else:
        path = train_run(arch, method, args)
        extractor, loss, checkpoint = Extractor.from_checkpoint(path, "avgpool"), final_ssl_loss(path), str(path)
    trained = time.perf_counter() - start
    result = linear_probe(extractor, get_policy("cifar"), args.probe_train, args.probe_test, seed=args.seed, progress=False)
    row = result.row(seed=args.seed)
    return {
        "backbone": arch, "structure": BACKBONES[arch], "method": method,
        "probe_accuracy": row["value"], "ci_low": row["ci_low"], "ci_high": row["ci_high"], "n_test": row["n"],
        "final_ssl_loss": loss, "train_seconds": round(trained, 1),
        "probe_seconds": round(time.perf_counter() - start - trained, 1), "checkpoint": checkpoint,
        "weights_sha256": extractor.sha256,
    }


def run(args: argparse.Namespace) -> int:
    """Run every (backbone, method) pair, write ``<out>/table.csv``, print the table."""
    for name, value in (("--train-images", args.train_images), ("--probe-train", args.probe_train),
                        ("--probe-test", args.probe_test), ("--epochs", args.epochs), ("--threads", args.threads)):
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    torch.set_num_threads(args.threads)
    rows = [evaluate(arch, method, args) for arch in args.backbones for method in args.methods]
    table = pd.DataFrame(rows)
    path = Path(args.out) / "table.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)
    print(table[["backbone", "method", "probe_accuracy", "ci_low", "ci_high", "final_ssl_loss", "train_seconds"]].to_string(index=False))
    print(f"wrote {path}")
    return 0
