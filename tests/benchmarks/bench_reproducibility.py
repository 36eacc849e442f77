"""What changes the numbers of a Figure-1 run besides the seed: thread counts, BLAS libraries, CPU kernels.

The same inputs go through each *setting* in its own process and the outputs are
compared with the reference setting (one thread, this CPU's best kernels):

* ``matmul``: a float32 ``(256, 512) @ (512, 512)`` product (torch) and the same with numpy's BLAS;
* ``conv``: a float32 3x3 convolution of a ``(64, 32, 16, 16)`` batch (torch's oneDNN);
* ``train``: 20 steps of the offline preset's model (TeSSL Barlow Twins, width-1/8 CIFAR
  ResNet-18, batch 64 of real CIFAR-10 images) in fp32 and in bf16 autocast, from the same
  initial weights and batches: ``‖Δw‖ / ‖w‖`` over all weights after 1, 5 and 20 steps
  (``train_fp32@5``), and the last loss. The setting ``another seed`` (other initial weights
  and batches) gives the scale of two unrelated runs.

Settings: ``reference again`` (the control: must be bit-identical), ``threads=2`` (two torch /
BLAS threads), ``avx2`` (the kernels a CPU without AVX-512 runs: ``ATEN_CPU_CAPABILITY=avx2``
and ``ONEDNN_MAX_CPU_ISA=AVX2``, which also emulates bf16). ``bit-identical`` means every
byte agrees. Run::

    python tests/benchmarks/bench_reproducibility.py [--steps 20] [--out tests/benchmarks/reproducibility.json]

which prints the comparison and writes it to ``--out`` (with the CPU it ran on).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SETTINGS = {
    "reference (1 thread)": {"threads": "1", "env": {}},
    "reference again": {"threads": "1", "env": {}},
    "threads=2": {"threads": "2", "env": {}},
    "avx2 kernels": {"threads": "1", "env": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}},
    "another seed": {"threads": "1", "env": {}, "seed": "1"},
}
#: Training steps after which the weights are compared.
CHECKPOINTS = (1, 5, 20)


def compute(out: Path, steps: int, seed: int) -> None:
    """In a child process: every output of one setting, saved to ``out`` (torch.save)."""
    import numpy as np
    import torch
    from importlib import resources

    from neuroequi.train import load_config
    from neuroequi.train import distributed as D
    from neuroequi.train.loop import Trainer

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(256, 512, generator=gen), torch.randn(512, 512, generator=gen)
    x, w = torch.randn(64, 32, 16, 16, generator=gen), torch.randn(32, 32, 3, 3, generator=gen)
    result = {
        "matmul": a @ b,
        "numpy_matmul": torch.from_numpy(a.numpy() @ b.numpy()),
        "conv": torch.nn.functional.conv2d(x, w, padding=1),
    }
    base = str(resources.files("neuroequi.configs").joinpath("cifar10_tessl_barlow_cpu.yaml"))
    for precision in ("fp32", "bf16"):
        config = load_config(
            base,
            [
                f"precision={precision}",
                "batch_size=64",
                "data.subset=2048",
                "method.lam=0.5",
                f"seed={seed}",
                f"threads={os.environ['OMP_NUM_THREADS']}",
                "monitor.knn=false",
                "monitor.probe=false",
                f"output_dir={out.parent}",
                "name=unused",
            ],
        )
        trainer = Trainer(config, D.setup("cpu"))
        batches = iter(trainer.loader)
        for step in range(1, steps + 1):
            loss = trainer.train_step(next(batches))["loss"]
            if step in CHECKPOINTS or step == steps:
                result[f"train_{precision}@{step}"] = {
                    k: v.clone() for k, v in trainer.method.state_dict().items() if v.is_floating_point()
                }
        result[f"loss_{precision}"] = loss.float()
    result["blas"] = (
        np.__config__.show(mode="dicts")["Build Dependencies"]["blas"]["name"]
        if hasattr(np.__config__, "show")
        else "?"
    )
    torch.save(result, out)


def compare(ref, other) -> str:
    """'bit-identical', or how far ``other`` is from ``ref``: for weights, ``‖Δw‖ / ‖w‖`` over all of them."""
    import torch

    if isinstance(ref, dict):
        if all(torch.equal(v, other[k]) for k, v in ref.items()):
            return "bit-identical"
        delta = torch.cat([(other[k] - v).flatten().double() for k, v in ref.items()])
        norm = torch.cat([v.flatten().double() for v in ref.values()])
        return f"‖Δw‖ / ‖w‖ = {(delta.norm() / norm.norm()).item():.1e}"
    if torch.equal(ref, other):
        return "bit-identical"
    return f"max |Δ| / max |x| = {((other - ref).abs().max() / ref.abs().max()).item():.1e}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("reproducibility.json"))
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        compute(args.child, args.steps, int(os.environ.get("BENCH_SEED", "0")))
        return
    import torch

    outputs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, setting in SETTINGS.items():
            threads = setting["threads"]
            env = {
                **os.environ,
                **setting["env"],
                "OMP_NUM_THREADS": threads,
                "MKL_NUM_THREADS": threads,
                "OPENBLAS_NUM_THREADS": threads,
                "BENCH_SEED": setting.get("seed", "0"),
            }
            path = Path(tmp) / f"{len(outputs)}.pt"
            subprocess.run(
                [sys.executable, __file__, "--steps", str(args.steps), "--child", str(path)],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            outputs[name] = torch.load(path, weights_only=False)
    reference = outputs.pop("reference (1 thread)")
    report = {"numpy_vs_torch_matmul (1 thread)": compare(reference["matmul"], reference["numpy_matmul"])}
    for name, out in outputs.items():
        for key in ("matmul", "numpy_matmul", "conv", *(k for k in reference if k.startswith("train_"))):
            report[f"{name}: {key}"] = compare(reference[key], out[key])
        for key in ("loss_fp32", "loss_bf16"):
            report[f"{name}: {key}"] = f"{reference[key].item():.6f} -> {out[key].item():.6f}"
    report["numpy BLAS"] = reference["blas"]
    from figures.figure1.readme import machine

    report["machine"] = machine()
    report["command"] = f"python tests/benchmarks/bench_reproducibility.py --steps {args.steps}"
    text = json.dumps(report, indent=1, ensure_ascii=False)
    print(text)
    args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
