"""The blocked half of ``neuroequi brainscore check``: run as a script, never imported.

Run by :mod:`analyses.neural.submission_check` in a subprocess whose ``sitecustomize`` makes
this project's packages unimportable and whose ``brainscore_vision`` is an overlay of the
installed one with the submission as its only model plugin. It imports nothing from this
project (a test checks that), so what passes here passes without the project installed.

``python -P submission_runner.py SPEC.json`` reads the spec (plugin folder, plugin name, which
phases, offline stand-ins, what to record) and writes the report JSON it names: per phase
``ok``, ``seconds``, ``failures`` (file, line, message) and ``notes``. Phases:

``import``            import the plugin package and its ``model`` module
``check_base_models`` Brain-Score's ``check_models.check_base_models`` on ``model``
``generic_tests``     Brain-Score's ``model_helpers/generic_plugin_tests.py --plugin_directory``
``plugin_tests``      the plugin's own ``test.py`` (``-m "not slow"``, as Brain-Score runs it)
``record``            the registered model's activations, at its committed layers, to stimuli
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
from pathlib import Path


def _location(frames, plugin_dir: str) -> tuple[str, int]:
    """(file, line) of the innermost frame in the plugin's folder, else of the innermost frame."""
    inside = [f for f in frames if str(f[0]).startswith(plugin_dir)]
    file, line = (inside or frames or [("?", 0)])[-1][:2]
    return str(file), int(line or 0)


def _failure_from_exception(exc: BaseException, plugin_dir: str) -> dict:
    frames = [(f.filename, f.lineno) for f in traceback.extract_tb(exc.__traceback__)]
    file, line = _location(frames, plugin_dir)
    return {"file": file, "line": line, "message": f"{type(exc).__name__}: {exc}".strip()}


class _Collector:
    """pytest plugin: failed tests and collection errors as (file, line, message)."""

    def __init__(self, plugin_dir: str):
        self.plugin_dir = plugin_dir
        self.failures: list[dict] = []
        self.passed = 0

    def _add(self, report) -> None:
        longrepr = report.longrepr
        crash = getattr(longrepr, "reprcrash", None)
        entries = getattr(getattr(longrepr, "reprtraceback", None), "reprentries", []) or []
        frames = [(e.reprfileloc.path, e.reprfileloc.lineno) for e in entries if getattr(e, "reprfileloc", None)]
        if crash is not None:
            frames = frames or [(crash.path, crash.lineno)]
        file, line = _location(frames, self.plugin_dir) if frames else (report.nodeid, 0)
        message = crash.message if crash is not None else str(longrepr).strip().splitlines()[-1:]
        self.failures.append({"file": file, "line": line, "message": f"{report.nodeid}: {message}"})

    def pytest_runtest_logreport(self, report):
        if report.failed:
            self._add(report)
        elif report.when == "call" and report.passed:
            self.passed += 1

    def pytest_collectreport(self, report):
        if report.failed:
            self._add(report)


def _pytest(args: list[str], plugin_dir: str, rootdir: str) -> dict:
    """Run pytest in this process as Brain-Score does (``-m "not slow"``); its output is echoed."""
    import contextlib
    import io

    import pytest

    collector = _Collector(plugin_dir)
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = int(
            pytest.main(
                [*args, "-m", "not slow", "-q", "-p", "no:cacheprovider", "--rootdir", rootdir], plugins=[collector]
            )
        )
    print(output.getvalue())
    if code not in (0, 5) and not collector.failures:
        tail = [line for line in output.getvalue().splitlines() if line.strip()][-3:]
        collector.failures.append(
            {"file": args[0], "line": 0, "message": f"pytest exit code {code}: {' | '.join(tail)}"}
        )
    return {"failures": collector.failures, "notes": [f"{collector.passed} passed (pytest exit code {code})"]}


def _standin_assembly(spec: dict):
    """The offline stand-in for ``MajajHong2015.public`` (built from files the parent wrote)."""
    import numpy as np
    from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly
    from brainscore_core.supported_data_standards.brainio.stimuli import StimulusSet

    meta = json.loads(Path(spec["coords"]).read_text())
    stimuli = StimulusSet(meta["stimulus_set"])
    stimuli.stimulus_paths = dict(zip(meta["stimulus_set"]["stimulus_id"], meta["paths"]))
    stimuli.identifier = meta["identifier"]
    coords = {
        **{k: ("presentation", v) for k, v in meta["presentation"].items()},
        **{k: ("neuroid", v) for k, v in meta["neuroid"].items()},
        "time_bin_start": ("time_bin", [meta["time_bin"][0]]),
        "time_bin_end": ("time_bin", [meta["time_bin"][1]]),
    }
    values = np.load(spec["values"])[:, :, None]
    assembly = NeuroidAssembly(values, coords=coords, dims=["presentation", "neuroid", "time_bin"])
    assembly.attrs["stimulus_set"] = stimuli
    assembly.attrs["stimulus_set_identifier"] = stimuli.identifier
    assembly.name = meta["identifier"]
    return assembly


