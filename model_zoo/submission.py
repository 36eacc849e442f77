"""Brain-Score submissions that Brain-Score's servers can run: self-contained plugin folders and zips.

A submission is one plugin folder in Brain-Score's layout, zipped with its plugin type as the
top-level folder (``models/<plugin>/...``, what Brain-Score's unpacker expects). It imports
nothing from this project -- Brain-Score installs only what ``requirements.txt`` names, from the
public package index:

``model.py``
    the network's source, rendered from the project's own modules
    (:mod:`model_zoo.plugin_source`: CIFAR ResNets, width-scaled ResNets, group CNNs); the
    weights, downloaded from a public URL and checked against their sha256 before they are read;
    the preprocessing and image size the model was trained with (Brain-Score's
    ``load_preprocess_images``); ``get_model`` / ``get_layers`` / ``get_bibtex`` and the
    ``check_base_models`` entry point that Brain-Score's template has.
``__init__.py``
    one literal ``model_registry['<name>'] = lambda: ModelCommitment(...)`` line, with the
    explicit region->layer map (Brain-Score never runs its layer selection).
``test.py``
    tests Brain-Score runs on upload: the weights match their sha256, every layer exists, each
    region's layer responds to images with finite, image-dependent values, preprocessing gives
    the trained image size, the model is deterministic.
``region_layer_map/<name>.json``, ``metadata.yaml`` (Brain-Score's own metadata fields, from its
``VisionDomainPlugin``), ``requirements.txt`` (``torch``, ``torchvision``).

:func:`package` writes the folder and the zip. The zip holds no weights (they go by URL), so it
stays far below Brain-Score's 50 MB limit; a larger one is refused.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from model_zoo.brainscore import STIMULI_FIXTURE, plugin_dirname, write_plugin
from model_zoo.catalogue import Entry, get_entry
from model_zoo.loading import LoadedModel, load
from model_zoo.plugin_source import architecture, bundle
from neuroequi.errors import ConfigError

#: Brain-Score's upload limit for a submission zip.
MAX_ZIP_BYTES = 50 * 1024 * 1024
#: What the plugin needs from the package index beyond brainscore_vision itself.
REQUIREMENTS = ("torch", "torchvision")
#: How each weights source stores the network's state dict, as an expression of the loaded ``blob``
#: (akamaster: ``model_zoo.cifar_resnet.load_akamaster_checkpoint``; project checkpoints:
#: ``neuroequi.checkpoint.load_backbone``).
STATE_DICT = {
    "data": '{key.removeprefix("module."): value for key, value in blob["state_dict"].items()}',
    "path": 'blob["backbone"]',
}


@dataclass(frozen=True)
class Weights:
    """Where a submission's plugin downloads the weights from, and their sha256."""

    url: str
    sha256: str


@dataclass(frozen=True)
class LayerMap:
    """The region->layer map a submission commits to, and how it was chosen (a sentence)."""

    regions: dict[str, str]
    chosen_by: str


def check_public_url(url: str, what: str, allow_private: bool = False) -> str:
    """``url`` when Brain-Score's servers could download it: ``http(s)://`` with a host that is not
    ``localhost`` nor a loopback, private, link-local, reserved, multicast or unspecified IP address
    (names are not resolved: no network is used). ``allow_private``: accept such hosts too (a local
    mirror for a test; the submission will not load on Brain-Score). ConfigError naming ``what``, the
    URL and the reason otherwise."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(f"{what} {url!r} must be http(s):// with a public host (Brain-Score downloads it)")
    if allow_private:
        return url
    host = parsed.hostname.rstrip(".").lower()
    problem = None
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        problem = "a local host name"
    else:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if address is not None:
            kinds = ("loopback", "private", "link_local", "reserved", "multicast", "unspecified")
            found = [kind.replace("_", "-") for kind in kinds if getattr(address, f"is_{kind}")]
            problem = f"a {'/'.join(found)} address" if found else None
    if problem:
        raise ConfigError(f"{what} {url!r} is not public ({problem}): Brain-Score's servers could not download it; "
                          "upload the file somewhere public (allow_private_url=true only for a local test)")
    return url


def submission_weights(loaded: LoadedModel, url: str | None = None, allow_private_url: bool = False) -> Weights:
    """The public URL and sha256 of ``loaded``'s checkpoint file.

    ``url`` overrides the entry's own address (a mirror; the sha256 stays the file's, computed
    when it was loaded). ``allow_private_url``: see :func:`check_public_url`.

    Raises:
        ConfigError: no public http(s) URL (a local checkpoint registered without ``--url``, a
            loopback or private address, ``file:``), weights that are not a file (random init), or
            weights Brain-Score hosts already.
    """
    entry = loaded.entry
    if entry.source.kind == "init":
        raise ConfigError(f"model {entry.name!r} is a random initialisation: it has no weights file to submit")
    if entry.source.kind not in STATE_DICT:
        architecture(entry)  # raises, naming the Brain-Score plugins that exist for these weights
        raise ConfigError(f"model {entry.name!r}: weights of kind {entry.source.kind!r} cannot be packaged")
    url = url or entry.source.url
    if not url:
        raise ConfigError(
            f"model {entry.name!r} is a local checkpoint ({entry.source.location}) with no public URL; Brain-Score "
            "could not load its weights. Re-register it with `neuroequi zoo add PATH --url URL` or pass "
            "--weights-url URL.")
    check_public_url(url, f"weights URL of {entry.name!r}", allow_private_url)
    return Weights(url, loaded.sha256)


def preflight(loaded: LoadedModel, url: str | None = None, allow_private_url: bool = False) -> Weights:
    """Everything :func:`package` needs that is cheap to check, checked before any slow step (choosing
    layers): the weights' public URL and sha256 (:func:`submission_weights`) and an architecture whose
    source can be rendered (:func:`model_zoo.plugin_source.architecture`). Returns the weights."""
    weights = submission_weights(loaded, url, allow_private_url)
    architecture(loaded.entry)
    return weights


# --------------------------------------------------------------------------- templates

_MODEL = '''"""Brain-Score model plugin {name!r}, rendered by neuroequi {version} (model_zoo.submission).

