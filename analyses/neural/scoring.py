"""Score a model on a neural benchmark; results cached per (model identifier, benchmark).

:func:`score` is what ``neuroequi score`` and the Figure-1 pipeline call. The
result is a plain dict (JSON-serialisable) saved to
``<zoo home>/scores/<identifier>/<benchmark>.json``; since the identifier
carries the weights' hash (:mod:`model_zoo.loading`), a changed checkpoint is
scored afresh.
"""

from __future__ import annotations

import json
import math
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from model_zoo import LoadedModel, load, zoo_home
from neuroequi.errors import IntegrityError, WriteError
from neuroequi.io import write_json

#: Keys of a score result, in the order ``neuroequi score`` prints them.
RESULT_KEYS = (
    "model",
    "identifier",
    "benchmark",
    "score",
    "raw",
    "ceiling",
    "error",
    "ceiling_formula",
    "region_layer_map",
    "reduction",
    "preprocessing",
    "brainscore_version",
    "elapsed_s",
    "created",
)


def result_path(identifier: str, benchmark: str, home: Path | None = None) -> Path:
    """Where the result of ``identifier`` on ``benchmark`` is cached (in the zoo home ``home``)."""
    return zoo_home(home) / "scores" / identifier / f"{benchmark}.json"


def _float(value) -> float:
    """A Score / number / None as a float (NaN for None)."""
    if value is None:
        return math.nan
    return float(getattr(value, "values", value))


def result_from_score(
    score, *, model: str, identifier: str, benchmark, region_layer_map: dict, elapsed_s: float
) -> dict:
    """Plain dict of a Brain-Score ``Score`` (see :data:`RESULT_KEYS`; extras: per-session values)."""
    from importlib.metadata import version

    attrs = score.attrs
    result = {
        "model": model,
        "identifier": identifier,
        "benchmark": benchmark.identifier,
        "score": _float(score),
        "raw": _float(attrs.get("raw")),
        "ceiling": _float(attrs.get("ceiling")),
        "error": _float(attrs.get("error")),
        "ceiling_formula": benchmark.ceiling_formula,
        "region_layer_map": dict(region_layer_map),
        "brainscore_version": version("brainscore_vision"),
        "elapsed_s": round(elapsed_s, 2),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    for key in ("session_scores", "session_errors", "subject_scores"):
        if key in attrs:
            result[key] = dict(attrs[key])
    for key in ("subject_se", "ceiling_upper"):
        if key in attrs:
            result[key] = float(attrs[key])
    if "replicates" in attrs:  # the stimulus bootstrap of an RDM benchmark (analyses.neural.rdm_bootstrap)
        result["replicates"] = list(attrs["replicates"])
    return result


def score(
    model: str | os.PathLike | LoadedModel,
    benchmark: str,
    *,
    recompute: bool = False,
    region_layer_map: dict[str, str] | None = None,
    home: Path | None = None,
) -> dict:
    """Score ``model`` (anything :func:`model_zoo.load` takes, or a loaded model) on ``benchmark``
    (local or online; see :mod:`analyses.neural`).

    The region->layer map is the catalogue's, or the one recorded for this identifier by
    :func:`analyses.neural.commitment.choose_region_layer_map` (chosen on held-out data,
    :mod:`analyses.neural.layer_maps`), with
    the regions in ``region_layer_map`` overridden; the result says which (``layer_map_source``).
    Returns the result dict (keys :data:`RESULT_KEYS`), from the cache in the zoo home ``home``
    unless ``recompute`` or the cached result used another map or preprocessing (or is an RDM result
    from before the stimulus bootstrap, without ``replicates``). The committed
    layer's activations are scored as Brain-Score scores them, unreduced (``reduction: none``,
    the default of :func:`analyses.neural.layers.score_layers`, which then gives the same value
    for that layer). Raises ``ConfigError`` for an
    unknown model, benchmark, region or layer, ``DataUnavailableError`` when the weights cannot
    be had, ``OfflineError`` when an online benchmark's data cannot, and ``IntegrityError``
    when the score is NaN (never cached; a cached NaN is recomputed). A cache that cannot be
    written (no space, no permission) does not lose the score: the result is returned with
    ``not_cached``, the one-line reason.
    """
    from analyses.neural import load_benchmark, run_benchmark
    from analyses.neural.layer_maps import region_layer_map as committed_map
    from model_zoo.activations import preprocessing_key
    from model_zoo.brainscore import commitment

    start = time.perf_counter()
    loaded = model if isinstance(model, LoadedModel) else load(model, home)
    regions, how = committed_map(loaded, region_layer_map, home, benchmark)
    path = result_path(loaded.identifier, benchmark, home)
    if path.is_file() and not recompute:
        cached = _read_cached(path)
        stale = benchmark.endswith("-rdm") and "replicates" not in (cached or {})  # before the stimulus bootstrap
        if (
            cached is not None
            and cached.get("region_layer_map") == regions
            and not stale
            and cached.get("preprocessing") == preprocessing_key(loaded)
        ):
            return cached
    bench = load_benchmark(benchmark)
    raw_score = run_benchmark(bench, commitment(loaded, regions))
    result = result_from_score(
        raw_score,
        model=loaded.name,
        identifier=loaded.identifier,
        benchmark=bench,
        region_layer_map=regions,
        elapsed_s=time.perf_counter() - start,
    )
    result.update(reduction="none", preprocessing=preprocessing_key(loaded), layer_map_source=how)
    if not math.isfinite(result["score"]):
        raise IntegrityError(
            f"{loaded.identifier} on {benchmark}: the score is {result['score']} (not cached); "
            "the model's responses are not usable (non-finite or constant activations)"
        )
    try:
        write_json(path, result)
    except WriteError as err:  # the score is computed: return it, saying it was not cached
        result["not_cached"] = str(err)
    return result


def _read_cached(path: Path) -> dict | None:
    """A cached result, or None when the file is unreadable or holds a NaN score (then it is recomputed)."""
    try:
        result = json.loads(path.read_text())
        return result if math.isfinite(float(result["score"])) else None
    except (ValueError, KeyError, TypeError):
        return None
