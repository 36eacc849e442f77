"""TeSSL / CE-SSL (Yerxa, Feather, Simoncelli & Chung, NeurIPS 2024) around any invariance method."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from neuroequi.errors import ConfigError
from neuroequi.methods.base import Batch, Requirements, SSLMethod, StepOutput
from neuroequi.methods.invariance import Encoding, InvarianceMethod
from neuroequi.methods.options import BN_GROUPS, PAIRINGS, TeSSLOptions  # noqa: F401  (TeSSLOptions: re-exported)


class TeSSL(SSLMethod):
    """Contrastive-equivariant SSL: ``(1 - lam) * L_inv + lam * L_equi``.

    The local batch of N images is two halves of distinct images, ``X1 = rows [0, N/2)`` and
    ``X2 = rows [N/2, N)``; row i of both halves got the *same* augmentation parameters in view
    A, and the same (other) parameters in view B (``Requirements.matched_halves``). With the
    invariance projector ``g_inv`` (``heads["inv"]``) and a second projector ``g_equi``
    (``heads["equi"]``, same architecture) on the shared backbone::

        L_inv  = L([Z1A; Z2A], [Z1B; Z2B])                Z = g_inv(h(.))
        L_equi = L(Z~1A - Z~1B, Z~2A - Z~2B)    pairing="image" (default)   Z~ = g_equi(h(.))
        L_equi = L(Z~1A - Z~2A, Z~1B - Z~2B)    pairing="augmentation"

    where ``L`` is the wrapped method's own pair loss. ``"image"`` asks the displacement
    caused by the augmentation pair (A -> B) to be the same in the two images of each
    matched pair (positives) and different from the displacements of other pairs (for
    contrastive ``L``); it is the published CE-SSL code's pairing (``loss_*_paired.py``:
    ``loss_fn_equi((equi_00 - equi_01, equi_10 - equi_11))``), which trained the paper's
    checkpoints. ``"augmentation"`` is the formula as written in the project's design
    notes: the content difference of the two images must not depend on the shared
    augmentation. Both vanish at the same fixed point (``Z~1A - Z~1B = Z~2A - Z~2B`` iff
    ``Z~1A - Z~2A = Z~1B - Z~2B``) but the batch statistics of ``L`` differ.

    ``bn_groups`` says which rows share one forward pass, and so one set of BatchNorm batch
    statistics: ``"views"`` (default) runs each view's N rows at once; ``"halves"`` runs each
    half of each view (N/2 rows: X1A, X1B, X2A, X2B) on its own, as CE-SSL's
    ``train_paired.py`` does (one module call per half-view). The losses are unchanged.

    With a momentum method (BYOL, momentum MMCR) the embeddings carry the target's as well,
    so the equivariant term's differences act on the momentum embeddings too (CE-SSL's
    ``loss_mmcr_momentum_paired.py``).

    ``lam = 0`` gives exactly the wrapped method's loss (the equivariant term is still
    computed, multiplied by 0, and logged).
    """

    requirements = Requirements(views=2, matched_halves=True)

    def __init__(self, method: InvarianceMethod, lam: float, pairing: str = "image", bn_groups: str = "views") -> None:
        super().__init__()
        if pairing not in PAIRINGS:
            raise ConfigError(f"method.tessl.pairing must be one of {list(PAIRINGS)}, got {pairing!r}")
        if bn_groups not in BN_GROUPS:
            raise ConfigError(f"method.tessl.bn_groups must be one of {list(BN_GROUPS)}, got {bn_groups!r}")
        self.pairing = pairing
        self.bn_groups = bn_groups
        if not isinstance(method, InvarianceMethod):
            raise ConfigError(f"TeSSL wraps an invariance method (method.name), got {type(method).__name__}")
        lam = float(lam)
        if not 0 <= lam < 1:  # lam = 1 would drop the invariance term altogether
            raise ConfigError(f"TeSSL method.lam must be in [0, 1), got {lam}")
        self.lam = lam
        self.method = method
        method.add_head("equi")

    @property
    def backbone(self) -> nn.Module:  # type: ignore[override]
        return self.method.backbone

    def forward(self, batch: Batch) -> StepOutput:
        n = len(batch)
        if n % 2:
            raise ConfigError(
                f"TeSSL splits the local batch into two halves of matched images: batch size must be even, got {n}"
            )
        if len(batch.views) != 2:
            raise ValueError(f"TeSSL needs 2 views, got {len(batch.views)}")
        (enc_a, inv_a, equi_a), (_, inv_b, equi_b) = (self._embed(view) for view in batch.views)
        loss_inv = self.method.pair_loss(inv_a, inv_b)
        loss_equi = self.method.pair_loss(*equivariant_pairs(equi_a, equi_b, self.pairing))
        loss = (1 - self.lam) * loss_inv + self.lam * loss_equi
        logs = {"loss_inv": loss_inv.detach(), "loss_equi": loss_equi.detach()}
        return StepOutput(loss=loss, features=enc_a[0].detach(), logs=logs)

    def _embed(self, view: Tensor) -> tuple[Encoding, Tensor, Tensor]:
        """``(encoding, invariant embedding, equivariant embedding)`` of one view ``(N, 3, S, S)``,
        one forward pass per :attr:`bn_groups` group, concatenated in row order."""
        parts = []
        for rows in view.chunk(2) if self.bn_groups == "halves" else (view,):
            enc = self.method.encode(rows)
            parts.append((enc, self.method.embed("inv", enc), self.method.embed("equi", enc)))
        if len(parts) == 1:
            return parts[0]
        encs, invs, equis = zip(*parts)
        enc = tuple(torch.cat(items) for items in zip(*encs))
        return enc, torch.cat(invs), torch.cat(equis)

    def after_step(self, step: int, total_steps: int) -> None:
        self.method.after_step(step, total_steps)

    def extra_repr(self) -> str:
        return f"lam={self.lam}, pairing={self.pairing!r}, bn_groups={self.bn_groups!r}"


def equivariant_pairs(view_a: Tensor, view_b: Tensor, pairing: str) -> tuple[Tensor, Tensor]:
    """The two ``(N/2, D)`` inputs of the equivariant term from ``(N, D)`` projections of views A, B.

    Rows ``[0, N/2)`` are the half X1, rows ``[N/2, N)`` the half X2 (matched row by row).
    ``"image"``: ``(Z1A - Z1B, Z2A - Z2B)``; ``"augmentation"``: ``(Z1A - Z2A, Z1B - Z2B)``.
    """
    m = view_a.shape[0] // 2
    a1, a2, b1, b2 = view_a[:m], view_a[m : 2 * m], view_b[:m], view_b[m : 2 * m]
    if pairing == "image":
        return a1 - b1, a2 - b2
    return a1 - a2, b1 - b2
