"""The model catalogue, loading and identifiers, on the real akamaster checkpoints."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import model_zoo
from model_zoo.activations import extract, preprocess
from model_zoo.catalogue import TESSL_LAMBDAS, builtin_entries, lambda_code
from model_zoo.cifar_resnet import CifarResNet, load_akamaster_checkpoint
from model_zoo.loading import state_dict_sha256
from neuroequi.errors import CheckpointError, ConfigError, IntegrityError, OfflineError


@pytest.fixture()
def zoo_home(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROEQUI_ZOO_HOME", str(tmp_path / "zoo"))
    return tmp_path / "zoo"


def _brainscore_ce_url(plugin: Path) -> str:
    """The URL a Brain-Score CE-* plugin's get_model builds, read from its source (no execution)."""
    source = (plugin / "model.py").read_text()
    name = re.search(r'assert name == "([^"]+)"', source).group(1)
    lmda_map = {k: float(v) for k, v in re.findall(r"'(\d+)':\s*([\d.]+)", source)}
    objective = name.split("_")[0].split("-")[1]
    lam = lmda_map[name.split("_")[-1]]
    location = f"~tyerxa/equi_proj/training_checkpoints/final/resnet_50/{objective}/lmda_{lam}/ep100-ba62500-rank0"
    return f"https://users.flatironinstitute.org/{location}"


def test_published_tessl_entries_mirror_brainscore_plugins():
    import brainscore_vision

    tessl = [e for e in builtin_entries().values() if e.arch == "resnet50_composer"]
    assert len(tessl) == 21 and {e.lam for e in tessl} == set(TESSL_LAMBDAS)
    models = Path(brainscore_vision.__file__).parent / "models"
    plugins = sorted(p for p in models.glob("CE-*_lmda_*") if p.is_dir())
    assert len(plugins) == 21
    ours = {e.source.location for e in tessl}
    assert {_brainscore_ce_url(p) for p in plugins} == ours
    for entry in tessl:
        assert entry.source.sha256 is None  # not published: pinned on first download, never invented
        assert f"_lmda_{lambda_code(entry.lam)};" in entry.notes
        assert entry.region_layer_map["IT"] == "layer4"


def test_akamaster_checkpoint_loads_strictly_and_classifies(data_root):
    from neuroequi.data import cifar10

    loaded = model_zoo.load("cifar-resnet20-supervised")
    assert not loaded.module.training and loaded.identifier == "cifar-resnet20-supervised-12fca82f"
    test = cifar10("test")
    idx = np.random.default_rng(0).choice(len(test), 300, replace=False)
    images = [test[i][0] for i in idx]
    labels = torch.tensor([test[i][1] for i in idx])
    x = preprocess(images, 32, loaded.entry.mean, loaded.entry.std)
    with torch.no_grad():
        accuracy = (loaded.module(x).argmax(1) == labels).float().mean().item()
    assert accuracy > 0.7  # README: about 81% on these re-encoded JPEGs; chance is 10%


def test_strict_loading_rejects_a_mismatched_checkpoint(data_root, tmp_path):
    blob = torch.load(data_root / "pretrained_cifar_resnet/resnet20-12fca82f.th", map_location="cpu", weights_only=True)
    del blob["state_dict"]["module.layer2.0.bn1.running_var"]
    path = tmp_path / "broken.th"
    torch.save(blob, path)
    with pytest.raises(ValueError, match="running_var"):
        load_akamaster_checkpoint(path, 20)
    with pytest.raises(ValueError, match="does not match a CIFAR ResNet-32"):
        load_akamaster_checkpoint(data_root / "pretrained_cifar_resnet/resnet20-12fca82f.th", 32)


def test_option_a_shortcut_pads_channels_with_zeros():
    block = CifarResNet(20).layer2[0]
    x = torch.randn(2, 16, 8, 8)
    out = block.shortcut(x)
    assert out.shape == (2, 32, 4, 4)
    torch.testing.assert_close(out[:, 8:24], x[:, :, ::2, ::2])
    assert out[:, :8].abs().sum() == 0 and out[:, 24:].abs().sum() == 0


def test_random_init_is_seeded_and_its_identifier_hashes_the_weights(data_root):
    a, b = model_zoo.load("cifar-resnet20-random"), model_zoo.load("cifar-resnet20-random")
    assert a.identifier == b.identifier == f"cifar-resnet20-random-{state_dict_sha256(a.module)[:8]}"
    trained = model_zoo.load("cifar-resnet20-supervised")
    assert a.identifier.rsplit("-", 1)[1] != trained.identifier.rsplit("-", 1)[1]


