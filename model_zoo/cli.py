"""``neuroequi zoo list|show|add``: the model catalogue from the command line."""

from __future__ import annotations

import argparse
from dataclasses import dataclass


@dataclass(frozen=True)
class ShowConfig:
    """Settings of ``neuroequi zoo show``.

    Attributes:
        model: catalogue name (see ``neuroequi zoo list``).
    """

    model: str = ""


@dataclass(frozen=True)
class AddConfig:
    """Settings of ``neuroequi zoo add``.

    Attributes:
        path: the weights file: a state dict (plain, under 'state_dict', or with a 'module.' prefix) with
            ``arch``; a neuroequi checkpoint without. Whole pickled networks are refused.
        arch: torchvision:<name>, timm:<name> or module:<package.module>:<callable> (empty: a neuroequi
            checkpoint, which records its own architecture and preprocessing).
        name: catalogue name (default: <arch name>-<sha8>, or <method>-lambda<l>-<arch>-<dataset>-<sha8>).
        layers: modules to record (default: the architecture's stages, e.g. layer1..layer4, avgpool).
        image_size: input side in pixels (default: the model's own, else 224).
        mean: per-channel mean, 3 values (default: the model's own, else ImageNet's).
        std: per-channel standard deviation, 3 values (default: the model's own, else ImageNet's).
        url: public download address of the same file (needed to package a submission).
        replace: replace an entry of the same name.
    """

    path: str = ""
    arch: str = ""
    name: str | None = None
    layers: tuple[str, ...] = ()
    image_size: int | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    url: str | None = None
    replace: bool = False


def _lam(lam: float | None) -> str:
    from neuroequi.io import format_lambda

    return "-" if lam is None else format_lambda(lam)


def run_list(config: None, args: argparse.Namespace) -> int:
    """Print every model (built-in and registered); a damaged user catalogue is reported after the list."""
    from model_zoo.catalogue import builtin_entries, user_entries
    from neuroequi.errors import NeuroequiError

    problem = None
    try:
        registered = user_entries()
    except NeuroequiError as err:  # a damaged user catalogue: list the built-in models, then report it
        registered, problem = {}, err
    listed = {**registered, **builtin_entries()}
    rows = [(e.name, e.arch, e.method, _lam(e.lam), e.dataset, e.source.kind) for e in listed.values()]
    header = ("name", "arch", "method", "lambda", "dataset", "source")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())
    if problem is not None:
        raise problem
    return 0


def run_show(config: ShowConfig, args: argparse.Namespace) -> int:
    """Print one model's catalogue entry as JSON."""
    from neuroequi.io import to_json

    from model_zoo.catalogue import get_entry

    print(to_json(get_entry(config.model).to_json(), indent=2))
    return 0


def run_add(config: AddConfig, args: argparse.Namespace) -> int:
    """Register one of the project's checkpoints."""
    from model_zoo.catalogue import register_checkpoint, register_weights
    from neuroequi.errors import ConfigError

    if config.arch:
        entry = register_weights(
            config.path,
            config.arch,
            config.name,
            replace=config.replace,
            url=config.url,
            layers=config.layers or None,
            image_size=config.image_size,
            mean=config.mean,
            std=config.std,
        )
        print(
            f"registered {entry.name} ({entry.arch}; {entry.image_size} px, mean {list(entry.mean)}, "
            f"std {list(entry.std)} from {entry.meta['preprocessing']}; layers {', '.join(entry.layers)}) "
            f"-> {entry.source.location}"
        )
    else:
        given = [key for key in ("layers", "image_size", "mean", "std") if getattr(config, key)]
        if given:
            raise ConfigError(f"zoo add: {', '.join(given)} need --arch (a neuroequi checkpoint records its own)")
        entry = register_checkpoint(config.path, name=config.name, url=config.url, replace=config.replace)
        print(
            f"registered {entry.name} ({entry.arch}, {entry.method}, lambda {_lam(entry.lam)}) "
            f"-> {entry.source.location}"
        )
    print("run `neuroequi brainscore install` to make it visible to brainscore_vision.load_model")
    return 0
