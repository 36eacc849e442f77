"""SIE: loss and hypernetwork predictor against the authors' code, reference formulas, errors, a real tiny run."""

from __future__ import annotations

from pathlib import Path

import neuroequi  # noqa: F401
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from neuroequi.augment.families import TransformsConfig, family_policy, family_targets
from neuroequi.checkpoint import load_checkpoint
from neuroequi.train import load_method
from neuroequi.errors import ConfigError
from neuroequi.losses.sie import sie_loss
from neuroequi.methods import Batch
from neuroequi.methods.sie import SIE, HyperPredictor, SIEOptions, split_sizes
from neuroequi.registry import build_method
from neuroequi.train import config_from_dict, load_config, train
from neuroequi.augment import identity_params
from neuroequi.augment.images import image_sizes
from neuroequi.train.model import build_model

CONFIGS = Path(neuroequi.__file__).parent / "configs"

# Golden values: facebookresearch/SIE at commit 54541cfa40780aa3e502e3bbb52b30aae672b487, classes
# ``SIE`` / ``SIENoVar`` of ``src/models.py`` (predictor: ``src/hypernetwork.py``), run in a scratch
# folder with ``backbone = nn.Identity()`` on the inputs and weights of ``inputs()`` / ``fill()``
# below (args: arch resnet18 -> 512-d features, --equi 256, --mlp 64-64-64, --batch-size 16,
# --sim-coeff 10 --std-coeff 10 --cov-coeff 1 --equi-factor 0.45, one process group of size 1).
GOLDEN = {
    "SIE_linear": dict(
        options={},
        pred_scale=1.0,
        loss=6870.25146484375,
        inv=0.5776339769363403,
        equi=1523.34326171875,
        var=0.5142943263053894,
        cov=4.287058353424072,
        pred_var=0.0,
        predictor_sum=32.823341339826584,
        predictor_row0=[-0.665136456489563, 6.917080879211426, -0.2280588150024414, -6.887632369995117],
    ),
    "SIE_deep_bias_hidden16_relu": dict(  # --hypernetwork deep --bias-pred --bias-hypernet --predictor 16 --predictor-relu
        options=dict(
            hypernetwork="deep",
            predictor_bias=True,
            hypernetwork_bias=True,
            predictor_hidden=(16,),
            predictor_relu=True,
        ),
        pred_scale=1.0,
        loss=7775566.5,
        inv=0.5776339769363403,
        equi=1727900.25,
        var=0.5142943263053894,
        cov=4.287058353424072,
        pred_var=0.0,
        predictor_sum=72576.32768011093,
        predictor_row0=[125.12693786621094, 105.43071746826172, 154.2451934814453, 215.70545959472656],
    ),
    "SIENoVar_linear": dict(
        options=dict(predictor_variance=False),
        pred_scale=1.0,
        loss=6870.25146484375,
        inv=0.5776339769363403,
        equi=1523.34326171875,
        var=0.5142943263053894,
        cov=4.287058353424072,
        pred_var=0.0,
        predictor_sum=32.823341339826584,
        predictor_row0=[-0.665136456489563, 6.917080879211426, -0.2280588150024414, -6.887632369995117],
    ),
    "SIE_linear_pred0.02": dict(  # hypernetwork weights scaled by 0.02: the prediction-variance hinge is active
        options={},
        pred_scale=0.02,
        loss=33.955692291259766,
        inv=0.5776339769363403,
        equi=3.9446282386779785,
        var=0.5142943263053894,
        cov=4.287058353424072,
        pred_var=0.099852055311203,
        predictor_sum=0.6564667881466448,
        predictor_row0=[-0.013302718289196491, 0.13834163546562195, -0.004561175592243671, -0.13775265216827393],
    ),
}


class Features(nn.Identity):
    """A 'backbone' that passes 512-d features through (as the golden run replaced SIE's ResNet)."""

    feature_dim = 512


