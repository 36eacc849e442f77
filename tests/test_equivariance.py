"""EquiMod equivariance measures: constructed predictors with known answers, and a real EquiMod module."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from analyses.equivariance import equimod_equivariance, has_equimod_predictor, single_op_params
from neuroequi.augment import DEFAULTS, AugParams, EquiModEncoder, get_policy
from neuroequi.data import cifar10
from neuroequi.methods import EquiMod, EquiModOptions
from neuroequi.registry import build_backbone, build_method

MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


class HalvesBackbone(nn.Module):
    """h(x) = per-channel means of the left and right halves (6-d): a flip swaps the halves."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = x.shape[-1] // 2
        return torch.cat([x[..., :w].mean(dim=(2, 3)), x[..., w:].mean(dim=(2, 3))], dim=1)


class ToyMethod(nn.Module):
    """An EquiMod-shaped module: ``oracle`` predicts a flip exactly, otherwise it returns the clean embedding."""

    def __init__(self, oracle: bool) -> None:
        super().__init__()
        self.backbone = HalvesBackbone()
        self.equi_projector = nn.Identity()
        self.oracle = oracle

    def predict(self, z_clean: torch.Tensor, params: AugParams) -> torch.Tensor:
        if not self.oracle:
            return z_clean
        swapped = torch.cat([z_clean[:, 3:], z_clean[:, :3]], dim=1)
        flipped = params["flip"].bool().unsqueeze(1)
        return torch.where(flipped, swapped, z_clean)


@pytest.fixture(scope="module")
def images():
    dataset = cifar10("test")
    return [dataset[i][0] for i in range(0, 10000, 400)]  # 25 real test images


def test_predictor_that_ignores_t_has_zero_absolute_and_unit_relative_equivariance(images):
    result = equimod_equivariance(ToyMethod(oracle=False), images, get_policy("cifar"), MEAN, STD)
    assert set(result.sim_prediction) == {"crop", "flip", "jitter", "grayscale"}
    for op in result.sim_prediction:
        assert result.absolute(op) == pytest.approx(0.0, abs=1e-12)
        assert result.relative(op) == pytest.approx(1.0, rel=1e-9)
    rows = result.rows(n_boot=50)
    assert {r["quantity"] for r in rows} >= {"equivariance_absolute[flip]", "equivariance_relative[crop]"}


def test_exact_flip_predictor_scores_the_full_flip_distance(images):
    result = equimod_equivariance(ToyMethod(oracle=True), images, get_policy("cifar"), MEAN, STD, ops=["flip"])
    np.testing.assert_allclose(result.sim_prediction["flip"], 1.0, atol=1e-6)
    # Absolute = mean(1 - sim(z'_i, z'_o)) by the definition, since sim(z'_i, ẑ'_i) = 1.
    assert result.absolute("flip") == pytest.approx(np.mean(1.0 - result.sim_clean["flip"]), abs=1e-6)
    assert result.absolute("flip") > 1e-4
    assert result.relative("flip") > 100.0


@pytest.mark.parametrize("op", ["crop", "flip", "jitter", "grayscale", "blur", "solarize"])
def test_single_op_params_apply_only_that_op(op):
    policy = get_policy("byol_view2")  # has every op, solarize p=0.2
    hw = torch.tensor([[40.0, 30.0]] * 64)
    params = single_op_params(policy, op, 64, torch.Generator().manual_seed(0), hw)
    frame = params.to_dataframe()
    for o in policy.ops:
        if o.name == "crop":
            whole = np.allclose(frame[["crop_x", "crop_y", "crop_w", "crop_h"]].to_numpy(), [0, 0, 1, 1])
            assert whole == (op != "crop")
            assert np.all(frame["crop_w_px"] == (30 if op != "crop" else frame["crop_w_px"]))
        elif o.name == op:
            assert np.all(frame[op] == 1)
        else:
            assert all(np.all(frame[c] == DEFAULTS[c]) for c in o.columns)


def test_single_op_params_errors():
    hw = torch.tensor([[32.0, 32.0]] * 4)
    with pytest.raises(ValueError, match="has no 'blur'"):
        single_op_params(get_policy("cifar"), "blur", 4, torch.Generator(), hw)
    with pytest.raises(ValueError, match="applied in only 0"):
        single_op_params(get_policy("byol_view1"), "solarize", 4, torch.Generator(), hw, max_draws=3)


def test_real_equimod_module(images):
    """A (randomly initialised) EquiMod method built by the training package: finite, bounded measures."""
    policy = get_policy("cifar")
    torch.manual_seed(0)
    backbone = build_backbone("resnet18_cifar", width=0.125)
    method = build_method("simclr", {"projector": [64, 32]}, backbone)
    encoder = EquiModEncoder.fit(policy, n_samples=2000, seed=0)
    equimod = EquiMod(method, encoder, 1.0, EquiModOptions(projector=(64, 32), aug_dim=16)).eval()
    assert has_equimod_predictor(equimod) and not has_equimod_predictor(method)
    result = equimod_equivariance(equimod, images, policy, MEAN, STD, seed=1, batch_size=10)
    for op in ("crop", "flip", "jitter", "grayscale"):
        assert np.all(np.abs(result.sim_prediction[op]) <= 1.0 + 1e-6) and np.isfinite(result.relative(op))
    with pytest.raises(ValueError, match="no EquiMod"):
        equimod_equivariance(method, images, policy, MEAN, STD)


TINY_EQUIMOD = """
name: tiny_equimod
seed: 0
epochs: 1
batch_size: 64
device: cpu
channels_last: false
data: {dataset: cifar10, policy: cifar, workers: 0, subset: 256}
model: {arch: resnet18_cifar, width: 0.125}
method:
  name: simclr
  options: {projector: [64, 32]}
  equivariance: equimod
  lam: 1.0
  equimod: {projector: [64, 32], aug_dim: 16, encoder_samples: 2000}
optim: {name: sgd, lr: 0.05, weight_decay: 1.0e-4, warmup_epochs: 0.0}
monitor: {probe: false, knn: false}
"""


@pytest.mark.slow
def test_trained_equimod_checkpoint_through_the_model_zoo(tmp_path, images):
    """Train a tiny EquiMod checkpoint (256 CIFAR-10 images, 1 epoch), then measure it as `analyze` does."""
    import yaml

    import model_zoo
    from analyses.pipeline import equimod_method
    from neuroequi.train import config_from_dict, train

    spec = yaml.safe_load(TINY_EQUIMOD)
    spec["output_dir"] = str(tmp_path / "train")
    spec["data"]["cache_dir"] = str(tmp_path / "cache")
    checkpoint = train(config_from_dict(spec))
    model = model_zoo.load(str(checkpoint))
    method = equimod_method(model)
    assert method is not None and has_equimod_predictor(method)
    assert model.layer() == "avgpool" and model.image_size == 32
    result = equimod_equivariance(method, images, get_policy("cifar"), model.mean, model.std)
    rows = result.rows(n_boot=100)
    assert len(rows) == 2 * 4
    assert all(np.isfinite(r["value"]) and r["ci_low"] <= r["value"] <= r["ci_high"] for r in rows)
    # A supervised catalogue model has no EquiMod head.
    assert equimod_method(model_zoo.load("cifar-resnet20-supervised")) is None
