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

from model_zoo.brainscore import plugin_dirname, render_template, write_plugin
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
        raise ConfigError(
            f"{what} {url!r} is not public ({problem}): Brain-Score's servers could not download it; "
            "upload the file somewhere public (allow_private_url=true only for a local test)"
        )
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
            "--weights-url URL."
        )
    check_public_url(url, f"weights URL of {entry.name!r}", allow_private_url)
    return Weights(url, loaded.sha256)


def preflight(loaded: LoadedModel, url: str | None = None, allow_private_url: bool = False) -> Weights:
    """Everything :func:`package` needs that is cheap to check, checked before any slow step (choosing
    layers): the weights' public URL and sha256 (:func:`submission_weights`) and an architecture whose
    source can be rendered (:func:`model_zoo.plugin_source.architecture`). Returns the weights."""
    weights = submission_weights(loaded, url, allow_private_url)
    architecture(loaded.entry)
    return weights


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
        training_dataset=entry.dataset,
        brainscore_link=None,
        extra_notes=(
            f"neuroequi model zoo entry {entry.name!r}: method {entry.method}{lam}, architecture "
            f"{entry.arch} (width {entry.width}); weights {weights.url} (sha256 {weights.sha256}); "
            f"input {entry.image_size} px, mean {list(entry.mean)}, std {list(entry.std)}; "
            f"region->layer map {layer_map.regions} chosen by: {layer_map.chosen_by}"
            + (f"; {entry.notes}" if entry.notes else "")
        ),
    )
    return yaml.dump({"models": {entry.name: fields}}, default_flow_style=False, sort_keys=False, indent=4)


def _description(entry: Entry) -> str:
    lam = "" if entry.lam is None else f", lambda = {entry.lam}"
    return textwrap.fill(
        f"Model: {entry.arch} (width {entry.width}), {entry.method}{lam}, trained on {entry.dataset}."
        + (f" {entry.notes}." if entry.notes else ""),
        100,
    )


def render_submission(loaded: LoadedModel, weights: Weights, layer_map: LayerMap) -> dict[str, str]:
    """Files of the self-contained plugin folder of ``loaded``: ``{relative path: text}``."""
    from neuroequi import __version__

    entry = loaded.entry
    unknown = sorted(set(layer_map.regions.values()) - set(loaded.layers))
    if unknown or set(layer_map.regions) != {"V1", "V2", "V4", "IT"}:
        raise ConfigError(
            f"region->layer map {layer_map.regions} of {entry.name!r} must map V1, V2, V4 and IT "
            f"to layers of the model {list(loaded.layers)}"
        )
    arch = architecture(entry)
    code = bundle(arch.roots)
    plugin = plugin_dirname(entry.name)
    model_py = render_template(
        "submission_model.py",
        name=repr(entry.name),
        version=__version__,
        modules=", ".join(sorted({o.split(":")[0] for o in code.origins})),
        description=_description(entry),
        imports=_import_lines(code.imports),
        identifier=repr(loaded.identifier),
        url=repr(weights.url),
        sha256=repr(weights.sha256),
        image_size=repr(int(entry.image_size)),
        mean=repr(tuple(float(m) for m in entry.mean)),
        std=repr(tuple(float(s) for s in entry.std)),
        layers=repr(list(entry.layers)),
        bibtex=repr(entry.citation or ""),
        source=code.source,
        build=arch.build,
        state_dict=STATE_DICT[entry.source.kind],
    )
    return {
        "__init__.py": render_template(
            "submission_init.py", name=repr(entry.name), chosen_by=" ".join(layer_map.chosen_by.split())
        ),
        "model.py": model_py,
        "test.py": render_template(
            "submission_test.py",
            name=repr(entry.name),
            plugin=plugin,
            stimuli_fixture=render_template("stimuli_fixture.py"),
        ),
        "requirements.txt": "".join(f"{r}\n" for r in REQUIREMENTS),
        "metadata.yaml": _metadata(loaded, plugin, layer_map, weights),
        f"region_layer_map/{entry.name}.json": json.dumps(layer_map.regions, indent=2) + "\n",
    }


def package(
    model: str | LoadedModel,
    output: Path,
    *,
    weights_url: str | None = None,
    layer_map: LayerMap | None = None,
    home: Path | None = None,
    allow_private_url: bool = False,
) -> Path:
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
            zf.writestr(
                zipfile.ZipInfo(f"models/{plugin}/{rel}", date_time=(1980, 1, 1, 0, 0, 0)),
                text,
                compress_type=zipfile.ZIP_DEFLATED,
            )
    if output.stat().st_size > MAX_ZIP_BYTES:
        raise ConfigError(f"submission {output} is {output.stat().st_size / 2**20:.1f} MB; Brain-Score accepts 50 MB")
    return output
