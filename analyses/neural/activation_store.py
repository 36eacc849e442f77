"""Activations of a model's layers to placed stimulus sets, computed once and cached on disk, and a
Brain-Score activations model that serves them (:class:`StoredActivations`).

The cache: ``<zoo home>/activations/<identifier>/<preprocessing>-<reduction>/<stimulus set>/<layer>.npy``
-- keyed on the weights (the identifier), the preprocessing, the reduction and the content-keyed
stimulus set (:func:`analyses.neural.data.make_stimulus_set`), never on a path; an unreadable or
mismatched entry is recomputed. See :mod:`analyses.neural.layers` for the whole procedure.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from analyses.neural.reduction import PCAProjection, Reduction, check_held, fit_groups
from model_zoo import LoadedModel, zoo_home
from model_zoo.activations import channels_last, file_batches, preprocessing_key
from neuroequi.activations import layer_activations
from neuroequi.io import atomic_write, progress


@dataclass
class ActivationTable:
    """A model's (reduced) responses to one placed stimulus set.

    Attributes:
        identifier: the placed stimulus set's identifier.
        paths: image path of each row (as Brain-Score's extractor sees it).
        stimulus_ids: stimulus id of each row.
        layers: ``{layer: float32 array (rows, features)}``.
        features_in: ``{layer: features before reduction}``.
    """

    identifier: str
    paths: list[str]
    stimulus_ids: list[str]
    layers: dict[str, np.ndarray] = field(default_factory=dict)
    features_in: dict[str, int] = field(default_factory=dict)


class StoredActivations:
    """An activations model (what Brain-Score's ``ModelCommitment`` takes) serving stored rows.

    Brain-Score's own ``ActivationsExtractorHelper`` does the packaging (stimulus metadata,
    neuroid coordinates); its per-batch ``get_activations`` reads the rows of
    :class:`ActivationTable` objects by image path instead of running a network. An image at
    another path (Brain-Score's memory preflight places a copy of a benchmark's first image
    under its own folder) is found by its content: the sha256 of the file's bytes. Nothing is
    written to Brain-Score's activation cache.
    """

    def __init__(self, identifier: str, tables: Sequence[ActivationTable]):
        from brainscore_vision.model_helpers.activations.core import ActivationsExtractorHelper

        self._rows = {path: (table, row) for table in tables for row, path in enumerate(table.paths)}
        self._by_content: dict[str, tuple[ActivationTable, int]] | None = None
        self._extractor = ActivationsExtractorHelper(
            get_activations=self._get_activations, preprocessing=None, identifier=False
        )
        self.identifier = identifier

    def __call__(self, *args, **kwargs):
        return self._extractor(*args, **kwargs)

    def _row(self, path: str) -> tuple[ActivationTable, int] | None:
        if path in self._rows:
            return self._rows[path]
        if self._by_content is None:
            self._by_content = {_file_sha256(p): found for p, found in self._rows.items()}
        return self._by_content.get(_file_sha256(path)) if os.path.isfile(path) else None

    def _get_activations(self, paths, layer_names) -> OrderedDict:
        found = [self._row(str(p)) for p in paths]
        missing = [str(p) for p, row in zip(paths, found) if row is None]
        if missing:
            raise KeyError(f"no stored activations for {len(missing)} images, e.g. {missing[0]}")
        return OrderedDict(
            (layer, np.stack([table.layers[layer][row] for table, row in found])) for layer in layer_names
        )


def _file_sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def stored_commitment(
    identifier: str, tables: Sequence[ActivationTable], region_layer_map: dict[str, str], visual_degrees: float = 8
):
    """Brain-Score ``ModelCommitment`` on stored activations, with an explicit region->layer map."""
    from brainscore_vision.model_helpers.brain_transformation import ModelCommitment

    return ModelCommitment(
        identifier=identifier,
        activations_model=StoredActivations(identifier, tables),
        layers=sorted(set(region_layer_map.values())),
        region_layer_map=dict(region_layer_map),
        visual_degrees=visual_degrees,
    )


# --------------------------------------------------------------------------- activations


def placed_stimulus_sets(benchmarks: Sequence, visual_degrees: float = 8) -> list:
    """The placed stimulus sets the local ``benchmarks`` show a model of ``visual_degrees``, each once."""
    from brainscore_vision.benchmark_helpers.screen import place_on_screen

    from analyses.neural.benchmarks import benchmark_stimuli

    placed = {}
    for benchmark in benchmarks:
        for stimulus_set, degrees in benchmark_stimuli(benchmark):
            screen = place_on_screen(stimulus_set, target_visual_degrees=visual_degrees, source_visual_degrees=degrees)
            placed.setdefault(screen.identifier, screen)
    return list(placed.values())


def stimulus_paths(stimulus_set) -> tuple[list[str], list[str]]:
    """The image file of each stimulus of ``stimulus_set`` and its ``stimulus_id``, in the set's order."""
    ids = [str(s) for s in stimulus_set["stimulus_id"].values]
    return [str(stimulus_set.get_stimulus(s)) for s in ids], ids


def feature_counts(loaded: LoadedModel, layers: Sequence[str], image: str) -> dict[str, int]:
    """Features of each layer (flattened output size) for one image."""
    outputs = layer_activations(loaded.module, file_batches(loaded, [image], 1), list(layers))
    return {layer: int(values.shape[1]) for layer, values in outputs.items()}


def _fit_projections(
    loaded: LoadedModel, layers: list[str], counts: dict[str, int], reduction: Reduction, batch_size: int
) -> dict[str, PCAProjection | None]:
    """PCA projections of the ``layers`` with more than ``reduction.components`` features (None for the others)."""
    from analyses.neural.data import cifar10_pca_stimulus_set

    big = [layer for layer in layers if reduction.components and counts[layer] > reduction.components]
    if not big:
        return dict.fromkeys(layers)
    paths, _ = stimulus_paths(cifar10_pca_stimulus_set(reduction.images))
    fit = {layer: torch.empty(len(paths), counts[layer]) for layer in big}
    start = 0
    for batch in progress(
        file_batches(loaded, paths, batch_size),
        total=math.ceil(len(paths) / batch_size),
        desc=f"PCA images {','.join(big)}",
        leave=False,
    ):
        outputs = layer_activations(loaded.module, [batch], big, stop_early=True)
        for layer in big:
            fit[layer][start : start + len(batch)] = outputs[layer]
        start += len(batch)
    return {layer: PCAProjection(fit.pop(layer), reduction.components) if layer in big else None for layer in layers}


def _cache_dir(loaded: LoadedModel, reduction: Reduction, home: Path | None) -> Path:
    """``<zoo home>/activations/<identifier: weights>/<preprocessing>-<reduction>``; below it one folder per
    placed stimulus set, named by its identifier (content-keyed: :func:`analyses.neural.data.make_stimulus_set`)."""
    return zoo_home(home) / "activations" / loaded.identifier / f"{preprocessing_key(loaded)}-{reduction.key}"


def _load_cached(folder: Path, table: ActivationTable, layer: str) -> bool:
    """Fill ``table.layers[layer]`` from ``folder`` if stored for exactly these stimuli."""
    ids_file, values_file = folder / "stimulus_ids.json", folder / f"{layer}.npy"
    if not (ids_file.is_file() and values_file.is_file()):
        return False
    try:  # anything unreadable or for other stimuli is recomputed
        stored = json.loads(ids_file.read_text())
        if stored["stimulus_ids"] != table.stimulus_ids or layer not in stored["features_in"]:
            return False
        values = np.load(values_file)
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if values.ndim != 2 or values.shape[0] != len(table.stimulus_ids):
        return False
    table.layers[layer] = values
    table.features_in[layer] = stored["features_in"][layer]
    return True


def _store(folder: Path, table: ActivationTable, layer: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_write(folder / f"{layer}.npy", fsync=False) as tmp, open(tmp, "wb") as f:
        np.save(f, table.layers[layer])
    ids_file = folder / "stimulus_ids.json"
    stored = json.loads(ids_file.read_text()) if ids_file.is_file() else {}
    features = stored.get("features_in", {}) if stored.get("stimulus_ids") == table.stimulus_ids else {}
    with atomic_write(ids_file, fsync=False) as tmp:
        Path(tmp).write_text(
            json.dumps(
                {"stimulus_ids": table.stimulus_ids, "features_in": {**features, layer: table.features_in[layer]}}
            )
        )


def activation_tables(
    loaded: LoadedModel,
    stimulus_sets: Sequence,
    layers: Sequence[str],
    reduction: Reduction = Reduction(),
    batch_size: int = 64,
    home: Path | None = None,
) -> list[ActivationTable]:
    """The (reduced) responses of ``layers`` to each placed stimulus set, from the disk cache where
    stored, else computed group by group (see the module docstring) and stored."""
    tables = []
    for stimulus_set in stimulus_sets:
        paths, ids = stimulus_paths(stimulus_set)
        tables.append(ActivationTable(stimulus_set.identifier, paths, ids))
    cache = _cache_dir(loaded, reduction, home)
    missing = {t.identifier: [l for l in layers if not _load_cached(cache / t.identifier, t, l)] for t in tables}
    needed = [layer for layer in layers if any(layer in m for m in missing.values())]
    counts = feature_counts(loaded, needed, tables[0].paths[0]) if needed else {}
    check_held(
        {layer: counts.get(layer) or tables[0].features_in[layer] for layer in layers},
        sum(len(t.paths) for t in tables),
        reduction,
    )
    if not needed:
        return tables
    # channels-last convolutions (faster on CPU, values equal up to float rounding) for reduced layers only:
    # unreduced activations keep the layout, and so the rounding, of Brain-Score's wrapper
    with channels_last(loaded.module, bool(reduction.components)):
        _compute(loaded, tables, missing, counts, reduction, batch_size, cache)
    return tables


def _compute(
    loaded: LoadedModel,
    tables: list[ActivationTable],
    missing: dict[str, list[str]],
    counts: dict[str, int],
    reduction: Reduction,
    batch_size: int,
    cache: Path,
) -> None:
    """Fill ``tables`` with the ``missing`` layers (``counts``: features of each layer to compute), group by
    group (:func:`fit_groups`), and store them."""
    for group in fit_groups(counts, reduction):
        projections = _fit_projections(loaded, group, counts, reduction, batch_size)
        for table in tables:
            todo = [layer for layer in group if layer in missing[table.identifier]]
            if not todo:
                continue
            out = {
                l: np.empty((len(table.paths), p.components if p else counts[l]), np.float32)
                for l, p in ((l, projections[l]) for l in todo)
            }
            start = 0
            for batch in progress(
                file_batches(loaded, table.paths, batch_size),
                total=math.ceil(len(table.paths) / batch_size),
                desc=f"{table.identifier} {','.join(todo)}",
                leave=False,
            ):
                outputs = layer_activations(loaded.module, [batch], todo, stop_early=True)
                for layer in todo:
                    values = outputs[layer] if projections[layer] is None else projections[layer](outputs[layer])
                    out[layer][start : start + len(batch)] = values.numpy()
                start += len(batch)
            for layer in todo:
                table.layers[layer], table.features_in[layer] = out[layer], counts[layer]
                _store(cache / table.identifier, table, layer)
        del projections
