"""SIE: Split Invariant-Equivariant representations (Garrido, Najman & LeCun, ICML 2023).

Written from the paper and checked against the authors' code (``facebookresearch/SIE``,
``src/models.py`` class ``SIE``, ``src/hypernetwork.py``): golden values in ``tests/test_sie.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from neuroequi.augment import AugParams
from neuroequi.augment.families import (
    FAMILY_COLUMNS,
    FamilyPolicy,
    family_targets,
    relative_target_statistics,
)
from neuroequi.errors import ConfigError
from neuroequi.heads import mlp
from neuroequi.losses.sie import sie_loss
from neuroequi.methods.base import Batch, MethodSpec, Requirements, SSLMethod, StepOutput


def split_sizes(split: Sequence[int] | None, feature_dim: int, method: str) -> tuple[int, int]:
    """``(invariant, equivariant)`` sizes of the representation ``h`` of ``feature_dim`` entries.

    ``split`` None: half and half (SIE's ResNet-18: 256 + 256); else two positive sizes that
    add up to ``feature_dim`` (ConfigError otherwise). The invariant part is ``h[:, :inv]``,
    the equivariant part ``h[:, inv:]`` (SIE's layout).
    """
    if split is None:
        if feature_dim < 2:
            raise ConfigError(f"method.options.split: a representation of {feature_dim} entries cannot be split")
        return feature_dim - feature_dim // 2, feature_dim // 2
    sizes = tuple(int(s) for s in split)
    if len(sizes) != 2 or min(sizes) < 1 or sum(sizes) != feature_dim:
        raise ConfigError(
            f"method.options.split of {method}: {list(split)} must be two positive sizes [invariant, equivariant] "
            f"that add up to the representation size {feature_dim}"
        )
    return sizes  # type: ignore[return-value]


class HyperPredictor(nn.Module):
    """SIE's predictor: an MLP on the equivariant embedding whose weights a hypernetwork makes from ``z``.

    Layer sizes ``[dim, *hidden, dim]``; layer ``i`` maps ``u -> u @ W_i(z)^T (+ b_i(z))`` with
    ``W_i (out, in)`` and ``b_i`` read, in that order, from consecutive blocks of
    ``hypernet(z)``; ReLU between layers if ``relu`` (else identity). ``hypernet`` is
    ``linear`` (one ``Linear(z_dim, n_params)``) or ``deep`` (``Linear(z, z) -> ReLU ->
    Linear(z, z) -> ReLU -> Linear(z, n_params)``), with or without biases.

    Shapes: ``forward(u (N, dim), z (N, z_dim)) -> (N, dim)``.
    """

    def __init__(
        self,
        dim: int,
        z_dim: int,
        hidden: Sequence[int] = (),
        hypernet: str = "linear",
        bias: bool = False,
        hypernet_bias: bool = False,
        relu: bool = False,
    ) -> None:
        super().__init__()
        if dim < 1 or z_dim < 1 or any(h < 1 for h in hidden):
            raise ConfigError(f"SIE predictor sizes must be positive: dim {dim}, z_dim {z_dim}, hidden {list(hidden)}")
        self.sizes = (int(dim), *(int(h) for h in hidden), int(dim))
        self.bias = bool(bias)
        self.blocks = [n_out * n_in + (n_out if bias else 0) for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:])]
        total = sum(self.blocks)
        if hypernet == "linear":
            self.hypernet = nn.Sequential(nn.Linear(z_dim, total, bias=hypernet_bias))
        elif hypernet == "deep":
            self.hypernet = nn.Sequential(
                nn.Linear(z_dim, z_dim, bias=hypernet_bias),
                nn.ReLU(),
                nn.Linear(z_dim, z_dim, bias=hypernet_bias),
                nn.ReLU(),
                nn.Linear(z_dim, total, bias=hypernet_bias),
            )
        else:
            raise ConfigError(f"method.options.hypernetwork must be 'linear' or 'deep', got {hypernet!r}")
        self.activation: nn.Module = nn.ReLU() if relu else nn.Identity()

    def forward(self, u: Tensor, z: Tensor) -> Tensor:
        params = self.hypernet(z)
        offset = 0
        last = len(self.blocks) - 1
        for i, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            weight = params[:, offset : offset + n_out * n_in].reshape(-1, n_out, n_in)
            u = torch.einsum("ni,noi->no", u, weight)
            if self.bias:
                u = u + params[:, offset + n_out * n_in : offset + self.blocks[i]]
            offset += self.blocks[i]
            if i < last:
                u = self.activation(u)
        return u


@dataclass
class SIEOptions:
    """SIE hyper-parameters (defaults: the command of the authors' README, ``--equi 256 --mlp
    2048-2048-2048 --sim-coeff 10 --std-coeff 10 --cov-coeff 1 --equi-factor 0.45 --hypernetwork linear``).

    Attributes:
        split: ``[invariant, equivariant]`` sizes of ``h`` (must add up to its size); None: half each.
        projector: expander sizes; each part gets ``round(size * part / feature_dim)`` of them
            (SIE's code), so the two projectors together have about these sizes.
        hypernetwork: ``linear`` or ``deep`` (see :class:`HyperPredictor`).
        predictor_hidden: hidden sizes of the predicted MLP (SIE's ``--predictor``; empty: one layer).
        predictor_bias, hypernetwork_bias, predictor_relu: SIE's ``--bias-pred``,
            ``--bias-hypernet``, ``--predictor-relu``.
        sim_weight, equi_factor, var_weight, cov_weight: the loss weights (:func:`~neuroequi.losses.sie.sie_loss`).
        predictor_variance: variance hinge on the prediction (SIE; False: ``SIENoVar``).
        target_samples: view pairs sampled (seeded) to standardise the relative parameters ``z``.
    """

    split: tuple[int, ...] | None = None
    projector: tuple[int, ...] = (2048, 2048, 2048)
    hypernetwork: Literal["linear", "deep"] = "linear"
    predictor_hidden: tuple[int, ...] = ()
    predictor_bias: bool = False
    hypernetwork_bias: bool = False
    predictor_relu: bool = False
    sim_weight: float = 10.0
    equi_factor: float = 0.45
    var_weight: float = 10.0
    cov_weight: float = 1.0
    predictor_variance: bool = True
    target_samples: int = 20_000


def part_projector(feature_dim: int, part: int, dims: Sequence[int]) -> nn.Sequential:
    """SIE's projector of one part: sizes ``round(d * part / feature_dim)``, biased hidden layers,
    BN + ReLU, last layer without bias."""
    sizes = [max(1, round(d * part / feature_dim)) for d in dims]
    return mlp(part, sizes, hidden_bias=True, last_bias=False)


class SIE(SSLMethod):
    """SIE on a backbone ``h``: ``h = [h_inv ; h_equi]``, projectors ``g_inv``, ``g_equi``.

    For two views ``a, b`` of each image, with ``z`` the standardised parameters of the
    transformation from view ``a`` to view ``b`` (:func:`~neuroequi.augment.families.family_targets`
    of every active family, concatenated; mean and std measured on ``target_samples`` view
    pairs of the training policy)::

        i_v = g_inv(h_inv(v)),  e_v = g_equi(h_equi(v))       v in {a, b}
        ê_b = p_z(e_a)                                          HyperPredictor conditioned on z
        L   = sie_loss(i_a, i_b, e_a, e_b, ê_b)

    The predictor is built by :meth:`bind_policies` (the training code calls it with the
    view policies), which needs a :class:`~neuroequi.augment.families.FamilyPolicy`: SIE
    cannot train without transformation parameters.
    """

    requirements = Requirements(views=2)

    def __init__(self, backbone: nn.Module, options: SIEOptions) -> None:
        super().__init__()
        self.backbone = backbone
        self.options = options
        d = int(backbone.feature_dim)
        self.inv_dim, self.equi_dim = split_sizes(options.split, d, "sie")
        if not options.projector or min(options.projector) < 1:
            raise ConfigError(f"method.options.projector must be positive sizes, got {list(options.projector)}")
        if options.target_samples < 2:
            raise ConfigError(f"method.options.target_samples must be >= 2, got {options.target_samples}")
        self.projector_inv = part_projector(d, self.inv_dim, options.projector)
        self.projector_equi = part_projector(d, self.equi_dim, options.projector)
        self.families: tuple[str, ...] = ()
        self.predictor: HyperPredictor | None = None

    def bind_policies(self, policies: Sequence[object], seed: int) -> None:
        """Build the predictor for the transformation families of the view policies.

        Raises ConfigError when the views are not made by a FamilyPolicy (no transformation
        parameters: set ``data.transforms`` in the training config).
        """
        policy = policies[0]
        if not isinstance(policy, FamilyPolicy):
            raise ConfigError(
                "method sie conditions its predictor on transformation parameters, but the views come from "
                f"policy {getattr(policy, 'name', policy)!r} without them: set data.transforms.families "
                "(e.g. [rotation] or [rotation, color, blur, translation])"
            )
        self.families = policy.families
        mean, std = relative_target_statistics(policy, self.families, self.options.target_samples, seed)
        self.register_buffer("target_mean", mean.float())
        self.register_buffer("target_std", std.float())
        o = self.options
        out = self.projector_equi[-1].out_features
        self.predictor = HyperPredictor(
            out, len(mean), o.predictor_hidden, o.hypernetwork, o.predictor_bias, o.hypernetwork_bias, o.predictor_relu
        )

    def relative_parameters(self, params_a: AugParams, params_b: AugParams) -> Tensor:
        """Standardised parameters ``z (N, d)`` of the transformation from view a to view b."""
        for params in (params_a, params_b):
            if params.columns != FAMILY_COLUMNS:
                raise ConfigError("method sie needs views with transformation parameters (data.transforms)")
        z = torch.cat([family_targets(params_b, f, params_a) for f in self.families], dim=1)
        mean, std = self.target_mean, self.target_std
        return ((z.to(mean.device, mean.dtype)) - mean) / std

    def forward(self, batch: Batch) -> StepOutput:
        if self.predictor is None:
            raise ConfigError("SIE has no predictor yet: call bind_policies(view policies, seed) first")
        if len(batch.views) != 2:
            raise ValueError(f"SIE needs 2 views, got {len(batch.views)}")
        h_a, h_b = self.backbone(batch.views[0]), self.backbone(batch.views[1])
        i_a, i_b = self.projector_inv(h_a[:, : self.inv_dim]), self.projector_inv(h_b[:, : self.inv_dim])
        e_a, e_b = self.projector_equi(h_a[:, self.inv_dim :]), self.projector_equi(h_b[:, self.inv_dim :])
        z = self.relative_parameters(batch.params[0], batch.params[1]).to(e_a.dtype)
        o = self.options
        loss, terms = sie_loss(
            i_a,
            i_b,
            e_a,
            e_b,
            self.predictor(e_a, z),
            o.sim_weight,
            o.equi_factor,
            o.var_weight,
            o.cov_weight,
            o.predictor_variance,
        )
        return StepOutput(loss=loss, features=h_a.detach(), logs={f"loss_{k}": v for k, v in terms.items()})

    def extra_repr(self) -> str:
        return f"split=({self.inv_dim}, {self.equi_dim}), families={self.families}"


def build_sie(options: SIEOptions, backbone: nn.Module, image_size: int) -> SIE:
    """SIE on ``backbone`` (``image_size`` is not used; bind it to the view policies before training)."""
    return SIE(backbone, options)


METHOD_SPECS: tuple[MethodSpec, ...] = (MethodSpec("sie", SIEOptions, build_sie),)
"""The SIE family, registered by :mod:`neuroequi.registry`."""

__all__ = ["METHOD_SPECS", "SIE", "HyperPredictor", "SIEOptions", "build_sie", "part_projector", "split_sizes"]
