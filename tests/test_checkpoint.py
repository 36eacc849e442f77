"""Checkpoint files: atomic writes, clear errors for bad files, backbone/method loading, published weights."""

from __future__ import annotations

import pickle
from pathlib import Path

import neuroequi  # noqa: F401
import pytest
import torch
import torchvision

from neuroequi.backbones import torchvision_reference
from neuroequi.checkpoint import (
    FORMAT,
    VERSION,
    CheckpointError,
    convert_published_state_dict,
    load_backbone,
    load_checkpoint,
    load_published_backbone,
    save_checkpoint,
)
from neuroequi.io import sha256_file
from neuroequi.registry import build_backbone
from neuroequi.train import build_model, config_from_dict, load_method


def _config(equivariance: str = "tessl") -> dict:
    method = {"name": "simclr", "options": {"projector": [32, 16]}, "equivariance": equivariance, "lam": 0.5}
    if equivariance == "equimod":
        method["equimod"] = {"projector": [32, 32, 16], "aug_dim": 8, "encoder_samples": 1000}
    return {"model": {"arch": "resnet18_cifar", "width": 0.0625}, "method": method}


def _payload(equivariance: str = "tessl") -> dict:
    config = config_from_dict(_config(equivariance))
    torch.manual_seed(0)
    model = build_model(config)
    meta = {"arch": "resnet18_cifar", "width": 0.0625, "config": config.to_dict(), "step": 3}
    return {
        "format": FORMAT,
        "version": VERSION,
        "model": model.state_dict(),
        "backbone": model.backbone.state_dict(),
        "meta": meta,
    }


def test_save_is_atomic_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "ck.pt"
    payload = _payload()
    save_checkpoint(payload, path)
    first = sha256_file(path)
    payload["meta"]["step"] = 4
    save_checkpoint(payload, path)  # replaces the file in one rename
    assert sorted(p.name for p in path.parent.iterdir()) == ["ck.pt"]  # no temp files left
    assert sha256_file(path) != first and load_checkpoint(path)["meta"]["step"] == 4


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "ck.pt"
    save_checkpoint({"format": FORMAT, "x": torch.ones(2)}, path)
    before = path.read_bytes()
    with pytest.raises(Exception):
        save_checkpoint({"bad": lambda: None}, path)  # cannot be pickled
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["ck.pt"]


def test_load_backbone_and_method(tmp_path: Path) -> None:
    path = save_checkpoint(_payload(), tmp_path / "ck.pt")
    backbone, meta = load_backbone(path)
    assert not backbone.training and meta["step"] == 3
    reference = torchvision_reference("resnet18_cifar")
    with pytest.raises(RuntimeError):  # width 1/16 does not fit the width-1 torchvision model
        reference.load_state_dict(backbone.state_dict(), strict=True)
    method = load_method(path)
    assert type(method).__name__ == "TeSSL" and not method.training
    torch.testing.assert_close(method.backbone.conv1.weight, backbone.conv1.weight)


def test_load_method_gives_equimod_heads(tmp_path: Path) -> None:
    payload = _payload("equimod")
    path = save_checkpoint(payload, tmp_path / "ck.pt")
    model = load_method(path)
    assert model.encoder.dim == 15
    torch.testing.assert_close(model.predictor[0].weight, payload["model"]["predictor.0.weight"])
    torch.testing.assert_close(model.param_std, payload["model"]["param_std"])


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_bytes(b"\x00garbage" * 50), "truncated or corrupt"),
        (lambda p: torch.save(build_backbone("resnet18_cifar", 0.0625).state_dict(), p), "not a neuroequi checkpoint"),
        (lambda p: torch.save({"format": FORMAT, "version": 99}, p), "version 99"),
        (lambda p: torch.save({"format": FORMAT, "version": VERSION, "model": {}}, p), "lacks the keys"),
        (lambda p: p.write_bytes(pickle.dumps(torch.nn.Linear(2, 2))), "corrupt|other than tensors"),
        (lambda p: torch.save({"net": torch.nn.Linear(2, 2)}, p), "other than tensors"),
    ],
    ids=["missing", "empty", "garbage", "foreign", "version", "incomplete", "pickle", "objects"],
)
def test_bad_files_give_clear_errors(tmp_path: Path, make, match: str) -> None:
    path = tmp_path / "bad.pt"
    make(path)
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(path)


def test_truncated_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    path = save_checkpoint(_payload(), tmp_path / "ck.pt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_backbone(path)


# ---------------------------------------------------------------------------- published weights


@pytest.fixture(scope="module")
def composer_state() -> dict[str, torch.Tensor]:
    """A state dict laid out as CE-SSL's Composer checkpoints (ComposerWrapper(module=Model))."""
    torch.manual_seed(1)
    net = torchvision.models.resnet50(weights=None)
    state = {f"module.f.{k}": v for k, v in net.state_dict().items() if not k.startswith("fc.")}
    state["module.g_1.1.weight"] = torch.randn(8, 2048)
    state["module.g_2.1.weight"] = torch.randn(8, 2048)
    state["module.lin_cls.weight"] = torch.randn(1000, 2048)
    state["module.lin_cls.bias"] = torch.randn(1000)
    return state


def test_published_keys_map_one_to_one(composer_state: dict, tmp_path: Path) -> None:
    weights, ignored = convert_published_state_dict(composer_state)
    expected = build_backbone("resnet50").state_dict()
    assert list(weights) == list(expected)
    assert all(weights[k] is composer_state["module.f." + k] for k in weights)
    assert ignored == ["module.g_1.1.weight", "module.g_2.1.weight", "module.lin_cls.bias", "module.lin_cls.weight"]
    path = tmp_path / "ep100-ba62500-rank0"
    torch.save({"state": {"model": composer_state}, "rng": [1, 2]}, path)
    backbone, _ = load_published_backbone(path)
    reference = torchvision_reference("resnet50")
    reference.load_state_dict(backbone.state_dict(), strict=True)
    torch.testing.assert_close(reference.conv1.weight, composer_state["module.f.conv1.weight"])


def test_published_conversion_lists_missing_and_unmapped_keys(composer_state: dict) -> None:
    missing = {k: v for k, v in composer_state.items() if k != "module.f.layer3.2.bn1.running_var"}
    with pytest.raises(CheckpointError, match=r"module\.f\.layer3\.2\.bn1\.running_var"):
        convert_published_state_dict(missing)
    extra = {**composer_state, "module.f.layer5.weight": torch.ones(1)}
    with pytest.raises(CheckpointError, match=r"not resnet50 backbone weights: \['module\.f\.layer5\.weight'\]"):
        convert_published_state_dict(extra)
    wrong = {**composer_state, "module.f.conv1.weight": torch.ones(64, 3, 3, 3)}
    with pytest.raises(CheckpointError, match=r"module\.f\.conv1\.weight: \(64, 3, 3, 3\) != \(64, 3, 7, 7\)"):
        convert_published_state_dict(wrong)


def test_other_framework_prefixes_are_recognised() -> None:
    state = {f"module.backbone.{k}": v for k, v in build_backbone("resnet18").state_dict().items()}
    state["module.projector.0.weight"] = torch.ones(2, 2)
    weights, ignored = convert_published_state_dict(state, arch="resnet18")
    assert len(weights) == len(state) - 1 and ignored == ["module.projector.0.weight"]
