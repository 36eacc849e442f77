"""EquiMod parameter encoding: layout, z-scoring measured by sampling, reproducibility."""

from __future__ import annotations

import neuroequi  # noqa: F401
import pytest
import torch

from neuroequi.augment import EquiModEncoder, encoding_columns, get_policy, two_view_policies

CORE = (
    "crop_x",
    "crop_y",
    "crop_w",
    "crop_h",
    "flip",
    "jitter",
    "brightness",
    "contrast",
    "saturation",
    "hue",
    "jitter_order_0",
    "jitter_order_1",
    "jitter_order_2",
    "jitter_order_3",
    "grayscale",
)


@pytest.fixture(scope="module")
def byol_encoder() -> EquiModEncoder:
    return EquiModEncoder.fit(list(two_view_policies("byol")), n_samples=40_000, seed=0)


def test_documented_layouts():
    assert encoding_columns(get_policy("byol_view1")) == CORE + ("blur", "blur_sigma", "solarize")
    assert encoding_columns(get_policy("barlow_twins_view2")) == CORE + ("blur", "blur_sigma", "solarize")
    assert encoding_columns(get_policy("cifar")) == CORE
    assert encoding_columns(get_policy("simclr_cifar")) == CORE
    assert encoding_columns(get_policy("simclr")) == CORE + ("blur", "blur_sigma")


def test_encoding_is_the_z_scored_raw_vector(byol_encoder):
    policy = get_policy("byol_view2")
    params = policy.sample(200, torch.Generator().manual_seed(5))
    encoded = byol_encoder(params)
    assert encoded.shape == (200, 18) and encoded.dtype == torch.float32
    raw = torch.stack([params[c] for c in byol_encoder.columns], dim=1)
    torch.testing.assert_close(encoded, ((raw - byol_encoder.mean) / byol_encoder.std).float())
    cifar = EquiModEncoder.fit(get_policy("cifar"), n_samples=5_000, seed=0)
    assert cifar(get_policy("cifar").sample(7)).shape == (7, 15) and cifar.dim == 15


def test_statistics_are_measured_by_sampling(byol_encoder):
    """The fitted mean/std equal those of a fresh sample of both views to sampling error."""
    views = two_view_policies("byol")
    g = torch.Generator().manual_seed(123)
    params = [v.sample(30_000, g) for v in views]
    fresh = torch.cat([byol_encoder(p) for p in params])
    assert fresh.mean(dim=0).abs().max() < 0.03
    torch.testing.assert_close(fresh.std(dim=0), torch.ones(18), atol=0.03, rtol=0)
    # Spot-check known moments: flip ~ Bernoulli(0.5); blur ~ Bernoulli((1.0 + 0.1) / 2).
    index = byol_encoder.columns.index
    assert abs(float(byol_encoder.mean[index("flip")]) - 0.5) < 0.01
    assert abs(float(byol_encoder.std[index("flip")]) - 0.5) < 0.01
    assert abs(float(byol_encoder.mean[index("blur")]) - 0.55) < 0.01
    assert abs(float(byol_encoder.mean[index("solarize")]) - 0.1) < 0.01


def test_constant_dimensions_are_only_centred():
    encoder = EquiModEncoder.fit(get_policy("byol_view1"), n_samples=2_000, seed=0)
    solarize = encoder.columns.index("solarize")  # p = 0 in view 1: constant
    assert float(encoder.std[solarize]) == 1.0 and float(encoder.mean[solarize]) == 0.0


def test_fit_is_reproducible_and_serialisable():
    policy = get_policy("cifar")
    a = EquiModEncoder.fit(policy, n_samples=3_000, seed=4)
    b = EquiModEncoder.fit(policy, n_samples=3_000, seed=4)
    c = EquiModEncoder.fit(policy, n_samples=3_000, seed=5)
    assert torch.equal(a.mean, b.mean) and torch.equal(a.std, b.std) and not torch.equal(a.mean, c.mean)
    restored = EquiModEncoder.from_state_dict(a.state_dict())
    params = policy.sample(5)
    assert restored.columns == a.columns and torch.equal(restored(params), a(params))


def test_encoder_errors():
    with pytest.raises(ValueError, match="different EquiMod layouts"):
        EquiModEncoder.fit([get_policy("cifar"), get_policy("byol_view1")], n_samples=100)
    with pytest.raises(ValueError, match="at least 2 samples"):
        EquiModEncoder.fit(get_policy("cifar"), n_samples=1)
    with pytest.raises(ValueError, match="one entry per column"):
        EquiModEncoder(("flip",), torch.zeros(2), torch.ones(2))
    with pytest.raises(ValueError, match="std must be positive"):
        EquiModEncoder(("flip",), torch.zeros(1), torch.zeros(1))