Self-contained: imports torch, torchvision and brainscore_vision only. The network's source below
is rendered from the neuroequi modules it was trained with ({modules}); its weights are
downloaded from WEIGHTS_URL and must match WEIGHTS_SHA256 before they are read. Images are
resized to IMAGE_SIZE squared and normalised with MEAN and STD, as in training.

{description}
"""
from __future__ import annotations

import functools
import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

{imports}
from brainscore_vision.model_helpers.activations.pytorch import PytorchWrapper, load_preprocess_images

MODEL = {name!r}
IDENTIFIER = {identifier!r}  # <name>-<first 8 hex digits of the weights' sha256>
WEIGHTS_URL = {url!r}
WEIGHTS_SHA256 = {sha256!r}
IMAGE_SIZE = {image_size!r}
MEAN = {mean!r}
STD = {std!r}
LAYERS = {layers!r}
REGION_LAYER_MAP_FILE = Path(__file__).parent / "region_layer_map" / f"{{MODEL}}.json"
BIBTEX = {bibtex!r}


# ---------------------------------------------------------------- architecture (rendered, do not edit)

{source}


# ---------------------------------------------------------------- this model

def build_network() -> torch.nn.Module:
    """The architecture, randomly initialised."""
    return {build}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def weights_file() -> Path:
    """The checkpoint, downloaded once into torch's hub cache and checked against WEIGHTS_SHA256."""
    target = Path(torch.hub.get_dir()) / "checkpoints" / f"{{IDENTIFIER}}-{{WEIGHTS_SHA256[:16]}}"
    if target.is_file() and _sha256(target) == WEIGHTS_SHA256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
        try:
            with urllib.request.urlopen(WEIGHTS_URL, timeout=60) as response:
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    digest.update(chunk)
                    tmp.write(chunk)
        except OSError as exc:
            os.unlink(tmp.name)
            raise RuntimeError(f"{{MODEL}}: cannot download the weights from {{WEIGHTS_URL}}: {{exc}}") from exc
    if digest.hexdigest() != WEIGHTS_SHA256:
        os.unlink(tmp.name)
        raise RuntimeError(f"{{MODEL}}: {{WEIGHTS_URL}} has sha256 {{digest.hexdigest()}}, expected {{WEIGHTS_SHA256}}")
    os.replace(tmp.name, target)
    return target


def load_network() -> torch.nn.Module:
    """The trained network in eval mode (weights loaded strictly)."""
    network = build_network()
    blob = torch.load(weights_file(), map_location="cpu", weights_only=True)
    network.load_state_dict({state_dict}, strict=True)
    return network.eval()


def _check(name):
    if name != MODEL:
        raise ValueError(f"{{name!r}} is not a model of this plugin; it has {{MODEL!r}}")


def get_model_list():
    return [MODEL]


def get_model(name):
    _check(name)
    preprocessing = functools.partial(load_preprocess_images, image_size=IMAGE_SIZE, normalize_mean=MEAN,
                                      normalize_std=STD)
    wrapper = PytorchWrapper(identifier=IDENTIFIER, model=load_network(), preprocessing=preprocessing)
    wrapper.image_size = IMAGE_SIZE
    return wrapper


def get_layers(name):
    _check(name)
    return list(LAYERS)


def get_bibtex(model_identifier):
    _check(model_identifier)
    return BIBTEX


if __name__ == "__main__":
    from brainscore_vision.model_helpers.check_submission import check_models

    check_models.check_base_models(__name__)
