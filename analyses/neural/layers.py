"""Scores of every named layer of a model on local benchmarks, with activations computed once.

Brain-Score commits one layer per region; its users ask for the score of every layer, which
Brain-Score itself computes only inside its layer selection, holding every layer's ImageNet
activations at once. Here:

1. **Stimuli.** Each benchmark's stimulus sets (:func:`analyses.neural.benchmarks.benchmark_stimuli`)
   are placed on the model's screen with Brain-Score's ``place_on_screen`` (8 degrees, the
   ``ModelCommitment`` default), once per set even when several benchmarks share it.
2. **Activations, once per (model identifier, stimulus set)**, for all requested layers, into an
   :class:`ActivationTable` per stimulus set, cached on disk under
   ``<zoo home>/activations/<identifier>/<preprocessing>-<reduction>/<stimulus set>/<layer>.npy``
   (weights, preprocessing, reduction and content-keyed stimulus set: never a path) and reused
   across layers, benchmarks and runs; an unreadable or mismatched entry is recomputed.
3. **Reduction, a named setting** (:class:`Reduction`, written in every row). By default none:
   Brain-Score scores a committed layer on its full activations, and so does
   :func:`analyses.neural.scoring.score`, so both give the same value for the same layer.
   :data:`LAYER_SELECTION` reduces layers the way Brain-Score's layer selection does
   (``LayerPCA``: 1,000 principal components per layer, fitted on 1,000 images, layers at or
   below 1,000 features kept as they are); it bounds time and memory for 224-px networks and
   gives other numbers. Brain-Score fits on ImageNet validation images, which cannot be fetched
   offline; the fit here uses a fixed set of local images instead: the first 100 CIFAR-10 *test*
   images of each class (:func:`analyses.neural.data.cifar10_pca_stimulus_set`). The centred fit
   activations of ``n`` images have rank ``n - 1`` at most, so at most ``n - 1`` components carry
   variance; the zero-variance one that scikit-learn would also return is dropped. Layers are
   processed in groups whose fit activations (``images x features x 4`` bytes) stay under
   ``max_fit_gb``, one layer alone when it is larger; each batch of stimuli is projected as soon
   as it is computed, so a full stimulus-by-feature matrix of a large layer is never held.
   Forward passes stop at the group's last layer. Brain-Score's ``tong.Coggan2024_fMRI.*-rdm``
   benchmarks (24 images) always get unreduced activations (:data:`UNREDUCED`): their RSA keeps
   the units whose mean response exceeds 3.1 s.d. over units, a selection that principal-component
   scores do not support.
4. **Scores, one layer at a time**: a Brain-Score ``ModelCommitment`` whose activations model
   (:class:`StoredActivations`) serves the stored rows, mapped region -> that layer, run on the
   benchmark with Brain-Score's own metric and ceiling (:func:`analyses.neural.run_benchmark`).
   Each (benchmark, layer) row can be saved as soon as it is scored and reused by the next run
   (``save_dir``), so a failure or a time limit loses no finished row.

:func:`score_layers` returns a tidy table (one row per layer and benchmark);
:func:`plot_layer_scores` draws score against depth.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import resource
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from analyses.neural.activation_store import activation_tables, placed_stimulus_sets, stored_commitment
from analyses.neural.reduction import Reduction
from model_zoo import LoadedModel, load
from model_zoo.activations import preprocessing_key
from neuroequi.errors import ConfigError
from neuroequi.io import atomic_write, progress, write_json


#: Regions a per-layer commitment maps to the scored layer.
REGIONS = ("V1", "V2", "V4", "IT")
#: Benchmarks scored on unreduced activations: Brain-Score's Coggan2024 RSA keeps the units whose mean
#: response exceeds 3.1 s.d. over units, which principal-component scores do not have (24 images each).
UNREDUCED = frozenset(f"tong.Coggan2024_fMRI.{region}-rdm" for region in REGIONS)
#: Columns of the per-layer table, in order.
COLUMNS = ("layer", "depth", "benchmark", "score", "error", "ceiling", "raw", "features", "reduced_from", "reduction")


# --------------------------------------------------------------------------- scores


def resolve_layers(loaded: LoadedModel, layers: Sequence[str]) -> list[str]:
    """``['all']`` -> the model's named layers; otherwise each name checked against the network.
    Either way in the network's order (the order of ``named_modules``), each once."""
    names = list(loaded.layers) if list(layers) == ["all"] else [loaded.layer(layer) for layer in layers]
    if not names:
        raise ConfigError(f"layers: give 'all' or layer names of {loaded.identifier}: {list(loaded.layers)}")
    order = {name: k for k, (name, _) in enumerate(loaded.module.named_modules())}
    return sorted(dict.fromkeys(names), key=lambda name: order.get(name, len(order)))


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far (GiB; Linux ``ru_maxrss`` is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _settings(loaded: LoadedModel, reduction: Reduction) -> dict:
    """What a saved row must match to be reused: the weights, the preprocessing and the reduction."""
    return {"identifier": loaded.identifier, "preprocessing": preprocessing_key(loaded), "reduction": reduction.key}


def _row_path(save_dir: Path, benchmark: str, layer: str) -> Path:
    return Path(save_dir) / "rows" / f"{benchmark}--{layer}.json"


def _saved_row(save_dir: Path | None, benchmark: str, layer: str, settings: dict) -> dict | None:
    """A row saved by an earlier run with the same ``settings`` (None if absent, unreadable or other settings)."""
    if save_dir is None:
        return None
    path = _row_path(save_dir, benchmark, layer)
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if saved.get("settings") != settings:
        return None
    return {k: math.nan if v is None else v for k, v in saved["row"].items()}  # null: a non-finite score


def _save_rows(save_dir: Path, rows: list[dict], new: dict, settings: dict) -> None:
    """Save one finished row and rewrite ``layer_scores.csv`` with every row so far (network order)."""
    import pandas as pd

    path = _row_path(save_dir, new["benchmark"], new["layer"])
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, {"settings": settings, "row": new}, indent=None, fsync=False)
    table = pd.DataFrame(rows, columns=list(COLUMNS)).sort_values(["depth", "benchmark"], kind="stable")
    with atomic_write(Path(save_dir) / "layer_scores.csv", fsync=False) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")


