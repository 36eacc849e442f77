"""DDP on CPU (gloo, 2 processes) gives the gradients of one process on the same global batch."""

from __future__ import annotations

from pathlib import Path

import neuroequi  # noqa: F401
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from neuroequi.augment import AugParams, get_policy
from neuroequi.methods import Batch
from neuroequi.train import build_model, config_from_dict
from neuroequi.train.distributed import DistInfo, wrap_ddp

WORLD = 2
LOCAL = 4  # images per rank; TeSSL: LOCAL/2 matched pairs per rank

CASES = {
    "tessl_barlow": {"name": "barlow_twins", "options": {"projector": [32, 16]}, "equivariance": "tessl", "lam": 0.4},
    "equimod_simclr": {
        "name": "simclr",
        "options": {"projector": [32, 16], "temperature": 0.5},
        "equivariance": "equimod",
        "lam": 1.0,
        "equimod": {"projector": [32, 32, 16], "aug_dim": 8, "encoder_samples": 1000},
    },
}


def _model(case: str) -> torch.nn.Module:
    config = config_from_dict(
        {"model": {"arch": "resnet18_cifar", "width": 0.0625}, "data": {"size": 16}, "method": CASES[case]}
    )
    torch.manual_seed(0)
    return build_model(config).double()


def _global_batch(case: str) -> tuple[Batch, list[Batch]]:
    """The single-process batch and the per-rank local batches that make it up."""
    g = torch.Generator().manual_seed(1)
    n = WORLD * LOCAL
    views = (
        torch.rand(n, 3, 16, 16, generator=g, dtype=torch.float64),
        torch.rand(n, 3, 16, 16, generator=g, dtype=torch.float64),
    )
    clean = torch.rand(n, 3, 16, 16, generator=g, dtype=torch.float64)
    params = tuple(get_policy("cifar", size=16).sample(n, g) for _ in range(2))
    if case.startswith("tessl"):
        # single process: halves [X1; X2]; rank r: [X1 rows of r; X2 rows of r]
        h, lh = n // 2, LOCAL // 2
        rows = [
            torch.cat([torch.arange(r * lh, (r + 1) * lh), h + torch.arange(r * lh, (r + 1) * lh)])
            for r in range(WORLD)
        ]
    else:
        rows = [torch.arange(r * LOCAL, (r + 1) * LOCAL) for r in range(WORLD)]

    def take(idx: torch.Tensor) -> Batch:
        sub = tuple(AugParams(p.values[idx], p.columns) for p in params)
        return Batch(tuple(v[idx] for v in views), sub, clean[idx], torch.zeros(len(idx), dtype=torch.long))

    return take(torch.arange(n)), [take(r) for r in rows]


def _grads(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: p.grad.detach().clone() for k, p in model.named_parameters() if p.grad is not None}


def _worker(rank: int, store: str, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=WORLD)
    try:
        result = {}
        for case in CASES:
            model = _model(case)
            ddp = wrap_ddp(model, DistInfo(rank, WORLD, 0, torch.device("cpu")))
            _, local = _global_batch(case)
            loss = ddp(local[rank]).loss
            loss.backward()
            result[case] = {"loss": loss.detach(), "grads": _grads(model)}
            del ddp, loss  # a DDP reducer must not outlive the process group: its destructor can hang
        torch.save(result, f"{out}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_process_gradients_equal_one_process(tmp_path: Path) -> None:
    mp.start_processes(_worker, args=(str(tmp_path / "store"), str(tmp_path)), nprocs=WORLD, start_method="spawn")
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]
    for case in CASES:
        model = _model(case)
        full, _ = _global_batch(case)
        loss = model(full).loss
        loss.backward()
        expected = _grads(model)
        for rank in ranks:
            got = rank[case]
            torch.testing.assert_close(got["loss"], loss.detach(), rtol=1e-9, atol=1e-9)
            assert set(got["grads"]) == set(expected), case
            for key, grad in expected.items():
                torch.testing.assert_close(got["grads"][key], grad, rtol=1e-6, atol=1e-6, msg=f"{case}: {key}")
