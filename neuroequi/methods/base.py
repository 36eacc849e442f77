"""What every self-supervised method shares: the batch it gets, what it returns, how it is registered."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from neuroequi.augment import AugParams

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def normalize_images(x: Tensor) -> Tensor:
    """Views in [0, 1] ``(N, 3, H, W)`` -> standardised with the ImageNet mean/std (what the
    exported backbone expects, as torchvision and Brain-Score preprocess)."""
    mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


@dataclass(frozen=True)
class Requirements:
    """What a method needs from the data pipeline.

    Attributes:
        views: number of augmented views per image (0, 1 or 2).
        matched_halves: TeSSL: rows i and N/2 + i of each view share augmentation parameters
            (the local batch is two halves of distinct images; N must be even).
        clean: the un-augmented image (whole image resized to the view size) as well.
    """

    views: int = 2
    matched_halves: bool = False
    clean: bool = False


@dataclass
class Batch:
    """One local batch of N images, as the data pipeline hands it to a method.

    Attributes:
        views: one ``(N, 3, S, S)`` float tensor per view (ImageNet-normalised once on the device).
        params: the augmentation parameters of each view (``AugParams``, N rows, on the CPU).
        clean: ``(N, 3, S, S)`` un-augmented images or None.
        labels: ``(N,)`` int64 class labels (only for monitoring; -1 where unknown).
    """

    views: tuple[Tensor, ...]
    params: tuple[AugParams, ...]
    clean: Tensor | None
    labels: Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def pin_memory(self) -> Batch:
        """Page-locked copies of the image tensors (DataLoader ``pin_memory=True``)."""
        return Batch(
            views=tuple(v.pin_memory() for v in self.views),
            params=self.params,
            clean=None if self.clean is None else self.clean.pin_memory(),
            labels=self.labels.pin_memory(),
        )

    def to(self, device: torch.device | str, *, channels_last: bool = False, non_blocking: bool = False) -> Batch:
        """Move images and labels to ``device``, normalise them, optionally channels-last."""
        fmt = torch.channels_last if channels_last else torch.contiguous_format

        def move(x: Tensor) -> Tensor:
            return normalize_images(x.to(device, non_blocking=non_blocking)).contiguous(memory_format=fmt)

        return Batch(
            views=tuple(move(v) for v in self.views),
            params=self.params,
            clean=None if self.clean is None else move(self.clean),
            labels=self.labels.to(device, non_blocking=non_blocking),
        )


@dataclass
class StepOutput:
    """What a method's forward returns.

    Attributes:
        loss: the scalar to minimise.
        features: ``(N, D)`` representation ``h`` of the first view, detached (online probe).
        logs: detached scalar tensors to log (loss terms, ...).
    """

    loss: Tensor
    features: Tensor
    logs: dict[str, Tensor] = field(default_factory=dict)


class SSLMethod(nn.Module):
    """Base of every method: a ``backbone`` (with ``feature_dim``) plus heads and a loss.

    Subclasses implement ``forward(batch: Batch) -> StepOutput`` and may override
    :meth:`after_step` (called after each optimiser step, e.g. BYOL's momentum update).
    """

    requirements: ClassVar[Requirements] = Requirements()
    backbone: nn.Module

    def after_step(self, step: int, total_steps: int) -> None:
        """Hook after optimiser step ``step`` (0-based) of ``total_steps``."""

    def bind_policies(self, policies: tuple[Any, ...], seed: int) -> None:
        """Hook called by :func:`neuroequi.train.model.build_model` with the two view policies (and the
        run's seed) before training or loading: a method that depends on the policies builds those
        parts here (SIE: its predictor, conditioned on the policy's transformation families)."""


# ------------------------------------------------------------------------------- registration

Builder = Callable[[Any, nn.Module, int], SSLMethod]
"""``build(options, backbone, image_size) -> SSLMethod``: ``image_size`` is the side ``S`` of the
training views (methods whose heads depend on it read it, e.g. H-SSL's bundle projector)."""


@dataclass(frozen=True)
class MethodSpec:
    """A method as :mod:`neuroequi.registry` registers it.

    Attributes:
        name: the name configs use (``method.name``).
        options: the dataclass of the method's hyper-parameters (every field with a default);
            configs give them as a mapping, checked against it.
        build: ``(options, backbone, image_size) -> SSLMethod``.
    """

    name: str
    options: type
    build: Builder

    def __post_init__(self) -> None:
        if not dataclasses.is_dataclass(self.options):
            raise TypeError(f"options of method {self.name!r} must be a dataclass, got {self.options!r}")
