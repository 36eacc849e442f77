"""A training run killed part-way (SIGKILL) and resumed ends with the uninterrupted run's weights."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import neuroequi  # noqa: F401
import pytest
import torch
import yaml

from neuroequi.checkpoint import load_checkpoint
from neuroequi.train import config_from_dict, train


def _config(tmp_path: Path, name: str) -> dict:
    return {
        "name": name,
        "output_dir": str(tmp_path),
        "seed": 3,
        "epochs": 4,
        "batch_size": 32,
        "device": "cpu",
        "threads": 1,
        "checkpoint_every": 2,
        "data": {"dataset": "cifar10", "subset": 256, "cache_dir": str(tmp_path / "cache")},
        "model": {"arch": "resnet18_cifar", "width": 0.0625},
        "method": {"name": "barlow_twins", "options": {"projector": [64, 64]}, "equivariance": "tessl", "lam": 0.3},
        "optim": {"name": "lars", "lr": 0.3, "warmup_epochs": 1.0},
        "monitor": {"knn": False, "log_every": 1, "progress": False},
    }


def _logged_steps(run: Path) -> int:
    log = run / "log.csv"
    return max(len(log.read_text().splitlines()) - 1, 0) if log.is_file() else 0


@pytest.mark.slow
def test_killed_and_resumed_run_matches_uninterrupted(tmp_path: Path) -> None:
    reference = load_checkpoint(train(config_from_dict(_config(tmp_path, "straight"))))

    cfg = tmp_path / "killed.yaml"
    cfg.write_text(yaml.safe_dump(_config(tmp_path, "killed")))
    run = tmp_path / "killed"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "neuroequi.train", "--config", str(cfg)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 300
        while _logged_steps(run) < 7 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, err.decode()[-2000:]
    assert not (run / "checkpoints" / "final.pt").exists()
    partial = load_checkpoint(run / "checkpoints" / "last.pt")["meta"]["step"]
    assert 2 <= partial < 32

    resumed = load_checkpoint(train(config_from_dict(_config(tmp_path, "killed")), resume=True))
    assert resumed["meta"]["step"] == reference["meta"]["step"] == 32
    for part in ("model", "backbone", "probe"):
        assert list(resumed[part]) == list(reference[part])
        for key, value in reference[part].items():
            assert torch.equal(resumed[part][key], value), f"{part}.{key}"
    assert [p.name for p in (run / "checkpoints").iterdir() if p.name.endswith(".tmp")] == []
