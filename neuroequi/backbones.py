"""Backbones: what every backbone family shares (:class:`BackboneSpec`) and the ResNet family.

:class:`Backbone` is a subclass of ``torchvision.models.ResNet`` whose parameter names are
torchvision's (``conv1``, ``bn1``, ``layer1`` .. ``layer4``; ``fc`` is an ``Identity``), so a
backbone trained here loads with ``strict=True`` into the matching torchvision model whose
``fc`` is replaced by ``nn.Identity()`` (see :func:`torchvision_reference`). ``forward(x)``
returns the representation ``h``: the global-average-pooled output of the last stage, shape
``(N, feature_dim)``.

Architectures (:data:`RESNETS`):

* ``resnet18`` / ``resnet50``: the ImageNet stem (7x7 stride-2 conv + 3x3 max-pool);
* ``resnet18_cifar`` / ``resnet50_cifar``: the CIFAR stem (3x3 stride-1 conv, no
  max-pool; ``maxpool`` is an ``Identity`` so the key names do not change).

``width`` multiplies every stage's channel count (64, 128, 256, 512 at width 1);
``width=1/8`` gives a ResNet-18 with 8..64 channels that trains on a laptop CPU.

Build any backbone by name with :func:`neuroequi.registry.build_backbone`; this module's
members are registered there (:data:`BACKBONE_SPECS`), as are the group CNNs of
:mod:`neuroequi.hssl.backbones`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

from neuroequi.errors import ConfigError

_STAGE_PLANES = (64, 128, 256, 512)


@dataclass(frozen=True)
class BackboneSpec:
    """A backbone as :mod:`neuroequi.registry` registers it.

    Attributes:
        name: the name configs use (``model.arch``).
        build: ``build(width) -> nn.Module`` (``zero_init_residual=...`` as well when ``residual``);
            the module maps images ``(N, 3, S, S)`` to ``h`` ``(N, feature_dim)`` and has the
            attributes ``feature_dim`` and ``layer_names``.
        residual: it has residual branches, so ``zero_init_residual`` applies (else it is ignored).
    """

    name: str
    build: Callable[..., nn.Module]
    residual: bool = False


@dataclass(frozen=True)
class _Spec:
    """How one architecture name is built."""

    block: type[BasicBlock] | type[Bottleneck]
    layers: tuple[int, int, int, int]
    cifar_stem: bool


RESNETS: dict[str, _Spec] = {
    "resnet18": _Spec(BasicBlock, (2, 2, 2, 2), cifar_stem=False),
    "resnet50": _Spec(Bottleneck, (3, 4, 6, 3), cifar_stem=False),
    "resnet18_cifar": _Spec(BasicBlock, (2, 2, 2, 2), cifar_stem=True),
    "resnet50_cifar": _Spec(Bottleneck, (3, 4, 6, 3), cifar_stem=True),
}


def stage_channels(width: float) -> tuple[int, int, int, int]:
    """Channel counts ``planes`` of the four stages for a width multiplier.

    Raises ConfigError when ``width`` is not positive or makes a stage empty.
    """
    if not width > 0:
        raise ConfigError(f"model.width must be > 0, got {width!r}")
    planes = tuple(int(round(p * width)) for p in _STAGE_PLANES)
    if planes[0] < 1:
        raise ConfigError(f"model.width {width!r} leaves the first stage with no channels (64*width < 0.5)")
    return planes  # type: ignore[return-value]


class Backbone(ResNet):
    """A torchvision ResNet without classifier; ``forward(x: (N,3,H,W)) -> h: (N, feature_dim)``.

    ``forward`` is torchvision's own (so FX feature extraction traces it).

    Attributes:
        arch: the architecture name given to :func:`build_backbone`.
        width: the width multiplier.
        feature_dim: size of ``h`` (``512*width`` for ResNet-18, ``2048*width`` for ResNet-50).
        layer_names: module names usable as forward-hook / feature-extraction points,
            from early to late; the last one (``avgpool``) is ``h`` before flattening.
    """

    layer_names: tuple[str, ...] = ("layer1", "layer2", "layer3", "layer4", "avgpool")

    def __init__(self, arch: str, width: float = 1.0, zero_init_residual: bool = False) -> None:
        if arch not in RESNETS:
            raise ConfigError(f"unknown ResNet {arch!r}; choose one of {sorted(RESNETS)}")
        spec = RESNETS[arch]
        planes = stage_channels(width)
        nn.Module.__init__(self)
        self.arch = arch
        self.width = float(width)
        # Attributes read by torchvision's ResNet._make_layer.
        self._norm_layer = nn.BatchNorm2d
        self.inplanes = planes[0]
        self.dilation = 1
        self.groups = 1
        self.base_width = 64
        if spec.cifar_stem:
            self.conv1 = nn.Conv2d(3, planes[0], kernel_size=3, stride=1, padding=1, bias=False)
            self.maxpool: nn.Module = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(3, planes[0], kernel_size=7, stride=2, padding=3, bias=False)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(planes[0])
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(spec.block, planes[0], spec.layers[0])
        self.layer2 = self._make_layer(spec.block, planes[1], spec.layers[1], stride=2)
        self.layer3 = self._make_layer(spec.block, planes[2], spec.layers[2], stride=2)
        self.layer4 = self._make_layer(spec.block, planes[3], spec.layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Identity()
        self.feature_dim = planes[3] * spec.block.expansion
        self._initialise(zero_init_residual)

    def _initialise(self, zero_init_residual: bool) -> None:
        """He-normal convs, unit/zero BN; optionally zero the last BN of each residual branch."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.zeros_(m.bn3.weight)
                elif isinstance(m, BasicBlock):
                    nn.init.zeros_(m.bn2.weight)


def torchvision_reference(arch: str) -> ResNet:
    """The plain torchvision model (width 1, ``fc = Identity``) that a width-1 backbone's
    state dict loads into with ``strict=True``; for ``*_cifar`` the stem is replaced the
    usual way (3x3 stride-1 ``conv1``, ``maxpool = Identity``)."""
    from torchvision import models

    if arch not in RESNETS:
        raise ConfigError(f"unknown ResNet {arch!r}; choose one of {sorted(RESNETS)}")
    model = getattr(models, arch.removesuffix("_cifar"))(weights=None)
    if RESNETS[arch].cifar_stem:
        model.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    model.fc = nn.Identity()
    return model


BACKBONE_SPECS: tuple[BackboneSpec, ...] = tuple(
    BackboneSpec(name, partial(Backbone, name), residual=True) for name in RESNETS
)
"""The ResNet family, registered by :mod:`neuroequi.registry`."""

__all__ = ["BACKBONE_SPECS", "RESNETS", "Backbone", "BackboneSpec", "stage_channels", "torchvision_reference"]
