"""The one model handle: a catalogue name or a checkpoint file -> :class:`LoadedModel`.

Identifier rule (the only one in the project)
---------------------------------------------
A loaded set of weights is identified as ``<name>-<sha8>``: ``name`` is its
catalogue name and ``sha8`` the first 8 hex digits of the sha256 of the
checkpoint *file* (for a random initialisation: of the initialised weights,
every tensor of the state dict in key order, :func:`state_dict_sha256`).
Where the preprocessing is chosen when the model is added rather than fixed by
the file or the code (other architectures, ``zoo add FILE --arch``, and networks
in memory, :func:`from_module`), ``sha8`` hashes the weights' sha256 together
with the architecture and the preprocessing (:func:`content_sha256`), so the same
weights seen at another image size or normalisation get another identifier.

* A checkpoint loaded **by path** takes the name under which that file is
  registered in the zoo (:func:`model_zoo.catalogue.registered_name`), so it
  gets the same identifier as when loaded by that name; an unregistered file
  takes the name :func:`model_zoo.register_checkpoint` would give it,
  ``<method>-lambda<lam>-<arch>-<dataset>-<sha8>``.
* The hash is recomputed at every load, so a checkpoint that changes on disk
  gets a new identifier under the same name, and Brain-Score's activation cache
  and the score cache (both keyed by identifier) never return results of old
  weights.

Verification at every load
--------------------------
A file whose entry records a sha256 (data files, pinned downloads, registered
checkpoints) must still have it: a checkpoint replaced after registration is an
:class:`~neuroequi.errors.IntegrityError` naming both hashes and the command that
registers it again. The weights must be finite, and a registered project
checkpoint's metadata (architecture, width, λ, image size) must agree with its
catalogue entry (a hand-edited entry is caught).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

import torch
from torch import nn

from model_zoo.architectures import build, check_layers, default_layers, default_region_layer_map, is_external
from model_zoo.architectures import load_weights, preprocessing
from model_zoo.catalogue import Entry, WeightsSource, backbone_entry, checkpoint_entry, get_entry, registered_name
from model_zoo.catalogue import tensors_sha256
from model_zoo.cifar_resnet import CifarResNet, load_akamaster_checkpoint
from model_zoo.download import download, file_sha256, zoo_home
from neuroequi.errors import CheckpointError, ConfigError, DataUnavailableError, IntegrityError


@dataclass(frozen=True)
class LoadedModel:
    """A model ready for feature extraction: the network, its weights' identity and its metadata.

    Attributes:
        module: the network, in eval mode, on CPU; takes normalised images
            ``(B, 3, image_size, image_size)``.
        identifier: ``<name>-<sha8>`` (see the module docstring).
        sha256: full sha256 of the weights (checkpoint file, or initialised state dict).
        entry: the catalogue entry (metadata: arch, method, λ, dataset, source,
            layers, region->layer map, preprocessing, citation).
    """

    module: nn.Module
    identifier: str
    sha256: str
    entry: Entry

    @property
    def name(self) -> str:
        """Catalogue name."""
        return self.entry.name

    @property
    def layers(self) -> tuple[str, ...]:
        """Hookable layer names (``module.get_submodule(name)``), forward order."""
        return self.entry.layers

    @property
    def mean(self) -> tuple[float, float, float]:
        """Per-channel mean the inputs are normalised with (images scaled to [0, 1])."""
        return self.entry.mean

    @property
    def std(self) -> tuple[float, float, float]:
        """Per-channel standard deviation the inputs are normalised with."""
        return self.entry.std

    @property
    def image_size(self) -> int:
        """Input side in pixels (images are resized to ``image_size`` squared)."""
        return self.entry.image_size

    @property
    def region_layer_map(self) -> dict[str, str]:
        """Brain region -> layer (V1, V2, V4, IT)."""
        return self.entry.region_layer_map

    def layer(self, name: str | None = None) -> str:
        """``name`` if it is a module of the network, else ConfigError; None: the last of :attr:`layers`."""
        if name is None:
            return self.layers[-1]
        modules = [n for n, _ in self.module.named_modules() if n]
        if name not in modules:
            raise ConfigError(
                f"layer {name!r} not in {self.identifier}; layers: {list(self.layers)}, "
                f"modules: {modules[:40]}{' ...' if len(modules) > 40 else ''}"
            )
        return name


def state_dict_sha256(module: nn.Module) -> str:
    """sha256 over every (key, tensor bytes) of ``module.state_dict()`` in key order (:func:`tensors_sha256`)."""
    return tensors_sha256(module.state_dict())


def content_sha256(entry: Entry, weights_sha256: str) -> str:
    """sha256 of the weights' sha256, the architecture and the preprocessing (image size, mean, std)."""
    key = json.dumps([weights_sha256, entry.arch, entry.image_size, list(entry.mean), list(entry.std)])
    return sha256(key.encode()).hexdigest()


