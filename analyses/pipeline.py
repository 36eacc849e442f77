"""Responses and every Figure-1 measure on one model, as files the next step reads.

Python entry point: :func:`analyze` (a :class:`model_zoo.LoadedModel` from
:func:`model_zoo.load`, an :class:`AnalysisConfig`, an output folder);
``neuroequi analyze`` (:mod:`analyses.cli`) is a thin command around it.

Files written to ``out_dir``:

* ``responses/responses-<ensemble>-<key>.nc``: the NetCDF responses (also the
  cache: a rerun with the same inputs reads them instead of recomputing);
* ``image_measures.nc``: the per-image (and per-image-pair) distances, which
  :func:`delta_table` compares against a baseline model's (ΔD_B);
* ``decoding.nc``: the held-out predictions of both decodings (:func:`load_decoding`),
  from which decoding r can be recomputed on resampled images;
* ``measures.csv``: the tidy table, one row per measure, columns
  :data:`TABLE_COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import xarray as xr
from torch import nn

from analyses.config import AnalysisConfig
from analyses.equivariance import equimod_equivariance
from analyses.measures import DecodingResult, ImageMeasure, augmentation_decoding, check_decoding_size, delta
from analyses.measures import shared_variability
from analyses.measures import content_augmentation_factorization, crop_photometric_factorization
from analyses.probe import cifar10_subset, imagefolder_subset, linear_probe
from analyses.responses import extract_ensembles
from model_zoo import LoadedModel
from neuroequi.augment import get_policy
from neuroequi.errors import ConfigError
from neuroequi.io import atomic_write, output_folder

__all__ = [
    "DECODING",
    "IMAGE_MEASURES",
    "TABLE",
    "TABLE_COLUMNS",
    "AnalysisConfig",
    "analyze",
    "check_baseline",
    "delta_table",
    "equimod_method",
    "load_decoding",
    "load_image_measures",
    "save_decoding",
    "save_image_measures",
]

TABLE_COLUMNS = (
    "model",
    "weights_sha256",
    "layer",
    "quantity",
    "label",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "policy",
    "K",
    "seed",
    "n_images",
    "precision",
)
IMAGE_MEASURES = "image_measures.nc"
DECODING = "decoding.nc"
TABLE = "measures.csv"


def equimod_method(model: LoadedModel) -> nn.Module | None:
    """The full EquiMod method of a model loaded from a neuroequi checkpoint file; None otherwise."""
    from neuroequi.checkpoint import load_checkpoint
    from neuroequi.train import load_method
    from neuroequi.errors import CheckpointError

    if model.entry.source.kind != "path":
        return None
    try:
        meta = load_checkpoint(model.entry.source.location)["meta"]
    except CheckpointError:
        return None
    return load_method(model.entry.source.location) if meta.get("equivariance") == "equimod" else None


def save_image_measures(measures: list[ImageMeasure], path: Path) -> Path:
    """The per-image / per-pair values of ``measures`` as one NetCDF dataset (atomic write)."""
    variables = {}
    for m in measures:
        dims = ("image",) if m.values.ndim == 1 else ("image", "image_2")
        coords = {"image": m.images} if m.values.ndim == 1 else {"image": m.images, "image_2": m.images}
        variables[m.quantity] = xr.DataArray(m.values, dims=dims, coords=coords, attrs={"label": m.label})
    with atomic_write(path) as tmp:
        xr.Dataset(variables).to_netcdf(tmp, engine="h5netcdf")
    return path


def load_image_measures(path: Path) -> dict[str, ImageMeasure]:
    """Inverse of :func:`save_image_measures`: ``{quantity: ImageMeasure}``."""
    data = xr.load_dataset(path, engine="h5netcdf")
    return {
        name: ImageMeasure(name, var.attrs["label"], var.values, var.coords["image"].values)
        for name, var in data.data_vars.items()
    }


def save_decoding(results: list[DecodingResult], path: Path) -> Path:
    """The held-out predictions of ``results`` (distinct sources) as one NetCDF dataset (atomic write).

    Per result, variables ``<prefix>_targets`` / ``<prefix>_predictions`` ``(row, <prefix>_parameter)``
    and ``<prefix>_groups`` / ``<prefix>_folds`` ``(row,)``; coordinate ``image`` (the I ids).
    """
    variables = {}
    for r in results:
        dims = ("row", f"{r.prefix}_parameter")
        coords = {dims[1]: list(r.parameters)}
        variables[f"{r.prefix}_targets"] = xr.DataArray(r.targets, dims=dims, coords=coords, attrs={"source": r.source})
        variables[f"{r.prefix}_predictions"] = xr.DataArray(r.predictions, dims=dims, coords=coords)
        variables[f"{r.prefix}_groups"] = xr.DataArray(r.groups, dims=("row",))
        variables[f"{r.prefix}_folds"] = xr.DataArray(r.folds, dims=("row",))
    images = results[0].images
    with atomic_write(path) as tmp:
        xr.Dataset(variables, coords={"image": images}).to_netcdf(tmp, engine="h5netcdf")
    return path


def load_decoding(path: Path) -> dict[str, DecodingResult]:
    """Inverse of :func:`save_decoding`: ``{prefix: DecodingResult}`` (``decoding_r``, ``decoding_diff_r``)."""
    data = xr.load_dataset(path, engine="h5netcdf")
    out = {}
    for name in (n[: -len("_targets")] for n in data.data_vars if n.endswith("_targets")):
        targets = data[f"{name}_targets"]
        out[name] = DecodingResult(
            tuple(str(p) for p in targets.coords[f"{name}_parameter"].values),
            targets.values,
            data[f"{name}_predictions"].values,
            data[f"{name}_groups"].values,
            data[f"{name}_folds"].values,
            data.coords["image"].values,
            targets.attrs["source"],
        )
    return out


def delta_table(out_dir: str | Path, baseline_dir: str | Path, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """``delta_<quantity>`` rows (model − baseline, paired bootstrap over images) for every
    per-image distance both analyses saved; image sets must agree."""
    model = load_image_measures(Path(out_dir) / IMAGE_MEASURES)
    base = load_image_measures(Path(baseline_dir) / IMAGE_MEASURES)
    rows = [delta(model[q], base[q], n_boot=n_boot, seed=seed) for q in model if q in base]
    return pd.DataFrame(rows)


def check_paths(out_dir: str | Path, baseline_dir: str | Path | None = None) -> None:
    """ConfigError, before any work, when ``out_dir`` names something other than a folder or
    ``baseline_dir`` holds no finished analysis (its ``image_measures.nc``)."""
    output_folder(out_dir, "analysis output (--out)")
    if baseline_dir is not None and not (Path(baseline_dir) / IMAGE_MEASURES).is_file():
        what = "does not exist" if not Path(baseline_dir).exists() else f"holds no {IMAGE_MEASURES}"
        raise ConfigError(
            f"baseline {str(baseline_dir)!r} {what}; --baseline names the --out folder of a "
            "finished analysis of the baseline (λ=0) model"
        )


#: What a baseline must share with the analysis it is subtracted from (columns of its ``measures.csv``).
BASELINE_KEYS = ("layer", "policy", "K", "seed", "n_images")


def check_baseline(baseline_dir: str | Path, images: Sequence, **context) -> None:
    """ConfigError, before any work, unless the finished analysis in ``baseline_dir`` was measured
    with the same :data:`BASELINE_KEYS` (``context``: this analysis's values) and on the same images
    (``images``: their ids); the message names every key that differs with both values."""
    table_path = Path(baseline_dir) / TABLE
    if not table_path.is_file():
        raise ConfigError(f"baseline {str(baseline_dir)!r} holds no {TABLE}: its analysis did not finish")
    first = pd.read_csv(table_path, nrows=1)
    if first.empty or not set(BASELINE_KEYS) <= set(first.columns):
        raise ConfigError(f"baseline table {str(table_path)!r} lacks the columns {list(BASELINE_KEYS)}")
    theirs = first.iloc[0]
    differ = [
        f"{key} {theirs[key]!r} (baseline) != {context[key]!r}"
        for key in BASELINE_KEYS
        if str(theirs[key]) != str(context[key])
    ]
    base_images = next(iter(load_image_measures(Path(baseline_dir) / IMAGE_MEASURES).values())).images
    if sorted(map(str, base_images)) != sorted(map(str, images)):
        differ.append(f"images: {len(set(map(str, base_images)) ^ set(map(str, images)))} ids in one set only")
    if differ:
        raise ConfigError(
            f"baseline {str(baseline_dir)!r} was measured differently: {'; '.join(differ)}; "
            "ΔD_B compares like with like: analyse the baseline with the same settings"
        )


def analyze(
    model: LoadedModel, config: AnalysisConfig, out_dir: str | Path, *, baseline_dir: str | Path | None = None
) -> Path:
    """Responses to every ensemble, then all measures; writes the files listed in the module docstring.

    Args:
        model: the network (:func:`model_zoo.load`); a neuroequi checkpoint trained
            with EquiMod also gets the equivariance measures.
        config: see :class:`AnalysisConfig`.
        out_dir: output folder (created).
        baseline_dir: ``out_dir`` of the baseline model's analysis (λ = 0) on the
            same images, layer, K, policy and seed (:func:`check_baseline`, before any work):
            adds the ``delta_*`` rows.

    Returns:
        The path of the tidy table ``out_dir/measures.csv`` (columns :data:`TABLE_COLUMNS`).
    """
    check_paths(out_dir, baseline_dir)
    layer = model.layer(config.layer)
    policy_name = config.policy_name(model.image_size)
    policy = get_policy(policy_name, size=model.image_size)
    if config.images is None:
        images, _, ids = cifar10_subset("test", config.n_images, config.seed)
    else:
        images, _, ids = imagefolder_subset(config.images, config.n_images, config.seed)
        check_decoding_size(len(ids), config.K, f"analysis images={config.images!r}:")
    if baseline_dir is not None:
        check_baseline(
            baseline_dir, ids, layer=layer, policy=policy_name, K=config.K, seed=config.seed, n_images=len(ids)
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    extract = {
        "K": config.K,
        "seed": config.seed,
        "batch_size": config.batch_size,
        "precision": config.precision,
        "cache_dir": out / "responses",
        "progress": config.progress,
        "layer": layer,
    }
    responses = extract_ensembles(model, images, policy, image_ids=ids, **extract)
    image_measures = [
        shared_variability(responses["matched"]),
        content_augmentation_factorization(responses["full"], responses["clean"]),
        crop_photometric_factorization(responses["crop"], responses["photometric"]),
    ]
    save_image_measures(image_measures, out / IMAGE_MEASURES)
    boot = {"n_boot": config.n_boot, "seed": config.seed}
    rows = [m.row(**boot) for m in image_measures]
    decodings = [
        augmentation_decoding(responses["full"]),
        augmentation_decoding(responses["full"], clean=responses["clean"]),
    ]
    save_decoding(decodings, out / DECODING)
    rows += [row for decoding in decodings for row in decoding.rows(**boot)]
    equimod = equimod_method(model)
    if equimod is not None:
        rows += equimod_equivariance(
            equimod, images, policy, model.mean, model.std, seed=config.seed, batch_size=config.batch_size
        ).rows(**boot)
    if config.probe_train > 0:
        probe = linear_probe(
            model,
            policy,
            config.probe_train,
            config.probe_test,
            seed=config.seed,
            cache_dir=out / "responses",
            progress=config.progress,
            layer=layer,
            precision=config.precision,
            batch_size=config.batch_size,
        )
        rows.append(probe.row(**boot))
    table = pd.DataFrame(rows)
    if baseline_dir is not None:
        table = pd.concat([table, delta_table(out, baseline_dir, **boot)], ignore_index=True)
    context = {
        "model": model.identifier,
        "weights_sha256": model.sha256,
        "layer": layer,
        "policy": policy_name,
        "K": config.K,
        "seed": config.seed,
        "n_images": len(ids),
        "precision": config.precision,
    }
    table = table.assign(**context)[list(TABLE_COLUMNS)]
    with atomic_write(out / TABLE) as tmp:
        table.to_csv(tmp, index=False)
    return out / TABLE
