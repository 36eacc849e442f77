"""Methods: TeSSL and EquiMod wrappers against reference formulas, BYOL momentum, the registry."""

from __future__ import annotations

import math
from dataclasses import dataclass

import neuroequi  # noqa: F401
import numpy as np
import pytest
import torch
from torch import nn

from neuroequi.augment import EquiModEncoder, get_policy
from neuroequi.losses import equimod_loss, equimod_targets
from neuroequi.methods import (
    Batch,
    EquiMod,
    EquiModOptions,
    InvarianceMethod,
    MethodSpec,
    SSLMethod,
    StepOutput,
    TeSSL,
)
from neuroequi.registry import METHOD_REGISTRY, build_backbone, build_method, make_options

SMALL = {
    "barlow_twins": {"projector": [16, 16]},
    "simclr": {"projector": [16, 8], "temperature": 0.5},
    "vicreg": {"projector": [16, 16]},
    "mmcr": {"projector": [16, 8]},
    "byol": {"projector": [16, 8], "predictor": [16, 8]},
}


def _method(name: str, seed: int = 0) -> InvarianceMethod:
    torch.manual_seed(seed)
    return build_method(name, SMALL[name], build_backbone("resnet18_cifar", 1 / 16))


def _batch(n: int = 6, seed: int = 0, size: int = 16) -> Batch:
    g = torch.Generator().manual_seed(seed)
    policy = get_policy("cifar", size=size)
    images = torch.randint(0, 256, (n, 3, 20, 20), generator=g, dtype=torch.uint8)
    va, pa = policy(images, g)
    vb, pb = policy(images, g)
    clean = torch.rand(n, 3, size, size, generator=g)
    return Batch((va.double(), vb.double()), (pa, pb), clean.double(), torch.zeros(n, dtype=torch.long))


@pytest.mark.parametrize("name", sorted(SMALL))
def test_tessl_lambda_zero_is_exactly_the_invariance_method(name: str) -> None:
    plain, wrapped = _method(name).double(), TeSSL(_method(name), lam=0.0).double()
    batch = _batch()
    out_plain, out_tessl = plain(batch), wrapped(batch)
    assert torch.equal(out_plain.loss, out_tessl.loss)
    out_plain.loss.backward()
    out_tessl.loss.backward()
    wrapped_params = dict(wrapped.method.named_parameters())
    for key, p in plain.named_parameters():
        q = wrapped_params[key]
        assert (p.grad is None) == (q.grad is None), key
        if p.grad is not None:
            assert torch.equal(p.grad, q.grad), key


@pytest.mark.parametrize("name", ["barlow_twins", "simclr", "byol"])
@pytest.mark.parametrize("lam", [0.2, 0.9])
@pytest.mark.parametrize("pairing", ["image", "augmentation"])
def test_tessl_matches_reference_formula(name: str, lam: float, pairing: str) -> None:
    model = TeSSL(_method(name), lam=lam, pairing=pairing).double()
    batch = _batch(8)
    got = model(batch)
    m = model.method
    enc_a, enc_b = m.encode(batch.views[0]), m.encode(batch.views[1])
    z_a, z_b = m.embed("inv", enc_a), m.embed("inv", enc_b)
    e_a, e_b = m.embed("equi", enc_a), m.embed("equi", enc_b)
    inv = m.loss(z_a, z_b)  # [Z1A; Z2A] vs [Z1B; Z2B]: rows already in half order
    if pairing == "image":  # image-1 displacement vs image-2 displacement (published CE-SSL code)
        equi = m.loss(e_a[:4] - e_b[:4], e_a[4:] - e_b[4:])
    else:  # content difference under augmentation A vs under augmentation B
        equi = m.loss(e_a[:4] - e_a[4:], e_b[:4] - e_b[4:])
    torch.testing.assert_close(got.loss, (1 - lam) * inv + lam * equi, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(got.logs["loss_equi"], equi.detach(), rtol=1e-9, atol=1e-9)


def test_tessl_odd_batch_and_bad_lambda_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="even, got 5"):
        TeSSL(_method("barlow_twins"), 0.1).double()(_batch(5))
    for lam in (1.5, 1.0, -0.1):
        with pytest.raises(ValueError, match=rf"\[0, 1\), got {lam}"):
            TeSSL(_method("barlow_twins"), lam)
    with pytest.raises(ValueError, match="pairing must be one of"):
        TeSSL(_method("barlow_twins"), 0.5, pairing="content")