def identifier(entry: Entry, weights_sha256: str) -> str:
    """``<name>-<sha8>`` (the rule of the module docstring)."""
    chosen = is_external(entry.arch) or entry.source.kind == "memory"
    return f"{entry.name}-{(content_sha256(entry, weights_sha256) if chosen else weights_sha256)[:8]}"


def weights_file(entry: Entry, home: Path | None = None) -> Path:
    """Local, verified path of an entry's checkpoint file, downloading it (into ``home``) if needed.

    Raises:
        ConfigError: the entry has no file (random initialisation).
        DataUnavailableError / IntegrityError: see :func:`model_zoo.download.download`.
    """
    src = entry.source
    if src.kind == "data":
        from neuroequi.data import fetch

        return fetch(src.location)
    if src.kind == "url":
        target = zoo_home(home) / "checkpoints" / entry.name / src.location.rstrip("/").rsplit("/", 1)[-1]
        return download(src.location, target, src.sha256, home=home)
    if src.kind == "path":
        path = Path(src.location)
        if not path.is_file():
            raise DataUnavailableError(
                f"checkpoint of {entry.name!r} is missing: {path}"
                + (f" (download it from {src.url})" if src.url else "")
            )
        digest = file_sha256(path)
        if src.sha256 is None or digest != src.sha256:
            recorded = (
                "no sha256 (registered before hashes were recorded)" if src.sha256 is None else f"sha256 {src.sha256}"
            )
            raise IntegrityError(
                f"checkpoint {str(path)!r} of model {entry.name!r} has sha256 {digest}, but its catalogue entry "
                f"records {recorded}; if the new file is meant, register it again: "
                f"neuroequi zoo add {path} --name {entry.name} --replace"
            )
        return path
    raise ConfigError(f"model {entry.name!r} is a random initialisation and has no checkpoint file")


def _build(entry: Entry, home: Path | None) -> tuple[nn.Module, str]:
    """(module, sha256 of its weights) for an entry."""
    if entry.source.kind == "memory":
        raise ConfigError(
            f"model {entry.name!r} exists only in the process that made it (model_zoo.from_module); "
            "pass that LoadedModel, or save its state dict and `neuroequi zoo add FILE --arch ...`"
        )
    if entry.source.kind == "init":
        with torch.random.fork_rng():
            torch.manual_seed(int(entry.source.location))
            module = _fresh(entry)
        return module, state_dict_sha256(module)
    path = weights_file(entry, home)
    digest = entry.source.sha256 if entry.source.kind == "data" else file_sha256(path)
    from neuroequi.checkpoint import check_finite, load_backbone, load_published_backbone

    if is_external(entry.arch):
        from neuroequi.checkpoint import load_state_dict_file

        module = load_weights(build(entry.arch), load_state_dict_file(path), f"model {entry.name!r} ({path})")
    elif entry.arch.startswith("cifar_resnet"):
        module = load_akamaster_checkpoint(path, int(entry.arch.removeprefix("cifar_resnet")))
    elif entry.arch == "resnet50_composer":
        # Composer files pickle more than tensors; full unpickling is acceptable because the
        # file's sha256 is pinned (trust on first use) and cannot change afterwards.
        module = load_published_backbone(path, "resnet50", trust=True)[0]
    else:
        module, meta = load_backbone(path)
        check_metadata(entry, meta, path)
    check_finite(module.state_dict(), f"weights of model {entry.name!r} ({path})")
    return module, digest


def check_metadata(entry: Entry, meta: dict, path: Path) -> None:
    """IntegrityError unless the catalogue ``entry`` of a project checkpoint agrees with the
    checkpoint's ``meta`` in architecture, width, λ and image size (all it records of them)."""
    stored = {
        "arch": meta.get("arch"),
        "width": meta.get("width"),
        "lam": meta.get("lambda"),
        "image_size": meta.get("image_size"),
    }
    listed = {"arch": entry.arch, "width": entry.width, "lam": entry.lam, "image_size": entry.image_size}
    differ = [
        f"{key}: catalogue {listed[key]!r}, checkpoint {value!r}"
        for key, value in stored.items()
        if value is not None and value != listed[key]
    ]
    if differ:
        raise IntegrityError(
            f"catalogue entry {entry.name!r} does not match its checkpoint {str(path)!r} ({'; '.join(differ)}); "
            f"register it again: neuroequi zoo add {path} --name {entry.name} --replace"
        )


