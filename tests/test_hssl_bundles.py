"""Fiber bundles, group elements and their action, pair sampling (neuroequi.hssl.bundles)."""

from __future__ import annotations

import pytest
import torch

import neuroequi  # noqa: F401
from neuroequi.hssl.backbones import GroupCNN
from neuroequi.hssl.bundles import (
    BundleSpec,
    act_on_features,
    act_on_images,
    extract_bundles,
    hssl_bundles,
    sample_pairs,
)


def _coded_features() -> torch.Tensor:
    """features[i, c, j, y, x] = 10000 i + 1000 c + 100 j + 10 y + x, shape (2, 2, 4, 3, 3)."""
    i, c, j, y, x = torch.meshgrid(*(torch.arange(s) for s in (2, 2, 4, 3, 3)), indexing="ij")
    return (10000 * i + 1000 * c + 100 * j + 10 * y + x).float()


def test_bundles_hand_computed():
    features = _coded_features()
    spec = BundleSpec(rotation_base=2, grid_base=2)
    base = torch.tensor([[3, 1, 0], [1, 0, 1]])
    out = extract_bundles(features, base, spec)
    # sample 0: rotations (3, 0) (wrapping), rows (1, 2), columns (0, 1); channel-major flattening
    sample0 = [
        310,
        311,
        320,
        321,
        10,
        11,
        20,
        21,
        1310,
        1311,
        1320,
        1321,
        1010,
        1011,
        1020,
        1021,
    ]
    # sample 1: rotations (1, 2), rows (0, 1), columns (1, 2)
    sample1 = [
        10101,
        10102,
        10111,
        10112,
        10201,
        10202,
        10211,
        10212,
        11101,
        11102,
        11111,
        11112,
        11201,
        11202,
        11211,
        11212,
    ]
    torch.testing.assert_close(out, torch.tensor([sample0, sample1], dtype=torch.float32))
    assert out.shape[1] == spec.bundle_dim(2, (3, 3))


def test_whole_grid_base_and_hssl_bundle_hand_computed():
    features = _coded_features()[:1]
    spec = BundleSpec(rotation_base=1, grid_base=None)
    assert extract_bundles(features, torch.tensor([[2, 0, 0]]), spec).shape == (1, 2 * 9)
    # g = (r=1, ty=0, tx=1), base (b=0, oy=0, ox=1), patch 2x2: read rotate_features(f, 1) at (0, 0, 0)
    spec = BundleSpec(rotation_base=1, grid_base=2, grid_distance=1)
    out = hssl_bundles(features, torch.tensor([[1, 0, 1]]), torch.tensor([[0, 0, 1]]), spec)
    # rotate_features(f, 1)[c, 0] = rot90(f[c, 3]) (group axis rolled by one): rot90 maps (y, x) -> f[x, 2 - y]
    # rows 0..1, cols 0..1 of rot90(f[c, 3]): entries f[c, 3, x, 2 - y] -> (y, x) = (0,0): f[0,2]; (0,1): f[1,2];
    # (1,0): f[0,1]; (1,1): f[1,1]
    expected = [302, 312, 301, 311, 1302, 1312, 1301, 1311]
    torch.testing.assert_close(out, torch.tensor([expected], dtype=torch.float32))


