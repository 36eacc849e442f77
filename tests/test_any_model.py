"""Any model in: state dicts of torchvision, timm and your own architectures (`zoo add FILE --arch`),
networks in memory (`model_zoo.from_module`), and strict JSON out."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest
import torch
from torch import nn

import model_zoo
from model_zoo import architectures
from model_zoo.catalogue import get_entry, register_weights
from neuroequi.cli import main
from neuroequi.errors import CheckpointError, ConfigError
from neuroequi.io import finite_or_none, json_float, to_json, write_json
from neuroequi.methods.base import IMAGENET_MEAN, IMAGENET_STD


@pytest.fixture()
def isolated(tmp_path, monkeypatch):
    """A fresh zoo home."""
    monkeypatch.setenv("NEUROEQUI_ZOO_HOME", str(tmp_path / "zoo"))
    return tmp_path


def _one_line(capsys, *parts: str) -> str:
    err = capsys.readouterr().err
    assert err.startswith("neuroequi: error: ") and err.count("\n") == 1, err
    for part in parts:
        assert part in err, err
    return err


def _resnet18_file(path, wrap: str = "module") -> torch.nn.Module:
    """A random torchvision ResNet-18 saved as a training framework would: under 'state_dict', 'module.' keys."""
    import torchvision

    torch.manual_seed(0)
    net = torchvision.models.resnet18().eval()
    state = net.state_dict()
    if wrap == "module":
        torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}, "epoch": 3}, path)
    else:
        torch.save(state, path)
    return net


def test_a_torchvision_state_dict_is_added_with_its_stages_and_its_own_preprocessing(isolated, capsys):
    net = _resnet18_file(isolated / "r18.pt")
    assert main(["zoo", "add", str(isolated / "r18.pt"), "--arch", "torchvision:resnet18", "--name", "r18"]) == 0
    assert "registered r18 (torchvision:resnet18; 224 px" in capsys.readouterr().out
    entry = get_entry("r18")
    assert entry.layers == ("layer1", "layer2", "layer3", "layer4", "avgpool")
    assert entry.region_layer_map == {"V1": "layer1", "V2": "layer2", "V4": "layer3", "IT": "layer4"}
    assert (entry.image_size, entry.mean, entry.std) == (224, IMAGENET_MEAN, IMAGENET_STD)
    loaded = model_zoo.load("r18")
    x = torch.rand(2, 3, 64, 64)
    assert torch.equal(loaded.module(x), net(x))  # the weights, not a fresh initialisation
    assert loaded.identifier.startswith("r18-") and loaded.sha256 == entry.source.sha256


def test_the_identifier_hashes_the_weights_and_the_preprocessing(isolated):
    _resnet18_file(isolated / "r18.pt", wrap="plain")
    plain = model_zoo.load(register_weights(isolated / "r18.pt", "torchvision:resnet18", "a"))
    small = model_zoo.load(
        register_weights(isolated / "r18.pt", "torchvision:resnet18", "a", image_size=64, replace=True)
    )
    other_norm = model_zoo.load(
        register_weights(
            isolated / "r18.pt", "torchvision:resnet18", "a", mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), replace=True
        )
    )
    assert plain.sha256 == small.sha256 == other_norm.sha256  # the same file ...
    assert len({plain.identifier, small.identifier, other_norm.identifier}) == 3  # ... seen three ways
    assert get_entry("a").meta["preprocessing"].endswith("set: mean, std")


def test_layers_can_be_chosen_and_must_name_modules(isolated, capsys):
    _resnet18_file(isolated / "r18.pt")
    entry = register_weights(isolated / "r18.pt", "torchvision:resnet18", "two", layers=["layer2", "layer4.1.conv2"])
    assert entry.layers == ("layer2", "layer4.1.conv2") and entry.region_layer_map["IT"] == "layer4.1.conv2"
    assert (
        main(["zoo", "add", str(isolated / "r18.pt"), "--arch", "torchvision:resnet18", "--layers", "layer2,nolayer"])
        == 2
    )
    _one_line(capsys, "'nolayer'", "modules:")


@pytest.mark.parametrize(
    ("arch", "says"),
    [
        ("torchvision:resnet34", "does not fit the architecture (missing"),
        ("torchvision:no_such_net", "torchvision has no model 'no_such_net'"),
        ("resnet18", "use one of torchvision:<name>, timm:<name>, module:<package.module>:<callable>"),
        ("module:tiny_cnn", "use one of"),
        ("module:no_such_module_here:build", "cannot import 'no_such_module_here'"),
        ("module:tiny_cnn:nothing", "has no 'nothing'"),
    ],
)
def test_a_wrong_architecture_is_one_line(isolated, capsys, arch, says):
    _resnet18_file(isolated / "r18.pt")
    assert main(["zoo", "add", str(isolated / "r18.pt"), "--arch", arch]) == 2
    _one_line(capsys, says)


def test_a_pickled_network_is_refused_without_unpickling_it(isolated, capsys):
    import torchvision

    torch.save(torchvision.models.resnet18(), isolated / "whole.pt")
    assert main(["zoo", "add", str(isolated / "whole.pt"), "--arch", "torchvision:resnet18"]) == 2
    _one_line(capsys, "not a state dict", "model.state_dict()", "it pickles torchvision.models.resnet.ResNet")
    torch.save({"weights": [1, 2]}, isolated / "odd.pt")
    with pytest.raises(CheckpointError, match="holds no state dict"):
        register_weights(isolated / "odd.pt", "torchvision:resnet18")


def test_a_module_architecture_and_its_default_stages(isolated):
    from tiny_cnn import build

    torch.manual_seed(1)
    net = build()
    torch.save(net.state_dict(), isolated / "tiny.pt")
    entry = register_weights(isolated / "tiny.pt", "module:tiny_cnn:build", image_size=32)
    assert entry.name.startswith("build-") and entry.layers == ("conv1", "conv2", "conv3", "avgpool")
    assert entry.region_layer_map == {"V1": "conv1", "V2": "conv2", "V4": "conv2", "IT": "conv3"}
    loaded = model_zoo.load(entry.name)
    x = torch.rand(3, 3, 32, 32)
    assert torch.equal(loaded.module(x), net.eval()(x))


def test_timm_architectures_or_one_line_without_timm(isolated, capsys, monkeypatch):
    try:
        import timm
    except ImportError:
        timm = None
    if timm is not None:
        torch.save(timm.create_model("resnet10t").state_dict(), isolated / "t.pt")
        entry = register_weights(isolated / "t.pt", "timm:resnet10t", "t10")
        config = timm.data.resolve_data_config({}, model=timm.create_model("resnet10t"))
        assert (entry.image_size, entry.mean) == (config["input_size"][-1], tuple(config["mean"]))
        assert entry.layers[-1] == "global_pool" and "layer4" in entry.layers
    else:
        torch.save({"w": torch.zeros(1)}, isolated / "t.pt")
    monkeypatch.setitem(sys.modules, "timm", None)  # as if timm were not installed
    assert main(["zoo", "add", str(isolated / "t.pt"), "--arch", "timm:resnet10t"]) == 2
    _one_line(capsys, "pip install 'neuroequi[timm]'")


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(4, 2)

    def forward(self, x):
        return self.classifier(self.pool(self.features(x)).flatten(1))


def test_from_module_makes_an_in_memory_network_a_zoo_model(isolated):
    from model_zoo.activations import extract
    from PIL import Image

    torch.manual_seed(0)
    net = _Net()
    loaded = model_zoo.from_module(net, name="mine", image_size=16)
    assert loaded.layers == ("features", "pool") and loaded.module is net
    assert (loaded.image_size, loaded.mean, loaded.std) == (16, IMAGENET_MEAN, IMAGENET_STD)
    images = [Image.fromarray(np.full((20, 20, 3), v, np.uint8)) for v in (0, 128, 255)]
    acts = extract(loaded, images)
    assert acts["features"].shape == (3, 4 * 14 * 14) and acts["pool"].shape == (3, 4)
    assert model_zoo.from_module(net, name="mine", image_size=16).identifier == loaded.identifier
    assert model_zoo.from_module(net, name="mine", image_size=32).identifier != loaded.identifier
    with torch.no_grad():
        net.classifier.bias += 1
    assert model_zoo.from_module(net, name="mine", image_size=16).identifier != loaded.identifier
    with pytest.raises(ConfigError, match="'nope'"):
        model_zoo.from_module(net, name="mine", layers=["nope"])
    with pytest.raises(ConfigError, match="exists only in the process"):
        model_zoo.load(loaded.entry)


def test_default_region_map_spreads_the_regions_over_the_stages():
    assert architectures.default_region_layer_map(["a", "b", "c", "d", "avgpool"]) == {
        "V1": "a",
        "V2": "b",
        "V4": "c",
        "IT": "d",
    }
    assert architectures.default_region_layer_map(["a", "b", "c", "d", "e", "f", "g"]) == {
        "V1": "a",
        "V2": "c",
        "V4": "e",
        "IT": "g",
    }
    assert set(architectures.default_region_layer_map(["only"]).values()) == {"only"}


# --------------------------------------------------------------------------- strict JSON


def _strict(text: str):
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def test_json_is_strict_non_finite_numbers_are_null(tmp_path):
    data = {
        "score": math.nan,
        "error": float("inf"),
        "n": np.int64(3),
        "xs": (1.0, np.float32("nan")),
        "nested": [{"ceiling": -math.inf}],
        "ok": 0.5,
    }
    expected = {"score": None, "error": None, "n": 3, "xs": [1.0, None], "nested": [{"ceiling": None}], "ok": 0.5}
    assert _strict(to_json(data)) == expected == finite_or_none(data)
    assert _strict(write_json(tmp_path / "x.json", data).read_text()) == expected
    assert math.isnan(json_float(None)) and json_float(2) == 2.0
    with pytest.raises(TypeError):
        to_json({"what": object()})


def test_commands_print_strict_json(isolated, capsys):
    assert main(["benchmarks", "list", "--json", "--no-count"]) == 0
    rows = _strict(capsys.readouterr().out)
    from analyses.neural import ONLINE_BENCHMARKS, local_benchmarks

    assert [r["identifier"] for r in rows] == [*local_benchmarks(), *ONLINE_BENCHMARKS]  # local (folders) first
    assert {"Cowley2023.V4-pls", "Kiani2007.IT-rdm"} <= {r["identifier"] for r in rows}
    assert all(r["images"] is None for r in rows)
    _resnet18_file(isolated / "r18.pt")
    register_weights(isolated / "r18.pt", "torchvision:resnet18", "r18")
    assert main(["zoo", "show", "--model", "r18"]) == 0
    assert _strict(capsys.readouterr().out)["arch"] == "torchvision:resnet18"


def test_packaging_another_architecture_says_so_in_one_line(isolated, capsys):
    _resnet18_file(isolated / "r18.pt")
    register_weights(isolated / "r18.pt", "torchvision:resnet18", "r18", url="https://example.org/r18.pt")
    assert main(["brainscore", "package", "--model", "r18", "--out", str(isolated / "sub")]) == 2
    _one_line(capsys, "torchvision:resnet18 is not one of this project's architectures")
