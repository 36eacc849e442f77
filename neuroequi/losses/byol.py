"""BYOL's regression loss and momentum schedule (Grill et al., 2020)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuroequi.losses._common import check_pair, upcast


def normalized_mse(p: Tensor, t: Tensor) -> Tensor:
    """``mean_i || p_i/|p_i| - t_i/|t_i| ||^2 = mean_i (2 - 2 cos(p_i, t_i))``; ``p, t: (N, D) -> scalar``.

    The target ``t`` is detached (no gradient flows into the target branch).
    """
    check_pair(p, t, "normalized_mse")
    p, t = F.normalize(upcast(p), dim=1), F.normalize(upcast(t.detach()), dim=1)
    return (2 - 2 * (p * t).sum(dim=1)).mean()


class BYOLLoss(nn.Module):
    """Symmetrised BYOL loss ``nmse(q_a, t_b) + nmse(q_b, t_a)``.

    Shapes: ``a, b: (N, 2, D)``, one per view; ``[:, 0]`` is the online prediction
    ``q(g(h(x)))``, ``[:, 1]`` the target projection ``g_xi(h_xi(x))`` (detached here).
    Per-sample, so no gathering is needed under DDP.
    """

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        if a.ndim != 3 or a.shape[1] != 2 or a.shape != b.shape:
            raise ValueError(
                f"BYOLLoss expects two (N, 2, D) tensors of the same shape, got {tuple(a.shape)} and {tuple(b.shape)}"
            )
        if a.shape[0] < 1:
            raise ValueError("BYOLLoss got an empty batch")
        return normalized_mse(a[:, 0], b[:, 1]) + normalized_mse(b[:, 0], a[:, 1])


def cosine_momentum(step: int, total_steps: int, base: float = 0.996, final: float = 1.0) -> float:
    """BYOL's target momentum ``tau_k = final - (final - base) * (cos(pi k / K) + 1) / 2``.

    Goes from ``base`` at step 0 to ``final`` at ``total_steps``.
    """
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}")
    if not 0 <= step <= total_steps:
        raise ValueError(f"step must be in [0, {total_steps}], got {step}")
    if not 0 <= base <= final <= 1:
        raise ValueError(f"need 0 <= base <= final <= 1, got base={base}, final={final}")
    return final - (final - base) * (math.cos(math.pi * step / total_steps) + 1) / 2


@torch.no_grad()
def ema_update(target: nn.Module, online: nn.Module, tau: float) -> None:
    """``target <- tau * target + (1 - tau) * online`` for parameters; buffers are copied."""
    for t, o in zip(target.parameters(), online.parameters(), strict=True):
        t.lerp_(o.detach(), 1 - tau)
    for t, o in zip(target.buffers(), online.buffers(), strict=True):
        t.copy_(o)