def _fresh(entry: Entry) -> nn.Module:
    """A randomly initialised network of the entry's architecture."""
    if is_external(entry.arch):
        return build(entry.arch)
    if entry.arch.startswith("cifar_resnet"):
        return CifarResNet(int(entry.arch.removeprefix("cifar_resnet")))
    from neuroequi.registry import build_backbone

    return build_backbone(entry.arch, entry.width)


def _from_checkpoint_file(path: Path, home: Path | None) -> tuple[Entry, nn.Module, str]:
    """(entry, module, sha256) of a checkpoint file: its registered entry, else an unregistered one."""
    name = registered_name(path, home)
    if name is not None:
        entry = get_entry(name, home)
        return (entry, *_build(entry, home))
    from neuroequi.checkpoint import load_backbone

    backbone, meta = load_backbone(path)
    return checkpoint_entry(path, backbone, meta), backbone, file_sha256(path)


def load(model: str | os.PathLike | Entry, home: Path | None = None) -> LoadedModel:
    """Load a model: a catalogue name, a checkpoint file of the project, or an entry.

    A path to an existing file is read as a ``neuroequi.checkpoint`` file and
    named by the identifier rule of the module docstring; anything else is a
    catalogue name (downloading its checkpoint only if not cached). ``home``:
    the zoo home (catalogue, downloads, pins; None: :func:`zoo_home`).

    Raises:
        ConfigError: unknown name, or a layer of the entry missing from the network.
        CheckpointError: a file that is not a readable checkpoint of its architecture; a directory.
        DataUnavailableError: offline and not cached (the message names the URL
            and where to put the file).
        IntegrityError: the file does not match its published, pinned or registered sha256;
            non-finite weights; a catalogue entry that disagrees with its checkpoint's metadata.
    """
    if isinstance(model, Entry):
        entry = model
        module, digest = _build(entry, home)
    elif Path(model).expanduser().is_dir():
        raise CheckpointError(f"model {str(model)!r} is a directory; pass a checkpoint file or a catalogue name")
    elif Path(model).expanduser().is_file():
        entry, module, digest = _from_checkpoint_file(Path(model).expanduser().resolve(), home)
    else:
        entry = get_entry(str(model), home)
        module, digest = _build(entry, home)
    module.eval()
    missing = [layer for layer in entry.layers if layer not in dict(module.named_modules())]
    if missing:
        raise CheckpointError(f"model {entry.name!r}: layers {missing} not found in the network")
    return LoadedModel(module, identifier(entry, digest), digest, entry)


def from_module(
    module: nn.Module,
    name: str,
    layers: Sequence[str] | None = None,
    image_size: int | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    region_layer_map: dict[str, str] | None = None,
) -> LoadedModel:
    """A network that exists only in memory as a :class:`LoadedModel`, ready for every analysis and
    benchmark of the project (not registered: nothing is written).

    ``layers``: the modules to record (default: the network's stages,
    :func:`model_zoo.architectures.default_layers`); ``image_size``, ``mean``, ``std``: the
    preprocessing (default 224 px, ImageNet statistics); ``region_layer_map``: V1/V2/V4/IT -> layer
    (default: spread over the stages). The identifier hashes the current weights and the
    preprocessing (:func:`identifier`); the module is put in eval mode and is not copied, so
    changing its weights afterwards needs a new ``from_module``.

    Raises:
        ConfigError: ``module`` is not an ``nn.Module``; layers that are not modules of it; bad
            preprocessing; an invalid or built-in name.
    """
    if not isinstance(module, nn.Module):
        raise ConfigError(f"from_module needs a torch.nn.Module, got {type(module).__name__}")
    chosen = check_layers(module, tuple(layers) if layers else default_layers(module), f"model {name!r}")
    regions = dict(region_layer_map or default_region_layer_map(chosen))
    check_layers(module, tuple(regions.values()), f"model {name!r} region_layer_map")
    prep = preprocessing(None, module, image_size, mean, std)
    kind = f"{type(module).__module__}.{type(module).__qualname__}"
    entry = backbone_entry(
        name,
        None,
        WeightsSource("memory", kind),
        arch=f"memory:{kind}",
        method="external",
        layers=chosen,
        region_layer_map=regions,
        image_size=prep.image_size,
        mean=prep.mean,
        std=prep.std,
        meta={"preprocessing": prep.source},
    )
    from neuroequi.checkpoint import check_finite

    check_finite(module.state_dict(), f"weights of model {name!r}")
    digest = state_dict_sha256(module)
    return LoadedModel(module.eval(), identifier(entry, digest), digest, entry)
