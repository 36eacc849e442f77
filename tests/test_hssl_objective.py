"""A-SSL / H-SSL objectives: the paper's equivalence on an equivariant network, and its failure on the control."""

from __future__ import annotations

import copy

import pytest
import torch

import neuroequi  # noqa: F401
from neuroequi.heads import mlp
from neuroequi.hssl.backbones import EmulatedGroupCNN, GroupCNN
from neuroequi.hssl.bundles import BundleSpec, act_on_images, hssl_bundles
from neuroequi.hssl.objective import HomomorphicSSL, assl_bundles, build_criterion


def _images(n: int = 6, side: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 3, side, side, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("criterion", ["infonce", "vicreg"])
def test_hssl_loss_equals_assl_loss_for_quarter_turns_on_p4_network(criterion):
    """A-SSL on (g1.x, g2.x) at base g0 == H-SSL on x at g1^-1 g0, g2^-1 g0 (rotations by 90 degrees;
    training-mode BatchNorm, zero padding)."""
    torch.manual_seed(0)
    net = GroupCNN(order=4, widths=(3, 4)).double().train()
    spec = BundleSpec(rotation_base=2, rotation_distance=2)  # whole 4x4 grid, rotations only
    projector = mlp(spec.bundle_dim(4, (4, 4)), (16, 8)).double().train()
    loss = build_criterion(criterion)
    x = _images()
    base = torch.tensor([[0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 0], [0, 0, 0], [2, 0, 0]])
    g1 = torch.tensor([[1, 0, 0], [0, 0, 0], [3, 0, 0], [2, 0, 0], [1, 0, 0], [1, 0, 0]])
    g2 = torch.tensor([[3, 0, 0], [2, 0, 0], [3, 0, 0], [0, 0, 0], [2, 0, 0], [3, 0, 0]])  # quarter turns
    views = torch.cat([act_on_images(x, g, net.cell, "circular") for g in (g1, g2)])  # [g1.x; g2.x]
    a1, a2 = assl_bundles(net.forward_features(views), base, spec)
    features = net.forward_features(x)
    h1, h2 = hssl_bundles(features, g1, base, spec), hssl_bundles(features, g2, base, spec)
    torch.testing.assert_close(a1, h1, atol=1e-10, rtol=0)
    torch.testing.assert_close(a2, h2, atol=1e-10, rtol=0)
    assl = loss(projector(a1), projector(a2))
    torch.testing.assert_close(assl, loss(projector(h1), projector(h2)), atol=1e-10, rtol=0)
    assert assl.item() > 0


def _pair_of_methods(
    backbone: torch.nn.Module, group: str, spec: BundleSpec, size: int
) -> tuple[HomomorphicSSL, HomomorphicSSL]:
    torch.manual_seed(1)
    hssl = HomomorphicSSL(backbone, group, "hssl", spec, image_size=size, projector_dims=(16, 8)).double().train()
    assl = copy.deepcopy(hssl)
    assl.mode = "assl"
    return hssl, assl


@pytest.mark.parametrize(
    "group, order, spec",
    [
        ("rotation", 4, BundleSpec(rotation_base=1, rotation_distance=2, grid_base=3, grid_distance=2)),
        ("translation", 1, BundleSpec(grid_base=2, grid_distance=1)),
    ],
)
def test_module_losses_agree_on_equivariant_backbones(group, order, spec):
    """Same generator -> same (g1, g2, g0): equal losses, with one image batch or two photometric views."""
    backbone = GroupCNN(order=order, widths=(3, 4), padding_mode="circular")
    hssl, assl = _pair_of_methods(backbone, group, spec, 12)
    x, y = _images(side=12), _images(side=12, seed=1)
    for views in (x, (x, y)):
        values = [m(views, torch.Generator().manual_seed(7)) for m in (hssl, assl)]
        torch.testing.assert_close(values[0], values[1], atol=1e-10, rtol=0)


def test_losses_differ_on_the_non_equivariant_control():
    control = EmulatedGroupCNN(group_order=4, widths=(3, 4), image_size=8)
    hssl, assl = _pair_of_methods(control, "rotation", BundleSpec(rotation_distance=2, grid_base=2, grid_distance=1), 8)
    x = _images()
    values = [m(x, torch.Generator().manual_seed(7)).item() for m in (hssl, assl)]
    assert abs(values[0] - values[1]) > 1e-4


def test_training_steps_reduce_hssl_loss_and_return_pooled_features():
    torch.manual_seed(2)
    spec = BundleSpec(rotation_distance=1, grid_base=2, grid_distance=1)
    method = HomomorphicSSL(
        GroupCNN(order=4, widths=(4, 8)), "rotation", "hssl", spec, image_size=8, projector_dims=(32, 16)
    )
    x = torch.rand(16, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    _, h = method.loss_and_features(x)
    assert h.shape == (16, 8) and not h.requires_grad
    optimizer = torch.optim.SGD(method.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(10):
        loss = method(x, torch.Generator().manual_seed(0))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.1


def test_bad_objective_parameters_raise():
    backbone = GroupCNN(order=4, widths=(3, 4))
    with pytest.raises(ValueError, match="mode must be one of"):
        HomomorphicSSL(backbone, "rotation", mode="essl")
    with pytest.raises(ValueError, match="criterion must be one of"):
        HomomorphicSSL(backbone, "rotation", criterion="triplet")
    with pytest.raises(ValueError, match="group must be one of"):
        HomomorphicSSL(backbone, "reflection")
    with pytest.raises(ValueError, match="group 'translation' needs a backbone with a group axis of 1"):
        HomomorphicSSL(backbone, "translation")
    with pytest.raises(ValueError, match="rotation_base 5 is larger"):
        HomomorphicSSL(backbone, "rotation", spec=BundleSpec(rotation_base=5))
    with pytest.raises(ValueError, match="grid_distance 3 is beyond the grid"):
        HomomorphicSSL(backbone, "rotation", spec=BundleSpec(grid_base=2, grid_distance=3), image_size=8)
    with pytest.raises(ValueError, match="two views of 3 images"):
        assl_bundles(torch.zeros(4, 2, 4, 4, 4), torch.zeros(3, 3, dtype=torch.long), BundleSpec())
