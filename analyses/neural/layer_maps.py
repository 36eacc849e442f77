"""Recorded region -> layer maps, read: where a model's map comes from when it is scored.

:func:`analyses.neural.commitment.choose_region_layer_map` chooses a map on held-out data and
records it in ``<zoo home>/commitments/<identifier>.json``; :func:`region_layer_map` gives the map a
score uses (the catalogue's, a recorded one, the user's overrides). This module sits below
:mod:`analyses.neural.scoring` and :mod:`analyses.neural.commitment` (no import cycle).
"""

from __future__ import annotations

import json
from pathlib import Path

from model_zoo import LoadedModel, zoo_home
from neuroequi.errors import ConfigError


def commitment_path(identifier: str, home: Path | None = None) -> Path:
    """Where the region->layer record of ``identifier`` is kept."""
    return zoo_home(home) / "commitments" / f"{identifier}.json"


def recorded_commitment(identifier: str, home: Path | None = None) -> dict | None:
    """The record :func:`choose_region_layer_map` wrote for ``identifier`` (None if none)."""
    path = commitment_path(identifier, home)
    return json.loads(path.read_text()) if path.is_file() else None


def describe(record: dict) -> str:
    """One sentence saying how a record's map was chosen."""
    return "chosen on held-out data: " + "; ".join(
        f"{region}={record['region_layer_map'][region]} ({how['benchmark']}, best of {len(how['scores'])} layers)"
        for region, how in sorted(record["chosen_by"].items())
    )


def region_layer_map(
    loaded: LoadedModel, override: dict[str, str] | None = None, home: Path | None = None, benchmark: str | None = None
) -> tuple[dict[str, str], str]:
    """``(map, how it was chosen)`` for ``loaded``: the catalogue map, replaced by a recorded
    held-out choice if there is one (except for a region chosen on ``benchmark`` itself, the one
    being scored), then by the user's ``override`` (some or all regions).

    Raises:
        ConfigError: an override naming an unknown region or a layer that is not a module of the model.
    """
    regions, how = dict(loaded.region_layer_map), "the catalogue entry's default map"
    record = recorded_commitment(loaded.identifier, home)
    if record:
        regions, how = dict(record["region_layer_map"]), describe(record)
        own = sorted(r for r, chosen in record["chosen_by"].items() if chosen["benchmark"] == benchmark)
        for region in own:
            regions[region] = loaded.region_layer_map[region]
        if own:
            how += f"; {own} kept at the catalogue's layer (chosen on {benchmark}, the benchmark scored)"
    if override:
        unknown = sorted(set(override) - set(regions))
        if unknown:
            raise ConfigError(f"region_layer_map: unknown region(s) {unknown}; regions: {sorted(regions)}")
        regions.update({region: loaded.layer(layer) for region, layer in override.items()})
        how += f"; overridden by the user: {dict(override)}"
    return regions, how
