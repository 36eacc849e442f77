"""neuroequi.train: config, optimisers, schedule, batch plans, views, BN, and real tiny runs."""

from __future__ import annotations

import csv
import json
import math
import textwrap
from pathlib import Path

import neuroequi  # noqa: F401
import pytest
import torch
import yaml
from torch import nn

from neuroequi.augment import get_policy
from neuroequi.checkpoint import load_backbone, load_checkpoint
from neuroequi.methods import Requirements
from neuroequi.train import config_from_dict, load_config, train
from neuroequi.train.data import BatchPlan, ViewMaker, clean_views
from neuroequi.train.distributed import GlobalBatchNorm, convert_batchnorm
from neuroequi.train.optim import LARS, build_optimizer, param_groups, warmup_cosine

CONFIGS = Path(neuroequi.__file__).parent / "configs"


def tiny_config(tmp_path: Path, **changes: object) -> dict:
    """A few-second CIFAR-10 run on real images: 256 images, width 1/16, 16 px views."""
    values = {
        "name": "tiny",
        "output_dir": str(tmp_path),
        "seed": 0,
        "epochs": 2,
        "batch_size": 32,
        "device": "cpu",
        "threads": 1,
        "data": {"dataset": "cifar10", "subset": 256, "size": 16, "cache_dir": str(tmp_path / "cache")},
        "model": {"arch": "resnet18_cifar", "width": 0.0625},
        "method": {"name": "barlow_twins", "options": {"projector": [64, 64]}, "equivariance": "tessl", "lam": 0.2},
        "optim": {"name": "lars", "lr": 0.5, "warmup_epochs": 0.5, "weight_decay": 1e-4},
        "monitor": {"knn": False, "log_every": 1, "progress": False},
    }
    for key, value in changes.items():
        node = values
        *parents, last = key.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    return values


# ------------------------------------------------------------------------------------ config


@pytest.mark.parametrize("name", ["cifar10_tessl_barlow_cpu.yaml", "imagenet_tessl_barlow_r50.yaml"])
def test_shipped_configs_load(name: str) -> None:
    config = load_config(CONFIGS / name)
    assert config.method.equivariance == "tessl" and config.method.name == "barlow_twins"


def test_overrides_and_round_trip(tmp_path: Path) -> None:
    config = load_config(
        CONFIGS / "cifar10_tessl_barlow_cpu.yaml", ["method.lam=0.5", "name=x", "data.crop_scale=[0.2, 1.0]"]
    )
    assert config.method.lam == 0.5 and config.name == "x" and config.data.crop_scale == (0.2, 1.0)
    assert config_from_dict(yaml.safe_load(yaml.safe_dump(config.to_dict()))) == config


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"optimiser": {}}, r"config: unknown key\(s\) \['optimiser'\]"),
        ({"optim": {"lr": "fast"}}, "config.optim.lr: expected a number, got str 'fast'"),
        ({"epochs": 1.5}, "config.epochs: expected an integer"),
        ({"channels_last": "yes"}, "config.channels_last: expected true/false"),
        ({"precision": "fp8"}, r"config.precision: 'fp8' is not one of"),
        ({"method": {"name": "barlow_twins", "lam": 0.3}}, "method.lam must be 0 without an equivariance wrapper"),
        ({"method": {"name": "barlow_twins", "options": {"lamda": 1}}}, r"unknown key\(s\) \['lamda'\]"),
        ({"method": {"name": "nope"}}, "unknown method 'nope'"),
        ({"method": {"equivariance": "equimod", "lam": 1.0, "equimod": {"tau": 1}}}, "config.method.equimod"),
        (
            {"method": {"equivariance": "tessl", "lam": 0.1, "tessl": {"pairing": "content"}}},
            r"config.method.tessl.pairing: 'content' is not one of \['image', 'augmentation'\]",
        ),
        ({"data": {"policy": "moco"}}, r"data.policy: unknown policy 'moco'; valid: \[.*'byol_view1'"),
        ({"data": {"crop_scale": [0.2]}}, r"data.crop_scale must be \[low, high\]"),
        ({"model": {"arch": "resnet34"}}, r"model.arch: unknown backbone 'resnet34'"),
        ({"data": {"dataset": "imagefolder"}}, "data.root is required"),
        ({"batch_size": 1}, "batch_size must be >= 2"),
    ],
)
def test_bad_configs_are_clear_errors(change: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        config_from_dict(change)


def test_the_schema_in_the_docstring_is_the_defaults() -> None:
    """TrainConfig's docstring shows the whole schema as YAML; it must stay the defaults."""
    from neuroequi.train.config import TrainConfig

    doc = TrainConfig.__doc__.split("::\n", 1)[1].split("\n\n    A recipe", 1)[0]
    assert yaml.safe_load(textwrap.dedent(doc)) == TrainConfig().to_dict()  # options: {} until validated


def test_wrapper_options_are_typed_sections() -> None:
    config = load_config(CONFIGS / "cifar10_tessl_barlow_cpu.yaml", ["method.tessl.pairing=augmentation"])
    assert config.method.tessl.pairing == "augmentation" and config.method.options.lambda_offdiag == 0.0051
    equimod = load_config(
        None,
        [
            "method.name=simclr",
            "method.equivariance=equimod",
            "method.lam=1",
            "method.equimod.aug_dim=16",
            "method.options.temperature=0.5",
        ],
    )
    assert equimod.method.equimod.aug_dim == 16 and equimod.method.equimod.projector == (2048, 2048, 128)
    assert equimod.method.options.temperature == 0.5 and equimod.method.options.projector == (2048, 128)


def test_bad_config_files_and_overrides(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochs: [1, 2\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_config(bad)
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="must hold a mapping"):
        load_config(bad)
    with pytest.raises(ValueError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(ValueError, match="key.subkey=value"):
        load_config(None, ["epochs"])
    with pytest.raises(ValueError, match="'epochs' is not a section"):
        load_config(None, ["epochs=2", "epochs.x=3"])


# ------------------------------------------------------------------------------- optimisation


def test_warmup_cosine_schedule() -> None:
    assert warmup_cosine(0, 100, 10) == pytest.approx(0.1)
    assert warmup_cosine(9, 100, 10) == pytest.approx(1.0)
    assert warmup_cosine(10, 100, 10) == pytest.approx(1.0)
    assert warmup_cosine(55, 100, 10) == pytest.approx(0.5)
    assert warmup_cosine(100, 100, 10, final_ratio=0.1) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="warmup_steps"):
        warmup_cosine(0, 10, 11)


def test_lars_step_matches_formula_and_excludes_bias_and_bn() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    groups = param_groups(model, weight_decay=0.1)
    assert (
        [p.ndim for p in groups[0]["params"]] == [2] and groups[1]["weight_decay"] == 0.0 and groups[1]["lars"] is False
    )
    opt = build_optimizer("lars", model, lr=0.5, weight_decay=0.1, momentum=0.9, eta=0.02)
    assert isinstance(opt, LARS)
    model(torch.randn(8, 3)).pow(2).sum().backward()
    w, gw = model[0].weight.detach().clone(), model[0].weight.grad.clone()
    b, gb = model[0].bias.detach().clone(), model[0].bias.grad.clone()
    opt.step()
    g = gw + 0.1 * w
    expected_w = w - 0.5 * (0.02 * w.norm() / g.norm()) * g
    torch.testing.assert_close(model[0].weight.detach(), expected_w)
    torch.testing.assert_close(model[0].bias.detach(), b - 0.5 * gb)  # no decay, no trust ratio


@pytest.mark.parametrize("name", ["sgd", "adamw"])
def test_other_optimizers_build_with_the_same_groups(name: str) -> None:
    opt = build_optimizer(name, nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)), lr=0.1, weight_decay=0.05)
    assert [g["weight_decay"] for g in opt.param_groups] == [0.05, 0.0]
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        build_optimizer("rmsprop", nn.Linear(2, 2), lr=0.1, weight_decay=0.0)


# ----------------------------------------------------------------------------- data pipeline


def test_batch_plan_ranks_partition_the_global_batch_and_resume_skips() -> None:
    single = list(BatchPlan(100, 16, seed=3))
    ranks = [list(BatchPlan(100, 16, world_size=2, rank=r, seed=3)) for r in range(2)]
    assert len(single) == 6
    for step, (_, indices) in enumerate(single):
        assert ranks[0][step][1] + ranks[1][step][1] == indices
    assert len({seed for seed, _ in ranks[0] + ranks[1]}) == 12  # every (step, rank) its own seed
    plan = BatchPlan(100, 16, seed=3)
    plan.set_epoch(0, start_step=4)
    assert list(plan) == single[4:]
    plan.set_epoch(1)
    assert [i for _, i in plan] != [i for _, i in single]
    with pytest.raises(ValueError, match="divisible by the world size 3"):
        BatchPlan(100, 16, world_size=3)


