"""The options dataclasses of the TeSSL and EquiMod wrappers (config sections ``method.tessl`` and
``method.equimod``), torch-free: :mod:`neuroequi.train.config` builds its schema from them without
importing the methods (``neuroequi train --help``). :mod:`neuroequi.methods.tessl` and
:mod:`neuroequi.methods.equimod` re-export them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from neuroequi.errors import ConfigError

PAIRINGS = ("image", "augmentation")
BN_GROUPS = ("views", "halves")


@dataclass
class TeSSLOptions:
    """TeSSL's options (config section ``method.tessl``).

    Attributes:
        pairing: the equivariant term, ``image`` (the published CE-SSL code's, default) or
            ``augmentation`` (see :class:`~neuroequi.methods.tessl.TeSSL`).
        bn_groups: which rows share one forward pass (and BatchNorm statistics): ``views`` (each
            view's N rows) or ``halves`` (each half-view's N/2 rows, as CE-SSL's ``train_paired.py``).
    """

    pairing: Literal["image", "augmentation"] = "image"
    bn_groups: Literal["views", "halves"] = "views"


Statistics = Literal["fitted", "simclr_cifar10", "simclr_imagenet", "byol_cifar10", "byol_imagenet"]


@dataclass
class EquiModOptions:
    """EquiMod hyper-parameters (config section ``method.equimod``).

    Attributes:
        projector: sizes of ``g'`` ``[hidden..., out]`` (paper: 3-layer MLP, 2048 hidden, BN).
        aug_dim: size of the augmentation projection (perceptron to 128-d).
        temperature: tau' of the NT-Xent (0.2).
        encoder_samples: samples drawn to measure the z-score statistics of the parameters.
        heads: ``released`` (default): ``g'`` ends with ``BatchNorm1d(out, affine=False)`` and the
            predictor's BatchNorm is ``affine=False``, as the released code (``src/model.py``);
            ``neuroequi``: no last BatchNorm in ``g'``, an affine one in the predictor (the
            project's earlier heads).
        bn_groups: ``joint`` (default): the backbone and ``g'`` run once on ``[clean; view a;
            view b]``, the invariance head on ``[view a; view b]`` and the parameter head and
            predictor on both views' rows, so BatchNorm sees those joint batches, as the released
            ``src/main.py``/``src/model.py``; ``views``: one pass per view (and one for the clean
            images).
        negatives: ``released`` (default): every other embedding is a negative (the released
            ``src/loss.py`` masks only each row against itself); ``strict``: the other view of
            the same image is left out of the negatives (see :func:`~neuroequi.losses.equimod_loss`).
        encoding: parameter-vector layout, ``neuroequi`` (relative crop, project order) or
            ``released`` (pixel crop, the released order; :mod:`neuroequi.augment.encoding`).
        statistics: ``fitted`` (measured by sampling the training policies) or the released
            z-score statistics of a branch and dataset (needs ``encoding: released``).
    """

    projector: tuple[int, ...] = (2048, 2048, 128)
    aug_dim: int = 128
    temperature: float = 0.2
    encoder_samples: int = 100_000
    heads: Literal["released", "neuroequi"] = "released"
    bn_groups: Literal["joint", "views"] = "joint"
    negatives: Literal["released", "strict"] = "released"
    encoding: Literal["neuroequi", "released"] = "neuroequi"
    statistics: Statistics = "fitted"

    def __post_init__(self) -> None:
        choices = {
            "heads": ("released", "neuroequi"),
            "bn_groups": ("joint", "views"),
            "negatives": ("released", "strict"),
            "encoding": ("neuroequi", "released"),
            "statistics": get_args(Statistics),
        }
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ConfigError(f"method.equimod.{key} must be one of {list(allowed)}, got {getattr(self, key)!r}")
        if self.statistics != "fitted" and self.encoding != "released":
            raise ConfigError(
                f"method.equimod.statistics {self.statistics!r} are the released code's: they need encoding 'released', got {self.encoding!r}"
            )
        if self.aug_dim < 1 or not self.temperature > 0 or self.encoder_samples < 2 or not self.projector:
            raise ConfigError(
                f"method.equimod needs aug_dim >= 1, temperature > 0, encoder_samples >= 2 and a projector, got {self}"
            )


__all__ = ["BN_GROUPS", "PAIRINGS", "EquiModOptions", "Statistics", "TeSSLOptions"]
