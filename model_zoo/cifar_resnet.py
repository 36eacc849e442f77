"""He et al. (2016) CIFAR ResNets with option-A shortcuts, as trained by akamaster.

The network (He, Zhang, Ren & Sun 2016, section 4.2): a 3x3 convolution to 16
channels, three stages of ``n`` basic blocks with 16, 32 and 64 channels
(stride 2 at the start of stages 2 and 3), global average pooling and a linear
classifier; depth = 6n + 2 (ResNet-20: n = 3, ResNet-32: n = 5). Option A: a
shortcut that changes shape subsamples the input by 2 in space and pads the
new channels with zeros (no parameters).

Module names follow the published checkpoints (``conv1``, ``bn1``,
``layer1..layer3``, ``linear``), so their state dict (once the ``module.``
prefix that ``DataParallel`` added is stripped) loads *strictly*. ``avgpool``
is a parameterless module so it can be hooked as a layer.

Checkpoint file (old torch pickle): ``{'best_prec1': float, 'state_dict': {...}}``.
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import nn

from neuroequi.errors import CheckpointError, ConfigError

#: Hookable layer names, in forward order.
LAYERS = ("layer1", "layer2", "layer3", "avgpool")
#: Depths with a published checkpoint, and the blocks per stage they imply.
BLOCKS_PER_STAGE = {20: 3, 32: 5, 44: 7, 56: 9, 110: 18}


class _PadShortcut(nn.Module):
    """Option-A shortcut: ``x[:, :, ::2, ::2]`` zero-padded to ``planes`` channels."""

    def __init__(self, extra_channels: int):
        super().__init__()
        self.extra = extra_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C + 2*extra, H/2, W/2)."""
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.extra, self.extra))


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with a residual connection (ReLU after the sum)."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        if stride != 1 or in_planes != planes:
            self.shortcut: nn.Module = _PadShortcut((planes - in_planes) // 2)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """CIFAR ResNet of depth 6n+2; ``forward(x (N,3,H,W)) -> logits (N, num_classes)``."""

    def __init__(self, depth: int = 20, num_classes: int = 10):
        super().__init__()
        if depth not in BLOCKS_PER_STAGE:
            raise ConfigError(f"CIFAR ResNet depth must be one of {sorted(BLOCKS_PER_STAGE)}, got {depth!r}")
        n = BLOCKS_PER_STAGE[depth]
        self.depth = depth
        self.conv1 = nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = self._stage(16, 16, n, stride=1)
        self.layer2 = self._stage(16, 32, n, stride=2)
        self.layer3 = self._stage(32, 64, n, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(64, num_classes)
        for m in self.modules():  # He init for convs/linear, as in the original training code
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)

    @staticmethod
    def _stage(in_planes: int, planes: int, blocks: int, stride: int) -> nn.Sequential:
        layers = [BasicBlock(in_planes, planes, stride)]
        layers += [BasicBlock(planes, planes, 1) for _ in range(blocks - 1)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        return self.linear(torch.flatten(self.avgpool(out), 1))


def load_akamaster_checkpoint(path: str | os.PathLike, depth: int) -> CifarResNet:
    """Build a ``CifarResNet(depth)`` and load an akamaster checkpoint into it strictly.

    Raises:
        ValueError: the file is not a ``{'state_dict': ...}`` checkpoint, or its keys or
            shapes do not match the architecture (strict loading).
    """
    blob = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(blob, dict) or "state_dict" not in blob:
        raise CheckpointError(f"{path}: not an akamaster checkpoint (expected a dict with 'state_dict')")
    state = {k.removeprefix("module."): v for k, v in blob["state_dict"].items()}
    model = CifarResNet(depth)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: does not match a CIFAR ResNet-{depth}: {exc}") from exc
    return model.eval()
