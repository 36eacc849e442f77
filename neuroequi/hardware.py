"""What the machine runs natively: reduced precision and the CPUs a run may use, checked at start.

``precision: auto`` (training, :mod:`neuroequi.train`) resolves to ``bf16`` only where bf16 is
computed natively, ``fp32`` otherwise:

* CUDA: :func:`torch.cuda.is_bf16_supported` (Ampere and later);
* CPU: a ``avx512_bf16`` or ``amx_bf16`` flag in ``/proc/cpuinfo`` (AMD Zen 4, Intel Cooper Lake,
  Sapphire Rapids and later). Elsewhere torch emulates bf16 autocast with conversions around fp32
  kernels, which is slower than fp32 (an AVX-512 Xeon without ``avx512_bf16``: 1.8x slower).

:func:`describe` is what run records write about the choice.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

#: CPU flags (``/proc/cpuinfo``) of native bf16 arithmetic.
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
CPUINFO = Path("/proc/cpuinfo")


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The ``flags`` of the first CPU in ``cpuinfo`` (empty where there is no such file: macOS, Windows)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags") and ":" in line:
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def native_bf16(device: str | torch.device, flags: frozenset[str] | None = None) -> bool:
    """True when ``device`` computes bf16 natively (see the module docstring); ``flags``: the CPU's (default: read)."""
    device = torch.device(device)
    if device.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if device.type != "cpu":
        return False
    return any(flag in (cpu_flags() if flags is None else flags) for flag in BF16_CPU_FLAGS)


def resolve_precision(precision: str, device: str | torch.device) -> str:
    """``auto`` -> ``bf16`` where :func:`native_bf16`, else ``fp32``; any other value unchanged."""
    if precision != "auto":
        return precision
    return "bf16" if native_bf16(device) else "fp32"


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one, else ``os.cpu_count()``)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def describe(device: str | torch.device = "cpu") -> dict[str, object]:
    """What a run record says about the machine's choice: CPU flags found, native bf16, CPUs usable."""
    flags = cpu_flags()
    return {
        "machine": platform.machine(),
        "bf16_flags": sorted(f for f in BF16_CPU_FLAGS if f in flags),
        "native_bf16": native_bf16(device, flags),
        "usable_cpus": usable_cpus(),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }
