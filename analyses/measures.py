"""The representational measures of Figure 1 (panels 2-5), with bootstrap intervals over images.

Notation: ``h(x)`` is a layer's response (N neuroids) to image ``x``;
``t_1..t_K`` are augmentations (parameter sets) from a policy. For an image
``x``, ``Σ_aug(x)`` is the covariance over k of ``h(t_k(x))`` (samples centred
on that image's mean over augmentations); ``Σ_crop(x)`` / ``Σ_photo(x)`` are
the same under a crop-only / photometric-only policy; ``Σ_content`` is the
covariance of the clean responses ``h(x)`` over the image set. ``D_B`` is the
trace-normalised Bures distance of :mod:`analyses.bures`, in [0, √2]:
0 = same covariance shape, √2 = covariances on orthogonal subspaces.

Quantities (ids as in the tidy tables; each is a *distance*, never its negative)
-----------------------------------------------------------------------------
``shared_variability``
    ``mean_{i<j} D_B(Σ_aug(x_i), Σ_aug(x_j))`` over pairs of distinct images
    under the *same* K parameter sets (matched ensemble). Low = augmentations
    move every image's response in the same directions by the same amounts.
``content_augmentation_factorization``
    ``mean_i D_B(Σ_aug(x_i), Σ_content)``. High = augmentation variability of
    an image lies in directions the content (image-to-image) variability
    does not use: content and augmentation are factorized.
``crop_photometric_factorization``
    ``mean_i D_B(Σ_crop(x_i), Σ_photo(x_i))``. High = crops and photometric
    changes move the response in different directions: factorized.
``decoding_r[<param>]``, ``decoding_r_mean``
    Ridge regression (features z-scored, ridge strength chosen per parameter
    by exact leave-one-out on the training rows only:
    :func:`analyses.linalg.ridge_loo_predict`, equal to scikit-learn's
    ``StandardScaler`` + ``RidgeCV(alpha_per_target=True)``) from ``h(t(x))`` to each
    recorded parameter, GroupKFold over images (no image in both train and
    test); r = Pearson correlation of held-out predictions with the true
    values within each test fold, averaged over folds (pooling the folds'
    predictions instead would bias r below 0 at chance, since each fold's
    predictions lean toward its training mean); ``_mean`` = mean of the
    per-parameter r.
    ``decoding_diff_r[...]`` is the same from ``h(t(x)) - h(x)``.
``delta_<quantity>``
    ``value(model) - value(baseline)`` on the same images, the paper's
    ``E[ΔD_B]`` (its baseline is the λ=0 model, so λ=0 is 0 by definition).

Mapping to the TeSSL paper's wording
------------------------------------
The paper's panels plot ``E[ΔD_B]`` against λ; its captions describe the
trends as *more shared augmentation variability* and *more factorization*.
With the definitions above: more *shared* variability than the baseline
means ``delta_shared_variability < 0`` (a smaller distance between two
images' augmentation covariances); more factorization of content vs
augmentation, or of crop vs photometric, than the baseline means
``delta_content_augmentation_factorization > 0`` /
``delta_crop_photometric_factorization > 0`` (a larger distance). Tables and
axis labels always state the raw distance difference, never a flipped sign.

Bootstrap: images are resampled with replacement (B resamples, percentile
interval). A per-image quantity is re-averaged with the resampled
multiplicities; a per-pair quantity is averaged over pairs of *distinct*
original images with weight ``c_i c_j``; decoding r is recomputed on the
held-out predictions of the resampled images' rows (per fold, then averaged). ``delta_*`` resamples
the same images for the model and the baseline (a paired bootstrap).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import xarray as xr
from sklearn.model_selection import GroupKFold

from analyses.bures import bures_distance_from_samples, pairwise_bures_distance_from_samples
from analyses.linalg import resolve_device, ridge_loo_predict
from analyses.responses import CLEAN_DIMS, DIMS, parameter_table
from neuroequi.errors import ConfigError

__all__ = [
    "DECODED_PARAMETERS",
    "DecodingResult",
    "ImageMeasure",
    "augmentation_decoding",
    "bootstrap_counts",
    "check_decoding_size",
    "content_augmentation_factorization",
    "crop_photometric_factorization",
    "delta",
    "interval",
    "require_finite",
    "shared_variability",
]

DECODED_PARAMETERS: tuple[str, ...] = (
    "crop_x",
    "crop_y",
    "crop_w",
    "crop_h",
    "flip",
    "brightness",
    "contrast",
    "saturation",
    "hue",
    "grayscale",
    "blur_sigma",
    "solarize",
)
"""Parameters decoded by default (those that vary in the ensemble): the relative crop box,
the flip/grayscale/solarize flags, the jitter factors and the blur width. Image sizes,
pixel crop boxes (redundant) and the categorical jitter order are left out."""

ALPHAS = np.logspace(-8, 6, 15)
TableRow = dict[str, object]

#: GroupKFold folds of :func:`augmentation_decoding` (over images).
DECODING_FOLDS = 5
#: Fewest augmented views (rows) a test fold may hold: the within-fold Pearson r of a flag that
#: is on with probability 0.2 (grayscale) is undefined when all of a fold's rows agree; with 4
#: rows per fold (5 images, K=4) that happens in every fold in about 1% of draws (a NaN row).
MIN_FOLD_ROWS = 6


def check_decoding_size(n_images: int, K: int, where: str = "analysis") -> None:
    """ConfigError unless ``n_images`` images with ``K`` augmentations each give every test fold of
    the decoding's :data:`DECODING_FOLDS`-fold split at least :data:`MIN_FOLD_ROWS` rows
    (the smallest fold holds ``n_images // DECODING_FOLDS`` images)."""
    if n_images < DECODING_FOLDS or (n_images // DECODING_FOLDS) * K < MIN_FOLD_ROWS:
        need = DECODING_FOLDS * -(-MIN_FOLD_ROWS // max(K, 1))
        raise ConfigError(
            f"{where} n_images={n_images} with K={K} is too few images for the augmentation decoding: its "
            f"{DECODING_FOLDS}-fold cross-validation over images needs >= {MIN_FOLD_ROWS} augmented views per "
            f"test fold, i.e. n_images >= {need} for K={K}"
        )


def bootstrap_counts(n_images: int, n_boot: int, seed: int) -> np.ndarray:
    """Multiplicities ``(n_boot, n_images)`` of each image in ``n_boot`` resamples with replacement."""
    if n_images < 2 or n_boot < 1:
        raise ValueError(f"bootstrap needs >= 2 images and >= 1 resample, got {n_images} and {n_boot}")
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_images, np.full(n_images, 1.0 / n_images), size=n_boot).astype(np.float64)


def interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    """Central percentile interval at ``level`` of bootstrap samples (NaNs ignored)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level must be in (0, 1), got {level}")
    tail = 50.0 * (1.0 - level)
    low, high = np.nanpercentile(samples, [tail, 100.0 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class ImageMeasure:
    """A distance measured per image ``(I,)`` or per image pair ``(I, I)`` (symmetric, diagonal unused).

    ``quantity`` is the stable id, ``label`` the exact definition, ``images``
    the ids of the I images (the bootstrap unit).
    """

    quantity: str
    label: str
    values: np.ndarray
    images: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.images)
        if self.values.shape not in ((n,), (n, n)):
            raise ValueError(f"{self.quantity}: values must be ({n},) or ({n}, {n}), got {self.values.shape}")
        if n < (1 if self.values.ndim == 1 else 2):
            raise ConfigError(
                f"{self.quantity}: {n} image(s) is too few for a mean over "
                f"{'images' if self.values.ndim == 1 else 'pairs of distinct images'}"
            )
        off = self.values if self.values.ndim == 1 else self.values[~np.eye(n, dtype=bool)]  # diagonal unused
        require_finite(off, f"{self.quantity} values")

    def resampled(self, counts: np.ndarray) -> np.ndarray:
        """The mean under image multiplicities ``counts`` (B, I) -> (B,)."""
        if self.values.ndim == 1:
            return counts @ self.values / counts.sum(axis=1)
        off = self.values.copy()
        np.fill_diagonal(off, 0.0)
        pairs = counts.sum(axis=1) ** 2 - np.sum(counts**2, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.einsum("bi,ij,bj->b", counts, off, counts) / pairs

    def mean(self) -> float:
        """Mean over images, or over pairs of distinct images."""
        return float(self.resampled(np.ones((1, len(self.images))))[0])

    def row(self, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> TableRow:
        """One tidy row: quantity, label, value (the mean), bootstrap interval, n images."""
        counts = bootstrap_counts(len(self.images), n_boot, seed)
        low, high = interval(self.resampled(counts), level)
        return {
            "quantity": self.quantity,
            "label": self.label,
            "value": self.mean(),
            "ci_low": low,
            "ci_high": high,
            "n": len(self.images),
        }


def delta(
    measure: ImageMeasure, baseline: ImageMeasure, n_boot: int = 1000, level: float = 0.95, seed: int = 0
) -> TableRow:
    """``measure - baseline`` on the same images with a paired bootstrap interval.

    The baseline's images are put in ``measure``'s order; both must hold the
    same set of image ids and the same quantity.
    """
    if measure.quantity != baseline.quantity:
        raise ValueError(f"cannot subtract {baseline.quantity!r} from {measure.quantity!r}")
    order = pd.Index(baseline.images).get_indexer(measure.images)
    if len(baseline.images) != len(measure.images) or np.any(order < 0):
        raise ValueError(f"{measure.quantity}: model and baseline were measured on different images")
    base_values = baseline.values[order] if baseline.values.ndim == 1 else baseline.values[np.ix_(order, order)]
    aligned = ImageMeasure(baseline.quantity, baseline.label, base_values, measure.images)
    counts = bootstrap_counts(len(measure.images), n_boot, seed)
    low, high = interval(measure.resampled(counts) - aligned.resampled(counts), level)
    return {
        "quantity": f"delta_{measure.quantity}",
        "label": f"Δ[{measure.label}] = model − baseline",
        "value": measure.mean() - aligned.mean(),
        "ci_low": low,
        "ci_high": high,
        "n": len(measure.images),
    }


def require_finite(values: np.ndarray, name: str) -> np.ndarray:
    """``values`` unchanged when every entry is finite; ConfigError naming ``name``, how many entries
    are NaN or ±inf and the first one's index otherwise (an analysis never drops or averages them away)."""
    bad = ~np.isfinite(values)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ConfigError(
            f"{name} hold {int(bad.sum())} NaN or inf value(s) of {values.size} (first at index "
            f"{first}); the analysis needs finite values"
        )
    return values


def _values_and_images(
    data: np.ndarray | xr.DataArray, dims: tuple[str, ...], name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Float64 values in ``dims`` order and image ids ``(I,)`` from an array or a DataArray."""
    if isinstance(data, xr.DataArray):
        if set(data.dims) != set(dims):
            raise ValueError(f"{name} must have dims {dims}, got {data.dims}")
        values = require_finite(data.transpose(*dims).values.astype(np.float64), name)
        return values, np.asarray(data.coords["image"].values)
    values = np.asarray(data, dtype=np.float64)
    if values.ndim != len(dims):
        raise ValueError(f"{name} must be {dims}, got shape {values.shape}")
    return require_finite(values, name), np.arange(values.shape[0])


def _ensemble(responses: np.ndarray | xr.DataArray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Responses ``(I, K, N)`` with K >= 2 and image ids."""
    values, images = _values_and_images(responses, DIMS, name)
    if values.shape[1] < 2:
        raise ValueError(f"{name} need at least 2 augmentations per image, got shape {values.shape}")
    return values, images


def _clean(responses: np.ndarray | xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """Clean responses ``(I, N)`` with I >= 2 and image ids."""
    values, images = _values_and_images(responses, CLEAN_DIMS, "clean responses")
    if values.shape[0] < 2:
        raise ValueError(f"clean responses need at least 2 images, got shape {values.shape}")
    return values, images


def _same_images(a: np.ndarray, b: np.ndarray, what: str) -> None:
    if len(a) != len(b) or not np.array_equal(a, b):
        raise ValueError(f"{what} must cover the same images in the same order")


def shared_variability(matched: np.ndarray | xr.DataArray, device: str | None = None) -> ImageMeasure:
    """``D_B(Σ_aug(x_i), Σ_aug(x_j))`` for every pair of distinct images (mean: over pairs i<j).

    Args:
        matched: responses ``(I, K, N)`` where augmentation k used the same
            parameters on every image (a matched ensemble). A DataArray is
            checked: its relative crop boxes and photometric parameters must
            agree across images.
        device: where the distances are computed (:func:`analyses.bures.bures_distance`).
    """
    values, images = _ensemble(matched, "matched responses")
    if isinstance(matched, xr.DataArray):
        params, names = parameter_table(matched)
        varying = [
            n
            for p, n in enumerate(names)
            if not n.startswith("image_")
            and not n.endswith("_px")
            and not np.allclose(params[:, :, p], params[:1, :, p])
        ]
        if varying:
            raise ValueError(f"shared_variability needs a matched ensemble; parameters {varying} differ across images")
    label = "D_B(Σ_aug(x_i), Σ_aug(x_j)), same K augmentations on both images; mean over image pairs i<j"
    return ImageMeasure(
        "shared_variability", label, pairwise_bures_distance_from_samples(values, device=device), images
    )


def content_augmentation_factorization(
    augmented: np.ndarray | xr.DataArray, clean: np.ndarray | xr.DataArray, device: str | None = None
) -> ImageMeasure:
    """``D_B(Σ_aug(x_i), Σ_content)`` per image; ``Σ_content`` = covariance of ``clean`` over its images.

    Args:
        augmented: responses ``(I, K, N)`` to K augmentations of each image.
        clean: clean responses ``(I', N)`` over the image set that defines
            content variability (usually a superset of, or the same as, the I images).
        device: where the distances are computed.
    """
    values, images = _ensemble(augmented, "augmented responses")
    content, _ = _clean(clean)
    distances = np.atleast_1d(bures_distance_from_samples(values, content[None], device=device))
    label = "D_B(Σ_aug(x), Σ_content), Σ_content = covariance of clean responses over the image set; mean over images"
    return ImageMeasure("content_augmentation_factorization", label, distances, images)


def crop_photometric_factorization(
    crop: np.ndarray | xr.DataArray, photometric: np.ndarray | xr.DataArray, device: str | None = None
) -> ImageMeasure:
    """``D_B(Σ_crop(x_i), Σ_photo(x_i))`` per image.

    Args:
        crop: responses ``(I, K, N)`` under a crop-only policy.
        photometric: responses ``(I, K', N)`` of the same images under a photometric-only policy.
        device: where the distances are computed.
    """
    crop_values, images = _ensemble(crop, "crop-only responses")
    photo_values, photo_images = _ensemble(photometric, "photometric-only responses")
    _same_images(images, photo_images, "crop-only and photometric-only responses")
    distances = np.atleast_1d(bures_distance_from_samples(crop_values, photo_values, device=device))
    label = "D_B(Σ_crop(x), Σ_photo(x)); mean over images"
    return ImageMeasure("crop_photometric_factorization", label, distances, images)


def _shifted(values: np.ndarray) -> np.ndarray:
    """``values`` ``(R, P)`` minus, in each column, its value on the row nearest the column's mean."""
    nearest = np.abs(values - values.mean(axis=0)).argmin(axis=0)
    return values - values[nearest, np.arange(values.shape[1])]


def _weighted_r(targets: np.ndarray, predictions: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Pearson r of each column of ``targets`` with the same column of ``predictions`` (both ``(R, P)``) under
    row weights ``(B, R)`` -> ``(B, P)``; NaN where the weights are all zero (a fold left out of a resample) or
    a column is constant on the weighted rows.

    Every weighted sum comes from one float64 matrix product ``weights @ [1, t, p, t², p², t·p]`` (torch: numpy's
    BLAS can be slow here). Each column is first shifted by its value on the row nearest its mean, so the sums of
    squares cancel only the small distance between a resample's mean and that value (the accuracy of centring
    each resample first); a variance that is not positive (a flag constant on the weighted rows, where round-off
    of the expanded sums could leave a tiny residue) gives NaN, as the centred formula's exact 0 did.
    """
    t, p = _shifted(targets), _shifted(predictions)
    columns = np.concatenate([np.ones((len(t), 1)), t, p, t * t, p * p, t * p], axis=1)  # (R, 1 + 5P)
    sums = (torch.from_numpy(np.ascontiguousarray(weights, dtype=np.float64)) @ torch.from_numpy(columns)).numpy()
    total, st, sp, stt, spp, stp = sums[:, :1], *np.split(sums[:, 1:], 5, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        var_t, var_p = stt - st * st / total, spp - sp * sp / total
        r = (stp - st * sp / total) / np.sqrt(var_t * var_p)
    return np.where((var_t > 0) & (var_p > 0), r, np.nan)


@dataclass(frozen=True)
class DecodingResult:
    """Held-out predictions of each decoded parameter.

    ``targets``/``predictions``: ``(R, P)`` over rows ``R = I·K`` (image-major),
    ``groups`` ``(R,)`` the image index of each row, ``folds`` ``(R,)`` the
    test fold of each row, ``images`` the I ids, ``source`` "responses" or
    "difference" (``h(t(x)) - h(x)``).
    """

    parameters: tuple[str, ...]
    targets: np.ndarray
    predictions: np.ndarray
    groups: np.ndarray
    folds: np.ndarray
    images: np.ndarray
    source: str

    @property
    def prefix(self) -> str:
        return "decoding_r" if self.source == "responses" else "decoding_diff_r"

    def fold_mean_r(self, weights: np.ndarray) -> np.ndarray:
        """Per-parameter r under row weights ``(B, R)``: within-fold r averaged over folds -> (B, P)."""
        per_fold = [
            _weighted_r(self.targets[rows], self.predictions[rows], weights[:, rows])
            for rows in (self.folds == fold for fold in np.unique(self.folds))
        ]
        with np.errstate(invalid="ignore"):
            return np.nanmean(np.stack(per_fold, axis=1), axis=1)

    def r(self) -> np.ndarray:
        """Pearson r per parameter ``(P,)``: within each test fold, averaged over folds."""
        return self.fold_mean_r(np.ones((1, len(self.groups))))[0]

    def rows(self, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> list[TableRow]:
        """Tidy rows: one per parameter and one for the mean over parameters, with image-bootstrap intervals."""
        boot = self.fold_mean_r(bootstrap_counts(len(self.images), n_boot, seed)[:, self.groups])
        r = self.r()
        what = "h(t(x))" if self.source == "responses" else "h(t(x)) − h(x)"
        rows = []
        for p, name in enumerate(self.parameters):
            low, high = interval(boot[:, p], level)
            label = f"Pearson r, held-out images, ridge {what} → {name}"
            rows.append(
                {
                    "quantity": f"{self.prefix}[{name}]",
                    "label": label,
                    "value": float(r[p]),
                    "ci_low": low,
                    "ci_high": high,
                    "n": len(self.images),
                }
            )
        low, high = interval(boot.mean(axis=1), level)
        label = f"mean over {len(self.parameters)} parameters of Pearson r, held-out images, ridge {what} → parameter"
        rows.append(
            {
                "quantity": f"{self.prefix}_mean",
                "label": label,
                "value": float(r.mean()),
                "ci_low": low,
                "ci_high": high,
                "n": len(self.images),
            }
        )
        return rows


def augmentation_decoding(
    responses: np.ndarray | xr.DataArray,
    params: np.ndarray | None = None,
    columns: Sequence[str] | None = None,
    parameters: Sequence[str] | None = None,
    clean: np.ndarray | xr.DataArray | None = None,
    n_splits: int = DECODING_FOLDS,
    device: str | None = None,
) -> DecodingResult:
    """Cross-validated ridge decoding of augmentation parameters, folds split by image.

    Args:
        responses: ``(I, K, N)`` responses to K augmentations of each image
            (independently sampled per image); a DataArray carries its
            parameters as ``param_*`` coordinates.
        params: ``(I, K, P)`` parameter values, required for a plain array.
        columns: names of the P columns of ``params``, required with it.
        parameters: which columns to decode; default: the
            :data:`DECODED_PARAMETERS` (or, if none is recorded, all columns)
            that vary in the ensemble.
        clean: clean responses ``(I, N)`` of the same images: decode from
            ``h(t(x)) - h(x)`` instead of ``h(t(x))``.
        n_splits: GroupKFold folds (at most I).
        device: where the regressions run (torch float64; default the CPU).
    """
    dev = resolve_device(device)
    values, images = _ensemble(responses, "responses")
    if isinstance(responses, xr.DataArray):
        table, names = parameter_table(responses)
    elif params is None or columns is None:
        raise ValueError("a plain responses array needs params (I, K, P) and their column names")
    else:
        table, names = np.asarray(params, dtype=np.float64), tuple(columns)
    if table.shape[:2] != values.shape[:2] or table.shape[2] != len(names):
        raise ValueError(f"params shape {table.shape} does not match responses {values.shape} and {len(names)} names")
    for column, name in enumerate(names):  # a NaN would make its parameter look constant and be dropped
        require_finite(table[:, :, column], f"augmentation parameter {name!r}")
    if parameters is None:
        candidates = [n for n in DECODED_PARAMETERS if n in names] or list(names)
        chosen = [n for n in candidates if np.ptp(table[:, :, names.index(n)]) > 0]
    else:
        chosen = list(parameters)
        unknown = [n for n in chosen if n not in names]
        if unknown:
            raise ValueError(f"unknown parameters {unknown}; recorded: {names}")
    if not chosen:
        raise ValueError(f"no recorded parameter varies in this ensemble; recorded: {names}")
    I, K, N = values.shape
    if not 2 <= n_splits <= I:
        raise ValueError(f"n_splits must be in 2..{I} (the number of images), got {n_splits}")
    source = "responses"
    if clean is not None:
        clean_values, clean_images = _clean(clean)
        _same_images(images, clean_images, "augmented and clean responses")
        values = values - clean_values[:, None, :]
        source = "difference"
    X = values.reshape(I * K, N)
    Y = table[:, :, [names.index(n) for n in chosen]].reshape(I * K, len(chosen))
    groups = np.repeat(np.arange(I), K)
    predictions = np.empty_like(Y)
    folds = np.empty(len(Y), dtype=np.int64)
    X_t, Y_t = torch.from_numpy(X).to(dev), torch.from_numpy(Y).to(dev)
    for fold, (train, test) in enumerate(GroupKFold(n_splits=n_splits).split(X, Y, groups)):
        rows, held_out = torch.from_numpy(train).to(dev), torch.from_numpy(test).to(dev)
        fitted, _ = ridge_loo_predict(X_t[rows], Y_t[rows], X_t[held_out], ALPHAS)
        predictions[test] = fitted.cpu().numpy()
        folds[test] = fold
    return DecodingResult(tuple(chosen), Y, predictions, groups, folds, images, source)
