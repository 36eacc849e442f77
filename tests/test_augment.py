"""neuroequi.augment: sampling, replay, recorded crop boxes, restrictions, parameters, errors."""

from __future__ import annotations

import dataclasses
import math

import neuroequi  # noqa: F401  (compat shim before torchvision)
import numpy as np
import PIL.Image
import pytest
import torch
import torchvision.transforms.v2.functional as TF

from neuroequi.augment import (
    COLUMNS,
    DEFAULTS,
    POLICY_NAMES,
    VIEW_PAIRS,
    AugParams,
    ColorJitter,
    GaussianBlur,
    HorizontalFlip,
    RandomGrayscale,
    RandomResizedCrop,
    Solarize,
    get_policy,
    two_view_policies,
)
from neuroequi.data import cifar10

PRESETS = ("cifar", "simclr_cifar", "simclr", "byol_view1", "byol_view2", "barlow_twins_view1", "barlow_twins_view2")


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def cifar_pil() -> list[PIL.Image.Image]:
    """12 real CIFAR-10 test images (PIL, 32x32 RGB), from several classes."""
    dataset = cifar10("test")
    return [dataset[i][0] for i in range(0, len(dataset), len(dataset) // 12)][:12]


@pytest.fixture(scope="module")
def cifar_uint8(cifar_pil) -> torch.Tensor:
    return torch.from_numpy(np.stack([np.asarray(im) for im in cifar_pil])).permute(0, 3, 1, 2).contiguous()


# ---------------------------------------------------------------- replay


@pytest.mark.parametrize("name", ["cifar", "byol_view2"])
def test_replay_on_the_same_images_is_exact(cifar_uint8, name):
    policy = get_policy(name, size=40)
    views, params = policy(cifar_uint8, gen(0))
    assert views.shape == (12, 3, 40, 40) and views.dtype == torch.float32
    assert 0.0 <= float(views.min()) and float(views.max()) <= 1.0
    assert torch.equal(policy.apply(cifar_uint8, params), views)
    assert torch.equal(policy.apply(cifar_uint8.float() / 255.0, params), views)


def test_pil_list_and_tensor_batch_give_the_same_views(cifar_pil, cifar_uint8):
    policy = get_policy("cifar")
    views, params = policy(cifar_pil, gen(1))
    assert torch.equal(policy.apply(cifar_uint8, params), views)
    assert torch.equal(policy(cifar_uint8, gen(1))[0], views)


def test_matched_batch_halves_share_parameters(cifar_uint8):
    """TeSSL: one parameter row per pair, applied to two different image halves."""
    policy = get_policy("cifar")
    x1, x2 = cifar_uint8[:6], cifar_uint8[6:]
    params = policy.sample(6, gen(2))
    both = policy.apply(torch.cat([x1, x2]), params.repeat(2))
    assert torch.equal(both[:6], policy.apply(x1, params))
    assert torch.equal(both[6:], policy.apply(x2, params))
    assert not torch.equal(both[:6], both[6:])


def test_replay_rescales_the_crop_box_to_another_image_size(cifar_pil):
    """Boxes sampled on 32 px images replay on 3x nearest-upscaled copies at 3x pixel coordinates."""
    policy = get_policy("cifar").restrict("geometric")
    views_small, params = policy(cifar_pil, gen(3))
    big = [im.resize((96, 96), PIL.Image.NEAREST) for im in cifar_pil]
    views_big = policy.apply(big, params)
    big_float = [TF.to_dtype(TF.pil_to_tensor(im), torch.float32, scale=True) for im in big]
    frame = params.to_dataframe()
    for view, image, row in zip(views_big, big_float, frame.itertuples()):
        ref = TF.resized_crop(
            image,
            top=3 * row.crop_y_px,
            left=3 * row.crop_x_px,
            height=3 * row.crop_h_px,
            width=3 * row.crop_w_px,
            size=[32, 32],
            antialias=False,
        )
        torch.testing.assert_close(view, TF.horizontal_flip(ref) if row.flip else ref, atol=1e-5, rtol=0)
    assert not torch.equal(views_small, views_big)


def test_mixed_size_list_matches_separate_batches(cifar_pil):
    policy = get_policy("byol_view2", size=24)
    images = [im if k % 2 else im.resize((48, 40)) for k, im in enumerate(cifar_pil)]
    views, params = policy(images, gen(4))
    assert torch.equal(params["image_w"][::2], torch.full((6,), 48.0, dtype=torch.float64))
    assert torch.equal(views[1::2], policy.apply(images[1::2], params[1::2]))
    assert torch.equal(views[::2], policy.apply(images[::2], params[::2]))


# ---------------------------------------------------------------- crop boxes


def test_recorded_crop_box_reproduces_the_crop_pixels(cifar_uint8):
    policy = get_policy("cifar").restrict("crop")
    views, params = policy(cifar_uint8, gen(5))
    frame = params.to_dataframe()
    images = cifar_uint8.float() / 255.0
    for view, image, row in zip(views, images, frame.itertuples()):
        crop = image[:, row.crop_y_px : row.crop_y_px + row.crop_h_px, row.crop_x_px : row.crop_x_px + row.crop_w_px]
        resized = torch.nn.functional.interpolate(crop[None], size=(32, 32), mode="bilinear", align_corners=False)
        torch.testing.assert_close(view, resized[0], atol=1e-5, rtol=0)


def test_a_box_of_the_output_size_copies_pixels(cifar_uint8):
    """A 32x32 box on a 64 px image, output 32: the view is exactly the box's pixels."""
    images = torch.nn.functional.interpolate(cifar_uint8.float(), scale_factor=2, mode="nearest").to(torch.uint8)
    policy = get_policy("cifar").restrict("crop")
    corners = torch.randint(0, 33, (12, 2), generator=gen(6)).double()
    params = policy.sample(12, gen(6), (64, 64)).replace(
        crop_x=corners[:, 0] / 64, crop_y=corners[:, 1] / 64, crop_w=0.5, crop_h=0.5
    )
    views = policy.apply(images, params)
    for view, image, (x, y) in zip(views, images, corners.long().tolist()):
        torch.testing.assert_close(view, image[:, y : y + 32, x : x + 32].float() / 255, atol=1e-6, rtol=0)


def test_crop_boxes_follow_the_scale_and_ratio_ranges():
    crop = RandomResizedCrop(32, scale=(0.2, 1.0))
    hw = torch.tensor([[32.0, 32.0]]).repeat(4000, 1)
    cols = crop.sample(4000, gen(7), hw)
    x, y, w, h = (cols[c] for c in ("crop_x_px", "crop_y_px", "crop_w_px", "crop_h_px"))
    assert bool((w >= 1).all() and (h >= 1).all() and (x + w <= 32).all() and (y + h <= 32).all())
    assert bool((x == x.round()).all() and (w == w.round()).all())
    # Rounding to whole pixels moves area and ratio by at most half a pixel per side.
    area = w * h / 1024
    assert float(area.min()) >= 0.2 * (1 - 1 / 8) ** 2 and float(area.max()) <= 1.0
    ratio = w / h
    assert float(ratio.min()) >= 0.75 * 30 / 34 and float(ratio.max()) <= 4 / 3 * 34 / 30
    torch.testing.assert_close(cols["crop_w"], w / 32)
    torch.testing.assert_close(cols["crop_y"], y / 32)


def test_crop_fallback_is_a_centre_crop_when_no_try_fits():
    # A 1x100 strip can never hold a box with ratio in [3/4, 4/3] of >= 50% area.
    cols = RandomResizedCrop(8, scale=(0.5, 1.0)).sample(3, gen(8), torch.tensor([[1.0, 100.0]]).repeat(3, 1))
    assert cols["crop_h_px"].tolist() == [1.0] * 3
    assert cols["crop_w_px"].tolist() == [round(4 / 3)] * 3
    assert cols["crop_x_px"].tolist() == [49.0] * 3


# ---------------------------------------------------------------- sampling, seeds, restrictions


@pytest.mark.parametrize("name", PRESETS)
def test_same_seed_same_parameters(name):
    policy = get_policy(name)
    a, b, c = policy.sample(64, gen(9)), policy.sample(64, gen(9)), policy.sample(64, gen(10))
    assert a.columns == COLUMNS and torch.equal(a.values, b.values)
    assert not torch.equal(a.values, c.values)


def test_restrictions_keep_the_full_policy_draws():
    policy = get_policy("byol_view2")
    full = policy.sample(500, gen(11))
    crop = policy.restrict("crop").sample(500, gen(11))
    photo = policy.restrict("photometric").sample(500, gen(11))
    geometric = policy.restrict("geometric").sample(500, gen(11))
    box = ["crop_x", "crop_y", "crop_w", "crop_h", "crop_x_px", "crop_w_px"]
    colour = ["jitter", "brightness", "hue", "jitter_order_0", "grayscale", "blur", "blur_sigma", "solarize"]
    assert torch.equal(crop[box], full[box]) and torch.equal(geometric[box + ["flip"]], full[box + ["flip"]])
    assert torch.equal(photo[colour], full[colour])
    for name, value in DEFAULTS.items():
        assert bool((crop[name] == value).all()), name
    assert bool((photo["flip"] == DEFAULTS["flip"]).all())
    assert bool((photo[["crop_x", "crop_y"]] == 0).all() and (photo[["crop_w", "crop_h"]] == 1).all())
    assert policy.restrict("crop").restrict("full").sample(500, gen(11)).values.equal(full.values)


def test_photometric_restriction_on_cifar_keeps_the_geometry(cifar_uint8):
    """No crop, no flip and (forced) no colour change give back the 32 px image itself."""
    policy = get_policy("cifar").restrict("photometric")
    params = policy.sample(12, gen(12)).replace(jitter=0, grayscale=0)
    torch.testing.assert_close(policy.apply(cifar_uint8, params), cifar_uint8.float() / 255, atol=1e-6, rtol=0)


@pytest.mark.parametrize(
    ("name", "probabilities"),
    [
        ("byol_view1", {"flip": 0.5, "jitter": 0.8, "grayscale": 0.2, "blur": 1.0, "solarize": 0.0}),
        ("byol_view2", {"flip": 0.5, "jitter": 0.8, "grayscale": 0.2, "blur": 0.1, "solarize": 0.2}),
        ("simclr", {"flip": 0.5, "jitter": 0.8, "grayscale": 0.2, "blur": 0.5, "solarize": 0.0}),
        ("cifar", {"flip": 0.5, "jitter": 0.8, "grayscale": 0.2, "blur": 0.0, "solarize": 0.0}),
    ],
)
def test_flag_frequencies_and_ranges_match_the_preset(name, probabilities):
    n = 20_000
    params = get_policy(name).sample(n, gen(13))
    for flag, p in probabilities.items():
        assert abs(float(params[flag].mean()) - p) <= 4 * math.sqrt(p * (1 - p) / n) + 1e-12, flag
    on = params["jitter"].bool()
    jitter = get_policy(name).jitter
    for op in ("brightness", "contrast", "saturation"):
        strength = getattr(jitter, op)
        values = params[op][on]
        assert float(values.min()) >= 1 - strength and float(values.max()) <= 1 + strength
        assert float(values.max() - values.min()) > 1.9 * strength  # fills the range
        assert bool((params[op][~on] == 1).all())
    assert float(params["hue"][on].abs().max()) <= jitter.hue and bool((params["hue"][~on] == 0).all())
    orders = params[[f"jitter_order_{k}" for k in range(4)]]
    assert bool((orders.sort(dim=1).values == torch.arange(4.0)).all())
    assert bool((orders[~on] == torch.arange(4.0)).all())
    if params["blur"].any():
        sigma = params["blur_sigma"]
        assert float(sigma[params["blur"].bool()].min()) >= 0.1 and float(sigma.max()) <= 2.0
        assert bool((sigma[~params["blur"].bool()] == 0).all())


def test_presets_and_methods():
    view1, view2 = two_view_policies("byol")
    assert (view1.blur.p, view2.blur.p, view1.solarize.p, view2.solarize.p) == (1.0, 0.1, 0.0, 0.2)
    assert view1.blur.kernel_size == 23 and view1.size == 224
    bt1, bt2 = two_view_policies("barlow_twins")
    assert (bt1.blur.p, bt2.solarize.p) == (1.0, 0.2)
    simclr = get_policy("simclr")
    assert (simclr.jitter.brightness, simclr.jitter.hue, simclr.blur.p, simclr.solarize) == (0.8, 0.2, 0.5, None)
    cifar = get_policy("cifar", crop_scale=(0.2, 1.0))
    assert cifar.size == 32 and cifar.blur is None and cifar.solarize is None and cifar.crop.scale == (0.2, 1.0)
    assert (cifar.jitter.saturation, cifar.grayscale.p, cifar.flip.p) == (0.4, 0.2, 0.5)
    for name, (a, b) in VIEW_PAIRS.items():
        assert tuple(p.name for p in two_view_policies(name)) == (a, b)


def test_one_vocabulary_of_policy_names():
    """Every name the training config's data.policy accepts, get_policy accepts too, and vice versa:
    a preset name is itself on both views, a method's name gives its first view to get_policy."""
    assert set(POLICY_NAMES) == set(VIEW_PAIRS) >= {"byol", "barlow_twins", "byol_view2", "simclr", "cifar"}
    for name in POLICY_NAMES:
        first, second = two_view_policies(name)
        assert get_policy(name) == first and first.name == VIEW_PAIRS[name][0]
    assert get_policy("byol") == get_policy("byol_view1") != get_policy("byol_view2")
    assert two_view_policies("byol_view2") == (get_policy("byol_view2"),) * 2


# ---------------------------------------------------------------- image properties


def test_flip_twice_is_identity(cifar_uint8):
    policy = get_policy("cifar").restrict("geometric")
    flip = policy.sample(12, gen(14), (32, 32)).replace(crop_x=0, crop_y=0, crop_w=1, crop_h=1, flip=1)
    once = policy.apply(cifar_uint8, flip)
    torch.testing.assert_close(once, cifar_uint8.flip(-1).float() / 255, atol=1e-6, rtol=0)
    torch.testing.assert_close(policy.apply(once, flip), cifar_uint8.float() / 255, atol=1e-6, rtol=0)


def test_grayscale_views_have_equal_channels_and_others_do_not(cifar_uint8):
    policy = get_policy("cifar")
    views, params = policy(cifar_uint8.repeat(4, 1, 1, 1), gen(15))
    gray = params["grayscale"].bool()
    assert gray.any() and (~gray).any()
    spread = (views.amax(dim=1) - views.amin(dim=1)).amax(dim=(1, 2))
    assert bool((spread[gray] == 0).all()) and bool((spread[~gray] > 0).all())


def test_jitter_identity_and_inverse_hue(cifar_uint8):
    policy = get_policy("cifar").restrict("photometric")
    base = policy.sample(12, gen(16)).replace(jitter=1, grayscale=0)
    identity = base.replace(brightness=1, contrast=1, saturation=1, hue=0)
    images = cifar_uint8.float() / 255
    torch.testing.assert_close(policy.apply(cifar_uint8, identity), images, atol=1e-6, rtol=0)
    shifted = policy.apply(cifar_uint8, identity.replace(hue=0.3))
    torch.testing.assert_close(policy.apply(shifted, identity.replace(hue=-0.3)), images, atol=1e-5, rtol=0)
    grey = policy.apply(cifar_uint8, identity.replace(saturation=0))
    assert float((grey.amax(dim=1) - grey.amin(dim=1)).max()) < 1e-6


def test_solarize_inverts_bright_pixels_only(cifar_uint8):
    policy = dataclasses.replace(get_policy("byol_view2", size=32), blur=GaussianBlur(0.0, 3)).restrict("photometric")
    params = policy.sample(12, gen(17)).replace(jitter=0, grayscale=0, solarize=1)
    images = cifar_uint8.float() / 255
    expected = torch.where(images >= 0.5, 1 - images, images)
    torch.testing.assert_close(policy.apply(cifar_uint8, params), expected, atol=1e-6, rtol=0)


def test_blur_reduces_high_frequencies(cifar_uint8):
    policy = get_policy("byol_view1", size=32).restrict("photometric")
    params = policy.sample(12, gen(18)).replace(jitter=0, grayscale=0, blur_sigma=2.0)
    blurred = policy.apply(cifar_uint8, params)
    images = cifar_uint8.float() / 255
    assert torch.allclose(blurred.mean(dim=(1, 2, 3)), images.mean(dim=(1, 2, 3)), atol=0.02)
    assert bool((blurred.diff(dim=-1).abs().mean(dim=(1, 2, 3)) < images.diff(dim=-1).abs().mean(dim=(1, 2, 3))).all())


# ---------------------------------------------------------------- AugParams


def test_augparams_indexing_dataframe_and_concatenation():
    params = get_policy("byol_view2").sample(10, gen(19), (300, 400))
    assert params["crop_x"].shape == (10,) and params[["crop_x", "flip"]].shape == (10, 2)
    assert len(params[3]) == 1 and torch.equal(params[3].values, params.values[3:4])
    assert torch.equal(params[2:5].values, params.values[2:5])
    assert torch.equal(params[torch.tensor([0, 9])].values, params.values[[0, 9]])
    frame = params.to_dataframe()
    assert list(frame.columns) == list(COLUMNS) and len(frame) == 10
    assert frame["flip"].dtype == bool and frame["crop_w_px"].dtype == np.int64
    assert (frame["image_h"] == 300).all() and (frame["image_w"] == 400).all()
    np.testing.assert_allclose(frame["crop_x"] * 400, frame["crop_x_px"], atol=1e-9)
    np.testing.assert_allclose(frame["crop_h"] * 300, frame["crop_h_px"], atol=1e-9)
    assert torch.equal(AugParams.from_dataframe(frame).values, params.values)
    joined = AugParams.cat([params, params[:3]])
    assert len(joined) == 13 and torch.equal(joined.values[10:], params.values[:3])
    assert torch.equal(params.repeat(3).values, params.values.repeat(3, 1))


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (torch.zeros(2, 3, 8, 8, dtype=torch.int32), "dtype"),
        (torch.zeros(2, 3, 8, 8, dtype=torch.bool), "dtype"),
        (torch.zeros(3, 8, 8), r"\(N, 3, H, W\)"),
        (torch.zeros(2, 1, 8, 8), "3 \\(RGB\\) channels"),
        (torch.zeros(2, 3, 0, 8), "empty"),
        (torch.zeros(0, 3, 8, 8), "empty"),
        (torch.full((2, 3, 8, 8), 255.0), r"\[0, 1\]"),
        (torch.full((2, 3, 8, 8), float("nan")), r"\[0, 1\]"),
        ([], "empty"),
        ([PIL.Image.new("RGB", (0, 5))], "empty"),
        ([torch.zeros(1, 3, 8, 8)], "image 0"),
        ("picture.jpg", "tensor"),
        ([np.zeros((8, 8, 3))], "PIL image or a tensor"),
    ],
)
def test_bad_images_raise(images, message):
    with pytest.raises(ValueError, match=message):
        get_policy("cifar")(images, gen(0))


