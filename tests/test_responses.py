"""Responses of the real supervised CIFAR ResNet-20 to ensembles of real CIFAR-10 test images."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import model_zoo
from analyses.responses import (
    DIMS,
    ensemble_params,
    extract_ensemble,
    load_responses,
    parameter_table,
    save_responses,
)
from model_zoo.activations import extract
from neuroequi.augment import DEFAULTS, AugParams, get_policy
from neuroequi.data import cifar10
from neuroequi.errors import ConfigError

K = 4


@pytest.fixture(scope="module")
def loaded():
    return model_zoo.load("cifar-resnet20-supervised")


@pytest.fixture(scope="module")
def images():
    dataset = cifar10("test")
    return [dataset[i][0] for i in range(0, 10000, 1700)]  # 6 images of different classes


@pytest.fixture(scope="module")
def policy():
    return get_policy("cifar")


def direct_responses(loaded, views: torch.Tensor, layer: str = "avgpool") -> np.ndarray:
    """Reference: the layer's output for views in [0, 1] via a plain forward with a hook."""
    out = []
    handle = loaded.module.get_submodule(layer).register_forward_hook(lambda m, i, o: out.append(o.flatten(1)))
    mean, std = torch.tensor(loaded.mean).view(1, 3, 1, 1), torch.tensor(loaded.std).view(1, 3, 1, 1)
    with torch.no_grad():
        loaded.module((views - mean) / std)
    handle.remove()
    return out[0].numpy()


def test_clean_responses_equal_the_zoo_activations(loaded, images, policy):
    clean = extract_ensemble(loaded, images, policy, "clean", progress=False)  # default layer: the last, avgpool
    assert clean.dims == ("image", "neuroid") and clean.shape == (6, 64)
    zoo = extract(loaded, images, ["avgpool"])["avgpool"]
    np.testing.assert_allclose(clean.values, zoo, rtol=1e-5, atol=1e-6)
    assert clean.attrs["weights_sha256"] == loaded.sha256 and clean.attrs["layer"] == "avgpool"


@pytest.mark.parametrize("ensemble", ["full", "matched", "crop", "photometric"])
def test_each_response_is_the_recorded_augmentation(loaded, images, policy, ensemble):
    responses = extract_ensemble(loaded, images, policy, ensemble, K=K, seed=3, batch_size=7, progress=False)
    assert responses.dims == DIMS and responses.shape == (6, K, 64)
    table, names = parameter_table(responses)
    column = {n: table[:, :, p] for p, n in enumerate(names)}
    if ensemble == "matched":
        assert np.all(column["crop_x"] == column["crop_x"][:1]) and np.all(
            column["brightness"] == column["brightness"][:1]
        )
    else:
        assert not np.all(column["crop_w"] == column["crop_w"][:1]) or not np.all(column["hue"] == column["hue"][:1])
    if ensemble == "crop":
        assert (
            np.all(column["jitter"] == 0)
            and np.all(column["grayscale"] == 0)
            and np.all(column["flip"] == DEFAULTS["flip"])
        )
    if ensemble == "photometric":
        assert np.all(column["crop_w"] == 1.0) and np.all(column["crop_x"] == 0.0)
    # Replaying the recorded parameters of image 2 reproduces its responses.
    params = ensemble_params(policy, ensemble, torch.tensor([[32.0, 32.0]] * 6), K, 3)
    recorded = AugParams(torch.as_tensor(table[2]), names)
    assert torch.equal(recorded.values, params.values[2 * K : 3 * K])
    views = policy.apply([images[2]] * K, recorded)
    np.testing.assert_allclose(responses.values[2], direct_responses(loaded, views), rtol=1e-5, atol=1e-5)


def test_another_layer_is_read_when_named(loaded, images, policy):
    responses = extract_ensemble(loaded, images, policy, "crop", K=K, seed=1, progress=False, layer="layer2")
    assert responses.shape == (6, K, 32 * 16 * 16) and responses.attrs["layer"] == "layer2"
    params = AugParams(torch.as_tensor(parameter_table(responses)[0][0]), parameter_table(responses)[1])
    views = policy.apply([images[0]] * K, params)
    np.testing.assert_allclose(responses.values[0], direct_responses(loaded, views, "layer2"), rtol=1e-5, atol=1e-5)


