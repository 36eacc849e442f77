"""Sampled augmentation parameters as a table: :class:`AugParams`.

One row per image, one named column per parameter (see :data:`COLUMNS` and the
package docstring for meanings and the defaults used when an augmentation is
not applied). Values are stored as a float64 tensor ``(N, P)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd

JITTER_OPS: tuple[str, ...] = ("brightness", "contrast", "saturation", "hue")
"""Colour-jitter operations; ``jitter_order_k`` holds the index (into this tuple)
of the operation applied k-th, as torchvision's ``ColorJitter`` ``fn_idx``."""

CROP_RELATIVE: tuple[str, ...] = ("crop_x", "crop_y", "crop_w", "crop_h")
CROP_PIXELS: tuple[str, ...] = ("crop_x_px", "crop_y_px", "crop_w_px", "crop_h_px")
JITTER_ORDER: tuple[str, ...] = tuple(f"jitter_order_{k}" for k in range(len(JITTER_OPS)))

COLUMNS: tuple[str, ...] = (
    ("image_h", "image_w")
    + CROP_RELATIVE
    + CROP_PIXELS
    + ("flip", "jitter")
    + JITTER_OPS
    + JITTER_ORDER
    + ("grayscale", "blur", "blur_sigma", "solarize")
)
"""The columns every policy produces, in this order."""

DEFAULTS: dict[str, float] = {
    "flip": 0.0,
    "jitter": 0.0,
    "brightness": 1.0,
    "contrast": 1.0,
    "saturation": 1.0,
    "hue": 0.0,
    **{name: float(k) for k, name in enumerate(JITTER_ORDER)},
    "grayscale": 0.0,
    "blur": 0.0,
    "blur_sigma": 0.0,
    "solarize": 0.0,
}
"""Values recorded when an augmentation is not applied (identity). The crop default
is the whole image: relative box ``(0, 0, 1, 1)``."""

FLAG_COLUMNS: tuple[str, ...] = ("flip", "jitter", "grayscale", "blur", "solarize")
INTEGER_COLUMNS: tuple[str, ...] = ("image_h", "image_w") + CROP_PIXELS + JITTER_ORDER


class AugParams:
    """A table of augmentation parameters: ``values`` ``(N, P)`` with named ``columns``.

    Indexing: ``p["crop_x"]`` -> ``Tensor (N,)``; ``p[["crop_x", "crop_y"]]`` ->
    ``Tensor (N, 2)``; ``p[3]``, ``p[2:5]``, ``p[index_tensor]`` -> ``AugParams`` with
    those rows (an int keeps the row axis, giving one row).
    """

    def __init__(self, values: torch.Tensor, columns: Sequence[str] = COLUMNS) -> None:
        columns = tuple(columns)
        if not isinstance(values, torch.Tensor) or values.ndim != 2:
            shape = getattr(values, "shape", type(values).__name__)
            raise ValueError(f"AugParams values must be a 2-D tensor (N, P), got {shape}")
        if values.shape[1] != len(columns):
            raise ValueError(f"AugParams has {values.shape[1]} value columns but {len(columns)} names: {columns}")
        if len(set(columns)) != len(columns):
            raise ValueError(f"AugParams column names must be unique, got {columns}")
        self.values: torch.Tensor = values.detach().to(torch.float64)
        self.columns: tuple[str, ...] = columns

    def __len__(self) -> int:
        return self.values.shape[0]

    def __repr__(self) -> str:
        return f"AugParams(n={len(self)}, columns={self.columns})"

    def index(self, name: str) -> int:
        """Position of column ``name``."""
        try:
            return self.columns.index(name)
        except ValueError:
            raise ValueError(f"unknown parameter column {name!r}; columns are {self.columns}") from None

    def __getitem__(self, key: str | Sequence[str] | int | slice | torch.Tensor) -> torch.Tensor | AugParams:
        if isinstance(key, str):
            return self.values[:, self.index(key)]
        if isinstance(key, (list, tuple)) and key and all(isinstance(k, str) for k in key):
            return self.values[:, [self.index(k) for k in key]]
        if isinstance(key, int):
            return AugParams(self.values[key].unsqueeze(0), self.columns)
        return AugParams(self.values[key], self.columns)

    def replace(self, **columns: float | torch.Tensor) -> AugParams:
        """A copy with the named columns set to new values (scalars or ``(N,)`` tensors)."""
        values = self.values.clone()
        for name, value in columns.items():
            values[:, self.index(name)] = torch.as_tensor(value, dtype=torch.float64)
        return AugParams(values, self.columns)

    def to(self, device: torch.device | str) -> AugParams:
        """The same table on ``device``."""
        return AugParams(self.values.to(device), self.columns)

    def repeat(self, times: int) -> AugParams:
        """The whole table stacked ``times`` times: rows ``[P; P; ...]``.

        TeSSL's matched augmentation: ``policy.apply(torch.cat([x1, x2]), p.repeat(2))``
        gives row i of ``x1`` and row i of ``x2`` the same parameters.
        """
        if times < 1:
            raise ValueError(f"repeat needs times >= 1, got {times}")
        return AugParams(self.values.repeat(times, 1), self.columns)

    @staticmethod
    def cat(params: Sequence[AugParams]) -> AugParams:
        """Concatenate tables with identical columns along the rows."""
        if not params:
            raise ValueError("AugParams.cat needs at least one AugParams")
        columns = params[0].columns
        for p in params[1:]:
            if p.columns != columns:
                raise ValueError(f"cannot concatenate AugParams with columns {p.columns} and {columns}")
        return AugParams(torch.cat([p.values for p in params]), columns)

    def to_dataframe(self) -> pd.DataFrame:
        """The table as a pandas DataFrame (flags as bool, sizes/pixels/order as int)."""
        import pandas as pd

        frame = pd.DataFrame(self.values.cpu().numpy(), columns=list(self.columns))
        for name in self.columns:
            if name in FLAG_COLUMNS:
                frame[name] = frame[name].astype(bool)
            elif name in INTEGER_COLUMNS:
                frame[name] = frame[name].round().astype("int64")
        return frame

    @classmethod
    def from_dataframe(cls, frame: pd.DataFrame) -> AugParams:
        """Inverse of :meth:`to_dataframe`."""
        values = torch.as_tensor(frame.to_numpy(dtype="float64"))
        return cls(values, tuple(str(c) for c in frame.columns))
