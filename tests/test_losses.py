"""Invariance losses against plain reference formulas written here with loops / explicit matrices."""

from __future__ import annotations

import math

import neuroequi  # noqa: F401
import numpy as np
import pytest
import torch

from neuroequi.losses import (
    BarlowTwinsLoss,
    BYOLLoss,
    MMCRLoss,
    NTXentLoss,
    VICRegLoss,
    cosine_momentum,
    ema_update,
    masked_info_nce,
)

TOL = dict(rtol=1e-6, atol=1e-6)


def _pair(n: int = 7, d: int = 5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(n, d, generator=g, dtype=torch.float64)


def _cos(u: np.ndarray, v: np.ndarray) -> float:
    return float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))


# ---------------------------------------------------------------- references (numpy, loops)


def ref_barlow(a: np.ndarray, b: np.ndarray, lam: float, eps: float = 1e-5) -> float:
    n, d = a.shape
    an = (a - a.mean(0)) / np.sqrt(a.var(0) + eps)
    bn = (b - b.mean(0)) / np.sqrt(b.var(0) + eps)
    loss = 0.0
    for i in range(d):
        for j in range(d):
            c = sum(an[k, i] * bn[k, j] for k in range(n)) / n
            loss += (1 - c) ** 2 if i == j else lam * c**2
    return loss


def ref_ntxent(a: np.ndarray, b: np.ndarray, t: float) -> float:
    z = np.concatenate([a, b])
    m = len(a)
    total = 0.0
    for i in range(2 * m):
        pos = (i + m) % (2 * m)
        denom = sum(math.exp(_cos(z[i], z[k]) / t) for k in range(2 * m) if k != i)
        total += -math.log(math.exp(_cos(z[i], z[pos]) / t) / denom)
    return total / (2 * m)


def ref_vicreg(a: np.ndarray, b: np.ndarray, eps: float = 1e-4) -> float:
    n, d = a.shape
    inv = ((a - b) ** 2).sum() / (n * d)

    def var_cov(z: np.ndarray) -> tuple[float, float]:
        cov = np.cov(z, rowvar=False)  # unbiased, (d, d)
        v = np.mean([max(0.0, 1 - math.sqrt(cov[i, i] + eps)) for i in range(d)])
        c = sum(cov[i, j] ** 2 for i in range(d) for j in range(d) if i != j) / d
        return v, c

    (va, ca), (vb, cb) = var_cov(a), var_cov(b)
    return 25 * inv + 25 * (va + vb) / 2 + (ca + cb)


def ref_mmcr(a: np.ndarray, b: np.ndarray, lam_local: float) -> float:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    centroids = (a + b) / 2
    loss = -np.linalg.svd(centroids, compute_uv=False).sum()
    local = sum(np.linalg.svd(np.stack([a[i], b[i]], axis=1), compute_uv=False).sum() for i in range(len(a)))
    return loss + lam_local * local / len(a)


def ref_byol(qa: np.ndarray, ta: np.ndarray, qb: np.ndarray, tb: np.ndarray) -> float:
    n = len(qa)
    return sum((2 - 2 * _cos(qa[i], tb[i])) + (2 - 2 * _cos(qb[i], ta[i])) for i in range(n)) / n


# ---------------------------------------------------------------- values


@pytest.mark.parametrize(("n", "lam"), [(2, 5e-3), (9, 5e-3), (6, 0.3)])
def test_barlow_twins_matches_reference(n: int, lam: float) -> None:
    a, b = _pair(n)
    got = BarlowTwinsLoss(lambda_offdiag=lam)(a, b)
    assert got.dtype == torch.float64
    torch.testing.assert_close(got.item(), ref_barlow(a.numpy(), b.numpy(), lam), **TOL)
    torch.testing.assert_close(BarlowTwinsLoss(lam, scale=0.048)(a, b), 0.048 * got, **TOL)


@pytest.mark.parametrize(("n", "t"), [(2, 0.5), (8, 0.1), (5, 1.0)])
def test_ntxent_matches_reference(n: int, t: float) -> None:
    a, b = _pair(n, seed=1)
    torch.testing.assert_close(NTXentLoss(t)(a, b).item(), ref_ntxent(a.numpy(), b.numpy(), t), **TOL)


@pytest.mark.parametrize("n", [2, 10])
def test_vicreg_matches_reference(n: int) -> None:
    a, b = _pair(n, seed=2)
    a = a * 0.3  # some features below the unit-std hinge
    torch.testing.assert_close(VICRegLoss()(a, b).item(), ref_vicreg(a.numpy(), b.numpy()), **TOL)


@pytest.mark.parametrize(("n", "lam"), [(1, 0.0), (6, 0.0), (6, 0.5)])
def test_mmcr_matches_reference(n: int, lam: float) -> None:
    a, b = _pair(n, d=4, seed=3)
    torch.testing.assert_close(MMCRLoss(lam)(a, b).item(), ref_mmcr(a.numpy(), b.numpy(), lam), **TOL)