@pytest.mark.parametrize(
    "order, grid, spec",
    [
        (4, (8, 8), BundleSpec(1, 2, 4, 2)),
        (4, (4, 4), BundleSpec(3, 1, None, 0)),
        (1, (6, 6), BundleSpec(1, 0, 3, 3)),
    ],
)
def test_sampled_pairs_are_valid_and_within_distance(order, grid, spec):
    g1, g2, base = sample_pairs(order, grid, spec, 3000, torch.Generator().manual_seed(0))
    assert g1.shape == g2.shape == base.shape == (3000, 3)
    kh, kw = spec.patch(grid)
    for g in (g1, g2):
        patch = base[:, 1:] - g[:, 1:]  # the patch H-SSL reads must lie inside the grid
        assert (patch >= 0).all() and (patch[:, 0] <= grid[0] - kh).all() and (patch[:, 1] <= grid[1] - kw).all()
        assert set(g[:, 0].tolist()) == set(range(order))
    rot = (g1[:, 0] - g2[:, 0]).abs()
    rot = torch.minimum(rot, order - rot)
    shift = (g1[:, 1:] - g2[:, 1:]).abs().max(dim=1).values
    assert rot.max() == spec.rotation_distance and shift.max() == spec.grid_distance  # reached ...
    assert (base == torch.tensor([0, (grid[0] - kh) // 2, (grid[1] - kw) // 2])).all()  # fixed, centred g0


@pytest.mark.parametrize("padding_mode", ["circular", "zeros"])
def test_p4_backbone_commutes_with_roto_translations(padding_mode):
    torch.manual_seed(0)
    net = GroupCNN(order=4, widths=(3, 4, 5), padding_mode=padding_mode).double().eval()
    x = torch.randn(4, 3, 16, 16, dtype=torch.float64)
    g = torch.tensor([[1, 1, 0], [2, 0, -1], [3, -1, 2], [0, 2, 1]])
    moved, expected = net.forward_features(act_on_images(x, g, net.cell)), act_on_features(net.forward_features(x), g)
    if padding_mode == "circular":
        torch.testing.assert_close(moved, expected, atol=1e-10, rtol=0)
    else:  # zero padding: cyclic image shifts are not network symmetries (documented)
        assert (moved - expected).abs().max() > 1e-3
        g[:, 1:] = 0  # pure rotations stay exact
        torch.testing.assert_close(
            net.forward_features(act_on_images(x, g, net.cell)),
            act_on_features(net.forward_features(x), g),
            atol=1e-10,
            rtol=0,
        )


def test_hssl_bundle_of_image_equals_base_bundle_of_transformed_image():
    """z(g^-1 g0) on x equals z(g0) on g.x (p4 with circular padding; translation CNN)."""
    torch.manual_seed(1)
    x = torch.randn(64, 3, 16, 16, dtype=torch.float64)
    for order in (4, 1):
        net = GroupCNN(order=order, widths=(3, 4, 5), padding_mode="circular").double().eval()
        spec = BundleSpec(rotation_base=min(2, order), rotation_distance=order // 2, grid_base=2, grid_distance=2)
        g, _, base = sample_pairs(order, (4, 4), spec, 64, torch.Generator().manual_seed(order))
        on_image = hssl_bundles(net.forward_features(x), g, base, spec)
        on_transformed = extract_bundles(net.forward_features(act_on_images(x, g, net.cell)), base, spec)
        torch.testing.assert_close(on_image, on_transformed, atol=1e-10, rtol=0)


def test_bad_bundle_parameters_raise_clear_errors():
    features = torch.zeros(2, 3, 4, 8, 8)
    zeros = torch.zeros(2, 3, dtype=torch.long)
    with pytest.raises(ValueError, match="rotation_base 5 is larger than the group axis of size 4"):
        extract_bundles(features, zeros, BundleSpec(rotation_base=5))
    with pytest.raises(ValueError, match="rotation_distance 3 is beyond the cyclic group of order 4"):
        sample_pairs(4, (8, 8), BundleSpec(rotation_distance=3), 2)
    with pytest.raises(ValueError, match="grid_base 9 is larger than the grid"):
        sample_pairs(4, (8, 8), BundleSpec(grid_base=9), 2)
    with pytest.raises(ValueError, match="grid_distance 5 is beyond the grid"):
        sample_pairs(4, (8, 8), BundleSpec(grid_base=4, grid_distance=5), 2)
    with pytest.raises(ValueError, match="square grid"):
        sample_pairs(4, (8, 6), BundleSpec(grid_base=2), 2)
    with pytest.raises(ValueError, match="sizes must be >= 1"):
        BundleSpec(rotation_base=0).check(4, (8, 8))
    with pytest.raises(ValueError, match="sizes must be >= 1"):
        BundleSpec(grid_distance=-1).check(4, (8, 8))
    with pytest.raises(ValueError, match=r"base offsets must have shape \(N, 3\)"):
        extract_bundles(features, torch.zeros(2, 1, dtype=torch.long), BundleSpec())
    with pytest.raises(ValueError, match="outside a grid axis"):
        extract_bundles(features, torch.tensor([[0, 7, 0], [0, 0, 0]]), BundleSpec(grid_base=2))
    with pytest.raises(ValueError, match="group feature map"):
        extract_bundles(torch.zeros(2, 3, 4), zeros, BundleSpec())
    with pytest.raises(ValueError, match="group elements must be an integer tensor"):
        act_on_images(torch.zeros(2, 3, 8, 8), torch.zeros(2, 2, dtype=torch.long), 1)
    with pytest.raises(ValueError, match="group elements must be an integer tensor"):
        act_on_features(features, torch.zeros(2, 3))
    with pytest.raises(ValueError, match="cell must be"):
        act_on_images(torch.zeros(2, 3, 8, 8), zeros, 0)
    with pytest.raises(ValueError, match="padding must be one of"):
        act_on_images(torch.zeros(2, 3, 8, 8), zeros, 1, "reflect")


def test_zero_filled_shift_hand_computed():
    image = torch.arange(1.0, 10.0).view(1, 1, 3, 3)  # [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    down_left = act_on_images(image, torch.tensor([[0, 1, -1]]), 1, "zeros")
    torch.testing.assert_close(down_left[0, 0], torch.tensor([[0.0, 0.0, 0.0], [2.0, 3.0, 0.0], [5.0, 6.0, 0.0]]))
    cyclic = act_on_images(image, torch.tensor([[0, 1, -1]]), 1, "circular")
    torch.testing.assert_close(cyclic[0, 0], torch.tensor([[8.0, 9.0, 7.0], [2.0, 3.0, 1.0], [5.0, 6.0, 4.0]]))
    gone = act_on_images(image, torch.tensor([[0, 3, 0]]), 1, "zeros")
    assert (gone == 0).all()
