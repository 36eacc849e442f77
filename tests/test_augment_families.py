"""neuroequi.augment.geometric / families: torchvision agreement, replay, single-family policies, targets, errors."""

from __future__ import annotations

import math

import neuroequi  # noqa: F401  (compat shim before torchvision)
import numpy as np
import pytest
import torch
import torchvision.transforms.v2.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.transforms import InterpolationMode

from neuroequi.augment import COLUMNS, JITTER_OPS, AugParams
from neuroequi.augment.families import (
    FAMILIES,
    FAMILY_COLUMNS,
    POSTER_FAMILIES,
    TARGETS,
    TransformsConfig,
    check_families,
    family_policy,
    family_targets,
    relative_target_statistics,
)
from neuroequi.augment.geometric import affine
from neuroequi.config import dataclass_from_mapping
from neuroequi.data import cifar10
from neuroequi.errors import ConfigError
from neuroequi.train.data import clean_views
from test_augment_reference import crop_flip_reference, jitter_reference

KERNEL_TOL = 1e-5
PIPELINE_TOL = 1e-4
BILINEAR = InterpolationMode.BILINEAR


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def cifar_uint8() -> torch.Tensor:
    """12 real CIFAR-10 test images as uint8 ``(12, 3, 32, 32)``."""
    dataset = cifar10("test")
    images = [np.asarray(dataset[i][0]) for i in range(0, len(dataset), len(dataset) // 12)][:12]
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()


@pytest.fixture(scope="module")
def cifar_float(cifar_uint8: torch.Tensor) -> torch.Tensor:
    return cifar_uint8.float() / 255.0


def all_families(size: int = 32, **changes) -> object:
    return family_policy(TransformsConfig(families=FAMILIES, **changes), size)


# ------------------------------------------------------------------------------------- kernel


@settings(max_examples=25, deadline=None)
@given(
    angle=st.floats(-180, 180),
    dx=st.floats(-10, 10),
    dy=st.floats(-10, 10),
    scale=st.floats(0.5, 2.0),
    fill=st.sampled_from([None, 0.0, 0.5]),
)
def test_affine_matches_torchvision(cifar_float, angle, dx, dy, scale, fill):
    x = cifar_float[:2]
    ours = affine(x, torch.full((2,), angle), torch.tensor([[dx, dy]] * 2), torch.full((2,), scale), fill)
    ref = TF.affine(
        x, angle=-angle, translate=[dx, dy], scale=scale, shear=[0.0, 0.0], interpolation=BILINEAR, fill=fill
    )
    torch.testing.assert_close(ours, ref, atol=KERNEL_TOL, rtol=0)


def test_rotation_is_torchvisions_counter_clockwise_rotate(cifar_float):
    angles = torch.tensor([0.0, 90.0, -90.0, 180.0, 33.3, -71.0] * 2)
    ours = affine(cifar_float, angles, torch.zeros(12, 2), torch.ones(12), fill=0.0)
    ref = torch.stack(
        [TF.rotate(img, float(a), interpolation=BILINEAR, fill=0.0) for img, a in zip(cifar_float, angles)]
    )
    torch.testing.assert_close(ours, ref, atol=KERNEL_TOL, rtol=0)
    torch.testing.assert_close(ours[1], torch.rot90(cifar_float[1], 1, dims=(-2, -1)), atol=KERNEL_TOL, rtol=0)


def test_integer_translation_is_an_exact_shift(cifar_float):
    out = affine(cifar_float[:1], torch.zeros(1), torch.tensor([[3.0, -2.0]]), torch.ones(1), fill=None)
    shifted = torch.zeros_like(cifar_float[:1])
    shifted[..., :30, 3:] = cifar_float[:1, :, 2:, :29]  # content moves right by 3 and up by 2
    torch.testing.assert_close(out, shifted, atol=KERNEL_TOL, rtol=0)


# ------------------------------------------------------------------------------------- policy


def reference_views(images: torch.Tensor, params: AugParams, policy) -> torch.Tensor:
    """The family policy written out image by image with torchvision's functional ops."""
    views = []
    for image, row in zip(images, params.to_dataframe().itertuples()):
        v = crop_flip_reference(image, row, policy.size)
        v = TF.affine(
            v,
            angle=-row.angle,
            translate=[row.translate_x_px, row.translate_y_px],
            scale=row.scale,
            shear=[0.0, 0.0],
            interpolation=BILINEAR,
            fill=policy.fill,
        )
        v = jitter_reference(v, row)
        v = TF.gaussian_blur(v, [policy.blur.kernel_size] * 2, [row.blur_sigma] * 2)
        views.append(v)
    return torch.stack(views)


def test_family_policy_matches_torchvision_pipeline(cifar_uint8, cifar_float):
    policy = all_families()
    views, params = policy(cifar_uint8, gen(3))
    assert params.columns == FAMILY_COLUMNS and views.shape == (12, 3, 32, 32)
    assert params["flip"].any() and (params["angle"] != 0).all() and (params["scale"] != 1).all()
    torch.testing.assert_close(views, reference_views(cifar_float, params, policy), atol=PIPELINE_TOL, rtol=0)


def test_replay_is_exact_and_uint8_equals_float(cifar_uint8, cifar_float):
    policy = all_families()
    views, params = policy(cifar_uint8, gen(4))
    assert torch.equal(policy.apply(cifar_uint8, params), views)
    assert torch.equal(policy.apply(cifar_float, params), views)
    assert torch.equal(policy.apply(list(cifar_uint8), params), views)


@pytest.mark.parametrize("family", FAMILIES)
def test_single_family_keeps_its_draws_and_the_identity_elsewhere(cifar_uint8, family):
    full = all_families()
    alone = full.restrict(family)
    p_full, p_alone = full.sample(64, gen(5)), alone.sample(64, gen(5))
    identity = full.identity(torch.tensor([[32.0, 32.0]] * 64))
    own = {
        "crop": [c for c in FAMILY_COLUMNS if c.startswith("crop_")],
        "flip": ["flip"],
        "rotation": ["angle"],
        "scale": ["scale"],
        "translation": [c for c in FAMILY_COLUMNS if c.startswith("translate_")],
        "color": ["jitter", *JITTER_OPS, *(f"jitter_order_{k}" for k in range(4))],
        "blur": ["blur", "blur_sigma"],
    }[family]
    others = [c for c in FAMILY_COLUMNS if c not in own]
    assert torch.equal(p_alone[own], p_full[own])
    assert torch.equal(p_alone[others], identity[others])
    # A single-family view equals the op alone: e.g. rotation only is a pure rotation of the image.
    if family == "rotation":
        views = alone.apply(cifar_uint8[:4], p_alone[:4])
        ref = torch.stack(
            [
                TF.rotate(x.float() / 255, float(a), interpolation=BILINEAR, fill=0.0)
                for x, a in zip(cifar_uint8[:4], p_alone["angle"][:4])
            ]
        )
        torch.testing.assert_close(views, ref, atol=KERNEL_TOL, rtol=0)


def test_sampled_ranges_and_translation_in_whole_pixels():
    p = all_families(rotation_degrees=30, translate=0.25).sample(4000, gen(6))
    assert p["angle"].abs().max() <= 30 and p["angle"].abs().max() > 29
    assert torch.equal(p["translate_x_px"], p["translate_x_px"].round()) and p["translate_x_px"].abs().max() == 8
    torch.testing.assert_close(p["translate_x"], p["translate_x_px"] / 32)
    assert 0.75 <= float(p["scale"].min()) and float(p["scale"].max()) <= 1.25
    assert (p["jitter"] == 1).all() and (p["blur"] == 1).all()
    assert 0.1 <= float(p["blur_sigma"].min()) and float(p["blur_sigma"].max()) <= 2.0


def test_relative_shift_replays_on_larger_views(cifar_float):
    small, large = all_families(32).restrict("translation"), all_families(64).restrict("translation")
    params = small.sample(1, gen(7)).replace(translate_x=0.125, translate_y=0.0, translate_x_px=4.0, translate_y_px=0.0)
    big = large.apply(cifar_float[:1], params)
    base = large.apply(cifar_float[:1], large.identity(torch.tensor([[32.0, 32.0]])))
    torch.testing.assert_close(big[..., 8:], base[..., :-8], atol=KERNEL_TOL, rtol=0)  # 0.125 of 64 px = 8 px


def test_standard_parameter_tables_give_clean_views(cifar_uint8):
    policy = all_families()
    clean = clean_views(policy, cifar_uint8)  # the training monitors' clean views (standard COLUMNS table)
    torch.testing.assert_close(clean, cifar_uint8.float() / 255, atol=KERNEL_TOL, rtol=0)
    torch.testing.assert_close(policy.apply(cifar_uint8, policy.identity(torch.tensor([[32.0, 32.0]] * 12))), clean)
    bad = AugParams(torch.zeros(12, len(COLUMNS)), COLUMNS).replace(grayscale=1.0)
    with pytest.raises(ValueError, match="grayscale"):
        policy.apply(cifar_uint8, bad)


# ------------------------------------------------------------------------------------ targets


def test_targets_from_the_identity_and_relative_to_another_view():
    policy = all_families()
    a, b = policy.sample(50, gen(8)), policy.sample(50, gen(9))
    rot = family_targets(b, "rotation", a)
    delta = torch.deg2rad(b["angle"] - a["angle"])
    torch.testing.assert_close(rot, torch.stack((torch.cos(delta), torch.sin(delta)), 1))
    torch.testing.assert_close(family_targets(b, "scale", a)[:, 0], torch.log(b["scale"]) - torch.log(a["scale"]))
    torch.testing.assert_close(family_targets(b, "flip", a)[:, 0], (b["flip"] != a["flip"]).double())
    torch.testing.assert_close(family_targets(b, "color", a), b[list(JITTER_OPS)] - a[list(JITTER_OPS)])
    own = family_targets(b, "blur")
    torch.testing.assert_close(own[:, 0], b["blur_sigma"])
    torch.testing.assert_close(
        family_targets(b, "crop"), b[["crop_x", "crop_y", "crop_w", "crop_h"]] - torch.tensor([0.0, 0, 1, 1])
    )
    for family in FAMILIES:
        assert family_targets(b, family).shape == (50, len(TARGETS[family]))
    # The relative rotation composes: a -> b then b -> c is a -> c.
    c = policy.sample(50, gen(10))
    ab, bc, ac = (
        torch.atan2(t[:, 1], t[:, 0])
        for t in (family_targets(b, "rotation", a), family_targets(c, "rotation", b), family_targets(c, "rotation", a))
    )
    torch.testing.assert_close(
        torch.remainder(ab + bc - ac + math.pi, 2 * math.pi) - math.pi,
        torch.zeros(50, dtype=torch.float64),
        atol=1e-9,
        rtol=0,
    )


def test_relative_target_statistics_are_seeded():
    policy = all_families()
    mean, std = relative_target_statistics(policy, POSTER_FAMILIES, 4000, seed=1)
    again = relative_target_statistics(policy, POSTER_FAMILIES, 4000, seed=1)
    assert torch.equal(mean, again[0]) and torch.equal(std, again[1])
    assert mean.shape == (2 + 4 + 1 + 2,) and bool((std > 0).all())
    assert abs(float(mean[4])) < 0.02  # a difference of two iid colour factors has mean 0


# ------------------------------------------------------------------------------------- errors


def test_bad_families_and_ranges_raise_config_errors():
    with pytest.raises(ConfigError, match="unknown transformation family.*'shear'"):
        check_families(["rotation", "shear"])
    with pytest.raises(ConfigError, match="distinct"):
        check_families([])
    with pytest.raises(ConfigError, match="unknown transformation family"):
        all_families().restrict("hue")
    with pytest.raises(ConfigError, match="rotation degrees"):
        family_policy(TransformsConfig(rotation_degrees=200), 32)
    with pytest.raises(ConfigError, match="transforms.scale"):
        family_policy(TransformsConfig(scale=(0.5,)), 32)
    with pytest.raises(ConfigError, match="unknown key"):
        dataclass_from_mapping(TransformsConfig, {"families": ["rotation"], "angle": 3}, "data.transforms")
