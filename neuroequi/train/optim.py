"""Optimisers (LARS, SGD, AdamW) with bias/BN exclusion, and the warm-up + cosine schedule."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from neuroequi.errors import ConfigError


class LARS(torch.optim.Optimizer):
    """SGD with momentum and a layer-wise trust ratio (You, Gitman & Ginsburg, 2017).

    For a parameter ``w`` with gradient ``g`` in a group with ``lars=True``::

        g <- g + weight_decay * w
        g <- g * eta * ||w|| / ||g||        (when both norms are > 0)
        v <- momentum * v + g ;  w <- w - lr * v

    Groups with ``lars=False`` (biases and BN parameters, see :func:`param_groups`) do plain
    SGD with momentum and their own weight decay (0 by default), as in Barlow Twins and BYOL.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict],
        lr: float,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        eta: float = 0.001,
    ) -> None:
        if lr < 0 or not 0 <= momentum < 1 or weight_decay < 0 or eta <= 0:
            raise ConfigError(
                f"LARS needs lr >= 0, 0 <= momentum < 1, weight_decay >= 0, eta > 0; got {lr}, {momentum}, {weight_decay}, {eta}"
            )
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, eta=eta, lars=True))

    @torch.no_grad()
    def step(self, closure=None):  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if group["weight_decay"]:
                    g = g.add(p, alpha=group["weight_decay"])
                if group["lars"]:
                    w_norm, g_norm = torch.linalg.vector_norm(p), torch.linalg.vector_norm(g)
                    ok = (w_norm > 0) & (g_norm > 0)
                    trust = torch.where(ok, group["eta"] * w_norm / g_norm.clamp_min(1e-30), torch.ones_like(w_norm))
                    g = g * trust
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.clone(g).detach()
                else:
                    state["momentum_buffer"].mul_(group["momentum"]).add_(g)
                p.add_(state["momentum_buffer"], alpha=-group["lr"])
        return loss


def param_groups(model: nn.Module, weight_decay: float, exclude_bias_bn: bool = True) -> list[dict]:
    """Two groups: weights (decay, LARS adaptation) and 1-D parameters (biases, BN affine:
    no decay, no adaptation) when ``exclude_bias_bn``; one group otherwise."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not exclude_bias_bn:
        return [{"params": params, "weight_decay": weight_decay}]
    return [
        {"params": [p for p in params if p.ndim > 1], "weight_decay": weight_decay},
        {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0, "lars": False},
    ]


def build_optimizer(
    name: str,
    model: nn.Module,
    lr: float,
    weight_decay: float,
    momentum: float = 0.9,
    betas: tuple[float, float] = (0.9, 0.999),
    eta: float = 0.001,
    exclude_bias_bn: bool = True,
) -> torch.optim.Optimizer:
    """``lars`` / ``sgd`` / ``adamw`` over :func:`param_groups` of ``model``."""
    groups = param_groups(model, weight_decay, exclude_bias_bn)
    if name == "lars":
        return LARS(groups, lr=lr, momentum=momentum, weight_decay=weight_decay, eta=eta)
    for group in groups:
        group.pop("lars", None)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr, betas=betas, weight_decay=weight_decay)
    raise ConfigError(f"optim.name: unknown optimizer {name!r}; choose 'lars', 'sgd' or 'adamw'")


def warmup_cosine(step: int, total_steps: int, warmup_steps: int, final_ratio: float = 0.0) -> float:
    """Learning-rate factor: linear from ``1/warmup_steps`` to 1 over ``warmup_steps`` steps,
    then half a cosine from 1 to ``final_ratio`` at ``total_steps``."""
    if total_steps < 1 or not 0 <= warmup_steps <= total_steps or not 0 <= final_ratio <= 1:
        raise ValueError(
            f"need total_steps >= 1, 0 <= warmup_steps <= total_steps, 0 <= final_ratio <= 1; "
            f"got {total_steps}, {warmup_steps}, {final_ratio}"
        )
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min((step - warmup_steps) / max(total_steps - warmup_steps, 1), 1.0)
    return final_ratio + (1 - final_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def build_scheduler(
    optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int, final_ratio: float = 0.0
) -> LambdaLR:
    """Per-step :func:`warmup_cosine` schedule (call ``scheduler.step()`` after every optimiser step)."""
    warmup_cosine(0, total_steps, warmup_steps, final_ratio)  # validate now, not at the first step
    return LambdaLR(optimizer, lambda step: warmup_cosine(step, total_steps, warmup_steps, final_ratio))
