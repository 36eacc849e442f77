"""H-SSL under ``torchrun --nproc_per_node=2`` on CPU (gloo): DDP gives the loss and gradients of one
process on the same global batch (global-batch BatchNorm, gathered NT-Xent; the group elements of
each image are the ones the single process draws for it).

Run by the test below; the same file is the script every torchrun rank executes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import neuroequi  # noqa: F401  (must precede torchvision)
from neuroequi.train import build_model, config_from_dict

WORLD = 2
LOCAL = 4  # images per rank
SIZE = 16
CASES = {
    "scale": {"arch": "sesn", "options": {"group": "scale", "scale_base": 2, "scale_distance": 2}},
    "rotation": {"arch": "p4cnn", "options": {"group": "rotation", "rotation_distance": 1}},
}


def _objective(case: str) -> torch.nn.Module:
    """The H-SSL objective of ``case`` (float64, seeded init)."""
    spec = CASES[case]
    options = {**spec["options"], "grid_base": 2, "grid_distance": 1, "projector": [16, 8]}
    config = config_from_dict(
        {
            "model": {"arch": spec["arch"], "width": 0.25},
            "data": {"size": SIZE},
            "method": {"name": "hssl", "options": options},
        }
    )
    torch.manual_seed(0)
    return build_model(config).objective.double()


def _global_inputs(objective: torch.nn.Module) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, ...]]:
    """Two views of the global batch and the draws (g1, g2, base) for its rows."""
    g = torch.Generator().manual_seed(1)
    n = WORLD * LOCAL
    views = tuple(torch.rand(n, 3, SIZE, SIZE, generator=g, dtype=torch.float64) for _ in range(2))
    return views, objective.sample(n, g)  # type: ignore[return-value]


def _grads(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: p.grad.detach().clone() for k, p in model.named_parameters() if p.grad is not None}


def _rank_main(out: str) -> None:
    """One torchrun rank: DDP loss and gradients on this rank's rows, saved to ``out/rank<r>.pt``.

    The process group is the one ``neuroequi train`` makes: ``setup`` reads torchrun's environment and
    meets at the free port ``--standalone`` chose (a FileStore under torchrun could hang in teardown).
    """
    from neuroequi.train.distributed import setup, teardown, wrap_ddp

    torch.set_num_threads(1)
    info = setup("cpu")
    try:
        rows = slice(info.rank * LOCAL, (info.rank + 1) * LOCAL)
        result = {}
        for case in CASES:
            objective = _objective(case)
            views, draws = _global_inputs(objective)
            ddp = wrap_ddp(objective, info)
            loss = ddp(tuple(v[rows] for v in views), draws=tuple(d[rows] for d in draws))
            loss.backward()
            result[case] = {"loss": loss.detach(), "grads": _grads(objective)}
            del ddp, loss  # a DDP reducer must not outlive the process group: its destructor can hang
        torch.save(result, Path(out) / f"rank{info.rank}.pt")
    finally:
        teardown()


@pytest.mark.slow
def test_torchrun_two_processes_give_the_single_process_gradients(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={WORLD}",
        __file__,
        str(tmp_path),
    ]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240, check=False)
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"torchrun did not finish in 240 s; stdout: {err.stdout!r}; stderr: {err.stderr!r}")
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]
    for case in CASES:
        objective = _objective(case)
        views, draws = _global_inputs(objective)
        loss = objective(views, draws=draws)
        loss.backward()
        expected = _grads(objective)
        assert len(expected) == len(list(objective.parameters()))
        for rank in ranks:
            got = rank[case]
            torch.testing.assert_close(got["loss"], loss.detach(), rtol=1e-9, atol=1e-9)
            assert set(got["grads"]) == set(expected), case
            for key, grad in expected.items():
                torch.testing.assert_close(got["grads"][key], grad, rtol=1e-6, atol=1e-9, msg=f"{case}: {key}")


if __name__ == "__main__":
    _rank_main(sys.argv[1])
