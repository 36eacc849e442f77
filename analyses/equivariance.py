"""EquiMod's equivariance measures (Devillers & Lefort, ICLR 2023), per augmentation type.

For image ``x_i`` and one augmentation ``t`` of a single type (only that op
applied; every other op at its identity), with the trained method's
equivariant projector ``g'`` and predictor ``u_ψ``::

    z'_o = g'(h(x_i))                 embedding of the clean image
    z'_i = g'(h(t(x_i)))              embedding of the augmented view
    ẑ'_i = u_ψ([z'_o, a(t)])          the predictor's estimate of z'_i

``sim`` is the cosine similarity. Per augmentation type:

* absolute equivariance ``A = mean_i [sim(z'_i, ẑ'_i) − sim(z'_i, z'_o)]``:
  how much closer the prediction is to the view's embedding than the clean
  embedding is (0: the predictor does no better than assuming invariance);
* relative equivariance ``R = mean_i [1 − sim(z'_i, z'_o)] / mean_i [1 − sim(z'_i, ẑ'_i)]``:
  the cosine distance to the clean embedding divided by the distance to the
  prediction (> 1: the prediction helps). The ratio is taken of the means
  over images, so a single near-perfect prediction cannot make it explode.

Intervals: bootstrap over images (both means of ``R`` resampled together).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from analyses.measures import TableRow, bootstrap_counts, interval
from neuroequi.augment import DEFAULTS, AugParams, Policy, identity_params
from neuroequi.augment.images import ImageInput, as_images, image_sizes

__all__ = ["EquivarianceResult", "equimod_equivariance", "has_equimod_predictor", "single_op_params"]

FLAGS: dict[str, str | None] = {
    "crop": None,
    "flip": "flip",
    "jitter": "jitter",
    "grayscale": "grayscale",
    "blur": "blur",
    "solarize": "solarize",
}
"""Augmentation type -> the flag column marking rows where it was applied (crop: always)."""


def has_equimod_predictor(method: nn.Module) -> bool:
    """True if ``method`` has EquiMod's ``equi_projector``, ``predict`` and ``backbone``."""
    return all(hasattr(method, name) for name in ("equi_projector", "predict", "backbone"))


def single_op_params(
    policy: Policy, op: str, n: int, generator: torch.Generator, image_hw: torch.Tensor, max_draws: int = 100
) -> AugParams:
    """``n`` parameter sets where only augmentation ``op`` is applied (and is applied in every row).

    Rows are drawn from ``policy`` and kept where ``op`` was applied; every
    other op's columns are set to their identity (whole-image crop, defaults).

    Args:
        image_hw: ``(n, 2)`` sizes of the images the rows are for.
    """
    by_name = {o.name: o for o in policy.ops}
    if op not in by_name:
        raise ValueError(f"policy {policy.name!r} has no {op!r}; it has {sorted(by_name)}")
    flag = FLAGS[op]
    kept: list[torch.Tensor] = []
    for _ in range(max_draws):
        draw = policy.sample(n, generator, image_hw)
        rows = torch.ones(n, dtype=torch.bool) if flag is None else draw[flag] == 1
        kept.append(draw.values[rows])
        if sum(len(k) for k in kept) >= n:
            break
    values = torch.cat(kept)[:n]
    if len(values) < n:
        raise ValueError(f"{op!r} was applied in only {len(values)} of {n * max_draws} draws of policy {policy.name!r}")
    params = AugParams(values, draw.columns)
    others = {c: DEFAULTS[c] for o in policy.ops if o.name not in (op, "crop") for c in o.columns}
    if op != "crop":
        others.update(policy.crop.identity(n, image_hw))
    return params.replace(**others, image_h=image_hw[:, 0], image_w=image_hw[:, 1])


