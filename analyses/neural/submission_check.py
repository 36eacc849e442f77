"""``neuroequi brainscore check SUB.zip``: Brain-Score's submission checks, locally, before upload.

What Brain-Score does with an upload, done here where failures can be read:

1. **Unpack** the zip into a temporary folder and find the plugin the way Brain-Score's unpacker
   does (one top-level folder, the plugin type, ``models/<plugin>/`` with an ``__init__.py`` that
   registers a model and a ``test.py``); anything else is :class:`~neuroequi.errors.ConfigError`
   ("not a Brain-Score plugin"). Zips over 50 MB are refused.
2. **Static checks**, with file and line: no import of this project's packages, and a
   ``requirements.txt`` that names only package-index requirements (no URLs, paths or
   this project's distribution). A weights URL in ``model.py`` (``WEIGHTS_URL = '...'``) must
   answer within 10 s; otherwise :class:`~neuroequi.errors.OfflineError` at once, naming it.
3. **A blocked subprocess** (:mod:`analyses.neural.submission_runner`): ``sitecustomize`` puts a
   meta-path finder first that refuses ``neuroequi``, ``model_zoo``, ``analyses`` and
   ``figures``, so nothing can pass because this project happens to be installed; its
   ``brainscore_vision`` is an overlay of the installed one (symlinks) whose ``models/`` holds
   only the submission, as in Brain-Score's checkout; caches (``RESULTCACHING_HOME``,
   ``BRAINSCORE_HOME``, ``TORCH_HOME``) are fresh, so the weights are really downloaded and no
   activations are reused. It runs Brain-Score's ``check_models.check_base_models``, its generic
   plugin tests, the plugin's ``test.py``, and records the registered model's activations at its
   committed layers to the stimuli of one local benchmark.
4. **A score** on that benchmark from the recorded activations (Brain-Score's ``ModelCommitment``
   on them, :func:`analyses.neural.layers.stored_commitment`), compared with the same zoo model's
   :func:`analyses.neural.scoring.score` at the same region->layer map when the zoo knows it.

Offline, ``check_base_models`` cannot fetch its two downloads (``MajajHong2015.public`` and
ImageNet validation images for ``LayerPCA``); it then runs with local stand-ins, and the report
says so: the first 200 images of Cowley session 210325 with their per-repeat V4 responses
labelled ``IT`` (``object_name``: image index mod 10; the mock's value is never looked at), and
the 1,000 CIFAR-10 test images of :func:`analyses.neural.data.cifar10_pca_stimulus_set`.
Brain-Score's wheel lacks the three images its generic tests read
(``generic_plugin_tests_resources/rgb{1,2,3}``); random images stand in for them.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import string
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model_zoo.plugin_source import PROJECT_PACKAGES, bundle
from model_zoo.submission import MAX_ZIP_BYTES
from neuroequi.errors import ConfigError, OfflineError

RUNNER = Path(__file__).resolve().with_name("submission_runner.py")
PHASES = ("check_base_models", "generic_tests", "plugin_tests", "record")
#: Copied (not linked) into the overlay: files whose own path Brain-Score uses to find other files.
_COPIED = (
    "models/__init__.py",
    "model_helpers/brain_transformation/__init__.py",
    "model_helpers/generic_plugin_tests.py",
)

#: The ``sitecustomize.py`` of the check's environment (a template beside this file, :class:`string.Template`).
SITECUSTOMIZE = Path(__file__).resolve().parent / "submission_sitecustomize.py.tmpl"


@dataclass
class Failure:
    """One failed check: where (file relative to the plugin folder where possible, line) and why."""

    phase: str
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"[{self.phase}] {self.file}:{self.line}: {self.message}"


@dataclass
class CheckReport:
    """Result of :func:`check_submission`."""

    zip_path: str
    plugin: str
    model: str
    phases: list[dict] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    benchmark: str | None = None
    score: float | None = None
    zoo_score: float | None = None

    @property
    def ok(self) -> bool:
        """Every check passed (and the score matches the zoo's where both exist)."""
        return not self.failures

    def lines(self) -> list[str]:
        """Human-readable report, one line each."""
        out = [f"submission {self.zip_path}: plugin models/{self.plugin}, model {self.model!r}"]
        out += [
            f"  {p['phase']:>18}: {'ok' if p['ok'] else 'FAILED'} ({p['seconds']:.0f} s)"
            + (f" -- {'; '.join(p.get('notes', []))}" if p.get("notes") else "")
            for p in self.phases
        ]
        if self.score is not None:
            zoo = (
                ""
                if self.zoo_score is None
                else (f"; zoo model {self.zoo_score:.6f}, |difference| {abs(self.score - self.zoo_score):.2e}")
            )
            out.append(f"  score on {self.benchmark}: {self.score:.6f}{zoo}")
        out += [f"  note: {n}" for n in self.notes]
        out += [f"  {f}" for f in self.failures]
        out.append("  PASSED: ready to submit" if self.ok else f"  {len(self.failures)} failure(s)")
        return out


# --------------------------------------------------------------------------- unpack and static checks


def unpack(zip_path: Path, work: Path) -> tuple[Path, str]:
    """Unpack ``zip_path`` into ``work/submission``; ``(plugin folder, registered model name)``.

    Raises:
        ConfigError: not a readable zip, over 50 MB, or not one Brain-Score model plugin.
    """
    zip_path = Path(zip_path)
    if not zip_path.is_file():
        raise ConfigError(f"submission {str(zip_path)!r} does not exist")
    if zip_path.stat().st_size > MAX_ZIP_BYTES:
        raise ConfigError(
            f"submission {zip_path} is {zip_path.stat().st_size / 2**20:.1f} MB; Brain-Score accepts 50 MB"
        )
    if not zipfile.is_zipfile(zip_path):
        raise ConfigError(f"{zip_path} is not a Brain-Score plugin: not a zip file")
    target = work / "submission"
    target.mkdir(parents=True, exist_ok=True)  # an empty zip extracts nothing
    with zipfile.ZipFile(zip_path) as zf:
        names = [n for n in zf.namelist() if not n.startswith("__MACOSX/")]
        bad = [n for n in names if n.startswith("/") or ".." in Path(n).parts]
        if bad:
            raise ConfigError(f"{zip_path} is not a Brain-Score plugin: unsafe paths {bad[:3]}")
        zf.extractall(target, members=names)
    top = sorted(p.name for p in target.iterdir() if not p.name.startswith((".", "_")))
    plugins = (
        sorted(p for p in (target / "models").iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
        if top == ["models"]
        else []
    )
    if len(plugins) != 1:
        raise ConfigError(
            f"{zip_path} is not a Brain-Score plugin: expected one folder models/<plugin>/ at the top, "
            f"found top-level entries {top} and plugin folders {[p.name for p in plugins]}"
        )
    plugin = plugins[0]
    missing = [f for f in ("__init__.py", "test.py") if not (plugin / f).is_file()]
    if missing:
        raise ConfigError(f"{zip_path} is not a Brain-Score plugin: models/{plugin.name}/ lacks {missing}")
    registered = re.findall(r"""model_registry\[\s*['"]([^'"]+)['"]\s*\]""", (plugin / "__init__.py").read_text())
    if len(registered) != 1:
        raise ConfigError(
            f"{zip_path}: models/{plugin.name}/__init__.py must register exactly one model with a "
            f"literal model_registry['<name>'] = ... line; found {registered}"
        )
    return plugin, registered[0]


def static_failures(plugin: Path) -> list[Failure]:
    """Imports of this project's packages (file:line) and requirements Brain-Score cannot install."""
    failures = []
    for path in sorted(plugin.rglob("*.py")):
        rel = str(path.relative_to(plugin.parent))
        try:
            tree = ast.parse(path.read_text(), str(path))
        except SyntaxError as exc:
            failures.append(Failure("static", rel, exc.lineno or 0, f"SyntaxError: {exc.msg}"))
            continue
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            for name in names:
                if name.split(".")[0] in PROJECT_PACKAGES:
                    failures.append(
                        Failure(
                            "static",
                            rel,
                            node.lineno,
                            f"imports {name!r}, a package of this project that Brain-Score's servers do not have",
                        )
                    )
    requirements = plugin / "requirements.txt"
    if requirements.is_file():
        for number, raw in enumerate(requirements.read_text().splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            name = re.split(r"[\s<>=!~;\[@]", line, maxsplit=1)[0].lower().replace("_", "-")
            if "://" in line or line.startswith(("-", ".", "/")) or " @ " in line:
                failures.append(
                    Failure(
                        "static",
                        f"{plugin.name}/requirements.txt",
                        number,
                        f"{line!r} is not a package-index requirement (URL, path or option)",
                    )
                )
            elif name in PROJECT_PACKAGES or name == "neuroequi":
                failures.append(
                    Failure(
                        "static",
                        f"{plugin.name}/requirements.txt",
                        number,
                        f"{line!r}: this project is not on the package index",
                    )
                )
    return failures


def weights_url(plugin: Path) -> tuple[str, int] | None:
    """``(url, line)`` of a literal ``WEIGHTS_URL = '...'`` in the plugin's ``model.py``, if any."""
    model = plugin / "model.py"
    if not model.is_file():
        return None
    for node in ast.parse(model.read_text()).body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "WEIGHTS_URL" for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value, node.lineno
    return None


def check_weights_url(plugin: Path, timeout: float = 10.0, allow_private_url: bool = False) -> None:
    """Raise ConfigError when the plugin's weights URL is not public (loopback, private, ``file:``;
    :func:`model_zoo.submission.check_public_url`) and OfflineError at once when it does not answer
    (both name file and line)."""
    from model_zoo.submission import check_public_url

    found = weights_url(plugin)
    if found is None:
        return
    url, line = found
    check_public_url(url, f"models/{plugin.name}/model.py:{line}: weights URL", allow_private_url)
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
            return
    except urllib.error.HTTPError as exc:
        reason = f"HTTP {exc.code} {exc.reason}"
    except (OSError, ValueError) as exc:
        reason = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
    raise OfflineError(
        f"models/{plugin.name}/model.py:{line}: weights URL {url} is unreachable ({reason}); "
        "Brain-Score's servers could not load this model"
    )


# --------------------------------------------------------------------------- the blocked subprocess


def _mirror(source: Path, target: Path, copied: tuple[str, ...], rel: str = "") -> None:
    """``target`` mirrors ``source`` with symlinks; paths in ``copied`` are copies, their folders real."""
    target.mkdir(parents=True, exist_ok=True)
    for entry in sorted(source.iterdir()):
        path = f"{rel}{entry.name}"
        if entry.name == "__pycache__":
            continue
        if path in copied:
            shutil.copy2(entry, target / entry.name)
        elif entry.is_dir() and any(c.startswith(path + "/") for c in copied):
            _mirror(entry, target / entry.name, copied, path + "/")
        elif path != "models" and not path.startswith("models/"):
            (target / entry.name).symlink_to(entry)


def build_overlay(plugin: Path, work: Path) -> Path:
    """``work/site/brainscore_vision``: the installed package, linked, with ``models/`` holding only the
    submission (plus stand-ins for the generic tests' missing images); returns the plugin's new folder."""
    import brainscore_vision
    from PIL import Image

    installed = Path(brainscore_vision.__file__).resolve().parent
    overlay = work / "site" / "brainscore_vision"
    _mirror(installed, overlay, _COPIED)
    (overlay / "models").mkdir(exist_ok=True)
    shutil.copy2(installed / "models" / "__init__.py", overlay / "models" / "__init__.py")
    resources = overlay / "model_helpers" / "generic_plugin_tests_resources"
    resources.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for name in ("rgb1.jpg", "rgb2.jpg", "rgb3.png"):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(resources / name)
    shutil.copytree(plugin, overlay / "models" / plugin.name)
    return overlay / "models" / plugin.name


def write_sitecustomize(folder: Path) -> Path:
    """``folder/sitecustomize.py``: the project blocker and the torchvision compatibility step."""
    compat = bundle(["neuroequi._compat:ensure_torchvision"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sitecustomize.py"
    template = string.Template(SITECUSTOMIZE.read_text())
    path.write_text(
        template.substitute(
            blocked=repr(set(PROJECT_PACKAGES)), compat_imports="\n".join(compat.imports), compat=compat.source
        )
    )
    return path


def _standins(work: Path) -> dict:
    """Offline stand-ins for check_base_models' downloads, written as files (see the module docstring)."""
    from analyses.neural.data import cifar10_pca_stimulus_set, cowley_assembly

    repetitions = cowley_assembly("210325", repetitions=True)
    ids = list(dict.fromkeys(str(s) for s in repetitions["stimulus_id"].values))[:200]
    keep = np.isin(repetitions["stimulus_id"].values, ids)
    subset = repetitions[{"presentation": keep}]
    stimulus_set = repetitions.stimulus_set
    stimulus_set = stimulus_set[stimulus_set["stimulus_id"].isin(ids)]
    group = {s: f"group{i % 10}" for i, s in enumerate(ids)}
    objects = [group[str(s)] for s in subset["stimulus_id"].values]
    meta = {
        "identifier": "MajajHong2015.public-standin-Cowley2023.210325",
        "stimulus_set": {
            "stimulus_id": list(stimulus_set["stimulus_id"]),
            "filename": list(stimulus_set["filename"]),
            "object_name": [group[s] for s in stimulus_set["stimulus_id"]],
            "image_label": [group[s] for s in stimulus_set["stimulus_id"]],
        },
        "paths": [str(repetitions.stimulus_set.get_stimulus(s)) for s in stimulus_set["stimulus_id"]],
        "presentation": {
            "stimulus_id": [str(s) for s in subset["stimulus_id"].values],
            "repetition": [int(r) for r in subset["repetition"].values],
            "object_name": objects,
            "image_label": objects,
        },
        "neuroid": {
            "neuroid_id": [str(n) for n in subset["neuroid_id"].values],
            "region": ["IT"] * subset.sizes["neuroid"],
            "session": [str(n) for n in subset["session"].values],
        },
        "time_bin": [70, 170],
    }
    folder = work / "standins"
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "majajhong_values.npy", subset.transpose("presentation", "neuroid").values)
    (folder / "majajhong_coords.json").write_text(json.dumps(meta))
    pca = cifar10_pca_stimulus_set(1000)
    return {
        "majajhong": {"values": str(folder / "majajhong_values.npy"), "coords": str(folder / "majajhong_coords.json")},
        "imagenet": [str(pca.get_stimulus(s)) for s in pca["stimulus_id"]],
        "note": "offline: check_base_models ran with local stand-ins for MajajHong2015.public (Cowley 210325, "
        "200 images, per-repeat responses labelled IT) and for LayerPCA's ImageNet images "
        "(1,000 CIFAR-10 test images)",
    }


def run_blocked(spec: dict, work: Path, timeout: float) -> list[dict]:
    """Run :mod:`analyses.neural.submission_runner` with ``spec`` in the blocked environment; its phases."""
    blocker = write_sitecustomize(work / "blocker")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(blocker.parent), str(work / "site")]),
        PYTHONNOUSERSITE="1",
        PYTHONDONTWRITEBYTECODE="1",
        BS_INSTALL_DEPENDENCIES="no",
        RESULTCACHING_HOME=str(work / "resultcaching"),
        BRAINSCORE_HOME=str(work / "brainscore"),
        TORCH_HOME=str(work / "torch"),
        MT_HOME=str(work / "mt"),
    )
    spec_path = work / "spec.json"
    spec_path.write_text(json.dumps(spec))
    try:
        done = subprocess.run(
            [sys.executable, "-P", str(RUNNER), str(spec_path)],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise ConfigError(f"the submission check ran past {timeout:.0f} s (raise timeout=...)") from exc
    report = Path(spec["report"])
    phases = json.loads(report.read_text()) if report.is_file() else []
    if not phases:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        phases = [
            {
                "phase": "start",
                "ok": False,
                "seconds": 0.0,
                "notes": [],
                "failures": [
                    {"file": str(RUNNER), "line": 0, "message": " | ".join(tail) or f"exit {done.returncode}"}
                ],
            }
        ]
    return phases


# --------------------------------------------------------------------------- the score


def _recording_spec(benchmark, work: Path) -> dict:
    from analyses.neural.benchmarks import benchmark_stimuli

    stimuli = []
    for stimulus_set, degrees in benchmark_stimuli(benchmark):
        ids = [str(s) for s in stimulus_set["stimulus_id"].values]
        stimuli.append(
            {
                "identifier": stimulus_set.identifier,
                "stimulus_ids": ids,
                "visual_degrees": degrees,
                "paths": [str(stimulus_set.get_stimulus(s)) for s in ids],
            }
        )
    return {"stimuli": stimuli, "out": str(work / "recorded")}


def score_recorded(benchmark, record: dict, out: Path) -> float:
    """The benchmark's score of a ``ModelCommitment`` serving the activations the plugin recorded."""
    from analyses.neural import run_benchmark
    from analyses.neural.activation_store import ActivationTable, placed_stimulus_sets, stored_commitment

    tables = []
    for placed in placed_stimulus_sets([benchmark], record["visual_degrees"]):
        folder = out / placed.identifier
        ids = json.loads((folder / "stimulus_ids.json").read_text())
        layers = {layer: np.load(folder / f"{layer}.npy") for layer in set(record["region_layer_map"].values())}
        tables.append(ActivationTable(placed.identifier, [str(placed.get_stimulus(s)) for s in ids], ids, layers))
    candidate = stored_commitment(record["identifier"], tables, record["region_layer_map"], record["visual_degrees"])
    return float(run_benchmark(benchmark, candidate).values)


def check_submission(
    zip_path: str | os.PathLike,
    benchmark: str = "Kiani2007.IT-rdm",
    phases: tuple[str, ...] = PHASES,
    timeout: float = 1800.0,
    keep: Path | None = None,
    home: Path | None = None,
    allow_private_url: bool = False,
) -> CheckReport:
    """Run the checks of the module docstring on a submission zip; the report.

    ``phases``: a subset of :data:`PHASES`. ``keep``: a folder to work in and keep (default: a
    temporary one, removed). ``home``: the zoo home for the comparison score. ``allow_private_url``:
    accept a loopback or private weights URL (a local test mirror).

    Raises:
        ConfigError: the zip is not a Brain-Score plugin, its weights URL is not public, or an unknown
            phase or non-local benchmark.
        OfflineError: the plugin's weights URL does not answer.
    """
    from analyses.neural import is_online, load_benchmark
    from analyses.neural.online import reachable

    unknown = sorted(set(phases) - set(PHASES))
    if unknown:
        raise ConfigError(f"check: unknown phase(s) {unknown}; phases: {list(PHASES)}")
    if "record" in phases and is_online(benchmark):
        raise ConfigError(f"check: the score runs on a local benchmark; {benchmark!r} is online")
    work = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="neuroequi-check-"))
    try:
        plugin, name = unpack(Path(zip_path), work)
        report = CheckReport(str(zip_path), plugin.name, name, failures=static_failures(plugin))
        check_weights_url(plugin, allow_private_url=allow_private_url)
        plugin_dir = build_overlay(plugin, work)
        bench = load_benchmark(benchmark) if "record" in phases else None
        spec = {
            "plugin_dir": str(plugin_dir),
            "plugin": plugin.name,
            "model": name,
            "phases": list(phases),
            "report": str(work / "report.json"),
            "rootdir": str(work / "site"),
            "generic_tests": str(plugin_dir.parents[1] / "model_helpers" / "generic_plugin_tests.py"),
            "record": _recording_spec(bench, work) if bench is not None else None,
            "standins": _standins(work)
            if "check_base_models" in phases and reachable("brainscore-storage.s3.amazonaws.com") is not None
            else None,
        }
        report.phases = run_blocked(spec, work, timeout)
        for phase in report.phases:
            report.failures += [
                Failure(phase["phase"], _relative(f["file"], plugin_dir), f["line"], f["message"])
                for f in phase["failures"]
            ]
        recorded = next((p["record"] for p in report.phases if p["phase"] == "record" and p["ok"]), None)
        if recorded is not None:
            report.benchmark = benchmark
            report.score = score_recorded(bench, recorded, Path(spec["record"]["out"]))
            _compare(report, recorded, home)
        return report
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)