def test_tessl_head_is_a_second_projector_of_the_same_architecture() -> None:
    model = TeSSL(_method("simclr"), 0.5)
    inv, equi = model.method.heads["inv"], model.method.heads["equi"]
    assert [p.shape for p in inv.parameters()] == [p.shape for p in equi.parameters()]
    assert not torch.equal(next(inv.parameters()), next(equi.parameters()))
    assert model.backbone is model.method.backbone


# ---------------------------------------------------------------------------------- EquiMod


@pytest.mark.parametrize("negatives", ["strict", "released"])
def test_equimod_targets_exclude_self_and_with_strict_both_embeddings_of_the_other_view(negatives: str) -> None:
    m = 3
    positive, exclude = equimod_targets(m, negatives=negatives)
    # candidates: [y_a (0..2), y_b (3..5), yhat_a (6..8), yhat_b (9..11)]
    for r in range(4 * m):
        view, image, pred = (r // m) % 2, r % m, r >= 2 * m
        other_view = (1 - view) * m + image
        assert positive[r] == (r + 2 * m) % (4 * m)
        expected = {r, other_view, other_view + 2 * m} if negatives == "strict" else {r}
        assert set(torch.nonzero(exclude[r]).flatten().tolist()) == expected, (r, pred)
        assert not exclude[r, positive[r]]


def _cos(u: np.ndarray, v: np.ndarray) -> float:
    return float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))


@pytest.mark.parametrize("negatives", ["strict", "released"])
def test_equimod_loss_matches_reference_loop(negatives: str) -> None:
    g = torch.Generator().manual_seed(1)
    y_a, y_b, p_a, p_b = (torch.randn(4, 5, generator=g, dtype=torch.float64) for _ in range(4))
    # the other view is nearly identical to the anchor: including it as a negative would matter
    y_b = y_a + 1e-3 * y_b
    got = equimod_loss(y_a, y_b, p_a, p_b, 0.2, negatives)
    targets = {("y", v, i): t[i].numpy() for v, t in (("a", y_a), ("b", y_b)) for i in range(4)}
    preds = {("p", v, i): t[i].numpy() for v, t in (("a", p_a), ("b", p_b)) for i in range(4)}
    every = {**targets, **preds}
    total = 0.0
    for (kind, view, i), anchor in every.items():
        positive = every[("p" if kind == "y" else "y", view, i)]
        denom = sum(
            math.exp(_cos(anchor, other) / 0.2)
            for (k2, v2, i2), other in every.items()
            if (k2, v2, i2) != (kind, view, i) and not (negatives == "strict" and i2 == i and v2 != view)
        )
        total += -math.log(math.exp(_cos(anchor, positive) / 0.2) / denom)
    torch.testing.assert_close(got.item(), total / 16, rtol=1e-6, atol=1e-6)


def _equimod(name: str, lam: float = 1.0, **options: str) -> EquiMod:
    policy = get_policy("cifar", size=16)
    encoder = EquiModEncoder.fit(policy, n_samples=2000, seed=0)
    return EquiMod(_method(name), encoder, lam, EquiModOptions(projector=(16, 16, 8), aug_dim=4, **options)).double()