@pytest.mark.parametrize(
    "make",
    [
        lambda: HorizontalFlip(1.5),
        lambda: ColorJitter(p=-0.1),
        lambda: RandomGrayscale(2),
        lambda: GaussianBlur(1.01, 23),
        lambda: Solarize(float("nan")),
        lambda: HorizontalFlip(True),
    ],
)
def test_probability_outside_unit_interval_raises(make):
    with pytest.raises(ValueError, match="probability must be a number in \\[0, 1\\]"):
        make()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: get_policy("imagenet"), "unknown augmentation policy 'imagenet'.*; valid: .*byol_view1"),
        (lambda: two_view_policies("moco"), "unknown augmentation policy 'moco'.*; valid: .*barlow_twins"),
        (lambda: get_policy("cifar").restrict("colour"), "unknown restriction 'colour'"),
        (lambda: get_policy("cifar", crop_scale=(0.5, 0.2)), "crop scale"),
        (lambda: get_policy("cifar", size=0), "crop size"),
        (lambda: GaussianBlur(0.5, 4), "odd"),
        (lambda: ColorJitter(hue=0.7), "hue"),
        (lambda: get_policy("cifar").sample(0), "positive int"),
        (lambda: get_policy("cifar").sample(2, image_size=(0, 5)), "image_size"),
    ],
)
def test_bad_settings_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_mismatched_parameters_raise(cifar_uint8):
    cifar, byol = get_policy("cifar"), get_policy("byol_view1", size=32)
    with pytest.raises(ValueError, match="3 parameter rows for 12 images"):
        cifar.apply(cifar_uint8, cifar.sample(3, gen(0)))
    with pytest.raises(ValueError, match="asks? for blur|ask for blur"):
        cifar.apply(cifar_uint8, byol.sample(12, gen(0)))
    with pytest.raises(ValueError, match="AugParams with the policy columns"):
        cifar.apply(cifar_uint8, AugParams(torch.zeros(12, 2), ("a", "b")))
    with pytest.raises(ValueError, match="unknown parameter column 'size'"):
        cifar.sample(2)["size"]
    with pytest.raises(ValueError, match="different columns|with columns"):
        AugParams.cat([cifar.sample(2), AugParams(torch.zeros(1, 1), ("a",))])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_views_on_cuda_match_cpu(cifar_uint8):
    policy = get_policy("byol_view2", size=48)
    params = policy.sample(12, gen(20))
    on_gpu = policy.apply(cifar_uint8.cuda(), params)
    assert on_gpu.device.type == "cuda"
    torch.testing.assert_close(on_gpu.cpu(), policy.apply(cifar_uint8, params), atol=1e-5, rtol=0)