def _save_project_checkpoint(path: Path, seed: int) -> Path:
    from neuroequi.registry import build_backbone
    from neuroequi.checkpoint import FORMAT, VERSION, save_checkpoint

    torch.manual_seed(seed)
    backbone = build_backbone("resnet18_cifar", 0.25)
    meta = {
        "method": "barlow_twins",
        "equivariance": "tessl",
        "lambda": 0.1,
        "arch": "resnet18_cifar",
        "width": 0.25,
        "dataset": {"name": "cifar10"},
        "image_size": 32,
        "input_normalization": {"mean": [0.4, 0.4, 0.4], "std": [0.2, 0.2, 0.2]},
    }
    return save_checkpoint(
        {"format": FORMAT, "version": VERSION, "model": {}, "backbone": backbone.state_dict(), "meta": meta}, path
    )


def test_registered_checkpoint_is_verified_and_registered_again_when_its_weights_change(zoo_home, tmp_path):
    from neuroequi.io import sha256_file

    path = _save_project_checkpoint(tmp_path / "run" / "final.pt", seed=0)
    entry = model_zoo.register_checkpoint(path, name="my-tessl-run")
    stored = json.loads((zoo_home / "catalogue.json").read_text())["my-tessl-run"]
    assert stored["arch"] == "resnet18_cifar" and stored["source"]["sha256"] == sha256_file(path)
    assert entry.method == "tessl_barlow_twins" and entry.lam == 0.1 and entry.mean == (0.4, 0.4, 0.4)
    first = model_zoo.load("my-tessl-run")
    assert first.identifier == f"my-tessl-run-{first.sha256[:8]}"
    assert set(first.layers) >= {"layer1", "layer4"} and not first.module.training

    _save_project_checkpoint(path, seed=1)  # retrained: same path, same name, new weights
    with pytest.raises(IntegrityError) as err:
        model_zoo.load("my-tessl-run")
    assert first.sha256 in str(err.value) and sha256_file(path) in str(err.value)
    assert f"neuroequi zoo add {path} --name my-tessl-run --replace" in str(err.value)
    with pytest.raises(ConfigError, match="already in .* pass --replace"):
        model_zoo.register_checkpoint(path, name="my-tessl-run")
    model_zoo.register_checkpoint(path, name="my-tessl-run", replace=True)
    second = model_zoo.load("my-tessl-run")
    assert second.identifier != first.identifier
    assert not torch.equal(first.module.conv1.weight, second.module.conv1.weight)
    default = model_zoo.register_checkpoint(path)
    assert default.name == f"tessl_barlow_twins-lambda0.1-resnet18_cifar-cifar10-{second.sha256[:8]}"


def test_register_rejects_builtin_names_and_missing_files(zoo_home, tmp_path):
    path = _save_project_checkpoint(tmp_path / "c.pt", seed=0)
    with pytest.raises(ConfigError, match="built-in"):
        model_zoo.register_checkpoint(path, name="cifar-resnet20-supervised")
    with pytest.raises(CheckpointError, match="does not exist"):
        model_zoo.register_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(ConfigError, match="unknown model 'nope'"):
        model_zoo.load("nope")


def test_offline_published_checkpoint_fails_with_url_and_destination(zoo_home, monkeypatch):
    from model_zoo import download

    calls = []
    monkeypatch.setenv("NEUROEQUI_OFFLINE", "1")
    monkeypatch.setattr(download.urllib.request, "urlopen", lambda *args, **kwargs: calls.append(args))
    entry = model_zoo.get_entry("tessl-mmcr-lambda0.2-resnet50")
    with pytest.raises(OfflineError) as err:
        model_zoo.load(entry.name)
    assert calls == []  # stopped before any connection
    message = str(err.value)
    assert entry.source.location in message
    assert str(zoo_home / "checkpoints" / entry.name / "ep100-ba62500-rank0") in message


