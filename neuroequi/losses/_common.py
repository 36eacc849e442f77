"""Shared helpers of the losses: argument checks, float32 upcast, autograd-aware gather."""

from __future__ import annotations

import warnings

import torch
import torch.distributed as dist
from torch import Tensor

from neuroequi.errors import ConfigError


def world_size() -> int:
    """Number of processes in the default group (1 when torch.distributed is not initialised)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def gather(x: Tensor) -> Tensor:
    """Concatenate ``x`` (N, ...) from every rank along dim 0 -> (world*N, ...), rank order.

    Uses ``torch.distributed.nn.functional.all_gather``, whose backward sums the incoming
    gradients over ranks, so a loss computed on the gathered batch by every rank and
    averaged by DDP has exactly the single-process gradient. Identity without a process group.
    """
    if world_size() == 1:
        return x
    from torch.distributed.nn.functional import all_gather

    with warnings.catch_warnings():  # torch 2.13 flags it deprecated; it is the autograd-aware gather
        warnings.simplefilter("ignore", FutureWarning)
        return torch.cat(all_gather(x), dim=0)


def upcast(x: Tensor) -> Tensor:
    """Half/bfloat16 -> float32 (losses are computed in at least float32); other dtypes unchanged."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def check_pair(a: Tensor, b: Tensor, name: str) -> None:
    """Raise ValueError unless ``a`` and ``b`` are 2-D float tensors of the same shape (N, D)."""
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(
            f"{name} expects two (N, D) tensors of the same shape, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    if not (a.is_floating_point() and b.is_floating_point()):
        raise ValueError(f"{name} expects floating-point embeddings, got {a.dtype} and {b.dtype}")


def gathered_pair(z_a: Tensor, z_b: Tensor, name: str, min_rows: int) -> tuple[Tensor, Tensor]:
    """Validate a pair of (N, D) embeddings, upcast to >= float32 and gather the global batch.

    Raises ValueError (naming ``name``) when the global batch has fewer than ``min_rows`` rows.
    """
    check_pair(z_a, z_b, name)
    z_a, z_b = gather(upcast(z_a)), gather(upcast(z_b))
    if z_a.shape[0] < min_rows:
        raise ValueError(f"{name} needs a (global) batch of at least {min_rows} rows, got {z_a.shape[0]}")
    return z_a, z_b


def check_positive(value: float, name: str) -> float:
    """Return ``value`` as float; raise ConfigError (a ValueError) unless it is finite and > 0."""
    value = float(value)
    if not (value > 0 and value < float("inf")):
        raise ConfigError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def check_nonnegative(value: float, name: str) -> float:
    """Return ``value`` as float; raise ConfigError (a ValueError) unless it is finite and >= 0."""
    value = float(value)
    if not (value >= 0 and value < float("inf")):
        raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def off_diagonal(m: Tensor) -> Tensor:
    """The off-diagonal entries of a square matrix (D, D) as a flat vector (D*(D-1),)."""
    d = m.shape[0]
    return m.flatten()[:-1].view(d - 1, d + 1)[:, 1:].flatten()