@dataclass(frozen=True)
class EquivarianceResult:
    """Cosine similarities per augmentation type, each ``(I,)`` over images."""

    sim_prediction: dict[str, np.ndarray]  # sim(z'_i, ẑ'_i)
    sim_clean: dict[str, np.ndarray]  # sim(z'_i, z'_o)

    def absolute(self, op: str) -> float:
        return float(np.mean(self.sim_prediction[op] - self.sim_clean[op]))

    def relative(self, op: str) -> float:
        return float(np.mean(1.0 - self.sim_clean[op]) / np.mean(1.0 - self.sim_prediction[op]))

    def rows(self, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> list[TableRow]:
        """Tidy rows ``equivariance_absolute[<op>]`` and ``equivariance_relative[<op>]``."""
        out = []
        for op, pred in self.sim_prediction.items():
            clean = self.sim_clean[op]
            counts = bootstrap_counts(len(pred), n_boot, seed)
            boot_abs = counts @ (pred - clean) / counts.sum(axis=1)
            boot_rel = (counts @ (1.0 - clean)) / (counts @ (1.0 - pred))
            for kind, value, boot, label in (
                ("absolute", self.absolute(op), boot_abs, f"mean sim(z'_i, ẑ'_i) − sim(z'_i, z'_o), {op} only"),
                (
                    "relative",
                    self.relative(op),
                    boot_rel,
                    f"mean(1 − sim(z'_i, z'_o)) / mean(1 − sim(z'_i, ẑ'_i)), {op} only",
                ),
            ):
                low, high = interval(boot, level)
                out.append(
                    {
                        "quantity": f"equivariance_{kind}[{op}]",
                        "label": label,
                        "value": value,
                        "ci_low": low,
                        "ci_high": high,
                        "n": len(pred),
                    }
                )
        return out


def _normalise(x: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    return (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


def equimod_equivariance(
    method: nn.Module,
    images: ImageInput,
    policy: Policy,
    mean: Sequence[float],
    std: Sequence[float],
    ops: Sequence[str] | None = None,
    seed: int = 0,
    batch_size: int = 256,
) -> EquivarianceResult:
    """Absolute and relative equivariance of an EquiMod method, one augmentation type at a time.

    Args:
        method: a trained EquiMod method (see :func:`has_equimod_predictor`), e.g.
            from :func:`neuroequi.train.load_method`; used in eval mode.
        images: the I evaluation images (tensor or PIL list).
        policy: the training policy; each type's parameters come from it.
        mean, std: the input normalisation the backbone was trained with.
        ops: augmentation types (default: every op of the policy that can be applied).
        seed: seeds the parameter sampling.
        batch_size: images per forward pass.
    """
    if not has_equimod_predictor(method):
        raise ValueError(f"{type(method).__name__} has no EquiMod projector/predictor (equi_projector, predict)")
    if hasattr(method, "encoder"):
        method.encoder.check_policy(policy)
    checked = as_images(images)
    hw = image_sizes(checked)
    candidates = [o.name for o in policy.ops] if ops is None else list(ops)
    generator = torch.Generator().manual_seed(seed)
    method.eval()
    sim_pred: dict[str, np.ndarray] = {}
    sim_clean: dict[str, np.ndarray] = {}
    with torch.inference_mode():
        clean_views = policy.apply(checked, identity_params(hw))
        z_clean = torch.cat(
            [
                method.equi_projector(method.backbone(_normalise(clean_views[s : s + batch_size], mean, std)))
                for s in range(0, len(checked), batch_size)
            ]
        )
        for op in candidates:
            try:
                params = single_op_params(policy, op, len(checked), generator, hw)
            except ValueError:
                if ops is not None:
                    raise
                continue  # an op this policy never applies (probability 0)
            pieces_pred, pieces_clean = [], []
            for s in range(0, len(checked), batch_size):
                rows = slice(s, s + batch_size)
                views = policy.apply(checked[rows], params[rows])
                z_view = method.equi_projector(method.backbone(_normalise(views, mean, std)))
                z_hat = method.predict(z_clean[rows], params[rows])
                pieces_pred.append(torch.cosine_similarity(z_view, z_hat, dim=1))
                pieces_clean.append(torch.cosine_similarity(z_view, z_clean[rows], dim=1))
            sim_pred[op] = torch.cat(pieces_pred).double().numpy()
            sim_clean[op] = torch.cat(pieces_clean).double().numpy()
    return EquivarianceResult(sim_pred, sim_clean)