def fill(modules: list[nn.Module], pred_scale: float) -> None:
    """The golden run's weights: parameter k (in module order) = sin(0.7 i + 1.3 k), 2-D scaled by sqrt(3 / fan_in),
    1-D as 1 + 0.5 sin; the predictor's (third module) times ``pred_scale``."""
    k = 0
    for j, module in enumerate(modules):
        for p in module.parameters():
            with torch.no_grad():
                w = torch.sin(0.7 * torch.arange(p.numel(), dtype=torch.float64) + 1.3 * k)
                w = w * (3.0 / p.shape[1]) ** 0.5 if p.ndim == 2 else 1.0 + 0.5 * w
                p.copy_((w * pred_scale if j == 2 else w).reshape(p.shape).to(p.dtype))
            k += 1


def inputs() -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    return tuple(torch.randn(*shape, generator=g) for shape in ((16, 512), (16, 512), (16, 4), (16, 32)))


@pytest.mark.parametrize("case", sorted(GOLDEN))
def test_loss_and_predictor_match_the_authors_code(case):
    gold = GOLDEN[case]
    model = SIE(Features(), SIEOptions(projector=(64, 64, 64), **gold["options"]))
    o = model.options
    model.predictor = HyperPredictor(
        32, 4, o.predictor_hidden, o.hypernetwork, o.predictor_bias, o.hypernetwork_bias, o.predictor_relu
    )
    fill([model.projector_inv, model.projector_equi, model.predictor], gold["pred_scale"])
    x, y, z, e = inputs()
    i_a, i_b = model.projector_inv(x[:, :256]), model.projector_inv(y[:, :256])
    e_a, e_b = model.projector_equi(x[:, 256:]), model.projector_equi(y[:, 256:])
    loss, terms = sie_loss(i_a, i_b, e_a, e_b, model.predictor(e_a, z), predictor_variance=o.predictor_variance)
    assert float(loss.detach()) == pytest.approx(gold["loss"], rel=1e-5)
    for name in ("inv", "equi", "var", "cov", "pred_var"):
        assert float(terms[name]) == pytest.approx(gold[name], rel=1e-5, abs=1e-7), name
    with torch.no_grad():
        pred = model.predictor(e, z)
    assert float(pred.double().sum()) == pytest.approx(gold["predictor_sum"], rel=1e-4)
    torch.testing.assert_close(pred[0, :4], torch.tensor(gold["predictor_row0"]), rtol=1e-5, atol=1e-5)


def test_hypernetwork_predictor_is_the_mlp_its_weights_describe():
    torch.manual_seed(0)
    p = HyperPredictor(5, 3, hidden=(4,), hypernet="linear", bias=True, relu=True)
    u, z = torch.randn(6, 5), torch.randn(6, 3)
    params = z @ p.hypernet[0].weight.T
    expected = []
    for n in range(6):
        w1 = params[n, :20].reshape(4, 5)
        b1 = params[n, 20:24]
        w2 = params[n, 24:44].reshape(5, 4)
        b2 = params[n, 44:49]
        expected.append(w2 @ torch.relu(w1 @ u[n] + b1) + b2)
    torch.testing.assert_close(p(u, z), torch.stack(expected))


def test_sie_loss_is_the_formula():
    g = torch.Generator().manual_seed(1)
    ia, ib, ea, eb, pred = (torch.randn(12, d, generator=g) for d in (6, 6, 4, 4, 4))

    def v(t):
        return F.relu(1 - torch.sqrt(t.var(dim=0) + 1e-4)).mean()

    def c(t):
        cov = torch.cov(t.T)
        return (cov.pow(2).sum() - cov.diagonal().pow(2).sum()) / t.shape[1]

    za, zb = torch.cat([ia, ea], 1), torch.cat([ib, eb], 1)
    expected = (
        2.0 * F.mse_loss(ia, ib)
        + 0.5 * 2.0 * F.mse_loss(pred, eb)
        + 3.0 * (v(za) + v(zb)) / 2
        + 3.0 * v(pred) / 2
        + 0.7 * (c(za) + c(zb))
    )
    loss, _ = sie_loss(ia, ib, ea, eb, pred, sim_weight=2.0, equi_factor=0.5, var_weight=3.0, cov_weight=0.7)
    torch.testing.assert_close(loss, expected)


