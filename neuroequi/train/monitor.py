"""Monitors: online linear probe on detached features, kNN classifier on frozen features."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuroequi.activations import layer_activations
from neuroequi.augment import Policy
from neuroequi.methods import Batch, SSLMethod, StepOutput, normalize_images
from neuroequi.train.data import ImageSource, clean_views


class ProbedMethod(nn.Module):
    """A method plus a linear classifier trained on its *detached* features (labels -1 ignored).

    ``forward(batch)`` returns the method's output with ``loss = ssl loss + probe loss`` (the
    probe cannot change the backbone: its input is detached) and logs ``probe_loss``/``probe_acc``.
    """

    def __init__(self, method: SSLMethod, num_classes: int | None) -> None:
        super().__init__()
        self.method = method
        self.probe = nn.Linear(method.backbone.feature_dim, num_classes) if num_classes else None

    def forward(self, batch: Batch) -> StepOutput:
        out = self.method(batch)
        if self.probe is None:
            return out
        logits = self.probe(out.features.float())
        known = batch.labels >= 0
        probe_loss = F.cross_entropy(logits[known], batch.labels[known]) if bool(known.any()) else logits.sum() * 0
        acc = (
            (logits.argmax(1)[known] == batch.labels[known]).float().mean()
            if bool(known.any())
            else logits.new_zeros(())
        )
        logs = {**out.logs, "ssl_loss": out.loss.detach(), "probe_loss": probe_loss.detach(), "probe_acc": acc.detach()}
        return StepOutput(loss=out.loss + probe_loss, features=out.features, logs=logs)


@torch.no_grad()
def extract_features(
    backbone: nn.Module,
    source: ImageSource,
    indices: Tensor,
    policy: Policy,
    device: torch.device,
    batch_size: int = 512,
    channels_last: bool = False,
) -> Tensor:
    """Backbone features ``(n, D)`` float32 of un-augmented images ``source[indices]`` (eval mode)."""
    was_training = backbone.training
    backbone.eval()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    batches = (
        normalize_images(clean_views(policy, source.load(chunk.tolist())).to(device)).contiguous(memory_format=fmt)
        for chunk in indices.split(batch_size)
    )
    features = layer_activations(backbone, batches, [""])[""]  # "": the backbone's own output
    backbone.train(was_training)
    return features


def knn_predict(
    train_features: Tensor, train_labels: Tensor, test_features: Tensor, k: int, temperature: float, num_classes: int
) -> Tensor:
    """Weighted kNN (Wu et al. 2018): cosine similarity, top-``k`` neighbours vote with
    weight ``exp(sim / temperature)``. Features ``(n, D)``, ``(m, D)`` -> predicted labels ``(m,)``."""
    if k < 1 or temperature <= 0:
        raise ValueError(f"kNN needs k >= 1 and temperature > 0, got k={k}, temperature={temperature}")
    train = F.normalize(train_features, dim=1)
    test = F.normalize(test_features, dim=1)
    sims, idx = (test @ train.T).topk(min(k, train.shape[0]), dim=1)
    votes = torch.zeros(test.shape[0], num_classes, dtype=sims.dtype)
    votes.scatter_add_(1, train_labels[idx], (sims / temperature).exp())
    return votes.argmax(dim=1)
