"""H-SSL / A-SSL through the method registry, `neuroequi train`, checkpoints, the model zoo and Brain-Score."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import neuroequi
from neuroequi.errors import ConfigError
from neuroequi.hssl.backbones import GroupCNN
from neuroequi.methods import Batch
from neuroequi.registry import METHOD_REGISTRY, build_backbone, build_method, make_options

CONFIG = Path(neuroequi.__file__).parent / "configs" / "cifar10_hssl_p4_cpu.yaml"


def test_methods_are_registered_with_checked_options():
    assert {"hssl", "assl"} <= set(METHOD_REGISTRY)
    options = make_options("hssl", {"group": "translation", "grid_base": 2, "grid_distance": 1})
    assert options.rotation_distance is None and options.criterion == "infonce"
    with pytest.raises(ValueError, match="is not one of"):
        make_options("assl", {"group": "reflection"})
    with pytest.raises(ValueError, match="unknown key"):
        make_options("hssl", {"base_size": 2})


def test_builders_check_the_backbone_and_fill_group_defaults():
    with pytest.raises(ConfigError, match="needs a group backbone"):
        build_method("hssl", {}, build_backbone("resnet18_cifar", 0.0625))
    with pytest.raises(ValueError, match="group 'translation' needs a backbone with a group axis of 1"):
        build_method("hssl", {"group": "translation"}, build_backbone("p4cnn", 0.25))
    method = build_method(
        "assl", {"group": "translation", "grid_base": 2, "grid_distance": 1}, build_backbone("z2cnn", 0.25)
    )
    assert method.objective.spec.rotation_distance == 0 and method.objective.mode == "assl"
    method = build_method("hssl", {"grid_base": 4}, build_backbone("p4cnn_control", 0.25))
    assert method.objective.spec.rotation_distance == 2 and method.backbone is method.objective.backbone


def test_method_step_on_a_two_view_batch():
    torch.manual_seed(0)
    method = build_method("hssl", {"projector": [32, 16]}, build_backbone("p4cnn", 0.25)).eval()  # BN: running stats
    views = tuple(torch.randn(8, 3, 32, 32) for _ in range(2))
    out = method(Batch(views=views, params=(), clean=None, labels=torch.zeros(8, dtype=torch.long)))
    assert out.loss.ndim == 0 and out.loss.requires_grad and set(out.logs) == {"loss_hssl"}
    torch.testing.assert_close(out.features, method.backbone(views[0]), atol=1e-5, rtol=0)  # group-pooled h
    with pytest.raises(ValueError, match="needs 2 views"):
        method(Batch(views=views[:1], params=(), clean=None, labels=torch.zeros(8, dtype=torch.long)))


def test_shipped_config_loads():
    from neuroequi.train import load_config

    config = load_config(CONFIG, ["method.name=assl", "model.arch=p4cnn_control"])
    assert config.method.name == "assl" and config.data.restriction == "photometric"
    assert config.method.options == make_options(
        "assl",
        {
            "group": "rotation",
            "rotation_base": 1,
            "rotation_distance": 1,
            "grid_base": 4,
            "grid_distance": 2,
            "criterion": "infonce",
            "temperature": 0.2,
            "projector": [256, 64],
        },
    )


def test_the_view_size_comes_from_the_data_config():
    """H-SSL's grid (and projector input) follows data.size; image_size is no option of its own."""
    from neuroequi.train import build_model, config_from_dict, load_config

    options = {"projector": [8, 4], "grid_base": 2, "grid_distance": 1}
    values = {"model": {"arch": "p4cnn", "width": 0.25}, "method": {"name": "hssl", "options": options}}
    for size, grid in ((32, (8, 8)), (16, (4, 4))):
        method = build_model(config_from_dict({**values, "data": {"size": size, "restriction": "photometric"}}))
        assert method.objective.grid == grid
    with pytest.raises(ConfigError, match=r"config.method.options: unknown key\(s\) \['image_size'\]"):
        load_config(None, ["model.arch=p4cnn", "method.name=hssl", "method.options.image_size=32"])


