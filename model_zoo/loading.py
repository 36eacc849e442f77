"""Turn a catalogue name into a torch module in eval mode, its layer names and its identifier.

Identifier scheme: ``<name>-<sha8>`` where ``sha8`` is the first 8 hex digits of
the sha256 of the checkpoint *file* (or, for a random initialisation, of the
initialised weights: every tensor of the state dict in key order). It is
recomputed at every load, so a checkpoint that changes on disk gets a new
identifier even under the same catalogue name, and Brain-Score's activation
cache (keyed by identifier) never returns activations of old weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

import torch
from torch import nn

from model_zoo.catalogue import Entry, get_entry
from model_zoo.cifar_resnet import CifarResNet, load_akamaster_checkpoint
from model_zoo.download import CheckpointUnavailableError, download, file_sha256, zoo_home


@dataclass
class LoadedModel:
    """A model ready for feature extraction.

    Attributes:
        module: the network, in eval mode, on CPU.
        layers: hookable layer names (``module.get_submodule(name)``), forward order.
        identifier: ``<name>-<sha8>`` (see the module docstring).
        entry: the catalogue entry it was built from.
        sha256: full sha256 of the weights (file, or initialised state dict).
    """

    module: nn.Module
    layers: tuple[str, ...]
    identifier: str
    entry: Entry
    sha256: str


def state_dict_sha256(module: nn.Module) -> str:
    """sha256 over every (key, tensor bytes) of ``module.state_dict()`` in key order."""
    digest = sha256()
    for key, tensor in module.state_dict().items():
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def weights_file(entry: Entry) -> Path:
    """Local, verified path of an entry's checkpoint file, downloading it if needed.

    Raises:
        ValueError: the entry has no file (random initialisation).
        CheckpointUnavailableError / ChecksumMismatchError: see :func:`model_zoo.download.download`.
    """
    src = entry.source
    if src.kind == "data":
        from neuroequi.data import DataUnavailableError, fetch

        try:
            return fetch(src.location)
        except DataUnavailableError as exc:
            raise CheckpointUnavailableError(str(exc)) from exc
    if src.kind == "url":
        target = zoo_home() / "checkpoints" / entry.name / src.location.rstrip("/").rsplit("/", 1)[-1]
        return download(src.location, target, src.sha256)
    if src.kind == "path":
        path = Path(src.location)
        if not path.is_file():
            raise CheckpointUnavailableError(
                f"checkpoint of {entry.name!r} is missing: {path}"
                + (f" (download it from {src.url})" if src.url else "")
            )
        return path
    raise ValueError(f"model {entry.name!r} is a random initialisation and has no checkpoint file")


def _build(entry: Entry) -> tuple[nn.Module, str]:
    """(module, sha256 of its weights) for an entry."""
    if entry.source.kind == "init":
        with torch.random.fork_rng():
            torch.manual_seed(int(entry.source.location))
            module = _fresh(entry)
        return module, state_dict_sha256(module)
    path = weights_file(entry)
    digest = entry.source.sha256 if entry.source.kind == "data" else file_sha256(path)
    if entry.arch.startswith("cifar_resnet"):
        return load_akamaster_checkpoint(path, int(entry.arch.removeprefix("cifar_resnet"))), digest
    from neuroequi.checkpoint import load_backbone, load_published_backbone

    if entry.arch == "resnet50_composer":
        # Composer files pickle more than tensors; full unpickling is acceptable because the
        # file's sha256 is pinned (trust on first use) and cannot change afterwards.
        return load_published_backbone(path, "resnet50", trust=True)[0], digest
    return load_backbone(path)[0], digest


def _fresh(entry: Entry) -> nn.Module:
    """A randomly initialised network of the entry's architecture."""
    if entry.arch.startswith("cifar_resnet"):
        return CifarResNet(int(entry.arch.removeprefix("cifar_resnet")))
    from neuroequi.registry import build_backbone

    return build_backbone(entry.arch, entry.width)


def identifier(entry: Entry, weights_sha256: str) -> str:
    """``<name>-<first 8 hex digits of the weights' sha256>``."""
    return f"{entry.name}-{weights_sha256[:8]}"


def load(name: str | Entry) -> LoadedModel:
    """Load the catalogue model ``name`` (or an entry; downloading its checkpoint only if not cached).

    Raises:
        ValueError: unknown name, or a checkpoint that does not match its architecture.
        CheckpointUnavailableError: offline and not cached (the message names the
            URL and where to put the file).
        ChecksumMismatchError: the file does not match its published or pinned sha256.
    """
    entry = name if isinstance(name, Entry) else get_entry(name)
    module, digest = _build(entry)
    module.eval()
    missing = [layer for layer in entry.layers if layer not in dict(module.named_modules())]
    if missing:
        raise ValueError(f"model {entry.name!r}: layers {missing} not found in the network")
    return LoadedModel(module, entry.layers, identifier(entry, digest), entry, digest)
