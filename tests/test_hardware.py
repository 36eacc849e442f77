"""precision: auto — bf16 only where the device computes it natively (mocked CPUs of both kinds)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from neuroequi import hardware

# /proc/cpuinfo excerpts: an AMD EPYC (Zen 4, native bf16) and an AVX-512 Intel Xeon without avx512_bf16
# (Skylake/Cascade Lake), the two kinds of the pool the offline preset runs on.
EPYC = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse avx2 avx512f avx512bw avx512_vnni avx512_bf16\n"
XEON = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R)\nflags\t\t: fpu sse avx2 avx512f avx512bw avx512_vnni\n"
SAPPHIRE = "processor\t: 0\nflags\t\t: fpu avx512f amx_tile amx_bf16 amx_int8\n"


def cpuinfo(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cpuinfo"
    path.write_text(text)
    monkeypatch.setattr(hardware, "CPUINFO", path)
    monkeypatch.setattr(hardware.cpu_flags, "__defaults__", (path,))


@pytest.mark.parametrize(("text", "expected"), [(EPYC, "bf16"), (SAPPHIRE, "bf16"), (XEON, "fp32"), ("", "fp32")])
def test_auto_precision_follows_the_cpu_flags(tmp_path, monkeypatch, text, expected):
    cpuinfo(tmp_path, text, monkeypatch)
    assert hardware.resolve_precision("auto", "cpu") == expected
    assert hardware.describe("cpu")["native_bf16"] is (expected == "bf16")
    for fixed in ("fp32", "bf16"):  # an explicit choice is never overridden
        assert hardware.resolve_precision(fixed, "cpu") == fixed


def test_missing_cpuinfo_means_no_native_bf16(tmp_path, monkeypatch):
    cpuinfo(tmp_path, EPYC, monkeypatch)
    (tmp_path / "cpuinfo").unlink()
    assert hardware.cpu_flags() == frozenset()
    assert hardware.resolve_precision("auto", "cpu") == "fp32"


@pytest.mark.parametrize("supported", [True, False])
def test_auto_precision_on_cuda_asks_torch(monkeypatch, supported):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: supported)
    assert hardware.resolve_precision("auto", "cuda") == ("bf16" if supported else "fp32")


@pytest.mark.parametrize(("text", "expected"), [(EPYC, "bf16"), (XEON, "fp32")])
def test_training_run_records_the_resolved_precision(tmp_path, monkeypatch, text, expected):
    """A tiny CPU run with precision: auto writes the choice in config.yaml and in the checkpoint."""
    from neuroequi.checkpoint import load_checkpoint
    from neuroequi.train import config_from_dict, load_config, train

    cpuinfo(tmp_path, text, monkeypatch)
    images = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    from neuroequi.train import loop
    from neuroequi.train.data import TensorImages

    monkeypatch.setattr(loop, "load_sources", lambda c: (TensorImages(images, torch.arange(16) % 10, 10), None))
    config = config_from_dict(
        {
            "name": "auto",
            "output_dir": str(tmp_path / "runs"),
            "batch_size": 8,
            "max_steps": 1,
            "precision": "auto",
            "device": "cpu",
            "threads": 1,
            "model": {"arch": "resnet18_cifar", "width": 0.0625},
            "method": {"name": "barlow_twins", "options": {"projector": [32, 32]}},
            "monitor": {"knn": False, "probe": False, "progress": False},
        }
    )
    final = train(config)
    assert load_config(final.parent.parent / "config.yaml").precision == expected
    meta = load_checkpoint(final)["meta"]
    assert meta["config"]["precision"] == expected
    assert meta["hardware"]["native_bf16"] is (expected == "bf16")
