"""Responses of a model layer to augmentation ensembles, as xarray with provenance.

Layout (what every function here produces and :mod:`analyses.measures` reads)
------------------------------------------------------------------------------
* Augmented ensembles: ``xarray.DataArray`` with dims ``(image, augmentation,
  neuroid)``; coordinate ``image`` holds image ids (int or str), ``augmentation``
  0..K-1, ``neuroid`` 0..N-1. Every augmentation parameter column ``c`` of
  :data:`neuroequi.augment.COLUMNS` is a coordinate ``param_<c>`` with dims
  ``(image, augmentation)``. ``attrs["ensemble"]`` names the ensemble.
* Clean responses: dims ``(image, neuroid)``, ``attrs["ensemble"] = "clean"``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from model_zoo import LoadedModel
from model_zoo.activations import channels_last
from neuroequi.activations import layer_activations
from neuroequi.augment import AugParams, Policy, identity_params
from neuroequi.augment.images import ImageInput, as_images, image_sizes
from neuroequi.errors import ConfigError
from neuroequi.io import atomic_write, package_versions

#: Memory layout of the views and 4-d weights during extraction (part of the cache key).
LAYOUT = "channels_last"

DIMS: tuple[str, str, str] = ("image", "augmentation", "neuroid")
CLEAN_DIMS: tuple[str, str] = ("image", "neuroid")
PARAM_PREFIX = "param_"


def responses_array(
    values: np.ndarray,
    images: Sequence[object],
    params: np.ndarray,
    columns: Sequence[str],
    ensemble: str,
    attrs: dict[str, object] | None = None,
) -> xr.DataArray:
    """Wrap responses ``(I, K, N)`` and their parameters ``(I, K, P)`` in the layout above."""
    values = np.asarray(values)
    params = np.asarray(params, dtype=np.float64)
    if values.ndim != 3:
        raise ValueError(f"responses must be (image, augmentation, neuroid), got shape {values.shape}")
    if params.shape != values.shape[:2] + (len(columns),):
        raise ValueError(f"params must have shape {values.shape[:2] + (len(columns),)}, got {params.shape}")
    I, K, N = values.shape
    coords: dict[str, object] = {"image": list(images), "augmentation": np.arange(K), "neuroid": np.arange(N)}
    for p, column in enumerate(columns):
        coords[PARAM_PREFIX + column] = (("image", "augmentation"), params[:, :, p])
    return xr.DataArray(values, dims=DIMS, coords=coords, attrs={**(attrs or {}), "ensemble": ensemble})


def clean_array(values: np.ndarray, images: Sequence[object], attrs: dict[str, object] | None = None) -> xr.DataArray:
    """Wrap clean responses ``(I, N)`` in the layout above."""
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"clean responses must be (image, neuroid), got shape {values.shape}")
    coords = {"image": list(images), "neuroid": np.arange(values.shape[1])}
    return xr.DataArray(values, dims=CLEAN_DIMS, coords=coords, attrs={**(attrs or {}), "ensemble": "clean"})


def parameter_table(responses: xr.DataArray) -> tuple[np.ndarray, tuple[str, ...]]:
    """The augmentation parameters of an ensemble: values ``(I, K, P)`` and column names."""
    names = tuple(str(c)[len(PARAM_PREFIX) :] for c in responses.coords if str(c).startswith(PARAM_PREFIX))
    if not names:
        raise ValueError(f"responses have no {PARAM_PREFIX}* coordinates; coords are {list(responses.coords)}")
    values = np.stack(
        [responses.coords[PARAM_PREFIX + n].transpose("image", "augmentation").values for n in names], axis=-1
    )
    return values.astype(np.float64), names


# ---------------------------------------------------------------------------- extraction

ENSEMBLES: tuple[str, ...] = ("clean", "full", "matched", "crop", "photometric")
"""``clean``: the whole image; ``full``: K full-policy augmentations sampled independently per
image; ``matched``: the same K full-policy parameter sets on every image; ``crop`` /
``photometric``: K augmentations per image from the crop-only / photometric-only restriction."""

PRECISIONS: tuple[str, ...] = ("fp32", "bf16")


def ensemble_params(policy: Policy, ensemble: str, image_hw: torch.Tensor, K: int, seed: int) -> AugParams:
    """Parameters of an ensemble, ``I*K`` rows image-major (row ``i*K + k``: image i, augmentation k).

    The generator is seeded with ``seed``; ``matched`` samples K sets once and
    replays them on every image (crop boxes are relative, so each image's
    pixel box is recomputed from its size by :meth:`Policy.apply`).
    """
    if ensemble not in ENSEMBLES or ensemble == "clean":
        raise ConfigError(f"ensemble must be one of {ENSEMBLES[1:]}, got {ensemble!r}")
    if K < 2:
        raise ConfigError(f"K must be >= 2 augmentations per image, got {K}")
    generator = torch.Generator().manual_seed(seed)
    rows = image_hw.repeat_interleave(K, dim=0)
    if ensemble == "matched":
        once = policy.sample(K, generator, image_hw[:1].expand(K, 2))
        return once.repeat(image_hw.shape[0]).replace(image_h=rows[:, 0], image_w=rows[:, 1])
    restricted = policy.restrict({"full": "full", "crop": "crop", "photometric": "photometric"}[ensemble])
    return restricted.sample(rows.shape[0], generator, rows)


def _images_digest(images: torch.Tensor | list[torch.Tensor]) -> str:
    digest = hashlib.sha256()
    for image in images:
        digest.update(str(tuple(image.shape)).encode() + str(image.dtype).encode())
        digest.update(image.contiguous().numpy().tobytes())
    return digest.hexdigest()


def _responses_to_views(
    model: LoadedModel, layer: str, views: Iterable[torch.Tensor], total: int, precision: str, desc: str, progress: bool
) -> np.ndarray:
    """Run batches of views in [0, 1] through the network, on the device its weights are on, in
    channels-last layout (:data:`LAYOUT`: faster convolutions on CPU, values equal to NCHW up to float
    rounding; ``bench_responses.py`` measures both); the layer's flattened output ``(total, N)``."""
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    device = next(model.module.parameters(), torch.empty(0)).device
    mean = torch.tensor(model.mean, dtype=torch.float32, device=device).view(1, 3, 1, 1)
    std = torch.tensor(model.std, dtype=torch.float32, device=device).view(1, 3, 1, 1)
    with channels_last(model.module), torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        outputs = layer_activations(
            model.module,
            (((batch.to(device) - mean) / std).contiguous(memory_format=torch.channels_last) for batch in views),
            [layer],
            total=total,
            desc=desc,
            progress=progress,
        )
    return outputs[layer].numpy()


