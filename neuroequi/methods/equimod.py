"""EquiMod (Devillers & Lefort, ICLR 2023) around an invariance method."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from neuroequi.augment import AugParams, EquiModEncoder
from neuroequi.errors import ConfigError
from neuroequi.heads import mlp
from neuroequi.losses import equimod_loss
from neuroequi.methods.base import Batch, Requirements, SSLMethod, StepOutput
from neuroequi.methods.invariance import InvarianceMethod


@dataclass
class EquiModOptions:
    """EquiMod hyper-parameters (config section ``method.equimod``).

    Attributes:
        projector: sizes of ``g'`` ``[hidden..., out]`` (paper: 3-layer MLP, 2048 hidden, BN).
        aug_dim: size of the augmentation projection (perceptron to 128-d).
        temperature: tau' of the NT-Xent (0.2).
        encoder_samples: samples drawn to measure the z-score statistics of the parameters.
    """

    projector: tuple[int, ...] = (2048, 2048, 128)
    aug_dim: int = 128
    temperature: float = 0.2
    encoder_samples: int = 100_000


class EquiMod(SSLMethod):
    """``L = L_inv + lam * L_EquiMod``.

    With the clean image ``x`` (third input), a view ``t(x)`` and its z-scored parameter vector
    ``t`` (:class:`~neuroequi.augment.EquiModEncoder`, statistics stored as buffers)::

        y    = g'(h(t(x)))                       equivariant projector, (N, K)
        yhat = u_psi([g'(h(x)), a(t)])           a: Linear+BN perceptron to aug_dim;
                                                 u_psi: Linear + BN on the concatenation
        L_EquiMod = NT-Xent_tau'(y <-> yhat), negatives exclude the other view of the image

    Args:
        method: the invariance method (SimCLR, BYOL, Barlow Twins, ...) sharing the backbone.
        encoder: parameter encoder fitted on the training policies.
        lam: weight of the EquiMod term (paper: 1).
        options: :class:`EquiModOptions`.
    """

    requirements = Requirements(views=2, clean=True)

    def __init__(self, method: InvarianceMethod, encoder: EquiModEncoder, lam: float = 1.0, options: EquiModOptions | None = None) -> None:
        super().__init__()
        if not isinstance(method, InvarianceMethod):
            raise ConfigError(f"EquiMod wraps an invariance method (method.name), got {type(method).__name__}")
        lam = float(lam)
        if not lam >= 0:
            raise ConfigError(f"EquiMod method.lam must be >= 0, got {lam}")
        options = options or EquiModOptions()
        if options.aug_dim < 1 or not options.temperature > 0:
            raise ConfigError(f"method.equimod needs aug_dim >= 1 and temperature > 0, got {options}")
        self.lam = lam
        self.temperature = float(options.temperature)
        self.method = method
        self.columns = encoder.columns
        self.register_buffer("param_mean", encoder.mean.clone())
        self.register_buffer("param_std", encoder.std.clone())
        out = options.projector[-1]
        self.equi_projector = mlp(method.backbone.feature_dim, options.projector, last_bias=False)
        self.aug_projector = nn.Sequential(nn.Linear(encoder.dim, options.aug_dim, bias=False), nn.BatchNorm1d(options.aug_dim))
        self.predictor = nn.Sequential(nn.Linear(out + options.aug_dim, out, bias=False), nn.BatchNorm1d(out))

    @property
    def backbone(self) -> nn.Module:  # type: ignore[override]
        return self.method.backbone

    @property
    def encoder(self) -> EquiModEncoder:
        """The parameter encoder with this model's statistics."""
        return EquiModEncoder(self.columns, self.param_mean, self.param_std)

    def encode_params(self, params: AugParams) -> Tensor:
        """z-scored parameter vectors ``(N, P)`` on this module's device and dtype."""
        return self.encoder(params).to(self.param_mean.device, torch.get_default_dtype())

    def predict(self, y_clean: Tensor, params: AugParams) -> Tensor:
        """``u_psi([y_clean, a(t)])``: ``y_clean (N, K)`` -> predicted view embedding ``(N, K)``."""
        t = self.aug_projector(self.encode_params(params).to(y_clean.dtype))
        return self.predictor(torch.cat([y_clean, t], dim=1))

    def forward(self, batch: Batch) -> StepOutput:
        if batch.clean is None:
            raise ValueError("EquiMod needs the clean images (batch.clean)")
        loss_inv, enc_a, enc_b = self.method.invariance_step(batch)
        y_clean = self.equi_projector(self.backbone(batch.clean))
        y_a, y_b = self.equi_projector(enc_a[0]), self.equi_projector(enc_b[0])
        yhat_a, yhat_b = self.predict(y_clean, batch.params[0]), self.predict(y_clean, batch.params[1])
        loss_equi = equimod_loss(y_a, y_b, yhat_a, yhat_b, self.temperature)
        loss = loss_inv + self.lam * loss_equi
        logs = {"loss_inv": loss_inv.detach(), "loss_equi": loss_equi.detach()}
        return StepOutput(loss=loss, features=enc_a[0].detach(), logs=logs)

    def after_step(self, step: int, total_steps: int) -> None:
        self.method.after_step(step, total_steps)

    def extra_repr(self) -> str:
        return f"lam={self.lam}, temperature={self.temperature}, columns={len(self.columns)}"
