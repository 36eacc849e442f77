"""Equivariance of the group layers and backbones in neuroequi.hssl (float64, exact up to rounding)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import neuroequi  # noqa: F401  (must precede torchvision)
from neuroequi.hssl.backbones import EmulatedGroupCNN, GroupCNN, build_group_backbone
from neuroequi.hssl.bundles import act_on_features, act_on_images
from neuroequi.hssl.layers import GroupConv2d, group_pool, rotate_features, rotate_images, spatial_pool

TOL = 1e-10


def _images(n: int = 2, c: int = 3, side: int = 9, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, c, side, side, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _reference_conv(x: torch.Tensor, weight: torch.Tensor, quarter_turns: int) -> torch.Tensor:
    """Plain correlation of x (N, C, H, W) with weight rotated by quarter_turns, zero 'same' padding."""
    w = torch.rot90(weight, quarter_turns, dims=(-2, -1))
    return F.conv2d(x, w, padding=weight.shape[-1] // 2)


def test_lifting_layer_matches_rotated_filter_formula():
    torch.manual_seed(0)
    layer = GroupConv2d(3, 4, 5, order=4, lifting=True).double()
    x = _images()
    out = layer(x)
    assert out.shape == (2, 4, 4, 9, 9)
    for r in range(4):
        expected = _reference_conv(x, layer.base_filters()[:, :, 0], r)
        torch.testing.assert_close(out[:, :, r], expected, atol=TOL, rtol=0)


def test_group_layer_matches_sum_over_input_rotations():
    torch.manual_seed(1)
    layer = GroupConv2d(2, 3, 3, order=4).double()
    x = torch.randn(2, 2, 4, 7, 7, dtype=torch.float64)
    out = layer(x)
    for r in range(4):
        # output rotation r: sum over input rotations j of x[:, :, j] * rot_r(w[:, :, (j - r) mod 4])
        expected = sum(_reference_conv(x[:, :, j], layer.base_filters()[:, :, (j - r) % 4], r) for j in range(4))
        torch.testing.assert_close(out[:, :, r], expected, atol=TOL, rtol=0)


@pytest.mark.parametrize("padding_mode", ["zeros", "circular"])
@pytest.mark.parametrize("kernel_size", [1, 3, 5])
@pytest.mark.parametrize("turns", [1, 2, 3])
def test_p4_layers_are_exactly_equivariant(padding_mode, kernel_size, turns):
    torch.manual_seed(kernel_size)
    lift = GroupConv2d(3, 4, kernel_size, 4, lifting=True, padding_mode=padding_mode).double()
    conv = GroupConv2d(4, 5, kernel_size, 4, padding_mode=padding_mode).double()
    x = _images(side=8)
    lifted = lift(x)
    torch.testing.assert_close(lift(rotate_images(x, turns)), rotate_features(lifted, turns), atol=TOL, rtol=0)
    torch.testing.assert_close(
        conv(rotate_features(lifted, turns)), rotate_features(conv(lifted), turns), atol=TOL, rtol=0
    )


def test_c2_layers_are_equivariant_to_half_turns_only():
    torch.manual_seed(2)
    lift = GroupConv2d(3, 4, 3, 2, lifting=True).double()
    x = _images()
    torch.testing.assert_close(lift(rotate_images(x, 2)), rotate_features(lift(x), 2), atol=TOL, rtol=0)
    with pytest.raises(ValueError, match="do not act"):
        rotate_features(lift(x), 1)


def test_rotate_images_per_image_turns_match_scalar_turns():
    x = _images(n=4)
    turns = torch.tensor([0, 1, 2, 3])
    out = rotate_images(x, turns)
    for i in range(4):
        torch.testing.assert_close(out[i], torch.rot90(x[i], i, dims=(-2, -1)))


def test_channels_last_module_gives_the_same_output():
    torch.manual_seed(8)
    net = GroupCNN(order=4, widths=(3, 4)).double().eval()
    x = _images(side=8)
    expected = net.forward_features(x)
    net.to(memory_format=torch.channels_last)
    out = net.forward_features(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(out, expected, atol=1e-10, rtol=0)


def test_batchnorm_shared_over_group_axis_is_equivariant_in_train_and_eval():
    torch.manual_seed(3)
    bn = torch.nn.BatchNorm3d(5).double()
    f = torch.randn(4, 5, 4, 6, 6, dtype=torch.float64)
    for mode in (bn.train, bn.eval):
        mode()
        torch.testing.assert_close(bn(rotate_features(f, 1)), rotate_features(bn(f), 1), atol=TOL, rtol=0)
    assert bn.running_mean.shape == (5,)  # one statistic per channel, shared by all 4 rotations


def test_pooling_exact_on_even_sizes_and_breaks_on_odd_sizes():
    f = torch.randn(2, 3, 4, 8, 8, dtype=torch.float64)
    torch.testing.assert_close(spatial_pool(rotate_features(f, 1)), rotate_features(spatial_pool(f), 1))
    odd = torch.randn(2, 3, 4, 7, 7, dtype=torch.float64)
    error = (spatial_pool(rotate_features(odd, 1)) - rotate_features(spatial_pool(odd), 1)).abs().max()
    assert error > 1e-3  # documented: odd sizes drop a border row/column on one side only
    torch.testing.assert_close(group_pool(f), f.mean(dim=(2, 3, 4)))


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_p4_backbone_rotation_rolls_group_axis_and_rotates_maps(turns):
    torch.manual_seed(4)
    net = GroupCNN(order=4, widths=(3, 4, 5)).double().eval()
    x = _images(side=16)
    features = net.forward_features(x)
    assert features.shape == (2, 5, 4, 4, 4)
    torch.testing.assert_close(
        net.forward_features(rotate_images(x, turns)), rotate_features(features, turns), atol=TOL, rtol=0
    )
    torch.testing.assert_close(net(rotate_images(x, turns)), net(x), atol=TOL, rtol=0)  # pooled h is invariant


def test_backbone_equivariance_holds_in_training_mode():
    torch.manual_seed(5)
    net = GroupCNN(order=4, widths=(3, 4)).double().train()
    x = _images(n=3, side=8)
    both = net.forward_features(torch.cat([x, rotate_images(x, 1)]))  # batch statistics over both
    torch.testing.assert_close(both[3:], rotate_features(both[:3], 1), atol=TOL, rtol=0)


def test_translation_backbone_with_circular_padding_shifts_the_grid():
    torch.manual_seed(6)
    net = GroupCNN(order=1, widths=(3, 4, 5), padding_mode="circular").double().eval()
    x = _images(side=16)
    features = net.forward_features(x)
    assert features.shape == (2, 5, 1, 4, 4)
    shifted = net.forward_features(torch.roll(x, shifts=(4, -8), dims=(-2, -1)))  # stride 4 -> (1, -2) cells
    torch.testing.assert_close(shifted, torch.roll(features, shifts=(1, -2), dims=(-2, -1)), atol=TOL, rtol=0)


def test_control_has_same_output_size_but_is_not_equivariant():
    torch.manual_seed(7)
    p4 = GroupCNN(order=4, widths=(3, 4)).double().eval()
    control = EmulatedGroupCNN(group_order=4, widths=(3, 4), image_size=8).double().eval()
    x = _images(side=8)
    assert control.forward_features(x).shape == p4.forward_features(x).shape == (2, 4, 4, 4, 4)
    assert (control.group_order, control.feature_dim, control.cell) == (p4.group_order, p4.feature_dim, p4.cell)
    error = (control.forward_features(rotate_images(x, 1)) - rotate_features(control.forward_features(x), 1)).abs()
    assert error.max() > 1e-3
    torch.testing.assert_close(control(x), control.forward_features(x).mean(dim=(2, 3, 4)))


def test_layer_names_are_hook_points_with_group_pooled_outputs():
    net = GroupCNN(order=4, widths=(3, 4, 5)).double().eval()
    modules = dict(net.named_modules())
    seen = {}
    for name in net.layer_names:
        modules[name].register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, o))
    x = _images(side=16)
    h = net(x)
    stages = net._stage_outputs(x)
    for k, stage in enumerate(stages):
        torch.testing.assert_close(seen[f"layer{k + 1}"], stage.mean(dim=2))
    torch.testing.assert_close(seen["avgpool"], h)
    assert h.shape == (2, net.feature_dim)
    control = EmulatedGroupCNN(widths=(3, 4, 5), image_size=16).double().eval()
    control_modules = dict(control.named_modules())
    assert all(name in control_modules for name in control.layer_names)
    assert net.region_layer_map == {"V1": "layer1", "V2": "layer2", "V4": "layer2", "IT": "layer3"}
    assert control.region_layer_map["IT"] == "trunk.layer3"


@pytest.mark.parametrize("arch, order", [("p4cnn", 4), ("z2cnn", 1), ("p4cnn_control", 4), ("z2cnn_control", 1)])
def test_named_architectures(arch, order):
    net = build_group_backbone(arch, width=0.25)
    assert net.group_order == order and net.widths == (4, 8, 16)
    assert net.forward_features(torch.zeros(2, 3, 32, 32)).shape == (2, 16, order, 8, 8)
    with pytest.raises(ValueError, match="unknown group backbone"):
        build_group_backbone("p6cnn")


def test_named_p4cnn_quarter_turns_exact_and_zero_filled_shifts_exact_away_from_the_border():
    torch.manual_seed(9)
    net = build_group_backbone("p4cnn", width=0.25).double().eval()
    assert net.padding_mode == "zeros"
    x = _images(n=3, side=32)
    turns = torch.tensor([[1, 0, 0], [2, 0, 0], [3, 0, 0]])
    torch.testing.assert_close(
        net.forward_features(act_on_images(x, turns, net.cell, "zeros")),
        act_on_features(net.forward_features(x), turns, "zeros"),
        atol=1e-10,
        rtol=0,
    )
    moved = torch.tensor([[1, 1, 0], [2, 1, 0], [3, 1, 0]])  # and one 4-pixel cell down
    error = net.forward_features(act_on_images(x, moved, net.cell, "zeros")) - act_on_features(
        net.forward_features(x), moved, "zeros"
    )
    rows = error.abs().amax(dim=(0, 1, 2, 4))  # per grid row of the 8x8 output
    assert rows[3:6].max() < 1e-10  # interior: exact
    assert rows[0] > 1e-4 and rows[-1] > 1e-4  # zero-filled rows and the edge content left: not exact