@pytest.mark.parametrize("n", [1, 6])
def test_byol_matches_reference_and_stops_target_gradient(n: int) -> None:
    g = torch.Generator().manual_seed(4)
    a = torch.randn(n, 2, 5, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(n, 2, 5, generator=g, dtype=torch.float64, requires_grad=True)
    loss = BYOLLoss()(a, b)
    ref = ref_byol(
        a[:, 0].detach().numpy(), a[:, 1].detach().numpy(), b[:, 0].detach().numpy(), b[:, 1].detach().numpy()
    )
    torch.testing.assert_close(loss.item(), ref, **TOL)
    loss.backward()
    assert float(a.grad[:, 1].abs().sum()) == 0.0 and float(b.grad[:, 1].abs().sum()) == 0.0
    assert float(a.grad[:, 0].abs().sum()) > 0


def test_masked_info_nce_matches_reference_with_exclusions() -> None:
    g = torch.Generator().manual_seed(5)
    anchors, cands = (
        torch.randn(4, 3, generator=g, dtype=torch.float64),
        torch.randn(6, 3, generator=g, dtype=torch.float64),
    )
    positive = torch.tensor([0, 2, 5, 1])
    exclude = torch.zeros(4, 6, dtype=torch.bool)
    exclude[0, 1] = exclude[1, 3] = exclude[1, 4] = exclude[3, 0] = True
    got = masked_info_nce(anchors, cands, positive, exclude, 0.2)
    a, c = anchors.numpy(), cands.numpy()
    ref = 0.0
    for r in range(4):
        denom = sum(math.exp(_cos(a[r], c[k]) / 0.2) for k in range(6) if not exclude[r, k])
        ref += -math.log(math.exp(_cos(a[r], c[positive[r]]) / 0.2) / denom)
    torch.testing.assert_close(got.item(), ref / 4, **TOL)


# ---------------------------------------------------------------- properties and edge cases


@pytest.mark.parametrize(
    "loss", [BarlowTwinsLoss(), NTXentLoss(0.5), VICRegLoss(), MMCRLoss(0.1)], ids=lambda m: type(m).__name__
)
def test_constant_embeddings_give_finite_loss_and_gradients(loss: torch.nn.Module) -> None:
    a = torch.ones(4, 6, dtype=torch.float64, requires_grad=True)
    b = torch.ones(4, 6, dtype=torch.float64, requires_grad=True)
    value = loss(a, b)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(a.grad).all() and torch.isfinite(b.grad).all()


def test_constant_embedding_values() -> None:
    a = torch.full((4, 6), 3.0, dtype=torch.float64)
    assert BarlowTwinsLoss()(a, a).item() == pytest.approx(6.0)  # all correlations 0 -> D
    assert NTXentLoss(0.5)(a, a).item() == pytest.approx(math.log(7))  # 2M - 1 equal candidates
    byol = BYOLLoss()(torch.zeros(3, 2, 4), torch.zeros(3, 2, 4))
    assert torch.isfinite(byol) and byol.item() == pytest.approx(4.0)


@pytest.mark.parametrize("loss", [BarlowTwinsLoss(), NTXentLoss(), VICRegLoss()], ids=lambda m: type(m).__name__)
def test_batch_of_one_is_a_clear_error(loss: torch.nn.Module) -> None:
    a, b = _pair(1)
    with pytest.raises(ValueError, match="at least 2"):
        loss(a, b)


def test_batch_losses_are_invariant_to_a_joint_row_permutation() -> None:
    a, b = _pair(8, seed=7)
    perm = torch.randperm(8, generator=torch.Generator().manual_seed(0))
    for loss in (BarlowTwinsLoss(), NTXentLoss(0.3), VICRegLoss(), MMCRLoss()):
        torch.testing.assert_close(loss(a[perm], b[perm]), loss(a, b), **TOL)


def test_half_precision_inputs_are_computed_in_float32() -> None:
    a, b = _pair(6)
    for loss in (BarlowTwinsLoss(), NTXentLoss(), VICRegLoss(), MMCRLoss()):
        got = loss(a.bfloat16(), b.bfloat16())
        assert got.dtype == torch.float32
        torch.testing.assert_close(
            got.double(), loss(a.bfloat16().double(), b.bfloat16().double()), rtol=1e-4, atol=1e-4
        )


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: BarlowTwinsLoss(lambda_offdiag=-1), "lambda_offdiag"),
        (lambda: BarlowTwinsLoss(scale=0), "scale"),
        (lambda: NTXentLoss(temperature=0), "temperature"),
        (lambda: NTXentLoss(temperature=float("nan")), "temperature"),
        (lambda: VICRegLoss(var_weight=-2), "var_weight"),
        (lambda: MMCRLoss(lambda_local=-0.1), "lambda_local"),
    ],
)
def test_bad_hyperparameters_raise(factory, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        factory()


def test_bad_shapes_raise() -> None:
    with pytest.raises(ValueError, match=r"\(4, 3\) and \(4, 2\)"):
        BarlowTwinsLoss()(torch.randn(4, 3), torch.randn(4, 2))
    with pytest.raises(ValueError, match="N, 2, D"):
        BYOLLoss()(torch.randn(4, 3), torch.randn(4, 3))
    with pytest.raises(ValueError, match="floating"):
        NTXentLoss()(torch.ones(4, 3, dtype=torch.long), torch.ones(4, 3, dtype=torch.long))


def test_cosine_momentum_schedule_and_ema() -> None:
    assert cosine_momentum(0, 100, 0.99) == pytest.approx(0.99)
    assert cosine_momentum(100, 100, 0.99) == pytest.approx(1.0)
    assert cosine_momentum(50, 100, 0.99) == pytest.approx(0.995)
    with pytest.raises(ValueError, match="step"):
        cosine_momentum(101, 100)
    target, online = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    expected = 0.9 * target.weight.detach() + 0.1 * online.weight.detach()
    ema_update(target, online, 0.9)
    torch.testing.assert_close(target.weight.detach(), expected)