def tiny(tmp_path: Path) -> dict:
    """A seconds-long SIE run on 96 real CIFAR-10 images (rotation and colour)."""
    return {
        "name": "sie",
        "output_dir": str(tmp_path),
        "epochs": 1,
        "batch_size": 32,
        "device": "cpu",
        "threads": 1,
        "checkpoint_every": 2,
        "data": {"subset": 96, "cache_dir": str(tmp_path / "cache"), "transforms": {"families": ["rotation", "color"]}},
        "model": {"arch": "resnet18_cifar", "width": 0.0625},
        "method": {"name": "sie", "options": {"projector": [32, 32], "target_samples": 500}},
        "optim": {"name": "adamw", "lr": 1e-3, "lr_scaling": "none", "warmup_epochs": 0.0},
        "monitor": {"knn": False, "log_every": 1, "progress": False},
    }


def test_sie_trains_on_real_cifar_and_reloads(tmp_path):
    path = train(config_from_dict(tiny(tmp_path)))
    blob = load_checkpoint(path)
    assert blob["meta"]["method"] == "sie"
    method = load_method(path)  # rebuilt from the stored config (predictor bound to the policy) + strict load
    assert method.families == ("rotation", "color") and method.predictor.hypernet[0].in_features == 2 + 4
    log = (tmp_path / "sie" / "log.csv").read_text().splitlines()
    assert "loss_equi" in log[0] and len(log) == 4


def test_relative_parameters_are_standardised_targets():
    values = tiny(Path("/nonexistent"))
    values["method"]["options"]["target_samples"] = 4000
    config = config_from_dict(values)
    method = build_model(config)
    policy = family_policy(TransformsConfig(families=("rotation", "color")), 32)
    a, b = policy.sample(3000, torch.Generator().manual_seed(2)), policy.sample(3000, torch.Generator().manual_seed(3))
    z = method.relative_parameters(a, b)
    raw = torch.cat([family_targets(b, "rotation", a), family_targets(b, "color", a)], 1)
    torch.testing.assert_close(z, ((raw - method.target_mean.double()) / method.target_std.double()).float())
    assert z.mean(0).abs().max() < 0.1 and (z.std(0) - 1).abs().max() < 0.1


@pytest.mark.parametrize("name", ["cifar10_sie_cpu.yaml", "cifar10_recon_equi_cpu.yaml", "cifar10_vicreg_cpu.yaml"])
def test_shipped_configs_build(name):
    config = load_config(CONFIGS / name)
    assert set(config.data.transforms.families) == {"rotation", "translation", "color", "blur"}
    method = build_model(config)
    assert method.backbone.feature_dim == 64


def test_errors():
    with pytest.raises(ConfigError, match=r"add up to the representation size 64"):
        split_sizes((30, 30), 64, "sie")
    with pytest.raises(ConfigError, match="split"):
        build_method("sie", {"split": [40, 40]}, _Backbone(64))
    no_params = tiny(Path("/nonexistent"))
    del no_params["data"]["transforms"]
    with pytest.raises(ConfigError, match="conditions its predictor on transformation parameters"):
        build_model(config_from_dict(no_params))
    method = build_model(config_from_dict(tiny(Path("/nonexistent"))))
    x = torch.rand(4, 3, 32, 32)
    batch = Batch(
        views=(x, x), params=(identity_params(image_sizes(x)),) * 2, clean=None, labels=torch.zeros(4, dtype=torch.long)
    )
    with pytest.raises(ConfigError, match="needs views with transformation parameters"):
        method(batch)
    equimod = tiny(Path("/nonexistent"))
    equimod["method"] = {"name": "simclr", "equivariance": "equimod", "lam": 1.0}
    with pytest.raises(ConfigError, match="EquiMod .* does not take data.transforms"):
        config_from_dict(equimod)


class _Backbone(nn.Identity):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.feature_dim = dim
