"""neuroequi.activations.layer_activations and neuroequi.augment.identity_params: the one copy of each."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from neuroequi.activations import layer_activations
from neuroequi.augment import COLUMNS, DEFAULTS, get_policy, identity_params
from neuroequi.errors import ConfigError


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, 5)
    ).eval()


def test_outputs_are_the_named_layers_flattened_and_batching_does_not_matter():
    net = _net()
    x = torch.rand(7, 3, 8, 8)
    out = layer_activations(net, x.split(3), ["0", "2", ""])
    with torch.no_grad():
        conv = net[0](x)
        pooled = net[2](net[1](conv))
        logits = net(x)
    assert out["0"].shape == (7, 4 * 8 * 8) and out["2"].shape == (7, 16) and out[""].shape == (7, 5)
    torch.testing.assert_close(out["0"], conv.flatten(1))  # channel-major flattening
    torch.testing.assert_close(out["2"], pooled.flatten(1))
    torch.testing.assert_close(out[""], logits)  # "": the module's own output
    whole = layer_activations(net, [x], ["0", "2", ""])
    for name in out:
        torch.testing.assert_close(out[name], whole[name])
    assert all(t.dtype == torch.float32 and t.device.type == "cpu" for t in out.values())
    assert not any(net[i]._forward_hooks for i in range(len(net)))  # hooks removed


def test_unknown_layer_is_a_config_error_naming_it():
    with pytest.raises(ConfigError, match="'layer9'"):
        layer_activations(_net(), [torch.rand(1, 3, 8, 8)], ["layer9"])


def test_identity_params_are_the_whole_image_and_the_defaults():
    hw = torch.tensor([[32.0, 40.0], [17.0, 9.0]])
    params = identity_params(hw)
    assert params.columns == COLUMNS
    for name, value in DEFAULTS.items():
        assert torch.all(params[name] == value)
    torch.testing.assert_close(
        params[["crop_x", "crop_y", "crop_w", "crop_h"]], torch.tensor([[0.0, 0, 1, 1]] * 2, dtype=torch.float64)
    )
    torch.testing.assert_close(params[["crop_w_px", "crop_h_px"]], hw[:, [1, 0]].double())
    torch.testing.assert_close(params[["image_h", "image_w"]], hw.double())
    # the same table a policy gives when every op is set to its identity
    policy = get_policy("cifar")
    sampled = policy.sample(2, torch.Generator().manual_seed(1), hw)
    reference = sampled.replace(**DEFAULTS, **policy.crop.identity(2, hw))
    assert torch.equal(params.values, reference.values)
    # applied, it is the plain resize of the whole image
    images = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(policy.apply(images, identity_params(torch.tensor([[32.0, 32.0]] * 2))), images)


def test_stop_early_skips_the_rest_of_the_network_and_keeps_the_same_outputs():
    class Boom(nn.Module):
        def forward(self, x):
            raise AssertionError("ran past the last requested layer")

    torch.manual_seed(0)
    body = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 3))
    batches = [torch.rand(2, 3, 8, 8), torch.rand(3, 3, 8, 8)]
    full = layer_activations(body, batches, ["0", "2"])
    early = layer_activations(nn.Sequential(*body, Boom()), batches, ["2", "0"], stop_early=True)
    for layer in ("0", "2"):
        torch.testing.assert_close(early[layer], full[layer], rtol=0, atol=0)
