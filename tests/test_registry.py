"""The registry: one module registers every method and backbone family; the families fill no table."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from neuroequi.backbones import BACKBONE_SPECS as RESNET_SPECS
from neuroequi.errors import ConfigError
from neuroequi.hssl.backbones import BACKBONE_SPECS as GROUP_SPECS
from neuroequi.hssl.method import METHOD_SPECS as HOMOMORPHIC_SPECS
from neuroequi.methods.invariance import METHOD_SPECS as INVARIANCE_SPECS
from neuroequi.methods.reconstruction import METHOD_SPECS as RECONSTRUCTION_SPECS
from neuroequi.methods.sie import METHOD_SPECS as SIE_SPECS
from neuroequi.registry import BACKBONE_REGISTRY, METHOD_REGISTRY, build_backbone, build_method, make_options


def test_the_tables_are_exactly_the_families_specs():
    assert list(METHOD_REGISTRY.values()) == [*INVARIANCE_SPECS, *HOMOMORPHIC_SPECS, *SIE_SPECS, *RECONSTRUCTION_SPECS]
    assert list(BACKBONE_REGISTRY.values()) == [*RESNET_SPECS, *GROUP_SPECS]
    assert set(METHOD_REGISTRY) == {
        "barlow_twins",
        "simclr",
        "vicreg",
        "mmcr",
        "byol",
        "hssl",
        "assl",
        "sie",
        "recon_equi",
    }
    assert set(BACKBONE_REGISTRY) == {
        "resnet18",
        "resnet50",
        "resnet18_cifar",
        "resnet50_cifar",
        "p4cnn",
        "z2cnn",
        "p4cnn_control",
        "z2cnn_control",
        "sesn",
        "sesn_control",
    }


def test_importing_the_families_registers_nothing():
    """The method and backbone families (and everything below them) never import the registry."""
    code = (
        "import sys, neuroequi.methods, neuroequi.hssl.method, neuroequi.backbones, neuroequi.hssl.backbones, "
        "neuroequi.methods.sie, neuroequi.methods.reconstruction; "
        "print('neuroequi.registry' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("arch", sorted(BACKBONE_REGISTRY))
def test_every_backbone_builds_and_maps_images_to_h(arch: str):
    torch.manual_seed(0)
    net = build_backbone(arch, 0.125).eval()
    with torch.no_grad():
        h = net(torch.rand(2, 3, 32, 32))
    assert h.shape == (2, net.feature_dim) and net.layer_names[-1] == "avgpool"


def test_unknown_names_are_config_errors_naming_key_value_and_allowed():
    with pytest.raises(ConfigError, match=r"model.arch: unknown backbone 'resnet34'; registered: \[.*'p4cnn'"):
        build_backbone("resnet34")
    with pytest.raises(ConfigError, match=r"method.name: unknown method 'moco'; registered: \[.*'barlow_twins'"):
        build_method("moco", {}, build_backbone("resnet18_cifar", 0.0625))
    with pytest.raises(ConfigError, match=r"method.options: unknown key\(s\) \['tau'\]"):
        make_options("simclr", {"tau": 0.1})