@pytest.mark.parametrize("name", ["simclr", "byol", "barlow_twins"])
def test_equimod_per_view_matches_reference_and_trains_every_head(name: str) -> None:
    model = _equimod(name, heads="neuroequi", bn_groups="views", negatives="strict")
    batch = _batch(6)
    out = model(batch)
    m = model.method
    enc_a, enc_b = m.encode(batch.views[0]), m.encode(batch.views[1])
    inv = m.loss(m.embed("inv", enc_a), m.embed("inv", enc_b))
    y0 = model.equi_projector(m.backbone(batch.clean))
    ya, yb = model.equi_projector(enc_a[0]), model.equi_projector(enc_b[0])
    t_a = model.aug_projector(((model.encoder.raw(batch.params[0]) - model.param_mean) / model.param_std).double())
    t_b = model.aug_projector(((model.encoder.raw(batch.params[1]) - model.param_mean) / model.param_std).double())
    ha, hb = model.predictor(torch.cat([y0, t_a], 1)), model.predictor(torch.cat([y0, t_b], 1))
    torch.testing.assert_close(out.loss, inv + equimod_loss(ya, yb, ha, hb, 0.2, "strict"), rtol=1e-9, atol=1e-9)
    out.loss.backward()
    for part in (model.aug_projector, model.predictor, model.equi_projector, m.heads["inv"], m.backbone):
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in part.parameters() if p.requires_grad)


def test_equimod_lambda_zero_is_the_invariance_loss_and_needs_clean_images() -> None:
    plain, wrapped = _method("simclr").double(), _equimod("simclr", lam=0.0, bn_groups="views")
    batch = _batch(6)
    assert torch.equal(plain(batch).loss, wrapped(batch).loss)
    with pytest.raises(ValueError, match="clean"):
        wrapped(Batch(batch.views, batch.params, None, batch.labels))


def test_equimod_stores_the_encoder_statistics() -> None:
    model = _equimod("simclr")
    state = model.state_dict()
    assert "param_mean" in state and state["param_std"].shape == (len(model.columns),)
    batch = _batch(4)
    fresh = EquiModEncoder(model.columns, state["param_mean"], state["param_std"])
    torch.testing.assert_close(
        model.encode_params(batch.params[0]), fresh(batch.params[0]).double(), rtol=1e-6, atol=1e-6
    )


# ------------------------------------------------------------------------------ BYOL, registry


def test_byol_after_step_moves_target_towards_online() -> None:
    model = _method("byol").double()
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.add_(1.0)
    before = model.target_backbone.conv1.weight.clone()
    model.after_step(0, 10)
    online = model.backbone.conv1.weight
    tau = 1 - (1 - 0.996) * (math.cos(math.pi * 1 / 10) + 1) / 2
    torch.testing.assert_close(model.target_backbone.conv1.weight, tau * before + (1 - tau) * online)
    assert not any(p.requires_grad for p in model.target_backbone.parameters())


def test_registering_a_method_is_one_small_function(monkeypatch: pytest.MonkeyPatch) -> None:
    @dataclass
    class MeanOptions:
        scale: float = 1.0

    class MeanMethod(SSLMethod):
        def __init__(self, backbone: nn.Module, scale: float) -> None:
            super().__init__()
            self.backbone, self.scale = backbone, scale

        def forward(self, batch: Batch) -> StepOutput:
            h = self.backbone(batch.views[0])
            return StepOutput(loss=self.scale * h.pow(2).mean(), features=h.detach())

    def build(options: MeanOptions, backbone: nn.Module, image_size: int) -> SSLMethod:
        return MeanMethod(backbone, options.scale)

    monkeypatch.setitem(METHOD_REGISTRY, "test_mean", MethodSpec("test_mean", MeanOptions, build))
    model = build_method("test_mean", {"scale": 2.0}, build_backbone("resnet18_cifar", 1 / 16)).double()
    assert model.scale == 2.0 and model(_batch(2)).loss.ndim == 0
    with pytest.raises(TypeError, match="must be a dataclass"):
        MethodSpec("bad", dict, build)


def test_registry_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        make_options("nope")
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['lamda'\]"):
        make_options("barlow_twins", {"lamda": 0.1})
    with pytest.raises(ValueError, match="temperature: expected a number, got str"):
        make_options("simclr", {"temperature": "hot"})
    with pytest.raises(ValueError, match=r"projector\[1\]: expected an integer"):
        make_options("simclr", {"projector": [16, 1.5]})
    assert make_options("simclr", {"projector": [16, 8]}).projector == (16, 8)
