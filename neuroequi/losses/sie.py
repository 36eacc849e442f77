"""SIE's loss (Garrido, Najman & LeCun, ICML 2023): split invariant-equivariant VICReg."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from neuroequi.losses._common import check_nonnegative, check_pair, gather, upcast
from neuroequi.losses.vicreg import _covariance_term, _variance_term

VICREG_EPS = 1e-4


def sie_loss(
    inv_a: Tensor,
    inv_b: Tensor,
    equi_a: Tensor,
    equi_b: Tensor,
    equi_pred: Tensor,
    sim_weight: float = 10.0,
    equi_factor: float = 0.45,
    var_weight: float = 10.0,
    cov_weight: float = 1.0,
    predictor_variance: bool = True,
) -> tuple[Tensor, dict[str, Tensor]]:
    """SIE's objective on the projections of two views ``a``, ``b`` of each image.

    With ``z = [inv ; equi]`` (both parts concatenated, so the covariance term also
    decorrelates the invariant from the equivariant part)::

        L = sim * MSE(inv_a, inv_b)                        invariance of the invariant part
          + equi_factor * sim * MSE(equi_pred, equi_b)     prediction of view b's equivariant part
          + var * (v(z_a) + v(z_b)) / 2                    variance hinge (unbiased, eps 1e-4)
          + var * v(equi_pred) / 2                         only with ``predictor_variance`` (SIE;
                                                           without it: SIE's ``SIENoVar``)
          + cov * (c(z_a) + c(z_b))                        squared off-diagonal covariance / dim

    ``v`` and ``c`` are VICReg's terms (:class:`~neuroequi.losses.VICRegLoss`), computed on
    the global batch; the two MSEs are means over the local batch, as in SIE's code.

    Shapes: ``inv_*: (N, Di)``, ``equi_*, equi_pred: (N, De)`` -> ``(scalar loss, terms)`` with
    the terms ``inv``, ``equi``, ``var``, ``cov`` and ``pred_var`` detached.
    """
    check_pair(inv_a, inv_b, "sie_loss invariant parts")
    check_pair(equi_a, equi_b, "sie_loss equivariant parts")
    check_pair(equi_pred, equi_b, "sie_loss prediction")
    if inv_a.shape[0] != equi_a.shape[0]:
        raise ValueError(f"sie_loss: parts have {inv_a.shape[0]} and {equi_a.shape[0]} rows")
    weights = {
        k: check_nonnegative(v, k)
        for k, v in (
            ("sim_weight", sim_weight),
            ("equi_factor", equi_factor),
            ("var_weight", var_weight),
            ("cov_weight", cov_weight),
        )
    }
    inv_a, inv_b, equi_a, equi_b, equi_pred = (upcast(t) for t in (inv_a, inv_b, equi_a, equi_b, equi_pred))
    invariance = F.mse_loss(inv_a, inv_b)
    equivariance = F.mse_loss(equi_pred, equi_b)
    z_a = gather(torch.cat((inv_a, equi_a), dim=1))
    z_b = gather(torch.cat((inv_b, equi_b), dim=1))
    if z_a.shape[0] < 2:
        raise ValueError(f"sie_loss needs a (global) batch of at least 2 rows, got {z_a.shape[0]}")
    variance = (_variance_term(z_a, VICREG_EPS) + _variance_term(z_b, VICREG_EPS)) / 2
    covariance = _covariance_term(z_a) + _covariance_term(z_b)
    pred_variance = _variance_term(gather(equi_pred), VICREG_EPS) / 2 if predictor_variance else equi_pred.new_zeros(())
    sim = weights["sim_weight"]
    loss = (
        sim * invariance
        + weights["equi_factor"] * sim * equivariance
        + weights["var_weight"] * variance
        + weights["var_weight"] * pred_variance
        + weights["cov_weight"] * covariance
    )
    terms = {"inv": invariance, "equi": equivariance, "var": variance, "cov": covariance, "pred_var": pred_variance}
    return loss, {k: v.detach() for k, v in terms.items()}


__all__ = ["sie_loss"]
