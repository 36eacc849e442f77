"""neuroequi.augment against torchvision.transforms.v2.functional, on real CIFAR-10 images.

Tolerance: 1e-5 absolute for each single kernel (float32 rounding; our hue uses an
equivalent closed form of HSV -> RGB), 1e-4 for whole pipelines (differences of ~1e-6
pass through up to seven ops).
"""

from __future__ import annotations

import dataclasses

import neuroequi  # noqa: F401  (compat shim before torchvision)
import numpy as np
import pytest
import torch
import torchvision.transforms.v2.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroequi.augment import JITTER_OPS, AugParams, Solarize, get_policy
from neuroequi.augment import functional as AF
from neuroequi.data import cifar10

KERNEL_TOL = 1e-5
PIPELINE_TOL = 1e-4


@pytest.fixture(scope="module")
def cifar_uint8() -> torch.Tensor:
    """16 real CIFAR-10 test images, two per class-ish, as uint8 ``(16, 3, 32, 32)``."""
    dataset = cifar10("test")
    images = [np.asarray(dataset[i][0]) for i in range(0, len(dataset), len(dataset) // 16)][:16]
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()


@pytest.fixture(scope="module")
def cifar_float(cifar_uint8: torch.Tensor) -> torch.Tensor:
    return cifar_uint8.float() / 255.0


def per_image(fn, x: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    return torch.stack([fn(x[i], float(factors[i])) for i in range(len(x))])


@pytest.mark.parametrize(
    ("ours", "theirs", "low", "high"),
    [
        (AF.adjust_brightness, TF.adjust_brightness, 0.0, 2.0),
        (AF.adjust_contrast, TF.adjust_contrast, 0.0, 2.0),
        (AF.adjust_saturation, TF.adjust_saturation, 0.0, 2.0),
        (AF.adjust_hue, TF.adjust_hue, -0.5, 0.5),
    ],
    ids=JITTER_OPS,
)
def test_jitter_kernels_match_torchvision(cifar_float, ours, theirs, low, high):
    factors = low + (high - low) * torch.rand(len(cifar_float), generator=torch.Generator().manual_seed(1))
    ref = per_image(theirs, cifar_float, factors)
    torch.testing.assert_close(ours(cifar_float, factors), ref, atol=KERNEL_TOL, rtol=0)


def test_hue_handles_grey_and_saturated_pixels():
    # Grey, black, white, pure and mixed colours, including maxima shared by two channels.
    pixels = torch.tensor(
        [[0.5, 0.5, 0.5], [0, 0, 0], [1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [0.2, 0.7, 0.7]]
    )
    x = pixels.T.reshape(1, 3, 3, 3).repeat(5, 1, 1, 1)
    factors = torch.tensor([-0.5, -0.2, 0.0, 0.3, 0.5])
    torch.testing.assert_close(AF.adjust_hue(x, factors), per_image(TF.adjust_hue, x, factors), atol=KERNEL_TOL, rtol=0)


def test_grayscale_and_solarize_match_torchvision(cifar_float):
    torch.testing.assert_close(
        AF.grayscale(cifar_float), TF.rgb_to_grayscale(cifar_float, num_output_channels=3), atol=KERNEL_TOL, rtol=0
    )
    torch.testing.assert_close(AF.solarize(cifar_float, 0.5), TF.solarize(cifar_float, 0.5), atol=0, rtol=0)


@pytest.mark.parametrize("kernel_size", [3, 7])
def test_blur_matches_torchvision(cifar_float, kernel_size):
    sigma = 0.1 + 1.9 * torch.rand(len(cifar_float), generator=torch.Generator().manual_seed(2))
    ref = torch.stack([TF.gaussian_blur(img, [kernel_size] * 2, [float(s)] * 2) for img, s in zip(cifar_float, sigma)])
    torch.testing.assert_close(AF.gaussian_blur(cifar_float, sigma, kernel_size), ref, atol=KERNEL_TOL, rtol=0)


@settings(max_examples=30, deadline=None)
@given(
    x=st.integers(0, 31),
    y=st.integers(0, 31),
    w=st.integers(1, 32),
    h=st.integers(1, 32),
    size=st.sampled_from([8, 24, 32, 45]),
    flip=st.booleans(),
)
def test_resized_crop_matches_torchvision(cifar_float, x, y, w, h, size, flip):
    w, h = min(w, 32 - x), min(h, 32 - y)
    image = cifar_float[:1]
    ref = TF.resized_crop(image, top=y, left=x, height=h, width=w, size=[size, size], antialias=False)
    if flip:
        ref = TF.horizontal_flip(ref)
    ours = AF.resized_crop(image, torch.tensor([[x, y, w, h]]), size, torch.tensor([flip]))
    torch.testing.assert_close(ours, ref, atol=KERNEL_TOL, rtol=0)


def crop_flip_reference(image: torch.Tensor, row, size: int) -> torch.Tensor:
    """One parameter row's crop (resized to ``size``) and flip, with torchvision's functional ops."""
    v = TF.resized_crop(
        image,
        top=row.crop_y_px,
        left=row.crop_x_px,
        height=row.crop_h_px,
        width=row.crop_w_px,
        size=[size] * 2,
        antialias=False,
    )
    return TF.horizontal_flip(v) if row.flip else v


def jitter_reference(v: torch.Tensor, row) -> torch.Tensor:
    """One parameter row's colour jitter (its four ops in its order), with torchvision's functional ops."""
    ops = (TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue)
    for k in range(4):
        op = getattr(row, f"jitter_order_{k}")
        v = ops[op](v, getattr(row, JITTER_OPS[op]))
    return v


def reference_views(images: torch.Tensor, params: AugParams, policy) -> torch.Tensor:
    """The policy written out image by image with torchvision's functional ops."""
    views = []
    for image, row in zip(images, params.to_dataframe().itertuples()):
        v = crop_flip_reference(image, row, policy.size)
        if row.jitter:
            v = jitter_reference(v, row)
        if row.grayscale:
            v = TF.rgb_to_grayscale(v, num_output_channels=3)
        if row.blur:
            v = TF.gaussian_blur(v, [policy.blur.kernel_size] * 2, [row.blur_sigma] * 2)
        if row.solarize:
            v = TF.solarize(v, policy.solarize.threshold)
        views.append(v)
    return torch.stack(views)


@pytest.mark.parametrize(("name", "size"), [("cifar", None), ("byol_view2", 48), ("byol_view1", 40), ("simclr", 40)])
def test_policy_matches_torchvision_pipeline(cifar_uint8, cifar_float, name, size):
    policy = get_policy(name, size=size)
    if policy.solarize is not None:  # make every op occur in this small batch
        policy = dataclasses.replace(policy, solarize=Solarize(0.5))
    views, params = policy(cifar_uint8, torch.Generator().manual_seed(3))
    assert params["jitter"].any() and params["flip"].any() and params["grayscale"].any()
    torch.testing.assert_close(views, reference_views(cifar_float, params, policy), atol=PIPELINE_TOL, rtol=0)
