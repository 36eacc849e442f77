"""Seeds as an axis: bootstrap replicates within one model, and the bootstrap over seeds and images.

Every model (one λ, one training seed) is analysed on the same images with the
same augmentations, so a quantity has, per model, a point value and ``B``
*within-seed replicates*: its value on ``B`` resamples of the images
(:func:`model_replicates`; resample ``b`` is the same for every model, so the
difference of two models' replicates is a bootstrap paired by image), or, for a
neural score, draws from a normal with Brain-Score's error (:func:`score_replicates`).

The interval of a mean over ``S`` seeds (:func:`seed_interval`) adds two levels: the
seeds, as the standard error of their mean, and the images, resampled with the same
resample for every seed (seeds and images are crossed: every seed saw the same images;
for a PLS score, Brain-Score's split error; for an RDM score, the same stimulus
resamples for every model, :mod:`analyses.neural.rdm_bootstrap`). An effect
``value(λ) − value(λ=0)`` goes through the same steps on its paired differences, so it
is paired by seed and by image.

With a handful of seeds a percentile interval of a seed bootstrap is far too narrow:
with 3 seeds it is about the range of the seeds, so an effect whose seeds merely agree
in sign (probability 1/4 under no effect) would "exclude 0". The seed level therefore
enters as ``t(S−1) · SE`` (Student's t with ``S − 1`` degrees of freedom), the image
level as ``z · SD`` (many images: the normal quantile). ``tests/test_figure1.py``
checks coverage and the false-positive rate of this rule by simulation, with an image
term. One seed: the percentile interval of its images (or error) alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from analyses.hierarchical import combined_interval
from analyses.measures import bootstrap_counts, interval
from neuroequi.io import atomic_write

#: Panel 2-5 quantities of one model (absolute values; the table takes their differences to λ=0).
DISTANCES = ("shared_variability", "content_augmentation_factorization", "crop_photometric_factorization")
LEVEL = 0.95


def model_replicates(analysis_dir: Path, n_boot: int, seed: int) -> xr.Dataset:
    """Point values and image-bootstrap replicates of one model's panel 2-5 quantities.

    Reads ``image_measures.nc`` and ``decoding.nc`` (:func:`analyses.pipeline.analyze`).
    Returns a Dataset with one variable per quantity (the three :data:`DISTANCES`,
    ``decoding_r[<parameter>]`` and ``decoding_r_mean``) of dims ``(replicate,)``
    (``n_boot`` values: the quantity on images resampled with
    :func:`analyses.measures.bootstrap_counts` ``(n_images, n_boot, seed)``), its
    value on all images in ``attrs['value']``, and the image ids as coordinate ``image``.
    """
    from analyses.pipeline import DECODING, IMAGE_MEASURES, load_decoding, load_image_measures

    measures = load_image_measures(analysis_dir / IMAGE_MEASURES)
    decoding = load_decoding(analysis_dir / DECODING)["decoding_r"]
    images = measures[DISTANCES[0]].images
    if any(not np.array_equal(measures[q].images, images) for q in DISTANCES) or not np.array_equal(
        decoding.images, images
    ):
        raise ValueError(f"{analysis_dir}: the measures were taken on different images")
    counts = bootstrap_counts(len(images), n_boot, seed)
    values = {q: (measures[q].mean(), measures[q].resampled(counts)) for q in DISTANCES}
    boot, r = decoding.fold_mean_r(counts[:, decoding.groups]), decoding.r()
    values |= {f"decoding_r[{name}]": (float(r[p]), boot[:, p]) for p, name in enumerate(decoding.parameters)}
    values["decoding_r_mean"] = (float(r.mean()), boot.mean(axis=1))
    variables = {
        q: xr.DataArray(reps, dims=("replicate",), attrs={"value": float(value)}) for q, (value, reps) in values.items()
    }
    return xr.Dataset(variables, coords={"image": ("image", images)}, attrs={"n_boot": n_boot, "seed": seed})


def save_replicates(data: xr.Dataset, path: Path) -> Path:
    """Write :func:`model_replicates`' dataset (atomic)."""
    with atomic_write(path) as tmp:
        data.to_netcdf(tmp, engine="h5netcdf")
    return path


def score_replicates(value: float, error: float, n_boot: int, seed: int | tuple[int, ...]) -> np.ndarray:
    """Within-seed replicates ``(n_boot,)`` of a neural score: ``value + error·z``, z standard normal
    (Brain-Score's error: the standard error over its cross-validation splits); ``value`` repeated
    when the benchmark gives no error (NaN)."""
    if not np.isfinite(error) or error == 0:
        return np.full(n_boot, value)
    return value + error * np.random.default_rng(seed).standard_normal(n_boot)


def seed_terms(points: np.ndarray, replicates: np.ndarray) -> tuple[float, float]:
    """``(SE_seeds, SD_images)`` of the mean over seeds of a quantity with per-seed ``points`` ``(S,)`` and
    within-seed ``replicates`` ``(S, n_within)``: the standard error of the mean of the seeds,
    ``SD(points) / sqrt(S)`` (NaN for one seed), and the SD of the mean over seeds on each image resample
    (or Brain-Score error draw, or stimulus resample)."""
    sd_seeds = float(np.std(points, ddof=1) / np.sqrt(len(points))) if len(points) > 1 else np.nan
    return sd_seeds, float(np.std(replicates.mean(axis=0), ddof=1))


def seed_interval(points: np.ndarray, replicates: np.ndarray) -> tuple[float, float]:
    """The :data:`LEVEL` interval of the mean over seeds of a quantity with per-seed ``points`` ``(S,)``
    and within-seed ``replicates`` ``(S, n_within)``: ``mean ± sqrt((t·SE_seeds)² + (z·SD_images)²)``
    (:func:`seed_terms`); ``t``, ``z``: the quantiles of Student's t with ``S − 1`` degrees of freedom and of
    the normal. One seed: the percentile interval of its replicates. NaNs where nothing varies.
    """
    if len(points) == 1:
        return percentile_interval(replicates[0])
    sd_seeds, sd_images = seed_terms(points, replicates)
    if sd_seeds == 0 and sd_images == 0:
        return np.nan, np.nan
    return combined_interval(float(points.mean()), sd_seeds, sd_images, len(points), LEVEL)


def percentile_interval(samples: np.ndarray) -> tuple[float, float]:
    """The central :data:`LEVEL` interval of bootstrap ``samples``; NaNs when they do not vary (no interval)."""
    if np.ptp(samples) == 0:
        return np.nan, np.nan
    return interval(samples, LEVEL)
