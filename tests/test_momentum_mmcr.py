"""MMCR's momentum branch (CE-SSL) alone and under TeSSL, and TeSSL's per-half-view BatchNorm."""

from __future__ import annotations

import pytest
import torch

import neuroequi  # noqa: F401

from neuroequi.errors import ConfigError
from neuroequi.methods import Batch, MMCROptions, TeSSL
from neuroequi.registry import build_backbone, build_method
from neuroequi.methods.invariance import MomentumMMCR


def _mmcr(tau: float | None, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_method(
        "mmcr", {"projector": [32, 16], "momentum_tau": tau}, build_backbone("resnet18_cifar", 1 / 16)
    ).double()


def _batch(n: int = 8, seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    views = tuple(torch.randn(n, 3, 16, 16, generator=g, dtype=torch.float64) for _ in range(2))
    return Batch(views, (), None, torch.zeros(n, dtype=torch.long))


@pytest.mark.parametrize("tau", [1.0, -0.1, 1.5, True, "0.9"])
def test_momentum_outside_zero_one_is_a_config_error(tau: object) -> None:
    with pytest.raises(ConfigError, match=r"momentum tau \(method.options.momentum_tau\) must be a number in \[0, 1\)"):
        MMCROptions(momentum_tau=tau)  # type: ignore[arg-type]


def test_momentum_mmcr_at_step_zero_equals_mmcr_with_half_the_gradient() -> None:
    plain, momentum = _mmcr(None), _mmcr(0.99)
    assert isinstance(momentum, MomentumMMCR) and not isinstance(plain, MomentumMMCR)
    batch = _batch()
    out_plain, out_momentum = plain(batch), momentum(batch)
    torch.testing.assert_close(out_momentum.loss, out_plain.loss)
    out_plain.loss.backward()
    out_momentum.loss.backward()
    grads = dict(momentum.named_parameters())
    for name, p in plain.named_parameters():
        twin = grads[name.replace("heads.inv.", "heads.inv.projector.")]
        torch.testing.assert_close(twin.grad, p.grad / 2, rtol=1e-9, atol=1e-12)
    assert all(p.grad is None for name, p in momentum.named_parameters() if "target" in name)


def test_momentum_target_follows_the_online_network_with_constant_tau() -> None:
    model = _mmcr(0.9)
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.add_(1.0)
        for p in model.heads["inv"].projector.parameters():
            p.mul_(2.0)
    before_backbone = model.target_backbone.conv1.weight.clone()
    before_head = model.heads["inv"].target_projector[0].weight.clone()
    model.after_step(5, 100)
    torch.testing.assert_close(
        model.target_backbone.conv1.weight, 0.9 * before_backbone + 0.1 * model.backbone.conv1.weight
    )
    torch.testing.assert_close(
        model.heads["inv"].target_projector[0].weight, 0.9 * before_head + 0.1 * model.heads["inv"].projector[0].weight
    )
    batch = _batch()
    lagging = model(batch).loss
    two_views = build_method("mmcr", {"projector": [32, 16]}, model.backbone).double()
    two_views.heads["inv"].load_state_dict(model.heads["inv"].projector.state_dict())
    assert abs(lagging.item() - two_views(batch).loss.item()) > 1e-6  # with a lagging target the values differ


def test_tessl_momentum_mmcr_equivariant_term_uses_momentum_differences() -> None:
    model = TeSSL(_mmcr(0.99), lam=0.5).double()  # the equivariant term is logged (lam < 1: TeSSL keeps L_inv)
    batch = _batch()
    out = model(batch)
    m = model.method
    e_a, e_b = m.embed("equi", m.encode(batch.views[0])), m.embed("equi", m.encode(batch.views[1]))
    d1, d2 = e_a[:4] - e_b[:4], e_a[4:] - e_b[4:]  # (N/2, 2, K): online and target differences
    expected = m.loss(d1[:, 0], d2[:, 0], d1[:, 1], d2[:, 1])
    torch.testing.assert_close(out.logs["loss_equi"], expected.detach())


def test_tessl_halves_run_each_half_view_on_its_own() -> None:
    model = TeSSL(_mmcr(None), lam=0.5, bn_groups="halves").double()
    batch = _batch()
    out = model(batch)
    m = model.method
    embed = [
        {h: torch.cat([m.embed(h, m.encode(v[:4])), m.embed(h, m.encode(v[4:]))]) for h in ("inv", "equi")}
        for v in batch.views
    ]
    inv = m.loss(embed[0]["inv"], embed[1]["inv"])
    equi = m.loss(embed[0]["equi"][:4] - embed[1]["equi"][:4], embed[0]["equi"][4:] - embed[1]["equi"][4:])
    torch.testing.assert_close(out.loss, 0.5 * inv + 0.5 * equi)
    with pytest.raises(ValueError, match="bn_groups must be one of"):
        TeSSL(_mmcr(None), 0.5, bn_groups="quarters")
