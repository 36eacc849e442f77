"""How large layers are reduced before per-layer scoring: a named setting (:class:`Reduction`),
the PCA of Brain-Score's layer selection fitted through the images' Gram matrix
(:class:`PCAProjection`), and the grouping of layers under a memory budget (:func:`fit_groups`).
See :mod:`analyses.neural.layers` for where it enters."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from neuroequi.errors import ConfigError

if TYPE_CHECKING:  # torch is imported when a projection is fitted: a config needs no torch
    import torch


@dataclass(frozen=True)
class Reduction:
    """How large layers are reduced before scoring; every output row names it (:attr:`key`).

    The default is no reduction: what Brain-Score scores at a committed layer
    (``ModelCommitment`` with a region->layer map hands the layer's full activations to the
    benchmark's metric), so a per-layer score equals :func:`analyses.neural.scoring.score`'s
    for the same layer. :data:`LAYER_SELECTION` is the reduction Brain-Score's own layer
    selection uses (``LayerSelection`` hooks ``LayerPCA`` with 1,000 components), fitted on
    local images; it bounds the memory and time of large layers (224-px networks) and gives
    different numbers, which its rows say.

    Attributes:
        components: principal components kept per layer (Brain-Score's LayerPCA: 1,000); 0 keeps
            every feature (exact, but a layer's full ``stimuli x features`` matrix is held).
        images: how many local images the PCA is fitted on (a multiple of 10; Brain-Score: 1,000).
        max_fit_gb: memory allowed for one group's fit activations (``images x features x 4``
            bytes summed over the group's layers); a larger layer is fitted alone.
        max_held_gb: memory allowed for the activations held for scoring (``stimuli x features x 4``
            bytes over every layer and stimulus set, after reduction); more is refused before any
            image is run, naming a reduction that fits (:func:`held_bytes`).
    """

    components: int = 0
    images: int = 1000
    max_fit_gb: float = 4.0
    max_held_gb: float = 8.0

    def __post_init__(self):
        if self.components < 0 or self.images <= 0 or self.max_fit_gb <= 0 or self.max_held_gb <= 0:
            raise ConfigError(
                f"reduction: components >= 0, images > 0, max_fit_gb > 0 and max_held_gb > 0 needed, got {self}"
            )
        if self.components > self.images:
            raise ConfigError(
                f"reduction: {self.components} components need at least as many fit images, got images={self.images}"
            )

    @property
    def key(self) -> str:
        """Folder name of activations reduced this way (``none`` or ``pca1000-cifar10test1000``)."""
        return f"pca{self.components}-cifar10test{self.images}" if self.components else "none"

    def describe(self) -> str:
        """One sentence saying what the reduction does."""
        if not self.components:
            return "no reduction (every feature, as Brain-Score scores a committed layer)"
        return (
            f"layers over {self.components} features: {self.components} principal components fitted on "
            f"{self.images} CIFAR-10 test images (Brain-Score's layer selection: LayerPCA, 1,000 components "
            "fitted on ImageNet validation images)"
        )


#: The reduction of Brain-Score's layer selection (LayerPCA, 1,000 components), fitted on local images.
LAYER_SELECTION = Reduction(components=1000, images=1000)


class PCAProjection:
    """PCA of a layer's activations, fitted through the images' Gram matrix.

    ``fit`` activations ``X`` (n, D) are centred in place; with ``G = Xc Xc^T = U diag(lam) U^T``
    the principal axes are ``v_k = Xc^T u_k / sqrt(lam_k)`` and a response ``y`` (D,) projects to
    ``(y - mean) . v_k`` -- scikit-learn's ``PCA.transform`` up to the sign of each component,
    without forming the ``D x k`` axes (memory: ``X`` itself). Components with
    ``lam_k <= 1e-10 lam_max`` (no variance) are dropped.
    """

    def __init__(self, X: torch.Tensor, components: int, chunk: int = 1 << 16):
        import torch

        n, dim = X.shape
        self.mean = X.mean(dim=0)
        X -= self.mean
        gram = torch.zeros(n, n, dtype=torch.float64)
        for start in range(0, dim, chunk):
            block = X[:, start : start + chunk].double()  # float64: float32 products lose the small components
            gram += block @ block.T
        eigenvalues, eigenvectors = torch.linalg.eigh(gram)  # ascending
        order = torch.argsort(eigenvalues, descending=True)[:components]
        keep = order[eigenvalues[order] > 1e-10 * eigenvalues.max()]
        self.basis = X  # (n, D), centred
        self.coefficients = (eigenvectors[:, keep] / eigenvalues[keep].sqrt()).float()  # (n, k)
        self.explained_variance = (eigenvalues[keep] / (n - 1)).float()

    @property
    def components(self) -> int:
        """Number of components kept."""
        return self.coefficients.shape[1]

    def __call__(self, Y: torch.Tensor) -> torch.Tensor:
        """Responses ``(B, D)`` -> component scores ``(B, k)``."""
        return ((Y - self.mean) @ self.basis.T) @ self.coefficients


def fit_groups(counts: dict[str, int], reduction: Reduction) -> list[list[str]]:
    """Layers (in the given order) grouped so each group's fit activations fit ``max_fit_gb``."""
    budget = reduction.max_fit_gb * 2**30
    groups: list[list[str]] = []
    used = math.inf
    for layer, count in counts.items():
        size = reduction.images * count * 4 if reduction.components and count > reduction.components else 0
        if used + size > budget:
            groups.append([])
            used = 0
        groups[-1].append(layer)
        used += size
    return groups


def held_bytes(counts: dict[str, int], stimuli: int, reduction: Reduction) -> int:
    """Bytes of float32 activations of ``stimuli`` images over the layers of ``counts`` (features
    each) after ``reduction``."""
    kept = (min(c, reduction.components) if reduction.components else c for c in counts.values())
    return 4 * stimuli * sum(kept)


def check_held(counts: dict[str, int], stimuli: int, reduction: Reduction) -> None:
    """Refuse (ConfigError) activations over ``reduction.max_held_gb``, before any image is run."""
    size = held_bytes(counts, stimuli, reduction) / 2**30
    if size > reduction.max_held_gb:
        largest = max(counts, key=counts.get)
        raise ConfigError(
            f"per-layer scores would hold {size:.1f} GiB of activations ({stimuli} images; {largest}: "
            f"{counts[largest]} features), over reduction.max_held_gb={reduction.max_held_gb}: set "
            "reduction.components=1000 (Brain-Score's layer-selection PCA, named in every row), score fewer "
            "layers or benchmarks, or raise reduction.max_held_gb"
        )
