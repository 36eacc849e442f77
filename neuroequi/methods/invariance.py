"""Invariance methods: two views -> shared backbone -> projector -> pair loss.

Barlow Twins, SimCLR, VICReg, MMCR (:class:`InvarianceMethod`) and BYOL (:class:`BYOL`, with a
predictor and a momentum target). Their pieces (``encode``, ``embed``, ``pair_loss``,
``add_head``) are what the TeSSL and EquiMod wrappers build on.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from neuroequi.errors import ConfigError
from neuroequi.heads import mlp
from neuroequi.losses import (
    BarlowTwinsLoss,
    BYOLLoss,
    MMCRLoss,
    NTXentLoss,
    VICRegLoss,
    cosine_momentum,
    ema_update,
)
from neuroequi.methods.base import Batch, MethodSpec, SSLMethod, StepOutput

Encoding = tuple[Tensor, ...]
"""What :meth:`InvarianceMethod.encode` returns: ``(h,)`` or, for BYOL, ``(h, h_target)``."""


class InvarianceMethod(SSLMethod):
    """``L = loss(g(h(x_a)), g(h(x_b)))`` with a backbone ``h``, a head ``g`` and a pair loss.

    Heads live in ``self.heads`` (a ModuleDict); ``"inv"`` is the method's own projector.
    Wrappers add more heads from the same factory with :meth:`add_head`.

    Args:
        backbone: module ``(N, 3, S, S) -> (N, D)`` with attribute ``feature_dim``.
        head_factory: builds a fresh head ``(N, D) -> (N, K)``.
        loss: pair loss ``(z_a, z_b) -> scalar``.
    """

    def __init__(self, backbone: nn.Module, head_factory: Callable[[], nn.Module], loss: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head_factory = head_factory
        self.heads = nn.ModuleDict({"inv": head_factory()})
        self.loss = loss

    def add_head(self, name: str) -> nn.Module:
        """Create, register and return a new head ``name`` of the same architecture."""
        if name in self.heads:
            raise ValueError(f"head {name!r} already exists")
        self.heads[name] = self.head_factory()
        return self.heads[name]

    def encode(self, x: Tensor) -> Encoding:
        """Images ``(N, 3, S, S)`` -> ``(h,)`` with ``h: (N, D)``."""
        return (self.backbone(x),)

    def embed(self, head: str, enc: Encoding) -> Tensor:
        """Embedding ``(N, K)`` of an encoding through head ``head``."""
        return self.heads[head](enc[0])

    def pair_loss(self, a: Tensor, b: Tensor) -> Tensor:
        """The invariance loss between paired embeddings of two views."""
        return self.loss(a, b)

    def invariance_step(self, batch: Batch) -> tuple[Tensor, Encoding, Encoding]:
        """``(loss_inv, encoding of view a, encoding of view b)`` of a two-view batch."""
        if len(batch.views) != 2:
            raise ValueError(f"{type(self).__name__} needs 2 views, got {len(batch.views)}")
        enc_a, enc_b = self.encode(batch.views[0]), self.encode(batch.views[1])
        loss = self.pair_loss(self.embed("inv", enc_a), self.embed("inv", enc_b))
        return loss, enc_a, enc_b

    def forward(self, batch: Batch) -> StepOutput:
        loss, enc_a, _ = self.invariance_step(batch)
        return StepOutput(loss=loss, features=enc_a[0].detach(), logs={"loss_inv": loss.detach()})


class BYOLHead(nn.Module):
    """Online projector + predictor and a momentum copy of the projector (no gradients)."""

    def __init__(self, projector: nn.Module, predictor: nn.Module) -> None:
        super().__init__()
        self.projector = projector
        self.predictor = predictor
        self.target_projector = copy.deepcopy(projector).requires_grad_(False)

    def forward(self, h: Tensor, h_target: Tensor) -> Tensor:
        """``h, h_target: (N, D) -> (N, 2, K)``: ``[q(g(h)), g_target(h_target)]`` (target detached)."""
        online = self.predictor(self.projector(h))
        with torch.no_grad():
            target = self.target_projector(h_target)
        return torch.stack([online, target], dim=1)


class BYOL(InvarianceMethod):
    """BYOL: online ``q(g(h(x)))`` regresses the momentum target ``g_xi(h_xi(x'))``.

    Embeddings are ``(N, 2, K)`` (prediction, target), so differences of rows (TeSSL) act on
    both. The target backbone and projectors follow the online ones with a cosine momentum
    schedule from ``tau_base`` to 1 (:meth:`after_step`).
    """

    def __init__(self, backbone: nn.Module, head_factory: Callable[[], BYOLHead], tau_base: float = 0.996) -> None:
        super().__init__(backbone, head_factory, BYOLLoss())
        if not 0 <= tau_base <= 1:
            raise ConfigError(f"method.options.tau_base must be in [0, 1], got {tau_base}")
        self.tau_base = float(tau_base)
        self.target_backbone = copy.deepcopy(backbone).requires_grad_(False)

    def encode(self, x: Tensor) -> Encoding:
        with torch.no_grad():
            h_target = self.target_backbone(x)
        return self.backbone(x), h_target

    def embed(self, head: str, enc: Encoding) -> Tensor:
        return self.heads[head](enc[0], enc[1])

    @torch.no_grad()
    def after_step(self, step: int, total_steps: int) -> None:
        tau = cosine_momentum(min(step + 1, total_steps), total_steps, self.tau_base)
        ema_update(self.target_backbone, self.backbone, tau)
        for head in self.heads.values():
            ema_update(head.target_projector, head.projector, tau)


# ------------------------------------------------------------------------------ the family's members


@dataclass
class BarlowTwinsOptions:
    """Barlow Twins: projector sizes ``[hidden..., out]`` (paper: 8192 x 3), loss weights."""

    projector: tuple[int, ...] = (8192, 8192, 8192)
    lambda_offdiag: float = 5e-3
    scale: float = 1.0


@dataclass
class SimCLROptions:
    """SimCLR: projector (paper: 2048 -> 128) and NT-Xent temperature."""

    projector: tuple[int, ...] = (2048, 128)
    temperature: float = 0.1


@dataclass
class VICRegOptions:
    """VICReg: projector (paper: 8192 x 3) and the three weights."""

    projector: tuple[int, ...] = (8192, 8192, 8192)
    sim_weight: float = 25.0
    var_weight: float = 25.0
    cov_weight: float = 1.0


@dataclass
class MMCROptions:
    """MMCR: projector (CE-SSL: 8192, 8192, 512) and the weight of the local nuclear norm."""

    projector: tuple[int, ...] = (8192, 8192, 512)
    lambda_local: float = 0.0


@dataclass
class BYOLOptions:
    """BYOL: projector and predictor (paper: 4096 -> 256 both), base target momentum."""

    projector: tuple[int, ...] = (4096, 256)
    predictor: tuple[int, ...] = (4096, 256)
    tau_base: float = 0.996


def _projector(backbone: nn.Module, dims: tuple[int, ...]) -> Callable[[], nn.Module]:
    return lambda: mlp(backbone.feature_dim, dims, last_bias=False)


def build_barlow_twins(options: BarlowTwinsOptions, backbone: nn.Module, image_size: int) -> InvarianceMethod:
    """Barlow Twins on ``backbone``."""
    loss = BarlowTwinsLoss(options.lambda_offdiag, options.scale)
    return InvarianceMethod(backbone, _projector(backbone, options.projector), loss)


def build_simclr(options: SimCLROptions, backbone: nn.Module, image_size: int) -> InvarianceMethod:
    """SimCLR on ``backbone``."""
    return InvarianceMethod(backbone, _projector(backbone, options.projector), NTXentLoss(options.temperature))


def build_vicreg(options: VICRegOptions, backbone: nn.Module, image_size: int) -> InvarianceMethod:
    """VICReg on ``backbone``."""
    loss = VICRegLoss(options.sim_weight, options.var_weight, options.cov_weight)
    return InvarianceMethod(backbone, _projector(backbone, options.projector), loss)


def build_mmcr(options: MMCROptions, backbone: nn.Module, image_size: int) -> InvarianceMethod:
    """MMCR on ``backbone``."""
    return InvarianceMethod(backbone, _projector(backbone, options.projector), MMCRLoss(options.lambda_local))


def build_byol(options: BYOLOptions, backbone: nn.Module, image_size: int) -> BYOL:
    """BYOL on ``backbone``."""
    proj_dim = options.projector[-1]

    def head() -> BYOLHead:
        return BYOLHead(mlp(backbone.feature_dim, options.projector), mlp(proj_dim, options.predictor))

    return BYOL(backbone, head, options.tau_base)


METHOD_SPECS: tuple[MethodSpec, ...] = (
    MethodSpec("barlow_twins", BarlowTwinsOptions, build_barlow_twins),
    MethodSpec("simclr", SimCLROptions, build_simclr),
    MethodSpec("vicreg", VICRegOptions, build_vicreg),
    MethodSpec("mmcr", MMCROptions, build_mmcr),
    MethodSpec("byol", BYOLOptions, build_byol),
)
"""The invariance family, registered by :mod:`neuroequi.registry` (``image_size`` is not used)."""