def test_matched_halves_share_parameters_and_clean_views_are_the_images() -> None:
    policies = (get_policy("cifar"), get_policy("cifar"))
    maker = ViewMaker(policies, Requirements(views=2, matched_halves=True, clean=True))
    half = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    batch = maker(torch.cat([half, half]), torch.zeros(8, dtype=torch.long), torch.Generator().manual_seed(1))
    for view, params in zip(batch.views, batch.params):
        torch.testing.assert_close(params.values[:4], params.values[4:])
        torch.testing.assert_close(view[:4], view[4:])  # same image, same parameters -> same view
    assert not torch.equal(batch.views[0], batch.views[1])
    torch.testing.assert_close(batch.clean, torch.cat([half, half]).float() / 255)
    torch.testing.assert_close(clean_views(policies[0], half[:1]), half[:1].float() / 255)
    with pytest.raises(ValueError, match="even local batch, got 5"):
        maker(half[:1].repeat(5, 1, 1, 1), torch.zeros(5, dtype=torch.long), torch.Generator())


def test_global_batchnorm_is_batchnorm_in_one_process() -> None:
    torch.manual_seed(0)
    plain = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 36, 5), nn.BatchNorm1d(5))
    converted = convert_batchnorm(nn.Sequential(*[m for m in __import__("copy").deepcopy(plain)]))
    assert sum(isinstance(m, GlobalBatchNorm) for m in converted.modules()) == 2
    assert list(converted.state_dict()) == list(plain.state_dict())
    x = torch.randn(6, 3, 8, 8)
    torch.testing.assert_close(converted(x), plain(x))
    torch.testing.assert_close(converted[1].running_var, plain[1].running_var)


# ------------------------------------------------------------------------------ real tiny runs


@pytest.mark.slow
def test_tiny_tessl_run_on_real_cifar_lowers_its_loss_and_writes_everything(tmp_path: Path) -> None:
    values = tiny_config(tmp_path, epochs=4)
    values["monitor"].update(knn=True, knn_train_samples=256, knn_test_samples=200)
    path = train(config_from_dict(values))
    run = tmp_path / "tiny"
    assert path == run / "checkpoints" / "final.pt"
    with (run / "log.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 * 8 and {"loss", "loss_inv", "loss_equi", "probe_acc", "images_per_s", "lr"} <= set(rows[0])
    epochs = [json.loads(line) for line in (run / "epochs.jsonl").read_text().splitlines()]
    assert [e["epoch"] for e in epochs] == [1, 2, 3, 4]
    assert epochs[-1]["mean_ssl_loss"] < 0.9 * epochs[0]["mean_ssl_loss"]
    assert 0.0 <= epochs[-1]["knn_acc"] <= 1.0 and "probe_test_acc" in epochs[-1]
    blob = load_checkpoint(path)
    meta = blob["meta"]
    assert meta["method"] == "barlow_twins" and meta["equivariance"] == "tessl" and meta["lambda"] == 0.2
    assert meta["step"] == 32 and meta["final"] and meta["versions"]["torch"] == torch.__version__
    assert meta["config"]["model"]["width"] == 0.0625 and meta["dataset"]["n_images"] == 256
    backbone, _ = load_backbone(path)
    assert not backbone.training and backbone(torch.rand(2, 3, 16, 16)).shape == (2, 32)
    with pytest.raises(ValueError, match="already has checkpoints"):
        train(config_from_dict(values))


def test_equimod_byol_run_trains_and_its_method_loads_back(tmp_path: Path) -> None:
    from neuroequi.train import load_method

    values = tiny_config(tmp_path, epochs=1, max_steps=2)
    values["method"] = {
        "name": "byol",
        "options": {"projector": [64, 32], "predictor": [64, 32]},
        "equivariance": "equimod",
        "lam": 1.0,
        "equimod": {"projector": [64, 64, 32], "aug_dim": 16, "encoder_samples": 2000},
    }
    path = train(config_from_dict(values))
    model = load_method(path)
    assert type(model).__name__ == "EquiMod" and model.encoder.dim == 15
    state = load_checkpoint(path)["model"]
    torch.testing.assert_close(model.predictor[0].weight, state["predictor.0.weight"])
    assert math.isfinite(float(load_checkpoint(path)["meta"]["step"]))