def test_configs_stored_before_the_typed_sections_still_load():
    """Checkpoints written with ``method.options.image_size`` (H-SSL) and ``method.tessl_pairing`` load unchanged."""
    from neuroequi.train import config_from_dict

    hssl = {"model": {"arch": "p4cnn"}, "method": {"name": "hssl", "options": {"image_size": 32, "grid_base": 4}}}
    assert config_from_dict(hssl).method.options == make_options("hssl", {"grid_base": 4})
    with pytest.raises(ConfigError, match="image_size: 16 differs from the view size 32"):
        config_from_dict({**hssl, "method": {"name": "hssl", "options": {"image_size": 16}}})
    tessl = {"method": {"equivariance": "tessl", "lam": 0.1, "tessl_pairing": "augmentation"}}
    assert config_from_dict(tessl).method.tessl.pairing == "augmentation"


def _rotated(images: list[Image.Image]) -> list[Image.Image]:
    return [image.transpose(Image.Transpose.ROTATE_90) for image in images]


@pytest.mark.slow
def test_train_checkpoint_zoo_and_brainscore_activations(tmp_path, monkeypatch, data_root):
    """A tiny real H-SSL run -> checkpoint -> zoo entry -> activations as Brain-Score extracts them."""
    from brainscore_vision.model_helpers.activations.pytorch import PytorchWrapper

    from model_zoo.activations import extract, file_preprocessing
    from model_zoo.catalogue import register_checkpoint
    from model_zoo.loading import load
    from neuroequi.checkpoint import load_backbone, load_checkpoint
    from neuroequi.data import kriegeskorte92
    from neuroequi.train import config_from_dict, load_config, train

    monkeypatch.setenv("NEUROEQUI_ZOO_HOME", str(tmp_path / "zoo"))
    values = load_config(CONFIG).to_dict()
    values.update(output_dir=str(tmp_path), max_steps=2, epochs=1, batch_size=32)
    values["data"].update(subset=64, cache_dir=str(tmp_path / "cache"))
    values["model"]["width"] = 0.25
    values["monitor"].update(knn=False, progress=False)
    values["method"]["options"]["projector"] = [32, 16]
    path = train(config_from_dict(values))

    backbone, meta = load_backbone(path)
    assert isinstance(backbone, GroupCNN) and meta["method"] == "hssl" and meta["arch"] == "p4cnn"
    state = load_checkpoint(path)["backbone"]
    torch.testing.assert_close(backbone.stages[0][0].conv.weight, state["stages.0.0.conv.weight"])

    entry = register_checkpoint(path, name="hssl-p4-tiny")
    assert entry.layers == ("layer1", "layer2", "layer3", "avgpool") and entry.region_layer_map["IT"] == "layer3"
    loaded = load("hssl-p4-tiny")
    images = [image.resize((32, 32), Image.Resampling.BILINEAR) for image in kriegeskorte92().images[:4]]  # model size
    acts = extract(loaded, images)
    # group axis averaged: layer k is (C_k, H_k, W_k) flattened; avgpool is h (C)
    widths, sides = backbone.widths, (32, 16, 8)
    for k, (c, side) in enumerate(zip(widths, sides)):
        assert acts[f"layer{k + 1}"].shape == (4, c * side * side)
    assert acts["avgpool"].shape == (4, widths[-1])
    np.testing.assert_allclose(
        acts["avgpool"], acts["layer3"].reshape(4, widths[-1], -1).mean(-1), rtol=1e-4, atol=1e-5
    )
    # a quarter turn of the stimulus rotates the maps and leaves h unchanged (p4; 32 px: no resize in between)
    turned = extract(loaded, _rotated(images))
    np.testing.assert_allclose(turned["avgpool"], acts["avgpool"], rtol=1e-4, atol=1e-5)
    maps, turned_maps = (a["layer2"].reshape(4, widths[1], 16, 16) for a in (acts, turned))
    np.testing.assert_allclose(turned_maps, np.rot90(maps, 1, axes=(-2, -1)), rtol=1e-4, atol=1e-5)

    # Brain-Score's own PytorchWrapper on files gives the same activations
    files = []
    for i, image in enumerate(images):
        files.append(str(tmp_path / f"stimulus{i}.png"))
        image.save(files[-1])
    wrapper = PytorchWrapper(
        identifier=loaded.identifier, model=loaded.module, preprocessing=file_preprocessing(loaded)
    )
    assembly = wrapper(files, layers=["layer2", "avgpool"])
    np.testing.assert_allclose(
        assembly.values, np.concatenate([acts["layer2"], acts["avgpool"]], axis=1), rtol=1e-4, atol=1e-5
    )