def _check_base_models(spec: dict, model_module) -> dict:
    from brainscore_vision.model_helpers.activations import pca
    from brainscore_vision.model_helpers.check_submission import check_models

    notes = []
    standins = spec.get("standins")
    if standins:
        original = check_models.load_dataset
        check_models.load_dataset = lambda identifier: (
            _standin_assembly(standins["majajhong"]) if identifier == "MajajHong2015.public" else original(identifier)
        )
        pca._get_imagenet_val = lambda num_images: standins["imagenet"][:num_images]
        notes.append(standins["note"])
    sys.modules["submission_model"] = model_module
    check_models.check_base_models("submission_model")
    return {"failures": [], "notes": notes}


def _record(spec: dict, name: str) -> dict:
    """Activations of the registered model at every committed layer, per stimulus set (npy files)."""
    import numpy as np
    from brainscore_core.supported_data_standards.brainio.stimuli import StimulusSet
    from brainscore_vision import load_model
    from brainscore_vision.benchmark_helpers.screen import place_on_screen

    model = load_model(name)
    region_layer_map = {str(k): str(v) for k, v in dict(model.layer_model.region_layer_map).items()}
    layers = sorted(set(region_layer_map.values()))
    out = Path(spec["out"])
    recorded = []
    for request in spec["stimuli"]:
        stimuli = StimulusSet(
            {"stimulus_id": request["stimulus_ids"], "filename": [Path(p).name for p in request["paths"]]}
        )
        stimuli.stimulus_paths = dict(zip(request["stimulus_ids"], request["paths"]))
        stimuli.identifier = request["identifier"]
        placed = place_on_screen(
            stimuli, target_visual_degrees=model.visual_degrees(), source_visual_degrees=request["visual_degrees"]
        )
        folder = out / placed.identifier
        folder.mkdir(parents=True, exist_ok=True)
        for layer in layers:
            assembly = model.activations_model(placed, layers=[layer], stimuli_identifier=False)
            assembly = assembly.transpose("presentation", "neuroid")
            np.save(folder / f"{layer}.npy", assembly.values.astype(np.float32))
            (folder / "stimulus_ids.json").write_text(json.dumps([str(s) for s in assembly["stimulus_id"].values]))
        recorded.append({"identifier": request["identifier"], "placed": placed.identifier})
    return {
        "failures": [],
        "notes": [],
        "record": {
            "identifier": model.identifier,
            "visual_degrees": model.visual_degrees(),
            "region_layer_map": region_layer_map,
            "activations_identifier": model.activations_model.identifier,
            "stimulus_sets": recorded,
        },
    }


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    plugin_dir, plugin = spec["plugin_dir"], spec["plugin"]
    results = []
    model_module = None

    def phase(name, run):
        start = time.perf_counter()
        try:
            result = run()
            result.setdefault("failures", [])
        except BaseException as exc:  # noqa: BLE001 -- every failure is reported, with its place
            if isinstance(exc, KeyboardInterrupt):
                raise
            result = {"failures": [_failure_from_exception(exc, plugin_dir)], "notes": []}
        result.update(phase=name, ok=not result["failures"], seconds=round(time.perf_counter() - start, 2))
        results.append(result)
        Path(spec["report"]).write_text(json.dumps(results, indent=2))
        return result

    def load():
        nonlocal model_module
        importlib.import_module(f"brainscore_vision.models.{plugin}")
        model_module = importlib.import_module(f"brainscore_vision.models.{plugin}.model")
        return {"notes": [f"model list {model_module.get_model_list()}"]}

    if not phase("import", load)["ok"]:
        return 1
    name = spec["model"]
    runners = {
        "check_base_models": lambda: _check_base_models(spec, model_module),
        "generic_tests": lambda: _pytest(
            [spec["generic_tests"], "--plugin_directory", plugin_dir], plugin_dir, spec["rootdir"]
        ),
        "plugin_tests": lambda: _pytest([str(Path(plugin_dir) / "test.py")], plugin_dir, spec["rootdir"]),
        "record": lambda: _record(spec["record"], name),
    }
    for phase_name in spec["phases"]:
        phase(phase_name, runners[phase_name])
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