def test_extract_matches_brainscore_pytorch_wrapper(data_root, tmp_path):
    """The zoo's in-memory activation path gives Brain-Score's PytorchWrapper activations."""
    from PIL import Image

    from model_zoo.brainscore import wrapper

    loaded = model_zoo.load("cifar-resnet20-supervised")
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)) for _ in range(5)]
    paths = []
    for i, image in enumerate(images):
        paths.append(str(tmp_path / f"{i}.png"))
        image.save(paths[-1])
    ours = extract(loaded, images, ["layer3", "avgpool"], batch_size=2)
    theirs = wrapper(loaded.entry)(paths, layers=["layer3", "avgpool"])
    for layer in ("layer3", "avgpool"):
        reference = theirs.isel(neuroid=theirs["layer"].values == layer).values
        assert ours[layer].shape == reference.shape
        np.testing.assert_allclose(ours[layer], reference, rtol=1e-4, atol=1e-5)


def test_builtin_names_are_unchanged():
    """The catalogue names (λ spelled by neuroequi.io.format_lambda) are the names published before."""
    expected = {f"cifar-resnet{d}-{kind}" for d in (20, 32) for kind in ("supervised", "random")}
    expected |= {
        f"tessl-{m}-lambda{lam}-resnet50"
        for m in ("barlowtwins", "mmcr", "simclr")
        for lam in ("0", "0.001", "0.1", "0.2", "0.3", "0.4", "0.5")
    }
    assert set(builtin_entries()) == expected
    assert [lambda_code(lam) for lam in TESSL_LAMBDAS] == ["00", "0001", "01", "02", "03", "04", "05"]


def test_checkpoint_by_path_gets_the_identifier_of_its_zoo_entry(zoo_home, tmp_path):
    """One identifier rule: <name>-<sha8>, whether the file is loaded by path or by its catalogue name."""
    path = _save_project_checkpoint(tmp_path / "run" / "final.pt", seed=0)
    unregistered = model_zoo.load(path)
    digest = unregistered.sha256
    default_name = f"tessl_barlow_twins-lambda0.1-resnet18_cifar-cifar10-{digest[:8]}"
    assert unregistered.identifier == f"{default_name}-{digest[:8]}"
    assert not (zoo_home / "catalogue.json").exists()  # loading by path registers nothing
    assert model_zoo.register_checkpoint(path).name == default_name
    assert model_zoo.load(str(path)).identifier == model_zoo.load(default_name).identifier
    model_zoo.register_checkpoint(path, name="a-run")  # several names: the first in sorted order
    assert model_zoo.load(path).identifier == f"a-run-{digest[:8]}"
    by_path, by_name = model_zoo.load(path), model_zoo.load("a-run")
    assert (by_path.image_size, by_path.mean, by_path.layers) == (32, (0.4, 0.4, 0.4), by_name.layers)
    assert by_path.layer() == "avgpool"
    torch.testing.assert_close(by_path.module.state_dict(), by_name.module.state_dict())


def test_explicit_home_is_used_instead_of_the_environment(zoo_home, tmp_path):
    path = _save_project_checkpoint(tmp_path / "c.pt", seed=0)
    other = tmp_path / "other-home"
    model_zoo.register_checkpoint(path, name="elsewhere", home=other)
    assert "elsewhere" in model_zoo.entries(other) and "elsewhere" not in model_zoo.entries()
    assert not (zoo_home / "catalogue.json").exists()
    assert model_zoo.load("elsewhere", home=other).identifier.startswith("elsewhere-")
    with pytest.raises(ConfigError, match="unknown model 'elsewhere'"):
        model_zoo.get_entry("elsewhere")


def test_random_entry_is_seeded_and_leaves_the_global_rng_alone():
    from neuroequi.registry import build_backbone

    state = torch.random.get_rng_state()
    entry = model_zoo.random_entry("resnet18_cifar", seed=3, width=0.25, name="r18-frozen")
    assert torch.equal(torch.random.get_rng_state(), state)
    loaded = model_zoo.load(entry)
    torch.manual_seed(3)
    reference = build_backbone("resnet18_cifar", 0.25)
    assert loaded.identifier == f"r18-frozen-{state_dict_sha256(reference)[:8]}"
    assert loaded.layers[-1] == "avgpool" and loaded.region_layer_map["IT"] == "layer4"


def test_zoo_command_errors_are_one_line_with_exit_code_2(zoo_home, tmp_path, capsys):
    from neuroequi.cli import main

    assert main(["zoo", "show", "--model", "no-such-model"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("neuroequi: error: unknown model 'no-such-model'") and "\n" not in err
    assert main(["zoo", "add", str(tmp_path / "missing.pt")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["brainscore", "package", "--model", "no-such-model"]) == 2
    assert "unknown model" in capsys.readouterr().err