def test_cache_reused_for_same_inputs_and_recomputed_for_others(loaded, images, policy, tmp_path):
    calls = []
    handle = loaded.module.register_forward_pre_hook(lambda m, i: calls.append(i[0].shape[0]))
    try:
        first = extract_ensemble(loaded, images, policy, "full", K=K, cache_dir=tmp_path, progress=False)
        assert sum(calls) == 6 * K
        again = extract_ensemble(loaded, images, policy, "full", K=K, cache_dir=tmp_path, progress=False)
        assert sum(calls) == 6 * K  # read from the cache, no forward pass
        np.testing.assert_array_equal(first.values, again.values)
        assert again.attrs["cache_key"] == first.attrs["cache_key"]
        other_seed = extract_ensemble(loaded, images, policy, "full", K=K, seed=1, cache_dir=tmp_path, progress=False)
        other_images = extract_ensemble(loaded, images[:5], policy, "full", K=K, cache_dir=tmp_path, progress=False)
        assert sum(calls) == 6 * K + 6 * K + 5 * K
        assert not np.allclose(other_seed.values, first.values)
        assert other_images.shape[0] == 5
    finally:
        handle.remove()
    assert len(list(tmp_path.glob("responses-full-*.nc"))) == 3


def test_netcdf_round_trip_keeps_coordinates_and_provenance(loaded, images, policy, tmp_path):
    ids = [f"test/{i}" for i in range(6)]
    responses = extract_ensemble(loaded, images, policy, "crop", K=K, image_ids=ids, progress=False)
    path = save_responses(responses, tmp_path / "r.nc")
    back = load_responses(path)
    assert list(back.coords["image"].values) == ids
    np.testing.assert_array_equal(back.values, responses.values)
    np.testing.assert_array_equal(parameter_table(back)[0], parameter_table(responses)[0])
    for key in ("weights_sha256", "layer", "policy", "seed", "K", "ensemble", "precision", "versions", "images_sha256"):
        assert back.attrs[key] == responses.attrs[key]


def test_bf16_autocast_stays_close_to_fp32(loaded, images, policy):
    fp32 = extract_ensemble(loaded, images, policy, "full", K=K, progress=False)
    bf16 = extract_ensemble(loaded, images, policy, "full", K=K, precision="bf16", progress=False)
    assert bf16.attrs["precision"] == "bf16" and bf16.dtype == np.float32
    rel = np.linalg.norm(bf16.values - fp32.values) / np.linalg.norm(fp32.values)
    assert 0.0 < rel < 0.03


def test_invalid_requests(images, policy, loaded):
    with pytest.raises(ConfigError, match="32px"):
        extract_ensemble(loaded, images, get_policy("simclr"), "full", progress=False)
    with pytest.raises(ConfigError, match="K must be"):
        extract_ensemble(loaded, images, policy, "full", K=1, progress=False)
    with pytest.raises(ConfigError, match="ensemble must be"):
        extract_ensemble(loaded, images, policy, "rotated", progress=False)
    with pytest.raises(ConfigError, match="precision"):
        extract_ensemble(loaded, images, policy, "full", precision="fp16", progress=False)
    with pytest.raises(ConfigError, match="image ids"):
        extract_ensemble(loaded, images, policy, "clean", image_ids=[1, 2], progress=False)
    with pytest.raises(ConfigError, match="not in"):
        extract_ensemble(loaded, images, policy, "clean", progress=False, layer="layer9")


def test_a_damaged_cache_file_is_recomputed_not_a_crash(loaded, images, policy, tmp_path):
    first = extract_ensemble(loaded, images[:2], policy, "clean", cache_dir=tmp_path, progress=False)
    (path,) = tmp_path.glob("responses-clean-*.nc")
    path.write_bytes(b"damaged")
    again = extract_ensemble(loaded, images[:2], policy, "clean", cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(again.values, first.values)
    np.testing.assert_array_equal(load_responses(path).values, first.values)  # replaced by the recomputed one
