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

The released EquiMod code (``ADevillers/EquiMod``, ``src/transforms.py``) builds the same
information in another order and with the crop in pixels of the source image
(``order="released"``, :data:`RELEASED_CORE`)::

    crop_y_px, crop_x_px, crop_h_px, crop_w_px, flip,      (torchvision's i, j, h, w, then flip)
    jitter, jitter_order_0..3, brightness, contrast, saturation, hue, grayscale,
    [blur, blur_sigma], [solarize]

and z-scores it with statistics written into its ``src/main.py``
(:data:`RELEASED_STATISTICS`), so a released checkpoint's predictor can be given exactly
its own inputs (:meth:`EquiModEncoder.released`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from neuroequi.augment.params import CROP_RELATIVE, DEFAULTS, JITTER_OPS, JITTER_ORDER, AugParams
from neuroequi.augment.policy import Policy
from neuroequi.errors import ConfigError

CORE_COLUMNS: tuple[str, ...] = CROP_RELATIVE + ("flip", "jitter") + JITTER_OPS + JITTER_ORDER + ("grayscale",)
RELEASED_CORE: tuple[str, ...] = (
    ("crop_y_px", "crop_x_px", "crop_h_px", "crop_w_px", "flip", "jitter") + JITTER_ORDER + JITTER_OPS + ("grayscale",)
)
ORDERS: tuple[str, ...] = ("neuroequi", "released")
#: Columns present only in the layouts of policies with blur / solarize.
OPTIONAL_COLUMNS: tuple[str, ...] = ("blur", "blur_sigma", "solarize")

_SIMCLR_CIFAR10_MEAN = (
    4.3122,
    4.3216,
    23.369,
    23.374,
    0.49998,
    0.80087,
    1.2025,
    1.4007,
    1.5964,
    1.8004,
    0.99993,
    1.0002,
    0.99986,
    2.2321e-07,
    0.19965,
)
_SIMCLR_CIFAR10_STD = (
    3.9740,
    3.9851,
    4.9544,
    4.9539,
    0.5000,
    0.3993,
    1.1651,
    1.0210,
    1.0200,
    1.1669,
    0.2066,
    0.2068,
    0.2066,
    0.0517,
    0.3997,
)
_SIMCLR_IMAGENET_MEAN = (
    68.162,
    99.199,
    269.33,
    274.57,
    0.49905,
    0.80054,
    1.1998,
    1.3994,
    1.6014,
    1.7995,
    1.0001,
    1.0000,
    1.0005,
    1.5640e-04,
    0.20018,
)
_SIMCLR_IMAGENET_STD = (
    77.370,
    98.681,
    136.86,
    143.49,
    0.50000,
    0.39959,
    1.1661,
    1.0201,
    1.0201,
    1.1657,
    0.41347,
    0.41323,
    0.41349,
    0.10333,
    0.40013,
)
RELEASED_STATISTICS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    # ADevillers/EquiMod SimCLR+EquiMod 908c7b4f, src/main.py lines 77-88 (train_repr: p_mean, p_std)
    "simclr_cifar10": (_SIMCLR_CIFAR10_MEAN, _SIMCLR_CIFAR10_STD),
    "simclr_imagenet": (_SIMCLR_IMAGENET_MEAN + (0.50030, 0.52507), _SIMCLR_IMAGENET_STD + (0.50000, 0.65251)),
    # ADevillers/EquiMod BYOL+EquiMod 5c936cf7, src/main.py lines 84-95 (train_repr: p_mean, p_std)
    "byol_cifar10": (
        _SIMCLR_CIFAR10_MEAN + (0.27256, 0.52507, 0.050149),
        _SIMCLR_CIFAR10_STD + (0.30381, 0.65251, 0.064719),
    ),
    "byol_imagenet": (
        _SIMCLR_IMAGENET_MEAN + (0.27256, 0.52507, 0.050149),
        _SIMCLR_IMAGENET_STD + (0.30381, 0.65251, 0.064719),
    ),
}
"""The z-score statistics the released EquiMod code uses, by branch and dataset (in the released
order). Note the BYOL tables reuse the SimCLR ones for the first 15 dimensions (measured under
SimCLR's jitter), as released."""


def encoding_columns(policy: Policy, order: str = "neuroequi") -> tuple[str, ...]:
    """The EquiMod layout for ``policy`` (15, 17 or 18 columns) in ``order`` (see :data:`ORDERS`)."""
    if order not in ORDERS:
        raise ValueError(f"EquiMod encoding order must be one of {ORDERS}, got {order!r}")
    columns = CORE_COLUMNS if order == "neuroequi" else RELEASED_CORE
    if policy.blur is not None:
        columns += ("blur", "blur_sigma")
    if policy.solarize is not None:
        columns += ("solarize",)
    return columns


class EquiModEncoder:
    """Maps :class:`AugParams` to EquiMod's z-scored parameter vectors ``(N, D)`` float32."""

    def __init__(self, columns: Sequence[str], mean: torch.Tensor, std: torch.Tensor) -> None:
        self.columns: tuple[str, ...] = tuple(columns)
        self.mean = torch.as_tensor(mean, dtype=torch.float64, device="cpu").reshape(-1)
        self.std = torch.as_tensor(std, dtype=torch.float64, device="cpu").reshape(-1)
        d = len(self.columns)
        if self.mean.shape != (d,) or self.std.shape != (d,):
            raise ValueError(
                f"mean and std must have one entry per column ({d}), got {tuple(self.mean.shape)}, "
                f"{tuple(self.std.shape)}"
            )
        if not bool((self.std > 0).all()):
            raise ValueError(f"std must be positive, got {self.std.tolist()}")

    @classmethod
    def fit(
        cls, policy: Policy | Sequence[Policy], n_samples: int = 100_000, seed: int = 0, order: str = "neuroequi"
    ) -> EquiModEncoder:
        """Measure the z-score statistics by sampling ``n_samples`` parameter sets.

        ``policy`` may be a sequence (e.g. both BYOL views): ``n_samples`` is split evenly among
        them; they must share one layout. Pass the full (unrestricted) training policy.
        ``order`` is the layout (:func:`encoding_columns`); pixel crop columns are sampled for
        images of the view size.
        """
        policies = [policy] if isinstance(policy, Policy) else list(policy)
        if not policies:
            raise ValueError("EquiModEncoder.fit needs at least one policy")
        columns = encoding_columns(policies[0], order)
        for other in policies[1:]:
            if encoding_columns(other, order) != columns:
                raise ValueError(f"policies {policies[0].name!r} and {other.name!r} have different EquiMod layouts")
        per_policy = n_samples // len(policies)
        if per_policy < 2:
            raise ConfigError(
                f"n_samples (method.equimod.encoder_samples) must give at least 2 samples per policy, got {n_samples}"
            )
        generator = torch.Generator().manual_seed(seed)
        samples = torch.cat([p.sample(per_policy, generator)[list(columns)] for p in policies])
        std = samples.std(dim=0)
        return cls(columns, samples.mean(dim=0), torch.where(std > 0, std, torch.ones_like(std)))

    @classmethod
    def released(cls, name: str, policy: Policy) -> EquiModEncoder:
        """The released order for ``policy`` with the released statistics ``name`` (a key of
        :data:`RELEASED_STATISTICS`); ValueError when their lengths differ."""
        if name not in RELEASED_STATISTICS:
            raise ValueError(f"unknown released EquiMod statistics {name!r}; valid: {sorted(RELEASED_STATISTICS)}")
        columns = encoding_columns(policy, "released")
        mean, std = RELEASED_STATISTICS[name]
        if len(mean) != len(columns):
            raise ValueError(
                f"released statistics {name!r} have {len(mean)} dimensions but policy {policy.name!r} "
                f"encodes {len(columns)}: {columns}"
            )
        return cls(columns, torch.tensor(mean, device="cpu"), torch.tensor(std, device="cpu"))

    @property
    def dim(self) -> int:
        """Length D of the encoded vector."""
        return len(self.columns)

    def check_policy(self, policy: Policy) -> None:
        """ConfigError unless ``policy`` has this encoder's layout (in either order of :data:`ORDERS`):
        parameters of a policy with other augmentations would be encoded with the wrong columns."""
        if self.columns not in {encoding_columns(policy, order) for order in ORDERS}:
            raise ConfigError(
                f"policy {policy.name!r} has the EquiMod layout {encoding_columns(policy)}, but this encoder was "
                f"fitted on a policy with the layout {self.columns}; use the model's training policy"
            )

    def raw(self, params: AugParams) -> torch.Tensor:
        """The unnormalised parameter vectors ``(N, D)`` float64.

        Raises ConfigError when ``params`` apply an augmentation this encoder's layout has no
        column for (blur or solarize from another policy): it would be dropped silently."""
        dropped = [
            c
            for c in OPTIONAL_COLUMNS
            if c not in self.columns and c in params.columns and bool((params[c] != DEFAULTS[c]).any())
        ]
        if dropped:
            raise ConfigError(
                f"these augmentation parameters apply {dropped}, which this EquiMod encoder (fitted on a policy "
                f"with the columns {self.columns}) has no column for: they come from another policy"
            )
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
