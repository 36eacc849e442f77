"""Backbones: torchvision key layout, shapes, width multiplier, stems, layer names."""

from __future__ import annotations

import neuroequi  # noqa: F401  (before torchvision)
import pytest
import torch
from torch import nn
from torchvision.models.feature_extraction import create_feature_extractor

from neuroequi.backbones import RESNETS, stage_channels, torchvision_reference
from neuroequi.registry import build_backbone


@pytest.mark.parametrize("arch", sorted(RESNETS))
def test_state_dict_loads_into_torchvision_strict(arch: str) -> None:
    torch.manual_seed(0)
    ours = build_backbone(arch).eval()
    ref = torchvision_reference(arch).eval()
    ref.load_state_dict(ours.state_dict(), strict=True)
    size = 32 if arch.endswith("_cifar") else 64
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x), rtol=0, atol=0)


@pytest.mark.parametrize(
    ("arch", "width", "dim"),
    [("resnet18", 1.0, 512), ("resnet50", 1.0, 2048), ("resnet18_cifar", 0.125, 64), ("resnet50_cifar", 0.25, 512)],
)
def test_feature_dim_matches_output(arch: str, width: float, dim: int) -> None:
    net = build_backbone(arch, width)
    assert net.feature_dim == dim
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, dim)


def test_cifar_stem_keeps_resolution_imagenet_stem_quarters_it() -> None:
    cifar, imnet = build_backbone("resnet18_cifar", 0.125), build_backbone("resnet18", 0.125)
    x = torch.randn(1, 3, 32, 32)
    feats_c = create_feature_extractor(cifar, ["layer1"])(x)["layer1"]
    feats_i = create_feature_extractor(imnet, ["layer1"])(x)["layer1"]
    assert feats_c.shape[-2:] == (32, 32)
    assert feats_i.shape[-2:] == (8, 8)
    assert isinstance(cifar.maxpool, nn.Identity) and cifar.conv1.kernel_size == (3, 3)


def test_layer_names_are_modules_usable_for_feature_extraction() -> None:
    net = build_backbone("resnet18_cifar", 0.125).eval()
    names = dict(net.named_modules())
    assert all(n in names for n in net.layer_names)
    x = torch.randn(2, 3, 32, 32)
    out = create_feature_extractor(net, list(net.layer_names))(x)
    channels = [out[n].shape[1] for n in net.layer_names]
    assert channels == [8, 16, 32, 64, 64]
    with torch.no_grad():
        torch.testing.assert_close(out["avgpool"].flatten(1), net(x))


def test_width_scales_every_stage() -> None:
    assert stage_channels(1.0) == (64, 128, 256, 512)
    assert stage_channels(0.25) == (16, 32, 64, 128)
    net = build_backbone("resnet18_cifar", 0.25)
    assert net.conv1.out_channels == 16 and net.layer4[-1].conv2.out_channels == 128


def test_zero_init_residual_zeroes_last_bn_of_each_block() -> None:
    net = build_backbone("resnet50_cifar", 0.125, zero_init_residual=True)
    assert all(float(b.bn3.weight.detach().abs().sum()) == 0.0 for layer in (net.layer1, net.layer4) for b in layer)
    assert float(net.bn1.weight.detach().sum()) == net.bn1.num_features


@pytest.mark.parametrize("bad", [0.0, -1.0, 0.001])
def test_bad_width_raises(bad: float) -> None:
    with pytest.raises(ValueError, match="width"):
        build_backbone("resnet18", bad)


def test_unknown_arch_raises() -> None:
    with pytest.raises(ValueError, match="resnet34"):
        build_backbone("resnet34")
    with pytest.raises(ValueError, match="resnet34"):
        torchvision_reference("resnet34")
