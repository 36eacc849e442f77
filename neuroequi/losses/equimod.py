"""EquiMod's equivariance loss (Devillers & Lefort, ICLR 2023): NT-Xent between the embedding of
an augmented view and the prediction of it from the clean image and the augmentation."""

from __future__ import annotations

import torch
from torch import Tensor

from neuroequi.losses._common import check_pair, check_positive, gather
from neuroequi.losses.simclr import masked_info_nce

NEGATIVES: tuple[str, ...] = ("released", "strict")
"""Which candidates are negatives: ``released`` every other row (the released code masks only
each row against itself); ``strict`` also leaves out the other view of the same image."""


def equimod_targets(m: int, device: torch.device | str = "cpu", negatives: str = "released") -> tuple[Tensor, Tensor]:
    """Positives and exclusions over the 4M candidates ``[y_a; y_b; yhat_a; yhat_b]``.

    Row ``r`` is view ``v`` of image ``i`` (``k = r mod 2M``, ``i = k mod M``); its positive is
    the matching prediction/target ``(r + 2M) mod 4M``; excluded from the denominator is ``r``
    itself and, with ``negatives="strict"``, both embeddings (target and prediction) of the
    *other* view of image ``i``.

    Returns ``positive (4M,)`` long and ``exclude (4M, 4M)`` bool.
    """
    if negatives not in NEGATIVES:
        raise ValueError(f"EquiMod negatives must be one of {NEGATIVES}, got {negatives!r}")
    rows = torch.arange(4 * m, device=device)
    positive = (rows + 2 * m) % (4 * m)
    exclude = torch.zeros(4 * m, 4 * m, dtype=torch.bool, device=device)
    exclude[rows, rows] = True
    if negatives == "strict":
        other = (rows % (2 * m) + m) % (2 * m)
        exclude[rows, other] = True
        exclude[rows, other + 2 * m] = True
    return positive, exclude


def equimod_loss(
    y_a: Tensor, y_b: Tensor, yhat_a: Tensor, yhat_b: Tensor, temperature: float = 0.2, negatives: str = "released"
) -> Tensor:
    """Mean NT-Xent over the 4M anchors ``[y_a; y_b; yhat_a; yhat_b]`` of the global batch.

    Args:
        y_a, y_b: ``(N, K)`` equivariant embeddings ``g'(h(t(x)))`` of views a and b.
        yhat_a, yhat_b: ``(N, K)`` predictions ``u_psi(g'(h(x)), t)`` of them from the clean image.
        temperature: tau' (EquiMod: 0.2).
        negatives: ``"released"``: every other embedding of the batch is a negative, as in the
            released code (``src/loss.py``: only the diagonal is masked); ``"strict"``: the
            targets and predictions of the other view of the same image are left out too.

    Each embedding's positive is its counterpart (target <-> prediction); see
    :func:`equimod_targets`. Gathered across ranks (autograd-aware).
    """
    check_pair(y_a, y_b, "equimod_loss")
    check_pair(yhat_a, yhat_b, "equimod_loss")
    check_pair(y_a, yhat_a, "equimod_loss")
    check_positive(temperature, "temperature")
    z = torch.cat([gather(y_a), gather(y_b), gather(yhat_a), gather(yhat_b)], dim=0)
    m = z.shape[0] // 4
    if m < 2:
        raise ValueError(f"equimod_loss needs a (global) batch of at least 2 images to have negatives, got {m}")
    positive, exclude = equimod_targets(m, z.device, negatives)
    return masked_info_nce(z, z, positive, exclude, temperature)