def test_scale_builder_fills_scale_defaults_and_checks_the_group():
    method = build_method("hssl", {"group": "scale", "grid_base": 2, "grid_distance": 1}, build_backbone("sesn", 0.25))
    spec = method.objective.spec
    assert (spec.scale_base, spec.scale_distance, spec.rotation_distance) == (1, 5, 0)
    with pytest.raises(ValueError, match="group 'scale' needs a scale backbone"):
        build_method("hssl", {"group": "scale"}, build_backbone("p4cnn", 0.25))
    with pytest.raises(ValueError, match="group 'rotation' needs a backbone with a group axis of 4"):
        build_method("hssl", {"group": "rotation"}, build_backbone("sesn", 0.25))
    with pytest.raises(ValueError, match="scale_distance 6 is beyond the 6 scales"):
        build_method("hssl", {"group": "scale", "scale_distance": 6}, build_backbone("sesn", 0.25))


@pytest.mark.slow
def test_scale_checkpoint_through_the_zoo_and_brainscore(tmp_path, monkeypatch, data_root):
    """A tiny real H-SSL run on the SESN backbone -> checkpoint -> zoo -> Brain-Score activations (scale axis averaged)."""
    from brainscore_vision.model_helpers.activations.pytorch import PytorchWrapper

    from model_zoo.activations import extract, file_preprocessing
    from model_zoo.catalogue import register_checkpoint
    from model_zoo.loading import load
    from neuroequi.checkpoint import load_backbone
    from neuroequi.data import kriegeskorte92
    from neuroequi.hssl.backbones import ScaleCNN
    from neuroequi.train import load_config, train

    monkeypatch.setenv("NEUROEQUI_ZOO_HOME", str(tmp_path / "zoo"))
    overrides = [
        f"output_dir={tmp_path}",
        "max_steps=2",
        "epochs=1",
        "batch_size=16",
        "data.subset=32",
        f"data.cache_dir={tmp_path / 'cache'}",
        "model.arch=sesn",
        "model.width=0.25",
        "monitor.knn=false",
        "monitor.probe=false",
        "monitor.progress=false",
        "method.options.group=scale",
        "method.options.rotation_distance=null",
        "method.options.projector=[16, 8]",
    ]
    path = train(load_config(CONFIG, overrides))
    backbone, meta = load_backbone(path)
    assert isinstance(backbone, ScaleCNN) and meta["arch"] == "sesn" and meta["method"] == "hssl"
    entry = register_checkpoint(path, name="hssl-sesn-tiny")
    assert entry.layers == ("layer1", "layer2", "layer3", "avgpool")
    loaded = load("hssl-sesn-tiny")
    images = [image.resize((32, 32), Image.Resampling.BILINEAR) for image in kriegeskorte92().images[:3]]
    acts = extract(loaded, images)
    for k, (c, side) in enumerate(zip(backbone.widths, (32, 16, 8))):
        assert acts[f"layer{k + 1}"].shape == (3, c * side * side)
    np.testing.assert_allclose(
        acts["avgpool"], acts["layer3"].reshape(3, backbone.widths[-1], -1).mean(-1), rtol=1e-4, atol=1e-5
    )
    files = []
    for i, image in enumerate(images):
        files.append(str(tmp_path / f"stimulus{i}.png"))
        image.save(files[-1])
    wrapper = PytorchWrapper(
        identifier=loaded.identifier, model=loaded.module, preprocessing=file_preprocessing(loaded)
    )
    assembly = wrapper(files, layers=["avgpool"])
    np.testing.assert_allclose(assembly.values, acts["avgpool"], rtol=1e-4, atol=1e-5)