def score_layers(
    model: str | os.PathLike | LoadedModel,
    benchmarks: Sequence[str],
    layers: Sequence[str] = ("all",),
    reduction: Reduction = Reduction(),
    batch_size: int = 64,
    home: Path | None = None,
    save_dir: Path | None = None,
):
    """Score every layer in ``layers`` of ``model`` on each local benchmark.

    Args:
        model: a catalogue name, checkpoint file or loaded model.
        benchmarks: local benchmark identifiers (:func:`analyses.neural.local_benchmarks`, ``Cowley2023-<session>.V4-pls``).
        layers: ``['all']`` or layer names; scored in the network's order.
        reduction: how large layers are reduced (:class:`Reduction`; default none, Brain-Score's
            scoring of a committed layer). ``tong.Coggan2024_fMRI.*`` are never reduced (:data:`UNREDUCED`).
        batch_size: images per forward pass.
        home: the zoo home (activation cache).
        save_dir: when given, each (benchmark, layer) row is saved there as soon as it is scored
            (``rows/<benchmark>--<layer>.json``, and ``layer_scores.csv`` rewritten with all rows so
            far), and rows an earlier run saved for the same weights, preprocessing and reduction
            are taken as they are: a run stopped by a failure or a time limit loses no finished
            row and resumes where it stopped.

    Returns:
        ``(table, stages)``: a pandas DataFrame with :data:`COLUMNS`, one row per layer and
        benchmark (``depth``: the layer's position in the network order among ``layers``;
        ``features``: after reduction; ``reduced_from``: before; ``reduction``: the
        :attr:`Reduction.key` actually applied), and ``{'activations'|'scores': {'seconds',
        'peak_rss_gb'}}`` (peak so far, this process).

    Raises:
        ConfigError: an unknown layer or benchmark, or an online benchmark (its stimuli are
            Brain-Score's; per-layer scores run on the local benchmarks).
    """
    import pandas as pd

    from analyses.neural import is_online, load_benchmark, run_benchmark
    from analyses.neural.scoring import result_from_score

    loaded = model if isinstance(model, LoadedModel) else load(model, home)
    names = resolve_layers(loaded, layers)
    online = [b for b in benchmarks if is_online(b)]
    if online:
        raise ConfigError(
            f"per-layer scores run on the local benchmarks; {online} are Brain-Score's online ones "
            "(score them with the committed layer: --benchmark without --layers)"
        )
    benches = [load_benchmark(b) for b in benchmarks]
    reductions = {b.identifier: Reduction(0) if b.identifier in UNREDUCED else reduction for b in benches}
    rows, todo = [], []
    for depth, layer in enumerate(names):
        for bench in benches:
            saved = _saved_row(save_dir, bench.identifier, layer, _settings(loaded, reductions[bench.identifier]))
            if saved is not None:
                rows.append({**saved, "depth": depth})
            else:
                todo.append((depth, layer, bench))
    start = time.perf_counter()
    tables = {}
    for r in dict.fromkeys(reductions[bench.identifier] for _, _, bench in todo):
        needed = [layer for layer in names if any(l == layer and reductions[b.identifier] == r for _, l, b in todo)]
        stimuli = placed_stimulus_sets([b for b in benches if reductions[b.identifier] == r])
        tables[r] = activation_tables(loaded, stimuli, needed, r, batch_size, home)
    stages = {"activations": {"seconds": round(time.perf_counter() - start, 2), "peak_rss_gb": round(peak_rss_gb(), 3)}}
    for depth, layer, bench in progress(todo, desc="layer scores", enabled=None if todo else False):
        r = reductions[bench.identifier]
        candidate = stored_commitment(f"{loaded.identifier}-{layer}", tables[r], dict.fromkeys(REGIONS, layer))
        result = result_from_score(
            run_benchmark(bench, candidate),
            model=loaded.name,
            identifier=loaded.identifier,
            benchmark=bench,
            region_layer_map=dict.fromkeys(REGIONS, layer),
            elapsed_s=0.0,
        )
        reduced = tables[r][0]
        rows.append(
            {
                "layer": layer,
                "depth": depth,
                "benchmark": bench.identifier,
                "score": result["score"],
                "error": result["error"],
                "ceiling": result["ceiling"],
                "raw": result["raw"],
                "features": int(reduced.layers[layer].shape[1]),
                "reduced_from": int(reduced.features_in[layer]),
                "reduction": r.key,
            }
        )
        if save_dir is not None:
            _save_rows(save_dir, rows, rows[-1], _settings(loaded, r))
    stages["scores"] = {
        "seconds": round(time.perf_counter() - start - stages["activations"]["seconds"], 2),
        "peak_rss_gb": round(peak_rss_gb(), 3),
    }
    order = {bench.identifier: k for k, bench in enumerate(benches)}
    rows.sort(key=lambda row: (row["depth"], order[row["benchmark"]]))
    return pd.DataFrame(rows, columns=list(COLUMNS)), stages