def view_batches(
    policy: Policy, images: torch.Tensor | list[torch.Tensor], params: AugParams, K: int, batch_size: int
) -> Iterator[torch.Tensor]:
    """Augmented views in batches (row ``r`` is image ``r // K``); the next batch is made in a
    background thread while the caller runs the network on the current one."""

    def make(start: int) -> torch.Tensor:
        rows = range(start, min(start + batch_size, len(params)))
        batch = [images[r // K] for r in rows]
        stacked = torch.stack(batch) if isinstance(images, torch.Tensor) else batch
        return policy.apply(stacked, params[start : rows.stop])

    starts = range(0, len(params), batch_size)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(make, starts[0])
        for start in starts[1:]:
            current, pending = pending.result(), pool.submit(make, start)
            yield current
        yield pending.result()


def extract_ensemble(
    model: LoadedModel,
    images: ImageInput,
    policy: Policy,
    ensemble: str,
    K: int = 16,
    seed: int = 0,
    image_ids: Sequence[object] | None = None,
    batch_size: int = 256,
    precision: str = "fp32",
    cache_dir: str | Path | None = None,
    progress: bool = True,
    layer: str | None = None,
) -> xr.DataArray:
    """Responses of one layer of ``model`` to one ensemble of ``images``, read from the cache when present.

    The network takes the views normalised with the model's mean/std; the
    responses are the layer's output flattened per view
    (:func:`neuroequi.activations.layer_activations`).

    Args:
        model: the network (:func:`model_zoo.load`).
        images: uint8/float tensor ``(I, 3, H, W)`` or a list of PIL images / tensors.
        policy: the augmentation policy; its view size must be the network's input size.
        ensemble: one of :data:`ENSEMBLES`.
        K: augmentations per image (ignored for ``clean``).
        seed: seeds the parameter sampling.
        image_ids: I ids for the ``image`` coordinate (default 0..I-1).
        batch_size: views per forward pass.
        precision: ``fp32``, or ``bf16`` (autocast on the device of the model's weights, e.g. after
            ``model.module.cuda()``; outputs stored as float32).
        cache_dir: where the NetCDF file of these inputs is read from / written to
            (file name: ensemble + a hash of weights sha256, layer, preprocessing,
            policy, ensemble, K, seed, precision and image pixels).
        progress: show a tqdm bar.
        layer: a module name of the network (default: the model's last layer).

    Returns:
        ``(image, augmentation, neuroid)`` DataArray with ``param_*`` coordinates,
        or ``(image, neuroid)`` for ``clean``; provenance in ``attrs``.
    """
    layer = model.layer(layer)
    checked = as_images(images)
    if policy.size != model.image_size:
        raise ConfigError(
            f"policy {policy.name!r} makes {policy.size}px views but {model.identifier} "
            f"takes {model.image_size}px: use get_policy(name, size={model.image_size})"
        )
    ids = list(range(len(checked))) if image_ids is None else list(image_ids)
    if len(ids) != len(checked):
        raise ConfigError(f"got {len(ids)} image ids for {len(checked)} images")
    K = 1 if ensemble == "clean" else K
    attrs = {
        "weights_sha256": model.sha256,
        "model": model.identifier,
        "layer": layer,
        "input_mean": json.dumps(list(model.mean)),
        "input_std": json.dumps(list(model.std)),
        "policy": policy.name,
        "policy_spec": repr(policy),
        "ensemble": ensemble,
        "K": K,
        "seed": seed,
        "precision": precision,
        "layout": LAYOUT,
        "images_sha256": _images_digest(checked),
    }
    key = hashlib.sha256(json.dumps(attrs, sort_keys=True).encode()).hexdigest()[:20]
    path = None if cache_dir is None else Path(cache_dir) / f"responses-{ensemble}-{key}.nc"
    if path is not None and path.exists():
        try:
            return load_responses(path)
        except (OSError, ValueError, KeyError):  # a damaged or foreign file is recomputed (and replaced)
            pass
    image_hw = image_sizes(checked)
    params = identity_params(image_hw) if ensemble == "clean" else ensemble_params(policy, ensemble, image_hw, K, seed)
    values = _responses_to_views(
        model,
        layer,
        view_batches(policy, checked, params, K, batch_size),
        len(params),
        precision,
        f"{model.identifier}:{layer} {ensemble}",
        progress,
    )
    attrs.update(cache_key=key, versions=json.dumps(package_versions("xarray"), sort_keys=True))
    if ensemble == "clean":
        result = clean_array(values, ids, attrs)
    else:
        table = params.values.numpy().reshape(len(ids), K, len(params.columns))
        result = responses_array(values.reshape(len(ids), K, -1), ids, table, params.columns, ensemble, attrs)
    if path is not None:
        save_responses(result, path)
    return result


def extract_ensembles(
    model: LoadedModel,
    images: ImageInput,
    policy: Policy,
    ensembles: Sequence[str] = ENSEMBLES,
    **options: object,
) -> dict[str, xr.DataArray]:
    """:func:`extract_ensemble` for each of ``ensembles`` (same options); ``{name: responses}``."""
    return {name: extract_ensemble(model, images, policy, name, **options) for name in ensembles}


def save_responses(responses: xr.DataArray, path: str | Path) -> Path:
    """Write responses as NetCDF (h5netcdf engine), atomically; return the path."""
    path = Path(path)
    with atomic_write(path) as tmp:
        responses.to_netcdf(tmp, engine="h5netcdf")
    return path


def load_responses(path: str | Path) -> xr.DataArray:
    """Read responses written by :func:`save_responses` into memory."""
    return xr.load_dataarray(path, engine="h5netcdf")
