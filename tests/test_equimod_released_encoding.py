"""EquiMod's released parameter vector (order, pixel units, statistics) as an encoding option.

Golden vectors: ``ParamCompose.apply(image, params)`` of the released ``src/transforms.py``
(``ADevillers/EquiMod`` branch ``BYOL+EquiMod`` commit ``5c936cf7``: the ImageNet view-2
pipeline of ``src/dataset.py:96-104``; branch ``SimCLR+EquiMod`` commit ``908c7b4f``: the CIFAR
pipeline of ``src/dataset.py:31-37``) on a 300 x 400 image with the fixed parameters below, run
in a scratch folder (float32, as released).
"""

from __future__ import annotations

from typing import get_args

import pytest
import torch

import neuroequi  # noqa: F401
from neuroequi.augment import COLUMNS, DEFAULTS, AugParams, EquiModEncoder, get_policy
from neuroequi.augment.encoding import RELEASED_STATISTICS, encoding_columns
from neuroequi.errors import ConfigError
from neuroequi.methods import EquiModOptions
from neuroequi.methods.equimod import build_encoder
from neuroequi.methods.options import Statistics

BYOL_IMAGENET_VECTOR = [
    10.0,
    20.0,
    100.0,
    120.0,
    1.0,
    1.0,
    2.0,
    0.0,
    3.0,
    1.0,
    1.100000023841858,
    0.8999999761581421,
    1.2000000476837158,
    -0.05000000074505806,
    0.0,
    1.0,
    1.2999999523162842,
    1.0,
]
SIMCLR_CIFAR_VECTOR = [3.0, 5.0, 20.0, 18.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 1.0, 1.0, 1.0, 0.0, 1.0]


def _params(**values: float) -> AugParams:
    """One row of parameters on a 300 x 400 image: the given columns, defaults elsewhere."""
    row = {**DEFAULTS, "image_h": 300.0, "image_w": 400.0, **values}
    row.update(
        crop_x=row["crop_x_px"] / 400,
        crop_y=row["crop_y_px"] / 300,
        crop_w=row["crop_w_px"] / 400,
        crop_h=row["crop_h_px"] / 300,
    )
    return AugParams(torch.tensor([[row[c] for c in COLUMNS]], dtype=torch.float64))


def _raw(policy_name: str, params: AugParams) -> list[float]:
    columns = encoding_columns(get_policy(policy_name), "released")
    return EquiModEncoder(columns, torch.zeros(len(columns)), torch.ones(len(columns))).raw(params)[0].tolist()


def test_released_vector_matches_byol_equimod_imagenet() -> None:
    """i, j, h, w = 10, 20, 100, 120 px, flipped; jitter order (2, 0, 3, 1), factors 1.1, 0.9, 1.2,
    -0.05; no grayscale; blurred with sigma 1.3; solarized."""
    params = _params(
        crop_y_px=10,
        crop_x_px=20,
        crop_h_px=100,
        crop_w_px=120,
        flip=1,
        jitter=1,
        jitter_order_0=2,
        jitter_order_1=0,
        jitter_order_2=3,
        jitter_order_3=1,
        brightness=1.1,
        contrast=0.9,
        saturation=1.2,
        hue=-0.05,
        blur=1,
        blur_sigma=1.3,
        solarize=1,
    )
    torch.testing.assert_close(_raw("byol_view2", params), BYOL_IMAGENET_VECTOR, rtol=1e-6, atol=1e-7)


def test_released_vector_matches_simclr_equimod_cifar_with_skipped_augmentations() -> None:
    """i, j, h, w = 3, 5, 20, 18 px, no flip, no jitter (order 0..3, factors 1, 1, 1, 0), grayscale."""
    params = _params(crop_y_px=3, crop_x_px=5, crop_h_px=20, crop_w_px=18, grayscale=1)
    torch.testing.assert_close(_raw("cifar", params), SIMCLR_CIFAR_VECTOR, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(("policy", "n"), [("cifar", 15), ("simclr", 17), ("byol_view1", 18)])
def test_released_layout_holds_the_same_information_in_another_order(policy: str, n: int) -> None:
    ours, released = encoding_columns(get_policy(policy)), encoding_columns(get_policy(policy), "released")
    assert len(ours) == len(released) == n
    relative = ("crop_x", "crop_y", "crop_w", "crop_h")
    assert set(ours) - set(relative) == set(released) - {"crop_x_px", "crop_y_px", "crop_w_px", "crop_h_px"}
    assert released[:5] == ("crop_y_px", "crop_x_px", "crop_h_px", "crop_w_px", "flip")
    with pytest.raises(ValueError, match="order must be one of"):
        encoding_columns(get_policy(policy), "other")


def test_released_statistics_and_their_checks() -> None:
    encoder = EquiModEncoder.released("byol_imagenet", get_policy("byol_view1"))
    assert encoder.dim == 18 and encoder.columns == encoding_columns(get_policy("byol_view1"), "released")
    torch.testing.assert_close(encoder.mean, torch.tensor(RELEASED_STATISTICS["byol_imagenet"][0], dtype=torch.float64))
    assert RELEASED_STATISTICS["simclr_imagenet"][0][:2] == (68.162, 99.199)  # main.py:83, i then j (pixels)
    with pytest.raises(ValueError, match="have 15 dimensions but policy"):
        EquiModEncoder.released("simclr_cifar10", get_policy("byol_view1"))
    with pytest.raises(ConfigError, match="need encoding 'released'"):
        EquiModOptions(statistics="simclr_cifar10")
    with pytest.raises(ConfigError, match="heads must be one of"):
        EquiModOptions(heads="other")  # type: ignore[arg-type]
    # the torch-free options list the statistics by name; they must be exactly the released ones
    assert get_args(Statistics) == ("fitted", *RELEASED_STATISTICS)
    with pytest.raises(ConfigError, match=r"statistics must be one of \['fitted', 'simclr_cifar10'"):
        EquiModOptions(statistics="other", encoding="released")  # type: ignore[arg-type]


def test_build_encoder_fits_or_takes_the_released_statistics() -> None:
    """Fitted on the CIFAR policy of SimCLR+EquiMod (crop scale 0.2-1), the means are the released
    ones within sampling error (|z| < 4 for each of the 15 dimensions, 20,000 samples)."""
    policy = get_policy("cifar", crop_scale=(0.2, 1.0))
    n = 20_000
    fitted = build_encoder(EquiModOptions(encoding="released", encoder_samples=n), (policy, policy), seed=0)
    mean, std = (torch.tensor(v, dtype=torch.float64) for v in RELEASED_STATISTICS["simclr_cifar10"])
    assert fitted.columns[0] == "crop_y_px"
    assert ((fitted.mean - mean).abs() / std * n**0.5).max() < 4
    policies = (get_policy("cifar"), get_policy("cifar"))
    released = build_encoder(EquiModOptions(encoding="released", statistics="simclr_cifar10"), policies, seed=0)
    torch.testing.assert_close(
        released.std, torch.tensor(RELEASED_STATISTICS["simclr_cifar10"][1], dtype=torch.float64)
    )
