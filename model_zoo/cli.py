"""``neuroequi zoo list|show|add``: the model catalogue from the command line."""

from __future__ import annotations

import argparse
import json
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
        path: the checkpoint file (neuroequi.checkpoint format).
        name: catalogue name (default: <method>-lambda<l>-<arch>-<dataset>-<sha8>).
        url: public download address of the same file (needed to package a submission).
        replace: replace an entry of the same name.
    """

    path: str = ""
    name: str | None = None
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
    from model_zoo.catalogue import get_entry

    print(json.dumps(get_entry(config.model).to_json(), indent=2))
    return 0


def run_add(config: AddConfig, args: argparse.Namespace) -> int:
    """Register one of the project's checkpoints."""
    from model_zoo.catalogue import register_checkpoint

    entry = register_checkpoint(config.path, name=config.name, url=config.url, replace=config.replace)
    print(f"registered {entry.name} ({entry.arch}, {entry.method}, lambda {_lam(entry.lam)}) "
          f"-> {entry.source.location}")
    print("run `neuroequi brainscore install` to make it visible to brainscore_vision.load_model")
    return 0
