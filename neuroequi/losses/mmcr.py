"""Maximum Manifold Capacity Representations loss (Yerxa et al., 2023), with or without the
momentum branch CE-SSL trains with."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuroequi.losses._common import check_nonnegative, check_pair, gather, upcast


class MMCRLoss(nn.Module):
    """``L = -||C||_* + lambda_local * sum_i ||Z_i||_* / M`` over any number V >= 2 of views.

    Embeddings are projected to the unit sphere; ``Z_i`` (D, V) holds the V views of image i,
    ``C`` (M, D) the per-image centroids (the mean of the V views) over the global batch of M
    images, ``||.||_*`` the nuclear norm. ``lambda_local = 0`` (the default) is the form CE-SSL
    trains on ImageNet.

    With a momentum encoder (CE-SSL, ``loss_mmcr_momentum.py``) the views are
    ``(z_a, z_b, t_a, t_b)``: the two online embeddings and the momentum encoder's embeddings
    of the same two views, all four averaged into the centroid. Pass the momentum embeddings
    detached (the momentum branch gets no gradient); with the momentum encoder equal to the
    online one, the value equals the two-view loss and the gradient is half of it.

    Shapes: ``*views: (N, D)`` each, paired rows -> scalar.
    """

    def __init__(self, lambda_local: float = 0.0) -> None:
        super().__init__()
        self.lambda_local = check_nonnegative(lambda_local, "lambda_local")

    def forward(self, *views: Tensor) -> Tensor:
        if len(views) < 2:
            raise ValueError(f"MMCRLoss needs at least two views, got {len(views)}")
        for view in views[1:]:
            check_pair(views[0], view, "MMCRLoss")
        z = torch.stack([gather(F.normalize(upcast(v), dim=1)) for v in views], dim=-1)  # (M, D, V)
        if z.shape[0] < 1:
            raise ValueError("MMCRLoss got an empty batch")
        loss = -torch.linalg.svdvals(z.mean(dim=-1)).sum()
        if self.lambda_local > 0:
            loss = loss + self.lambda_local * torch.linalg.svdvals(z).sum() / z.shape[0]
        return loss

    def extra_repr(self) -> str:
        return f"lambda_local={self.lambda_local}"
