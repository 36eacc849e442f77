"""EquiMod (Devillers & Lefort, ICLR 2023) around an invariance method."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from neuroequi.augment import AugParams, EquiModEncoder, Policy
from neuroequi.errors import ConfigError
from neuroequi.heads import mlp
from neuroequi.losses import equimod_loss
from neuroequi.methods.base import Batch, Requirements, SSLMethod, StepOutput
from neuroequi.methods.invariance import InvarianceMethod
from neuroequi.methods.options import EquiModOptions, Statistics  # noqa: F401  (Statistics: re-exported)


def build_encoder(options: EquiModOptions, policies: Sequence[Policy], seed: int) -> EquiModEncoder:
    """The parameter encoder of ``options`` for the training ``policies`` (view A first):
    fitted by sampling them (seeded), or the released statistics."""
    if options.statistics != "fitted":
        return EquiModEncoder.released(options.statistics, policies[0])
    return EquiModEncoder.fit(list(policies), options.encoder_samples, seed=seed, order=options.encoding)


class EquiMod(SSLMethod):
    """``L = L_inv + lam * L_EquiMod``.

    With the clean image ``x`` (third input), a view ``t(x)`` and its z-scored parameter vector
    ``t`` (:class:`~neuroequi.augment.EquiModEncoder`, statistics stored as buffers)::

        y    = g'(h(t(x)))                       equivariant projector, (N, K)
        yhat = u_psi([g'(h(x)), a(t)])           a: Linear+BN perceptron to aug_dim;
                                                 u_psi: Linear + BN on the concatenation
        L_EquiMod = NT-Xent_tau'(y <-> yhat)     negatives: see EquiModOptions.negatives

    Head structure and which rows share BatchNorm statistics follow
    :class:`EquiModOptions` (``heads``, ``bn_groups``; the released code's by default).

    Args:
        method: the invariance method (SimCLR, BYOL, Barlow Twins, ...) sharing the backbone.
        encoder: parameter encoder fitted on the training policies.
        lam: weight of the EquiMod term (paper: 1).
        options: :class:`EquiModOptions`.
    """

    requirements = Requirements(views=2, clean=True)

    def __init__(
        self, method: InvarianceMethod, encoder: EquiModEncoder, lam: float = 1.0, options: EquiModOptions | None = None
    ) -> None:
        super().__init__()
        if not isinstance(method, InvarianceMethod):
            raise ConfigError(f"EquiMod wraps an invariance method (method.name), got {type(method).__name__}")
        lam = float(lam)
        if not lam >= 0:
            raise ConfigError(f"EquiMod method.lam must be >= 0, got {lam}")
        options = options or EquiModOptions()
        self.lam = lam
        self.temperature = float(options.temperature)
        self.bn_groups = options.bn_groups
        self.negatives = options.negatives
        self.method = method
        self.columns = encoder.columns
        self.register_buffer("param_mean", encoder.mean.clone())
        self.register_buffer("param_std", encoder.std.clone())
        out = options.projector[-1]
        released = options.heads == "released"
        self.equi_projector = mlp(method.backbone.feature_dim, options.projector, last_bias=False, last_bn=released)
        self.aug_projector = nn.Sequential(
            nn.Linear(encoder.dim, options.aug_dim, bias=False), nn.BatchNorm1d(options.aug_dim)
        )
        self.predictor = nn.Sequential(
            nn.Linear(out + options.aug_dim, out, bias=False), nn.BatchNorm1d(out, affine=not released)
        )

    @property
    def backbone(self) -> nn.Module:  # type: ignore[override]
        return self.method.backbone

    @property
    def encoder(self) -> EquiModEncoder:
        """The parameter encoder with this model's statistics."""
        return EquiModEncoder(self.columns, self.param_mean, self.param_std)

    def encode_params(self, params: AugParams) -> Tensor:
        """z-scored parameter vectors ``(N, P)`` on this module's device, in its weights' dtype."""
        raw = self.encoder.raw(params).to(self.param_mean.device)
        weight = self.aug_projector[0].weight
        return ((raw - self.param_mean.double()) / self.param_std.double()).to(weight.dtype)

    def predict_encoded(self, y_clean: Tensor, t: Tensor) -> Tensor:
        """``u_psi([y_clean, a(t)])``: ``y_clean (N, K)``, z-scored ``t (N, P)`` -> ``(N, K)``."""
        return self.predictor(torch.cat([y_clean, self.aug_projector(t.to(y_clean.dtype))], dim=1))

    def predict(self, y_clean: Tensor, params: AugParams) -> Tensor:
        """``u_psi([y_clean, a(t)])``: ``y_clean (N, K)`` -> predicted view embedding ``(N, K)``."""
        return self.predict_encoded(y_clean, self.encode_params(params))

    def forward(self, batch: Batch) -> StepOutput:
        if batch.clean is None:
            raise ValueError("EquiMod needs the clean images (batch.clean)")
        if len(batch.views) != 2:
            raise ValueError(f"EquiMod needs 2 views, got {len(batch.views)}")
        t_a, t_b = (self.encode_params(p) for p in batch.params)
        step = self._joint if self.bn_groups == "joint" else self._per_view
        loss_inv, features, (y_a, y_b, yhat_a, yhat_b) = step(batch, t_a, t_b)
        loss_equi = equimod_loss(y_a, y_b, yhat_a, yhat_b, self.temperature, self.negatives)
        loss = loss_inv + self.lam * loss_equi
        logs = {"loss_inv": loss_inv.detach(), "loss_equi": loss_equi.detach()}
        return StepOutput(loss=loss, features=features.detach(), logs=logs)

    def _joint(self, batch: Batch, t_a: Tensor, t_b: Tensor) -> tuple[Tensor, Tensor, tuple[Tensor, ...]]:
        """One backbone and ``g'`` pass on ``[clean; a; b]`` (3N rows), the invariance head on
        ``[a; b]``, the parameter head and predictor on both views' 2N rows."""
        n = len(batch)
        views = torch.cat(batch.views)
        h = self.backbone(torch.cat([batch.clean, views]))
        z = self.method.embed("inv", self.method.complete(h[n:], views))
        loss_inv = self.method.pair_loss(z[:n], z[n:])
        y = self.equi_projector(h)
        yhat = self.predict_encoded(torch.cat([y[:n], y[:n]]), torch.cat([t_a, t_b]))
        return loss_inv, h[n : 2 * n], (y[n : 2 * n], y[2 * n :], yhat[:n], yhat[n:])

    def _per_view(self, batch: Batch, t_a: Tensor, t_b: Tensor) -> tuple[Tensor, Tensor, tuple[Tensor, ...]]:
        """One pass per view and one for the clean images (BatchNorm statistics per pass)."""
        loss_inv, enc_a, enc_b = self.method.invariance_step(batch)
        y_clean = self.equi_projector(self.backbone(batch.clean))
        y_a, y_b = self.equi_projector(enc_a[0]), self.equi_projector(enc_b[0])
        return loss_inv, enc_a[0], (y_a, y_b, self.predict_encoded(y_clean, t_a), self.predict_encoded(y_clean, t_b))

    def after_step(self, step: int, total_steps: int) -> None:
        self.method.after_step(step, total_steps)

    def extra_repr(self) -> str:
        return (
            f"lam={self.lam}, temperature={self.temperature}, bn_groups={self.bn_groups!r}, "
            f"negatives={self.negatives!r}, columns={len(self.columns)}"
        )
