"""Equivariance through reconstruction (Wang, Krajsek & Scharr; a poster, no public code): ``recon_equi``.

What the poster states: the representation is split into an invariant and an equivariant
part; the invariant part is trained with an augmentation-based SSL loss; an auxiliary
reconstruction task, with a decoder of one cross-attention layer followed by ``L``
self-attention layers, makes the other part equivariant; no transformation parameters are
needed. Everything else is a choice made here, each one an option of
:class:`ReconEquiOptions` (the README's section on this method lists the same choices):

1. **Split.** ``h = [h_inv ; h_equi]`` with ``h_inv = h[:, :inv]`` (SIE's layout), half and
   half unless ``split`` is given.
2. **Invariance loss.** A method of the invariance family (``invariance``, default ``vicreg``
   as in SIE's comparisons; ``barlow_twins``, ``simclr``, ``mmcr`` also work) with its own
   projector and options (``invariance_options``) on ``h_inv`` of the two views only.
3. **What is reconstructed.** Each view's own pixels (the normalised view the backbone
   sees), from the representation: ``target="self"`` decodes view ``v`` from
   ``[h_inv(v) ; h_equi(v)]``; ``target="swap"`` decodes view ``v`` from the *other* view's
   invariant part and its own equivariant part, so only ``h_equi(v)`` can tell the decoder
   how view ``v`` was transformed. Loss: mean squared error over pixels, averaged over the
   two views.
4. **Keys and values.** The memory the cross-attention reads: ``inv_tokens`` tokens made by
   one linear map of ``h_inv`` and ``equi_tokens`` tokens by another of ``h_equi`` (width
   ``decoder_dim``), so the two parts stay separate tokens.
5. **Queries.** One learned query per output patch (``patch_size`` pixels square), which is
   also each patch's position; after the cross-attention the patch tokens pass ``decoder_depth``
   (``L``, at least 1) pre-norm self-attention layers (``decoder_heads`` heads, MLP of
   ``mlp_ratio * decoder_dim``, GELU) and a linear map to the patch's pixels.
6. **Weights.** ``L = inv_weight * L_inv + recon_weight * L_recon``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import Tensor, nn

from neuroequi.errors import ConfigError
from neuroequi.config import dataclass_from_mapping
from neuroequi.methods import invariance as invariance_family
from neuroequi.methods.base import Batch, MethodSpec, Requirements, SSLMethod, StepOutput
from neuroequi.methods.invariance import InvarianceMethod
from neuroequi.methods.sie import split_sizes

PARTS: tuple[str, ...] = ("inv", "equi")


class CrossAttentionLayer(nn.Module):
    """Pre-norm cross-attention block: ``q + attn(LN(q), LN(m), LN(m))``, then ``+ MLP(LN(.))``.

    Shapes: ``q (N, P, D)``, ``memory (N, M, D)`` -> ``(N, P, D)``.
    """

    def __init__(self, dim: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.norm_query, self.norm_memory, self.norm_mlp = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, q: Tensor, memory: Tensor) -> Tensor:
        m = self.norm_memory(memory)
        q = q + self.attention(self.norm_query(q), m, m, need_weights=False)[0]
        return q + self.mlp(self.norm_mlp(q))


class ReconstructionDecoder(nn.Module):
    """``d``: representation parts -> image, one cross-attention layer then ``depth`` self-attention layers.

    Shapes: ``forward(h_inv (N, Di), h_equi (N, De), parts) -> (N, 3, S, S)``; ``parts`` names
    the memory tokens the cross-attention may read (``("inv",)``: the invariant part alone).
    """

    def __init__(
        self,
        inv_dim: int,
        equi_dim: int,
        image_size: int,
        patch_size: int,
        dim: int,
        depth: int,
        heads: int,
        inv_tokens: int,
        equi_tokens: int,
        mlp_ratio: float,
    ) -> None:
        super().__init__()
        if patch_size < 1 or image_size % patch_size:
            raise ConfigError(f"method.options.patch_size {patch_size} must divide the view size {image_size}")
        self.image_size, self.patch_size = int(image_size), int(patch_size)
        self.grid = image_size // patch_size
        self.dim, self.tokens = int(dim), {"inv": int(inv_tokens), "equi": int(equi_tokens)}
        self.memory = nn.ModuleDict(
            {"inv": nn.Linear(inv_dim, inv_tokens * dim), "equi": nn.Linear(equi_dim, equi_tokens * dim)}
        )
        self.queries = nn.Parameter(torch.randn(1, self.grid**2, dim) * 0.02)
        hidden = max(1, round(mlp_ratio * dim))
        self.cross = CrossAttentionLayer(dim, heads, hidden)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                dim, heads, hidden, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
            )
            for _ in range(depth)
        )
        self.norm = nn.LayerNorm(dim)
        self.to_pixels = nn.Linear(dim, 3 * patch_size**2)

    def forward(self, h_inv: Tensor, h_equi: Tensor, parts: Sequence[str] = PARTS) -> Tensor:
        unknown = [p for p in parts if p not in PARTS]
        if unknown or not parts:
            raise ValueError(f"parts must be a non-empty subset of {PARTS}, got {list(parts)}")
        n = h_inv.shape[0]
        sources = {"inv": h_inv, "equi": h_equi}
        memory = torch.cat(
            [self.memory[p](sources[p]).reshape(n, self.tokens[p], self.dim) for p in PARTS if p in parts], 1
        )
        x = self.cross(self.queries.expand(n, -1, -1), memory)
        for layer in self.layers:
            x = layer(x)
        pixels = self.to_pixels(self.norm(x))  # (N, G*G, 3*p*p)
        g, p = self.grid, self.patch_size
        return pixels.reshape(n, g, g, 3, p, p).permute(0, 3, 1, 4, 2, 5).reshape(n, 3, g * p, g * p)


@dataclass
class ReconEquiOptions:
    """Options of ``recon_equi`` (see the module docstring for what each choice means).

    Attributes:
        split: ``[invariant, equivariant]`` sizes of ``h`` (must add up to its size); None: half each.
        invariance: invariance method trained on ``h_inv`` (``vicreg``, ``barlow_twins``, ``simclr``, ``mmcr``).
        invariance_options: that method's options (e.g. ``projector: [512, 512, 512]``).
        target: ``self`` or ``swap``.
        decoder_dim, decoder_depth, decoder_heads, mlp_ratio: width, number L (>= 1) of
            self-attention layers, attention heads, MLP width ratio of the decoder.
        patch_size: side of the square patch each query reconstructs (divides the view size).
        inv_tokens, equi_tokens: memory tokens made of each part.
        inv_weight, recon_weight: weights of the invariance and reconstruction losses.
    """

    split: tuple[int, ...] | None = None
    invariance: str = "vicreg"
    invariance_options: dict[str, Any] = field(default_factory=dict)
    target: Literal["self", "swap"] = "self"
    decoder_dim: int = 128
    decoder_depth: int = 2
    decoder_heads: int = 4
    mlp_ratio: float = 2.0
    patch_size: int = 4
    inv_tokens: int = 1
    equi_tokens: int = 1
    inv_weight: float = 1.0
    recon_weight: float = 1.0


class _InvariantPart(nn.Module):
    """Stands where the invariance method expects a backbone: only its ``feature_dim`` (the
    invariant part's size) is used; the method is fed ``h_inv`` directly."""

    def __init__(self, feature_dim: int) -> None:
        super().__init__()
        self.feature_dim = feature_dim

    def forward(self, x: Tensor) -> Tensor:
        raise RuntimeError("the invariance part of recon_equi is fed h_inv directly, never images")


def check_options(options: ReconEquiOptions) -> None:
    """ConfigError for a decoder depth below 1, non-positive sizes or weights, or a width the heads do not divide."""
    o = options
    if o.decoder_depth < 1:
        raise ConfigError(
            f"method.options.decoder_depth must be >= 1 (L self-attention layers after the "
            f"cross-attention), got {o.decoder_depth}"
        )
    sizes = {
        "decoder_dim": o.decoder_dim,
        "decoder_heads": o.decoder_heads,
        "inv_tokens": o.inv_tokens,
        "equi_tokens": o.equi_tokens,
        "patch_size": o.patch_size,
    }
    bad = {k: v for k, v in sizes.items() if v < 1}
    if bad or o.decoder_dim % o.decoder_heads:
        raise ConfigError(
            f"method.options: sizes must be >= 1 and decoder_dim a multiple of decoder_heads, got {sizes}"
        )
    if not (o.inv_weight >= 0 and o.recon_weight >= 0 and o.mlp_ratio > 0):
        raise ConfigError(
            f"method.options: weights must be >= 0 and mlp_ratio > 0, got inv_weight={o.inv_weight}, "
            f"recon_weight={o.recon_weight}, mlp_ratio={o.mlp_ratio}"
        )


def invariance_method(options: ReconEquiOptions, inv_dim: int) -> InvarianceMethod:
    """The invariance method of ``options`` (projector and loss) for an invariant part of ``inv_dim`` entries."""
    specs = {spec.name: spec for spec in invariance_family.METHOD_SPECS}
    spec = specs.get(options.invariance)
    if spec is None:
        raise ConfigError(f"method.options.invariance must be one of {sorted(specs)}, got {options.invariance!r}")
    values = dataclass_from_mapping(spec.options, options.invariance_options, "method.options.invariance_options")
    method = spec.build(values, _InvariantPart(inv_dim), 0)
    if type(method) is not InvarianceMethod:
        raise ConfigError(
            f"method.options.invariance must be a plain invariance method (vicreg, barlow_twins, "
            f"simclr, mmcr), got {options.invariance!r}"
        )
    return method


class ReconEqui(SSLMethod):
    """Split representation, invariance loss on ``h_inv``, reconstruction through the decoder.

    ``L = inv_weight * L_inv(g(h_inv(a)), g(h_inv(b))) + recon_weight * mean_v MSE(d(.), x_v)``
    over the two views ``v in {a, b}`` of side ``image_size`` (see the module docstring).
    """

    requirements = Requirements(views=2)

    def __init__(self, backbone: nn.Module, options: ReconEquiOptions, image_size: int) -> None:
        super().__init__()
        check_options(options)
        self.backbone = backbone
        self.options = options
        self.inv_dim, self.equi_dim = split_sizes(options.split, int(backbone.feature_dim), "recon_equi")
        self.invariance = invariance_method(options, self.inv_dim)
        o = options
        self.decoder = ReconstructionDecoder(
            self.inv_dim,
            self.equi_dim,
            image_size,
            o.patch_size,
            o.decoder_dim,
            o.decoder_depth,
            o.decoder_heads,
            o.inv_tokens,
            o.equi_tokens,
            o.mlp_ratio,
        )

    def split(self, h: Tensor) -> tuple[Tensor, Tensor]:
        """``h (N, D) -> (h_inv (N, inv), h_equi (N, equi))``."""
        return h[:, : self.inv_dim], h[:, self.inv_dim :]

    def reconstruct(self, h: Tensor, parts: Sequence[str] = PARTS, h_inv: Tensor | None = None) -> Tensor:
        """Decoded images ``(N, 3, S, S)`` (normalised pixels) from representations ``h (N, D)``.

        ``parts``: which parts the decoder reads (``("inv",)``: the invariant part alone);
        ``h_inv``: another invariant part to use instead of ``h``'s own (``target="swap"``).
        """
        inv, equi = self.split(h)
        return self.decoder(inv if h_inv is None else h_inv, equi, parts)

    def forward(self, batch: Batch) -> StepOutput:
        if len(batch.views) != 2:
            raise ValueError(f"recon_equi needs 2 views, got {len(batch.views)}")
        x_a, x_b = batch.views
        h_a, h_b = self.backbone(x_a), self.backbone(x_b)
        (inv_a, _), (inv_b, _) = self.split(h_a), self.split(h_b)
        m = self.invariance
        loss_inv = m.pair_loss(m.embed("inv", (inv_a,)), m.embed("inv", (inv_b,)))
        swap = self.options.target == "swap"
        recon_a = self.reconstruct(h_a, h_inv=inv_b if swap else None)
        recon_b = self.reconstruct(h_b, h_inv=inv_a if swap else None)
        loss_recon = ((recon_a.float() - x_a.float()).pow(2).mean() + (recon_b.float() - x_b.float()).pow(2).mean()) / 2
        loss = self.options.inv_weight * loss_inv + self.options.recon_weight * loss_recon
        logs = {"loss_inv": loss_inv.detach(), "loss_recon": loss_recon.detach()}
        return StepOutput(loss=loss, features=h_a.detach(), logs=logs)

    def after_step(self, step: int, total_steps: int) -> None:
        self.invariance.after_step(step, total_steps)

    def extra_repr(self) -> str:
        return f"split=({self.inv_dim}, {self.equi_dim}), target={self.options.target!r}"


def build_recon_equi(options: ReconEquiOptions, backbone: nn.Module, image_size: int) -> ReconEqui:
    """The reconstruction method on ``backbone`` for ``image_size`` x ``image_size`` views."""
    return ReconEqui(backbone, options, image_size)


METHOD_SPECS: tuple[MethodSpec, ...] = (MethodSpec("recon_equi", ReconEquiOptions, build_recon_equi),)
"""The reconstruction family, registered by :mod:`neuroequi.registry`."""

__all__ = [
    "METHOD_SPECS",
    "CrossAttentionLayer",
    "ReconEqui",
    "ReconEquiOptions",
    "ReconstructionDecoder",
    "build_recon_equi",
    "invariance_method",
]
