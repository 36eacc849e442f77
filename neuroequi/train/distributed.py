"""Process groups under torchrun, batch norm over the global batch, DDP wrapping."""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from neuroequi.errors import ConfigError
from neuroequi.losses import gather, upcast


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits: global ``rank``/``world_size``, ``local_rank`` on its node, device."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, str(default))
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"environment variable {name} must be an integer, got {value!r}") from None


def setup(device: str = "auto") -> DistInfo:
    """Initialise torch.distributed from torchrun's environment (``RANK``, ``WORLD_SIZE``,
    ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``) when ``WORLD_SIZE > 1``; NCCL on CUDA,
    gloo on CPU. Single-node and multi-node runs are the same to this function.

    Args:
        device: "auto" (CUDA if available), "cpu" or "cuda".
    """
    if device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    use_cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
    if use_cuda and not torch.cuda.is_available():
        raise ConfigError("config: device 'cuda' requested but CUDA is not available")
    world_size, rank, local_rank = _env_int("WORLD_SIZE", 1), _env_int("RANK", 0), _env_int("LOCAL_RANK", 0)
    if use_cuda:
        torch.cuda.set_device(local_rank)
        dev = torch.device("cuda", local_rank)
    else:
        dev = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo", rank=rank, world_size=world_size)
    return DistInfo(rank, world_size, local_rank, dev)


def teardown() -> None:
    """Destroy the process group if this process created one.

    Unreachable DDP wrappers are collected first: a DDP reducer destroyed after its process group
    can hang in its destructor (seen under torchrun on gloo, about one run in seven).
    """
    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.destroy_process_group()


def barrier() -> None:
    """Wait for every rank (no-op in a single process)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


class GlobalBatchNorm(_BatchNorm):
    """BatchNorm whose training statistics are those of the global batch across ranks.

    Works on CPU (gloo) and CUDA: every rank's per-channel count, mean and sum of squared
    deviations are gathered with an autograd-aware all-gather and combined exactly (Chan et
    al.), so forward values and gradients equal those of one process on the whole batch.
    Without a process group (or in eval mode) it is ordinary BatchNorm. Parameter and buffer
    names are BatchNorm's, so state dicts stay torchvision-compatible.
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2-D input (N, C, ...), got {input.dim()}-D")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        if not (self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(input)
        dims = [0, *range(2, input.dim())]
        shape = [1, -1] + [1] * (input.dim() - 2)
        x = upcast(input)
        count = torch.full((1,), input.numel() / input.shape[1], dtype=x.dtype, device=x.device)
        mean = x.mean(dims)
        m2 = (x - mean.view(shape)).pow(2).sum(dims)
        stats = gather(torch.cat([count, mean, m2])[None])  # (W, 1 + 2C)
        c = input.shape[1]
        counts, means, m2s = stats[:, :1], stats[:, 1 : 1 + c], stats[:, 1 + c :]
        total = counts.sum()
        g_mean = (counts * means).sum(0) / total
        g_var = (m2s + counts * (means - g_mean).pow(2)).sum(0) / total
        if self.track_running_stats and self.running_mean is not None and self.running_var is not None:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                unbiased = g_var * total / max(float(total) - 1, 1.0)
                self.running_mean.lerp_(g_mean.to(self.running_mean.dtype), momentum)
                self.running_var.lerp_(unbiased.to(self.running_var.dtype), momentum)
        y = (x - g_mean.view(shape)) * torch.rsqrt(g_var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y.to(input.dtype)


def convert_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every BatchNorm1d/2d/3d in ``module`` by :class:`GlobalBatchNorm` (same state), in place."""
    for name, child in module.named_children():
        if isinstance(child, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
            new = GlobalBatchNorm(
                child.num_features, child.eps, child.momentum, child.affine, child.track_running_stats
            )
            reference = next(iter([*child.parameters(), *child.buffers()]), None)
            if reference is not None and reference.is_floating_point():
                new.to(reference.device, reference.dtype)
            new.load_state_dict(child.state_dict())
            new.train(child.training)
            setattr(module, name, new)
        else:
            convert_batchnorm(child)
    return module


def wrap_ddp(model: nn.Module, info: DistInfo) -> nn.Module:
    """Global-batch BN everywhere, then DDP when ``world_size > 1`` (the model itself otherwise)."""
    convert_batchnorm(model)
    if info.world_size == 1:
        return model
    device_ids = [info.local_rank] if info.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=device_ids, broadcast_buffers=False)


def all_reduce_mean(value: Tensor) -> Tensor:
    """Mean of a tensor over ranks (for logging; no autograd)."""
    if not (dist.is_available() and dist.is_initialized()):
        return value
    value = value.detach().clone()
    dist.all_reduce(value)
    return value / dist.get_world_size()
