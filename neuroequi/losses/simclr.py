"""NT-Xent / InfoNCE losses: SimCLR (Chen et al., 2020) and the masked form EquiMod needs."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuroequi.losses._common import check_positive, gathered_pair, upcast


def masked_info_nce(
    anchors: Tensor, candidates: Tensor, positive: Tensor, exclude: Tensor, temperature: float
) -> Tensor:
    """Mean InfoNCE over anchors with cosine similarity and explicit positives/exclusions.

    ``loss_r = -log( exp(s_{r,p(r)}/T) / sum_{k not excluded} exp(s_{r,k}/T) )`` where
    ``s = cos(anchors_r, candidates_k)`` and the positive is always in the denominator.

    Args:
        anchors: (R, D).
        candidates: (K, D).
        positive: (R,) long, index of each anchor's positive among the candidates.
        exclude: (R, K) bool, True where a candidate is left out of the denominator
            (e.g. the anchor itself). Must be False at the positive.
        temperature: T > 0.
    """
    a = F.normalize(upcast(anchors), dim=1)
    c = F.normalize(upcast(candidates), dim=1)
    logits = (a @ c.T) / temperature
    logits = logits.masked_fill(exclude, float("-inf"))
    return F.cross_entropy(logits, positive)


class NTXentLoss(nn.Module):
    """SimCLR's NT-Xent over the 2M embeddings of a global batch of M images.

    Every embedding is an anchor; its positive is the other view of the same image and
    the 2M - 2 embeddings of the other images are its negatives.

    Shapes: ``z_a, z_b: (N, D)`` rows are paired views -> scalar (mean over the 2M anchors).
    """

    def __init__(self, temperature: float = 0.1) -> None:
        super().__init__()
        self.temperature = check_positive(temperature, "temperature")

    def forward(self, z_a: Tensor, z_b: Tensor) -> Tensor:
        z = torch.cat(gathered_pair(z_a, z_b, "NTXentLoss (negatives)", min_rows=2), dim=0)
        m = z.shape[0] // 2
        rows = torch.arange(2 * m, device=z.device)
        positive = (rows + m) % (2 * m)
        exclude = torch.eye(2 * m, dtype=torch.bool, device=z.device)
        return masked_info_nce(z, z, positive, exclude, self.temperature)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"
