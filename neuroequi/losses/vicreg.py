"""VICReg variance-invariance-covariance loss (Bardes, Ponce & LeCun, 2022)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuroequi.losses._common import check_nonnegative, check_positive, gathered_pair, off_diagonal


def _variance_term(z: Tensor, eps: float) -> Tensor:
    """``mean_d relu(1 - sqrt(var_d + eps))`` with the unbiased variance over the batch."""
    return F.relu(1 - torch.sqrt(z.var(dim=0) + eps)).mean()


def _covariance_term(z: Tensor) -> Tensor:
    """``sum_{i != j} Cov_ij^2 / D`` with the unbiased covariance over the batch."""
    zc = z - z.mean(dim=0)
    cov = zc.T @ zc / (z.shape[0] - 1)
    return off_diagonal(cov).pow(2).sum() / z.shape[1]


class VICRegLoss(nn.Module):
    """``L = sim * MSE(z_a, z_b) + var * (v(z_a) + v(z_b)) / 2 + cov * (c(z_a) + c(z_b))``.

    ``MSE`` is the mean squared difference over all entries, ``v`` the hinge on the
    per-feature standard deviation, ``c`` the squared off-diagonal covariance over D;
    statistics over the global batch. Defaults are the paper's (25, 25, 1, eps 1e-4).

    Shapes: ``z_a, z_b: (N, D)`` -> scalar.
    """

    def __init__(
        self, sim_weight: float = 25.0, var_weight: float = 25.0, cov_weight: float = 1.0, eps: float = 1e-4
    ) -> None:
        super().__init__()
        self.sim_weight = check_nonnegative(sim_weight, "sim_weight")
        self.var_weight = check_nonnegative(var_weight, "var_weight")
        self.cov_weight = check_nonnegative(cov_weight, "cov_weight")
        self.eps = check_positive(eps, "eps")

    def forward(self, z_a: Tensor, z_b: Tensor) -> Tensor:
        z_a, z_b = gathered_pair(z_a, z_b, "VICRegLoss", min_rows=2)
        invariance = F.mse_loss(z_a, z_b)
        variance = (_variance_term(z_a, self.eps) + _variance_term(z_b, self.eps)) / 2
        covariance = _covariance_term(z_a) + _covariance_term(z_b)
        return self.sim_weight * invariance + self.var_weight * variance + self.cov_weight * covariance

    def extra_repr(self) -> str:
        return f"sim_weight={self.sim_weight}, var_weight={self.var_weight}, cov_weight={self.cov_weight}"