'''

_INIT = '''"""Brain-Score model plugin {name!r} (rendered by neuroequi; self-contained, see model.py)."""
import json

from brainscore_vision import model_registry
from brainscore_vision.model_helpers.brain_transformation import ModelCommitment

from .model import IDENTIFIER, REGION_LAYER_MAP_FILE, get_layers, get_model

# region -> layer: {chosen_by}
model_registry[{name!r}] = lambda: ModelCommitment(identifier=IDENTIFIER, activations_model=get_model({name!r}), layers=get_layers({name!r}), region_layer_map=json.loads(REGION_LAYER_MAP_FILE.read_text()))
'''

_TEST = '''"""Tests of the Brain-Score plugin {name!r}: weights, layers, responses, preprocessing, determinism."""
import hashlib
import json

import numpy as np
import pytest
from PIL import Image

from brainscore_core.supported_data_standards.brainio.stimuli import StimulusSet
from brainscore_vision import load_model
from brainscore_vision.models.{plugin} import model as plugin

REGION_LAYER_MAP = json.loads(plugin.REGION_LAYER_MAP_FILE.read_text())


{stimuli_fixture}

def test_weights_match_their_sha256():
    digest = hashlib.sha256(plugin.weights_file().read_bytes()).hexdigest()
    assert digest == plugin.WEIGHTS_SHA256 and plugin.IDENTIFIER == f"{{plugin.MODEL}}-{{digest[:8]}}"


def test_layers_and_region_map_name_modules_of_the_network():
    modules = dict(plugin.load_network().named_modules())
    assert plugin.get_layers(plugin.MODEL) and all(layer in modules for layer in plugin.get_layers(plugin.MODEL))
    assert set(REGION_LAYER_MAP) == {{"V1", "V2", "V4", "IT"}}
    assert set(REGION_LAYER_MAP.values()) <= set(plugin.get_layers(plugin.MODEL))


def test_preprocessing_gives_the_trained_image_size(stimuli):
    wrapper = plugin.get_model(plugin.MODEL)
    batch = wrapper._extractor.preprocess([str(stimuli.get_stimulus("probe0"))])
    assert np.asarray(batch).shape == (1, 3, plugin.IMAGE_SIZE, plugin.IMAGE_SIZE)


@pytest.mark.parametrize("region", ["V1", "V2", "V4", "IT"])
def test_each_region_responds_to_images(region, stimuli):
    model = load_model(plugin.MODEL)
    assert model.identifier == plugin.IDENTIFIER
    model.start_recording(region, [(70, 170)])
    assembly = model.look_at(stimuli, number_of_trials=1)
    assert sorted(assembly["stimulus_id"].values) == ["probe0", "probe1", "probe2"]
    assert set(assembly["region"].values) == {{region}} and set(assembly["layer"].values) == {{REGION_LAYER_MAP[region]}}
    values = assembly.transpose("presentation", "neuroid", ...).values.reshape(3, -1)
    assert values.shape[1] > 0 and np.isfinite(values).all()
    assert not np.allclose(values[0], values[1]), "different images gave identical responses"


def test_responses_are_deterministic(stimuli):
    wrapper = plugin.get_model(plugin.MODEL)
    layer = plugin.get_layers(plugin.MODEL)[-1]
    first = wrapper(stimuli, layers=[layer], stimuli_identifier=False).values
    second = wrapper(stimuli, layers=[layer], stimuli_identifier=False).values
    np.testing.assert_array_equal(first, second)
