"""The augmentation-prediction benchmark: SIE's R², bootstrap, probes on constructed features, a real run."""

from __future__ import annotations

import neuroequi  # noqa: F401
import numpy as np
import pytest
import torch
from torch import nn

from analyses.augmentation_prediction import PredictionConfig, augmentation_prediction, r2_score, score_probe
from model_zoo import LoadedModel
from model_zoo.catalogue import Entry, WeightsSource
from neuroequi.errors import ConfigError

# facebookresearch/SIE at commit 54541cfa40780aa3e502e3bbb52b30aae672b487, ``r2_score`` of ``src/models.py``
# (the formula of ``eval_angle_prediction.py`` / ``eval_color_prediction.py``), on ``r2_inputs()``.
SIE_R2 = {"multi": 0.8813886642456055, "single": 0.6169844269752502}


def r2_inputs() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    target = torch.randn(50, 4, generator=g) * torch.tensor([1.0, 2.0, 0.5, 3.0]) + torch.tensor([0.0, 1.0, -2.0, 0.5])
    output = target + 0.7 * torch.randn(50, 4, generator=g)
    t1 = torch.randn(40, 1, generator=g)
    o1 = 0.5 * t1 + 0.3 * torch.randn(40, 1, generator=g)
    return {"multi": (output, target), "single": (o1, t1)}


@pytest.mark.parametrize("case", sorted(SIE_R2))
def test_r2_is_sies_r2_score(case):
    output, target = r2_inputs()[case]
    assert r2_score(output.numpy(), target.numpy())[0] == pytest.approx(SIE_R2[case], abs=1e-6)


def test_weighted_r2_is_the_r2_of_the_resampled_rows():
    rng = np.random.default_rng(0)
    y, p = rng.normal(size=(30, 2)), rng.normal(size=(30, 2))
    counts = rng.multinomial(30, np.full(30, 1 / 30), size=3).astype(float)
    expected = [r2_score(np.repeat(p, c.astype(int), 0), np.repeat(y, c.astype(int), 0))[0] for c in counts]
    np.testing.assert_allclose(r2_score(p, y, counts), expected, rtol=1e-12)


def constructed(n: int, informative: bool, family: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Features that carry the targets linearly (one fixed mixing, plus noise) or only noise."""
    rng = np.random.default_rng(seed)
    d = 1 if family == "flip" else 2
    mixing = np.random.default_rng(99).normal(size=(d, 10))
    y = rng.integers(0, 2, size=(n, 1)).astype(float) if family == "flip" else rng.normal(size=(n, d))
    noise = rng.normal(size=(n, 10))
    x = np.concatenate([(y - 0.5 * (family == "flip")) @ mixing + 0.1 * noise, noise], 1) if informative else noise
    return x, y


@pytest.mark.parametrize("probe", ["ridge", "mlp"])
@pytest.mark.parametrize("family", ["rotation", "flip"])
def test_probe_scores_informative_features_high_and_noise_at_chance(family, probe):
    test_images = np.repeat(np.arange(100), 2)
    good = score_probe(
        family,
        constructed(400, True, family, 0),
        constructed(200, True, family, 1),
        test_images,
        probe=probe,
        mlp_hidden=(32,),
        n_boot=200,
    )
    noise = score_probe(
        family,
        constructed(400, False, family, 2),
        constructed(200, False, family, 3),
        test_images,
        probe=probe,
        mlp_hidden=(32,),
        n_boot=200,
    )
    assert (
        good["value"] > (0.95 if probe == "ridge" else 0.8)
        and good["ci_low"] <= good["value"] <= good["ci_high"]
        and good["n"] == 100
    )
    if family == "flip":
        assert good["metric"] == "accuracy" and 0.35 < noise["value"] < 0.65
    else:
        assert good["metric"] == "R²" and -0.3 < noise["value"] < 0.05 and noise["ci_low"] < 0.01


class Pixels(nn.Module):
    """A 'model' whose layer ``pool`` is the 8x8 average-pooled image (192 features)."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x)


class Blind(Pixels):
    """Responses that do not depend on the image at all."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(torch.zeros_like(x))


def model(module: nn.Module, name: str) -> LoadedModel:
    """A model handle around ``module`` whose one layer is ``pool`` (32 px inputs, ImageNet normalisation)."""
    entry = Entry(
        name=name,
        arch="test",
        family="test",
        method="none",
        lam=None,
        dataset="none",
        source=WeightsSource("init", "0"),
        layers=("pool",),
        region_layer_map={},
        image_size=32,
        citation="",
    )
    return LoadedModel(module.eval(), name, "0" * 64, entry)


def test_real_images_pixels_predict_transformations_and_a_blind_model_does_not():
    """Pooled pixels of [x ; t(x)] carry translation and scale linearly; responses that ignore the image carry
    nothing: the ridge probe then predicts the training mean of the standardised targets, R² <= 0."""
    config = PredictionConfig(
        families=("scale", "translation", "blur", "flip"), n_train=150, n_test=60, n_boot=100, progress=False
    )
    pixels = augmentation_prediction(model(Pixels(), "pixels"), config).set_index("family")
    blind = augmentation_prediction(model(Blind(), "blind"), config).set_index("family")
    assert list(pixels.index) == ["flip", "scale", "translation", "blur"]  # the families' application order
    assert (pixels["model"] == "pixels").all() and (pixels["n"] == 60).all()
    assert pixels.loc["translation", "value"] > 0.8 and pixels.loc["scale", "value"] > 0.5
    for family in ("scale", "translation", "blur"):
        assert blind.loc[family, "value"] <= 1e-9, family
        assert pixels.loc[family, "ci_low"] <= pixels.loc[family, "value"] <= pixels.loc[family, "ci_high"]
    assert blind.loc["flip", "value"] < 0.7 and blind.loc["flip", "metric"] == "accuracy"
    again = augmentation_prediction(model(Pixels(), "pixels"), config).set_index("family")
    assert again["value"].equals(pixels["value"])  # seeded: the same numbers


def test_slices_and_bad_settings():
    half = PredictionConfig(families=("blur",), n_train=40, n_test=20, n_boot=20, feature_slice=(0, 96), progress=False)
    assert len(augmentation_prediction(model(Pixels(), "pixels"), half)) == 1
    with pytest.raises(ConfigError, match="unknown transformation family"):
        augmentation_prediction(model(Pixels(), "pixels"), PredictionConfig(families=("shear",)))
    with pytest.raises(ConfigError, match="feature_slice"):
        augmentation_prediction(model(Pixels(), "pixels"), PredictionConfig(feature_slice=(5, 2)))
