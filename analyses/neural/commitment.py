"""Region -> layer maps chosen on held-out data, offline, and recorded with how they were chosen.

Brain-Score commits a model's layers by scoring every layer on its public benchmarks (online).
Here a region's layer is the best-scoring layer on data that **no scoring benchmark uses**:

* V4: ``Cowley2023-selection.V4-pls`` -- Cowley sessions 190925 (a training session, monkey WE)
  and 210224 (the validation session, monkey PE); the V4 scores use the test sessions 190923,
  201025, 210225 and 210325, which share no image with them;
* IT: ``Kriegeskorte2008-human.IT-rdm`` -- the human-IT fMRI RDM (316 voxels) of the 92
  Kriegeskorte images; the IT score (``Kiani2007.IT-rdm``) uses the monkey-IT RDM of the same
  images, so the choice sees the images but none of the neurons that are scored;
* V1 and V2: no held-out recordings here: the catalogue's map is kept, and the record says so.

Layer scores are :func:`analyses.neural.layers.score_layers` (PCA-reduced layers, as in
Brain-Score's own layer selection). The record is written to
``<zoo home>/commitments/<identifier>.json``: the map, per region the benchmark, the rule and
every layer's score. :func:`analyses.neural.scoring.score` uses a recorded map for that
identifier; a map given by the user overrides it.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from model_zoo import LoadedModel, load, zoo_home
from model_zoo.download import write_json
from analyses.neural.layers import Reduction, score_layers
from neuroequi.errors import ConfigError

#: Held-out benchmark per region (see the module docstring).
SELECTION_BENCHMARKS = {"V4": "Cowley2023-selection.V4-pls", "IT": "Kriegeskorte2008-human.IT-rdm"}
RULE = "argmax over the model's layers of the score on held-out data (PCA-reduced layers, as Brain-Score's LayerSelection)"


def commitment_path(identifier: str, home: Path | None = None) -> Path:
    """Where the region->layer record of ``identifier`` is kept."""
    return zoo_home(home) / "commitments" / f"{identifier}.json"


def choose_region_layer_map(model: str | os.PathLike | LoadedModel, *, reduction: Reduction = Reduction(),
                            home: Path | None = None) -> dict:
    """Choose V4 and IT layers of ``model`` on :data:`SELECTION_BENCHMARKS`, record and return the record.

    The record: ``identifier``, ``region_layer_map`` (V1, V2, V4, IT), ``chosen_by`` (per region:
    ``benchmark``, ``rule``, ``scores`` per layer; V1/V2: the catalogue default), ``reduction``, ``created``.
    """
    loaded = model if isinstance(model, LoadedModel) else load(model, home)
    table, _ = score_layers(loaded, list(SELECTION_BENCHMARKS.values()), ["all"], reduction, home=home)
    region_layer_map = dict(loaded.region_layer_map)
    chosen_by: dict[str, object] = {r: "catalogue default (no held-out recordings of this region here)"
                                    for r in region_layer_map if r not in SELECTION_BENCHMARKS}
    for region, benchmark in SELECTION_BENCHMARKS.items():
        rows = table[table["benchmark"] == benchmark]
        region_layer_map[region] = str(rows.loc[rows["score"].idxmax(), "layer"])
        chosen_by[region] = {"benchmark": benchmark, "rule": RULE,
                             "scores": {str(r.layer): float(r.score) for r in rows.itertuples()}}
    record = {"identifier": loaded.identifier, "region_layer_map": region_layer_map, "chosen_by": chosen_by,
              "reduction": reduction.key, "created": datetime.now(UTC).isoformat(timespec="seconds")}
    write_json(commitment_path(loaded.identifier, home), record)
    return record


def recorded_commitment(identifier: str, home: Path | None = None) -> dict | None:
    """The record :func:`choose_region_layer_map` wrote for ``identifier`` (None if none)."""
    path = commitment_path(identifier, home)
    return json.loads(path.read_text()) if path.is_file() else None


def describe(record: dict) -> str:
    """One sentence saying how a record's map was chosen."""
    parts = []
    for region, how in sorted(record["chosen_by"].items()):
        layer = record["region_layer_map"][region]
        parts.append(f"{region}={layer} ({how['benchmark']}, best of {len(how['scores'])} layers)"
                     if isinstance(how, dict) else f"{region}={layer} ({how})")
    return "chosen on held-out data: " + "; ".join(parts)


def region_layer_map(loaded: LoadedModel, override: dict[str, str] | None = None,
                     home: Path | None = None) -> tuple[dict[str, str], str]:
    """``(map, how it was chosen)`` for ``loaded``: the catalogue map, replaced by a recorded
    held-out choice if there is one, then by the user's ``override`` (some or all regions).

    Raises:
        ConfigError: an override naming an unknown region or a layer that is not a module of the model.
    """
    record = recorded_commitment(loaded.identifier, home)
    regions, how = (dict(record["region_layer_map"]), describe(record)) if record else \
        (dict(loaded.region_layer_map), "the catalogue entry's default map")
    if override:
        unknown = sorted(set(override) - set(regions))
        if unknown:
            raise ConfigError(f"region_layer_map: unknown region(s) {unknown}; regions: {sorted(regions)}")
        regions.update({region: loaded.layer(layer) for region, layer in override.items()})
        how += f"; overridden by the user: {dict(override)}"
    return regions, how
