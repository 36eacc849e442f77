"""Region -> layer maps chosen on held-out data, offline, and recorded with how they were chosen.

Brain-Score commits a model's layers by scoring every layer on its public benchmarks (online).
Here each region's layer is the layer whose raw (signed, unceiled) score is highest on data
that the scores it is used for do not use:

* V4: ``Cowley2023-selection.V4-pls`` -- Cowley sessions 190925 (a training session, monkey WE)
  and 210224 (the validation session, monkey PE); the V4 scores use the test sessions 190923,
  201025, 210225 and 210325, which share no image with them;
* IT: ``Kriegeskorte2008.hIT-rdm`` -- the human-IT fMRI RDM (316 voxels) of the 92
  Kriegeskorte images; ``Kiani2007.IT-rdm`` scores the monkey-IT RDM of the same images, so the
  choice sees the images but none of the neurons that are scored;
* V1, V2: ``tong.Coggan2024_fMRI.V1-rdm`` / ``V2-rdm`` (human fMRI, 24 other images).

A selection benchmark is also a benchmark one may score: when a model is scored on the very
benchmark a region was chosen on, that region falls back to the catalogue's layer
(:func:`analyses.neural.layer_maps.region_layer_map`), so no score is computed with a layer chosen on its own data.

Layer scores are :func:`analyses.neural.layers.score_layers` (PCA-reduced layers, as in
Brain-Score's own layer selection). The record is written to
``<zoo home>/commitments/<identifier>.json``: the map, per region the benchmark, the rule and
every layer's raw score; :mod:`analyses.neural.layer_maps` reads it. :func:`analyses.neural.scoring.score`
uses a recorded map for that identifier; a map given by the user overrides it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from analyses.neural.layer_maps import commitment_path
from analyses.neural.layers import score_layers
from analyses.neural.reduction import LAYER_SELECTION, Reduction
from model_zoo import LoadedModel, load
from neuroequi.io import write_json

#: Held-out benchmark per region (see the module docstring).
SELECTION_BENCHMARKS = {
    "V1": "tong.Coggan2024_fMRI.V1-rdm",
    "V2": "tong.Coggan2024_fMRI.V2-rdm",
    "V4": "Cowley2023-selection.V4-pls",
    "IT": "Kriegeskorte2008.hIT-rdm",
}
RULE = (
    "argmax over the model's layers of the raw (signed, unceiled) score on held-out data "
    "(PCA-reduced layers, as Brain-Score's LayerSelection)"
)


def choose_region_layer_map(
    model: str | os.PathLike | LoadedModel, *, reduction: Reduction = LAYER_SELECTION, home: Path | None = None
) -> dict:
    """Choose each region's layer of ``model`` on :data:`SELECTION_BENCHMARKS`, record and return the record.

    The record: ``identifier``, ``region_layer_map``, ``chosen_by`` (per region: ``benchmark``,
    ``rule``, ``scores``: each layer's raw score), ``reduction``, ``created``.
    """
    loaded = model if isinstance(model, LoadedModel) else load(model, home)
    table, _ = score_layers(loaded, list(SELECTION_BENCHMARKS.values()), ["all"], reduction, home=home)
    region_layer_map, chosen_by = {}, {}
    for region, benchmark in SELECTION_BENCHMARKS.items():
        rows = table[table["benchmark"] == benchmark]
        region_layer_map[region] = str(rows.loc[rows["raw"].idxmax(), "layer"])
        chosen_by[region] = {
            "benchmark": benchmark,
            "rule": RULE,
            "scores": {str(r.layer): float(r.raw) for r in rows.itertuples()},
        }
    record = {
        "identifier": loaded.identifier,
        "region_layer_map": region_layer_map,
        "chosen_by": chosen_by,
        "reduction": reduction.key,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_json(commitment_path(loaded.identifier, home), record)
    return record