def write_layer_scores(
    loaded: LoadedModel,
    benchmarks: Sequence[str],
    layers: Sequence[str],
    out: Path,
    reduction: Reduction = Reduction(),
    batch_size: int = 64,
    command: str = "",
) -> dict:
    """:func:`score_layers`, written to ``out``: ``layer_scores.csv`` (rewritten as each row finishes;
    rows saved there earlier for the same settings are reused), ``layer_scores.png`` and ``run.json``
    (settings, time and peak memory per stage, package versions); returns the run record."""
    from neuroequi.io import package_versions

    start = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table, stages = score_layers(loaded, list(benchmarks), list(layers), reduction, batch_size, save_dir=out)
    files = {"csv": str(out / "layer_scores.csv"), "plot": str(out / "layer_scores.png"), "run": str(out / "run.json")}
    with atomic_write(Path(files["csv"]), fsync=False) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
    plot_layer_scores(table, Path(files["plot"]), f"{loaded.identifier} ({reduction.describe()})")
    run = {
        "model": loaded.name,
        "identifier": loaded.identifier,
        "benchmarks": list(benchmarks),
        "layers": list(layers),
        "reduction": {**dataclasses.asdict(reduction), "key": reduction.key},
        "batch_size": batch_size,
        "command": command,
        "stages": stages,
        "total_seconds": round(time.perf_counter() - start, 2),
        "peak_rss_gb": round(peak_rss_gb(), 3),
        "torch_threads": torch.get_num_threads(),
        "versions": package_versions("brainscore_vision"),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": files,
    }
    write_json(files["run"], run, fsync=False)
    return run


def plot_layer_scores(table, path: Path, title: str = "") -> Path:
    """Score against depth, one line per benchmark (error bars where known).

    A ceiled benchmark's scores are already divided by its ceiling (Brain-Score's
    ``explained_variance``: ``r^2 / ceiling``), so its ceiling is drawn as a dashed line at 1,
    labelled with the ceiling's value; an unceiled benchmark says so in the legend. Tick labels
    give each layer's features (before -> after reduction).
    """
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for k, (benchmark, rows) in enumerate(table.groupby("benchmark", sort=True)):
        rows = rows.sort_values("depth")
        ceiling = rows["ceiling"].iloc[0]
        ax.errorbar(
            rows["depth"],
            rows["score"],
            yerr=rows["error"].fillna(0),
            color=f"C{k}",
            marker="o",
            capsize=3,
            label=benchmark + ("" if np.isfinite(ceiling) else " (unceiled)"),
        )
        if np.isfinite(ceiling):
            ax.axhline(1.0, color=f"C{k}", linestyle="--", linewidth=1, label=f"{benchmark} ceiling ({ceiling:.3f})")
    layers = table.drop_duplicates("depth").sort_values("depth")
    ax.set_xticks(
        layers["depth"],
        [
            f"{r.layer}\n{r.reduced_from}" + (f"\u2192{r.features}" if r.features != r.reduced_from else "")
            for r in layers.itertuples()
        ],
    )
    ax.set_xlabel("layer (input to output); features")
    ax.set_ylabel("score")
    ax.set_title("\n".join(textwrap.wrap(title, 80)), fontsize=8)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, fsync=False) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", dpi=150)
    plt.close(fig)
    return path
