"""EquiMod's augmentation-parameter vector (Devillers & Lefort, ICLR 2023, appendix A.1).

Layout, in application order (column names of :class:`~neuroequi.augment.params.AugParams`):

====  =====================================================  =================================
dims  columns                                                 meaning
====  =====================================================  =================================
0-3   crop_x, crop_y, crop_w, crop_h                          crop box relative to the image
4     flip                                                    flag
5     jitter                                                  flag
6-9   brightness, contrast, saturation, hue                   jitter factors (1, 1, 1, 0 if off)
10-13 jitter_order_0 .. jitter_order_3                        op index applied k-th (0,1,2,3 if off)
14    grayscale                                               flag
15-16 blur, blur_sigma                                        only if the policy has blur
17    solarize                                                only if the policy has solarize
====  =====================================================  =================================

So 18 dimensions for the BYOL / Barlow Twins ImageNet policies (both views have blur and
solarize, view 1 with solarize p=0), 15 for CIFAR (SimCLR's CIFAR setting: no blur, no
solarize), 17 for SimCLR at ImageNet (blur, no solarize). Each dimension is z-scored with
the mean and standard deviation measured by sampling the policy (:meth:`EquiModEncoder.fit`);
a dimension that is constant under the policy (std 0) is only centred (std taken as 1).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from neuroequi.augment.params import CROP_RELATIVE, JITTER_OPS, JITTER_ORDER, AugParams
from neuroequi.augment.policy import Policy
from neuroequi.errors import ConfigError

CORE_COLUMNS: tuple[str, ...] = CROP_RELATIVE + ("flip", "jitter") + JITTER_OPS + JITTER_ORDER + ("grayscale",)


def encoding_columns(policy: Policy) -> tuple[str, ...]:
    """The EquiMod layout for ``policy`` (15, 17 or 18 columns)."""
    columns = CORE_COLUMNS
    if policy.blur is not None:
        columns += ("blur", "blur_sigma")
    if policy.solarize is not None:
        columns += ("solarize",)
    return columns


class EquiModEncoder:
    """Maps :class:`AugParams` to EquiMod's z-scored parameter vectors ``(N, D)`` float32."""

    def __init__(self, columns: Sequence[str], mean: torch.Tensor, std: torch.Tensor) -> None:
        self.columns: tuple[str, ...] = tuple(columns)
        self.mean = torch.as_tensor(mean, dtype=torch.float64).reshape(-1)
        self.std = torch.as_tensor(std, dtype=torch.float64).reshape(-1)
        d = len(self.columns)
        if self.mean.shape != (d,) or self.std.shape != (d,):
            raise ValueError(
                f"mean and std must have one entry per column ({d}), got {tuple(self.mean.shape)}, "
                f"{tuple(self.std.shape)}"
            )
        if not bool((self.std > 0).all()):
            raise ValueError(f"std must be positive, got {self.std.tolist()}")

    @classmethod
    def fit(cls, policy: Policy | Sequence[Policy], n_samples: int = 100_000, seed: int = 0) -> EquiModEncoder:
        """Measure the z-score statistics by sampling ``n_samples`` parameter sets.

        ``policy`` may be a sequence (e.g. both BYOL views): ``n_samples`` is split evenly among
        them; they must share one layout. Pass the full (unrestricted) training policy.
        """
        policies = [policy] if isinstance(policy, Policy) else list(policy)
        if not policies:
            raise ValueError("EquiModEncoder.fit needs at least one policy")
        columns = encoding_columns(policies[0])
        for other in policies[1:]:
            if encoding_columns(other) != columns:
                raise ValueError(
                    f"policies {policies[0].name!r} and {other.name!r} have different EquiMod layouts"
                )
        per_policy = n_samples // len(policies)
        if per_policy < 2:
            raise ConfigError(
                f"n_samples (method.equimod.encoder_samples) must give at least 2 samples per policy, got {n_samples}"
            )
        generator = torch.Generator().manual_seed(seed)
        samples = torch.cat([p.sample(per_policy, generator)[list(columns)] for p in policies])
        std = samples.std(dim=0)
        return cls(columns, samples.mean(dim=0), torch.where(std > 0, std, torch.ones_like(std)))

    @property
    def dim(self) -> int:
        """Length D of the encoded vector."""
        return len(self.columns)

    def raw(self, params: AugParams) -> torch.Tensor:
        """The unnormalised parameter vectors ``(N, D)`` float64."""
        return params[list(self.columns)]

    def __call__(self, params: AugParams) -> torch.Tensor:
        """z-scored parameter vectors ``(N, D)`` float32."""
        raw = self.raw(params)
        return ((raw - self.mean.to(raw.device)) / self.std.to(raw.device)).to(torch.float32)

    def state_dict(self) -> dict[str, object]:
        """Plain dict for checkpoints: columns, mean, std."""
        return {"columns": list(self.columns), "mean": self.mean.clone(), "std": self.std.clone()}

    @classmethod
    def from_state_dict(cls, state: dict[str, object]) -> EquiModEncoder:
        """Inverse of :meth:`state_dict`."""
        return cls(state["columns"], state["mean"], state["std"])  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"EquiModEncoder(dim={self.dim}, columns={self.columns})"
