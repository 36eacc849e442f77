"""Invariance methods: two views -> shared backbone -> projector -> pair loss.

Barlow Twins, SimCLR, VICReg, MMCR (:class:`InvarianceMethod`), and the methods with a momentum
target (:class:`MomentumMethod`): BYOL (a predictor, cosine momentum schedule) and MMCR with
CE-SSL's momentum branch (:class:`MomentumMMCR`, constant momentum). Their pieces (``encode``,
``complete``, ``embed``, ``pair_loss``, ``add_head``) are what the TeSSL and EquiMod wrappers
build on.
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
"""What :meth:`InvarianceMethod.encode` returns: ``(h,)`` or, with a momentum target, ``(h, h_target)``."""


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
        """Images ``(N, 3, S, S)`` -> the encoding of :meth:`complete` of ``h = backbone(x)``."""
        return self.complete(self.backbone(x), x)

    def complete(self, h: Tensor, x: Tensor) -> Encoding:
        """The encoding of images ``x`` whose backbone output ``h: (N, D)`` is already computed:
        ``(h,)`` here (a momentum method adds its target's ``h``)."""
        return (h,)

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


class MomentumHead(nn.Module):
    """Online projector (+ predictor) and a momentum copy of the projector (no gradients).

    BYOL's head has a predictor; momentum MMCR's has none (identity).
    """

    def __init__(self, projector: nn.Module, predictor: nn.Module | None = None) -> None:
        super().__init__()
        self.projector = projector
        self.predictor = predictor if predictor is not None else nn.Identity()
        self.target_projector = copy.deepcopy(projector).requires_grad_(False)

    def forward(self, h: Tensor, h_target: Tensor) -> Tensor:
        """``h, h_target: (N, D) -> (N, 2, K)``: ``[q(g(h)), g_target(h_target)]`` (target detached)."""
        online = self.predictor(self.projector(h))
        with torch.no_grad():
            target = self.target_projector(h_target)
        return torch.stack([online, target], dim=1)


BYOLHead = MomentumHead
"""BYOL's head: a :class:`MomentumHead` with a predictor."""


class MomentumMethod(InvarianceMethod):
    """An online network and a momentum copy of it (the target: backbone and every head's projector).

    Embeddings are ``(N, 2, K)`` (online, target), so differences of rows (TeSSL) act on both.
    After every optimiser step the target follows the online network,
    ``target <- tau * target + (1 - tau) * online`` with ``tau = momentum(step, total_steps)``.

    Args:
        backbone: the online backbone (its copy is the target backbone).
        head_factory: builds a fresh :class:`MomentumHead`.
        loss: pair loss on ``(N, 2, K)`` embeddings.
        momentum: ``(step, total_steps) -> tau`` after optimiser step ``step`` (1-based).
    """

    def __init__(
        self,
        backbone: nn.Module,
        head_factory: Callable[[], MomentumHead],
        loss: nn.Module,
        momentum: Callable[[int, int], float],
    ) -> None:
        super().__init__(backbone, head_factory, loss)
        self.momentum = momentum
        self.target_backbone = copy.deepcopy(backbone).requires_grad_(False)

    def complete(self, h: Tensor, x: Tensor) -> Encoding:
        with torch.no_grad():
            h_target = self.target_backbone(x)
        return h, h_target

    def embed(self, head: str, enc: Encoding) -> Tensor:
        return self.heads[head](enc[0], enc[1])

    @torch.no_grad()
    def after_step(self, step: int, total_steps: int) -> None:
        tau = self.momentum(min(step + 1, total_steps), total_steps)
        ema_update(self.target_backbone, self.backbone, tau)
        for head in self.heads.values():
            ema_update(head.target_projector, head.projector, tau)


class BYOL(MomentumMethod):
    """BYOL: online ``q(g(h(x)))`` regresses the momentum target ``g_xi(h_xi(x'))``.

    The target follows the online network with a cosine momentum schedule from ``tau_base`` to 1.
    """

    def __init__(self, backbone: nn.Module, head_factory: Callable[[], MomentumHead], tau_base: float = 0.996) -> None:
        if not 0 <= tau_base <= 1:
            raise ConfigError(f"method.options.tau_base must be in [0, 1], got {tau_base}")
        self.tau_base = float(tau_base)
        super().__init__(
            backbone, head_factory, BYOLLoss(), lambda step, total: cosine_momentum(step, total, self.tau_base)
        )


class MomentumMMCR(MomentumMethod):
    """MMCR with CE-SSL's momentum branch (``loss_mmcr_momentum.py``, ``models_momentum*.py``).

    The centroid of each image averages four embeddings: the online embeddings of its two views
    and the momentum encoder's embeddings of the same two views (no gradient). The target
    follows the online network with a constant momentum ``tau`` after every step (CE-SSL's
    ``MomentumPairedUpdate``: parameters only; BatchNorm buffers are copied here, which does not
    change training, where BatchNorm uses batch statistics).
    """

    def __init__(
        self, backbone: nn.Module, head_factory: Callable[[], MomentumHead], loss: MMCRLoss, tau: float
    ) -> None:
        self.tau = check_momentum(tau)
        super().__init__(backbone, head_factory, loss, lambda step, total: self.tau)

    def pair_loss(self, a: Tensor, b: Tensor) -> Tensor:
        """``a, b: (N, 2, K)`` (online, target) of views a and b -> MMCR over the four views."""
        return self.loss(a[:, 0], b[:, 0], a[:, 1].detach(), b[:, 1].detach())

    def extra_repr(self) -> str:
        return f"tau={self.tau}"


def check_momentum(tau: float) -> float:
    """``tau`` as a float; ConfigError unless it is a number in [0, 1) (1 would freeze the target)."""
    if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not 0 <= float(tau) < 1:
        raise ConfigError(f"momentum tau (method.options.momentum_tau) must be a number in [0, 1), got {tau!r}")
    return float(tau)


# ------------------------------------------------------------------------------ the family's members


@dataclass
class BarlowTwinsOptions:
    """Barlow Twins: projector sizes ``[hidden..., out]`` (paper: 8192 x 3), loss weights."""

    projector: tuple[int, ...] = (8192, 8192, 8192)
    lambda_offdiag: float = 5e-3
    scale: float = 1.0


@dataclass
class SimCLROptions:
    """SimCLR: projector (paper: 2048 -> 128) and NT-Xent temperature.

    ``hidden_bias``: biases in the projector's hidden layers (CE-SSL's ``train.py`` SimCLR);
    ``last_bn``: the projector ends with ``BatchNorm1d(out, affine=False)`` (EquiMod's SimCLR).
    """

    projector: tuple[int, ...] = (2048, 128)
    temperature: float = 0.1
    hidden_bias: bool = False
    last_bn: bool = False


@dataclass
class VICRegOptions:
    """VICReg: projector (paper: 8192 x 3) and the three weights."""

    projector: tuple[int, ...] = (8192, 8192, 8192)
    sim_weight: float = 25.0
    var_weight: float = 25.0
    cov_weight: float = 1.0


@dataclass
class MMCROptions:
    """MMCR: projector (CE-SSL: 8192, 8192, 512), the weight of the local nuclear norm, and the
    momentum branch.

    ``momentum_tau``: None for plain two-view MMCR; a number in [0, 1) adds CE-SSL's momentum
    encoder (:class:`MomentumMMCR`; CE-SSL trains with 0.99).
    """

    projector: tuple[int, ...] = (8192, 8192, 512)
    lambda_local: float = 0.0
    momentum_tau: float | None = None

    def __post_init__(self) -> None:
        if self.momentum_tau is not None:
            check_momentum(self.momentum_tau)


@dataclass
class BYOLOptions:
    """BYOL: projector and predictor (paper: 4096 -> 256 both), base target momentum."""

    projector: tuple[int, ...] = (4096, 256)
    predictor: tuple[int, ...] = (4096, 256)
    tau_base: float = 0.996


def _projector(
    backbone: nn.Module, dims: tuple[int, ...], hidden_bias: bool = False, last_bn: bool = False
) -> Callable[[], nn.Module]:
    return lambda: mlp(backbone.feature_dim, dims, hidden_bias=hidden_bias, last_bias=False, last_bn=last_bn)


def build_barlow_twins(options: BarlowTwinsOptions, backbone: nn.Module, image_size: int) -> InvarianceMethod:
    """Barlow Twins on ``backbone``."""
    loss = BarlowTwinsLoss(options.lambda_offdiag, options.scale)
    return InvarianceMethod(backbone, _projector(backbone, options.projector), loss)


def build_simclr(options: SimCLROptions, backbone: nn.Module, image_size: int) -> InvarianceMethod:
    """SimCLR on ``backbone``."""
    projector = _projector(backbone, options.projector, options.hidden_bias, options.last_bn)
    return InvarianceMethod(backbone, projector, NTXentLoss(options.temperature))


def build_vicreg(options: VICRegOptions, backbone: nn.Module, image_size: int) -> InvarianceMethod:
    """VICReg on ``backbone``."""
    loss = VICRegLoss(options.sim_weight, options.var_weight, options.cov_weight)
    return InvarianceMethod(backbone, _projector(backbone, options.projector), loss)


def build_mmcr(options: MMCROptions, backbone: nn.Module, image_size: int) -> InvarianceMethod:
    """MMCR on ``backbone``; with ``momentum_tau`` set, CE-SSL's momentum branch."""
    loss = MMCRLoss(options.lambda_local)
    if options.momentum_tau is None:
        return InvarianceMethod(backbone, _projector(backbone, options.projector), loss)
    projector = _projector(backbone, options.projector)
    return MomentumMMCR(backbone, lambda: MomentumHead(projector()), loss, options.momentum_tau)


def build_byol(options: BYOLOptions, backbone: nn.Module, image_size: int) -> BYOL:
    """BYOL on ``backbone``."""
    proj_dim = options.projector[-1]

    def head() -> MomentumHead:
        return MomentumHead(mlp(backbone.feature_dim, options.projector), mlp(proj_dim, options.predictor))

    return BYOL(backbone, head, options.tau_base)


METHOD_SPECS: tuple[MethodSpec, ...] = (
    MethodSpec("barlow_twins", BarlowTwinsOptions, build_barlow_twins),
    MethodSpec("simclr", SimCLROptions, build_simclr),
    MethodSpec("vicreg", VICRegOptions, build_vicreg),
    MethodSpec("mmcr", MMCROptions, build_mmcr),
    MethodSpec("byol", BYOLOptions, build_byol),
)
"""The invariance family, registered by :mod:`neuroequi.registry` (``image_size`` is not used)."""