def _relative(file: str, plugin_dir: Path) -> str:
    path = Path(file)
    return str(path.relative_to(plugin_dir.parent)) if path.is_relative_to(plugin_dir.parent) else file


def _compare(report: CheckReport, recorded: dict, home: Path | None) -> None:
    """Add the zoo's score of the same model (same identifier, same map) and fail on a difference > 1e-6."""
    from analyses.neural.scoring import score
    from model_zoo import load
    from model_zoo.catalogue import entries

    if report.model not in entries(home):
        report.notes.append(f"{report.model!r} is not in the zoo: no score to compare with")
        return
    loaded = load(report.model, home)
    if loaded.identifier != recorded["identifier"]:
        report.notes.append(
            f"the zoo's {report.model!r} has identifier {loaded.identifier}, the plugin "
            f"{recorded['identifier']}: different weights, scores not compared"
        )
        return
    result = score(loaded, report.benchmark, region_layer_map=recorded["region_layer_map"], home=home)
    report.zoo_score = float(result["score"])
    if abs(report.score - report.zoo_score) > 1e-6:
        report.failures.append(
            Failure(
                "score",
                "model.py",
                0,
                f"score {report.score:.8f} through the submission "
                f"differs from the zoo model's {report.zoo_score:.8f} (> 1e-6)",
            )
        )
