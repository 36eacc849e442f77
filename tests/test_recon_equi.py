"""recon_equi: shapes, a real tiny CIFAR-10 run, what the invariant part alone can reconstruct, bad configs."""

from __future__ import annotations

import csv
from pathlib import Path

import neuroequi  # noqa: F401
import numpy as np
import pytest
import torch
from torch import nn

from neuroequi.train import load_method
from neuroequi.data import cifar10
from neuroequi.errors import ConfigError
from neuroequi.methods import Batch, normalize_images
from neuroequi.methods.reconstruction import ReconEqui
from neuroequi.registry import build_method
from neuroequi.train import config_from_dict, train

SMALL = {"invariance_options": {"projector": [16]}, "decoder_dim": 32, "decoder_depth": 1, "patch_size": 8}


class QuarterTurnSplit(nn.Module):
    """``h = [mean_r f(rot^r x) ; f(x)]``: the first half is invariant to quarter turns by construction."""

    def __init__(self, k: int = 16) -> None:
        super().__init__()
        self.f = nn.Sequential(
            nn.Conv2d(3, k, 5, stride=2),
            nn.ReLU(),
            nn.Conv2d(k, k, 5, stride=2),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Linear(4 * k, k),
        )
        self.feature_dim = 2 * k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inv = torch.stack([self.f(torch.rot90(x, r, dims=(-2, -1))) for r in range(4)]).mean(0)
        return torch.cat([inv, self.f(x)], 1)


def recon(**options: object) -> ReconEqui:
    torch.manual_seed(0)
    return build_method("recon_equi", {**SMALL, **options}, QuarterTurnSplit(), image_size=32)


@pytest.fixture(scope="module")
def rotated() -> torch.Tensor:
    """4 real CIFAR-10 test images under the 4 quarter turns, normalised: rows r*4 + i = rot^r(x_i)."""
    dataset = cifar10("test")
    x = torch.from_numpy(np.stack([np.asarray(dataset[i][0]) for i in range(4)])).permute(0, 3, 1, 2).float() / 255
    return normalize_images(torch.cat([torch.rot90(x, r, dims=(-2, -1)) for r in range(4)]))


def test_shapes_and_parts(rotated):
    method = recon(inv_tokens=2, equi_tokens=3)
    h = method.backbone(rotated)
    assert method.inv_dim == method.equi_dim == 16
    for parts in (("inv",), ("equi",), ("inv", "equi")):
        assert method.reconstruct(h, parts).shape == (16, 3, 32, 32)
    batch = Batch(views=(rotated, rotated.flip(-1)), params=(), clean=None, labels=torch.zeros(16, dtype=torch.long))
    out = method(batch)
    assert out.loss.ndim == 0 and out.features.shape == (16, 32) and set(out.logs) == {"loss_inv", "loss_recon"}
    out.loss.backward()
    assert method.decoder.queries.grad is not None and method.backbone.f[0].weight.grad is not None


def test_the_invariant_part_alone_cannot_reconstruct_a_transformation_it_is_invariant_to(rotated):
    """With ``h_inv`` invariant to quarter turns, a decoder reading only ``h_inv`` gives the same image for the
    four rotations of an image, so its error is at least their spread around their mean; trained, a decoder
    reading both parts goes well below that bound."""
    views = rotated.reshape(4, 4, 3, 32, 32)
    bound = float(((views - views.mean(0, keepdim=True)) ** 2).mean())
    losses = {}
    for parts in (("inv",), ("inv", "equi")):
        method = recon()
        with torch.no_grad():
            h = method.backbone(rotated)
        if parts == ("inv",):
            with torch.no_grad():
                same = method.reconstruct(h, parts).reshape(4, 4, 3, 32, 32)
            torch.testing.assert_close(same, same[:1].expand_as(same), atol=1e-5, rtol=0)
        optimiser = torch.optim.Adam(method.decoder.parameters(), lr=3e-3)
        for _ in range(200):
            loss = (method.reconstruct(h, parts) - rotated).pow(2).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        losses[parts] = float(loss.detach())
    assert losses[("inv",)] >= bound - 1e-4
    assert losses[("inv", "equi")] < 0.7 * bound


def test_swap_target_decodes_each_view_from_the_other_views_invariant_part(rotated):
    method = recon(target="swap")
    h_a, h_b = method.backbone(rotated), method.backbone(rotated.flip(-1))
    inv_b = method.split(h_b)[0]
    expected = method.decoder(inv_b, method.split(h_a)[1])
    torch.testing.assert_close(method.reconstruct(h_a, h_inv=inv_b), expected)
    assert not torch.allclose(method.reconstruct(h_a), expected)


def test_reconstruction_loss_decreases_on_real_cifar(tmp_path: Path):
    values = {
        "name": "recon",
        "output_dir": str(tmp_path),
        "epochs": 4,
        "batch_size": 32,
        "device": "cpu",
        "threads": 1,
        "data": {
            "subset": 128,
            "cache_dir": str(tmp_path / "cache"),
            "transforms": {"families": ["rotation", "color"]},
        },
        "model": {"arch": "resnet18_cifar", "width": 0.0625},
        "method": {"name": "recon_equi", "options": {**SMALL, "decoder_dim": 64}},
        "optim": {"name": "adamw", "lr": 2e-3, "lr_scaling": "none", "warmup_epochs": 0.0, "final_lr_ratio": 1.0},
        "monitor": {"knn": False, "probe": False, "log_every": 1, "progress": False},
    }
    path = train(config_from_dict(values))
    with (tmp_path / "recon" / "log.csv").open() as fh:
        recon_loss = [float(row["loss_recon"]) for row in csv.DictReader(fh)]
    assert len(recon_loss) == 16
    assert np.mean(recon_loss[-4:]) < 0.9 * np.mean(recon_loss[:4])
    method = load_method(path)  # decoder rebuilt for the 32 px views, weights strict-loaded
    assert method.decoder.image_size == 32 and method.invariance.heads["inv"][0].in_features == method.inv_dim


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"decoder_depth": 0}, "decoder_depth must be >= 1"),
        ({"split": [10, 10]}, "add up to the representation size 32"),
        ({"decoder_dim": 30, "decoder_heads": 4}, "multiple of decoder_heads"),
        ({"invariance": "byol"}, "plain invariance method"),
        ({"invariance": "sie"}, "must be one of"),
        ({"invariance_options": {"temperature": 0.1}}, "invariance_options: unknown key"),
        ({"recon_weight": -1.0}, "weights must be >= 0"),
    ],
)
def test_bad_configs(options, match):
    with pytest.raises(ConfigError, match=match):
        build_method("recon_equi", {**SMALL, **options}, QuarterTurnSplit(), image_size=32)


def test_patch_must_divide_the_view_size():
    with pytest.raises(ConfigError, match="patch_size 5 must divide the view size 32"):
        build_method("recon_equi", {**SMALL, "patch_size": 5}, QuarterTurnSplit(), image_size=32)