'''


def _import_lines(lines: tuple[str, ...]) -> str:
    """``import torch`` plus the bundle's import lines, one ``from`` line per module."""
    plain = {"import torch"} | {line for line in lines if line.startswith("import ")}
    froms: dict[str, list[str]] = {}
    for line in lines:
        if line.startswith("from "):
            module, _, names = line.removeprefix("from ").partition(" import ")
            froms.setdefault(module, []).append(names)
    return "\n".join([*sorted(plain), *(f"from {m} import {', '.join(sorted(n))}" for m, n in sorted(froms.items()))])


def _metadata(loaded: LoadedModel, plugin: str, layer_map: LayerMap, weights: Weights) -> str:
    """``metadata.yaml`` in Brain-Score's model-metadata format, from its own ``VisionDomainPlugin``."""
    import yaml
    from brainscore_vision.plugin_management.vision_domain_plugin import VisionDomainPlugin

    class _Offline(VisionDomainPlugin):
        def get_huggingface_link(self, model_name):  # no network look-up while packaging
            return None

    entry = loaded.entry
    fields = _Offline().create_model_metadata(loaded.module, entry.name, plugin)
    lam = "" if entry.lam is None else f", lambda {entry.lam}"
    fields.update(
        training_dataset=entry.dataset, brainscore_link=None,
        extra_notes=(f"neuroequi model zoo entry {entry.name!r}: method {entry.method}{lam}, architecture "
                     f"{entry.arch} (width {entry.width}); weights {weights.url} (sha256 {weights.sha256}); "
                     f"input {entry.image_size} px, mean {list(entry.mean)}, std {list(entry.std)}; "
                     f"region->layer map {layer_map.regions} chosen by: {layer_map.chosen_by}"
                     + (f"; {entry.notes}" if entry.notes else "")))
    return yaml.dump({"models": {entry.name: fields}}, default_flow_style=False, sort_keys=False, indent=4)


def _description(entry: Entry) -> str:
    lam = "" if entry.lam is None else f", lambda = {entry.lam}"
    return textwrap.fill(f"Model: {entry.arch} (width {entry.width}), {entry.method}{lam}, trained on {entry.dataset}."
                         + (f" {entry.notes}." if entry.notes else ""), 100)


def render_submission(loaded: LoadedModel, weights: Weights, layer_map: LayerMap) -> dict[str, str]:
    """Files of the self-contained plugin folder of ``loaded``: ``{relative path: text}``."""
    from neuroequi import __version__

    entry = loaded.entry
    unknown = sorted(set(layer_map.regions.values()) - set(loaded.layers))
    if unknown or set(layer_map.regions) != {"V1", "V2", "V4", "IT"}:
        raise ConfigError(f"region->layer map {layer_map.regions} of {entry.name!r} must map V1, V2, V4 and IT "
                          f"to layers of the model {list(loaded.layers)}")
    arch = architecture(entry)
    code = bundle(arch.roots)
    plugin = plugin_dirname(entry.name)
    model_py = _MODEL.format(
        name=entry.name, version=__version__, modules=", ".join(sorted({o.split(":")[0] for o in code.origins})),
        description=_description(entry), imports=_import_lines(code.imports), identifier=loaded.identifier,
        url=weights.url, sha256=weights.sha256, image_size=int(entry.image_size),
        mean=tuple(float(m) for m in entry.mean), std=tuple(float(s) for s in entry.std), layers=list(entry.layers),
        bibtex=entry.citation or "", source=code.source, build=arch.build, state_dict=STATE_DICT[entry.source.kind])
    return {
        "__init__.py": _INIT.format(name=entry.name, chosen_by=" ".join(layer_map.chosen_by.split())),
        "model.py": model_py,
        "test.py": _TEST.format(name=entry.name, plugin=plugin, stimuli_fixture=STIMULI_FIXTURE),
        "requirements.txt": "".join(f"{r}\n" for r in REQUIREMENTS),
        "metadata.yaml": _metadata(loaded, plugin, layer_map, weights),
        f"region_layer_map/{entry.name}.json": json.dumps(layer_map.regions, indent=2) + "\n",
    }


def package(model: str | LoadedModel, output: Path, *, weights_url: str | None = None,
            layer_map: LayerMap | None = None, home: Path | None = None, allow_private_url: bool = False) -> Path:
    """Write the submission of ``model`` as ``output`` (a zip) and ``output`` without ``.zip`` (the folder).

    Layout: ``models/<plugin>/{__init__.py, model.py, test.py, requirements.txt, metadata.yaml,
    region_layer_map/<name>.json}``. ``layer_map``: the region->layer map to commit (default: the
    catalogue entry's). ``allow_private_url``: accept a loopback or private weights URL (a local
    test mirror, :func:`check_public_url`). Returns the zip's path.

    Raises:
        ConfigError: no public URL or sha256 for the weights (:func:`submission_weights`), an
            architecture without source here, a bad layer map, or a zip over 50 MB.
    """
    loaded = model if isinstance(model, LoadedModel) else load(get_entry(model, home), home)
    weights = preflight(loaded, weights_url, allow_private_url)
    layer_map = layer_map or LayerMap(dict(loaded.region_layer_map), "the catalogue entry's default map")
    files = render_submission(loaded, weights, layer_map)
    output = Path(output)
    if output.suffix != ".zip":
        raise ConfigError(f"submission path {str(output)!r} must end in .zip")
    folder = output.with_suffix("")
    plugin = plugin_dirname(loaded.name)
    if folder.exists():
        shutil.rmtree(folder)
    write_plugin(folder / "models" / plugin, files)
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel, text in sorted(files.items()):
            zf.writestr(zipfile.ZipInfo(f"models/{plugin}/{rel}", date_time=(1980, 1, 1, 0, 0, 0)), text,
                        compress_type=zipfile.ZIP_DEFLATED)
    if output.stat().st_size > MAX_ZIP_BYTES:
        raise ConfigError(f"submission {output} is {output.stat().st_size / 2**20:.1f} MB; Brain-Score accepts 50 MB")
    return output
