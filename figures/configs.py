"""Configs of the figure pipelines: presets beside the code, training overrides, saved copies.

Every pipeline (Figure 1, the H-SSL table) has a typed config dataclass whose
presets are ``<name>.yaml`` files in the pipeline's folder, read with
:func:`preset` (and by ``neuroequi COMMAND --preset NAME`` through
:func:`neuroequi.cli.command_config`). Training settings are a mapping of
overrides of a training config, turned into ``key=value`` strings by
:func:`train_overrides`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, TypeVar

import yaml

from neuroequi.config import load_typed, to_plain
from neuroequi.errors import ConfigError
from neuroequi.io import atomic_write

T = TypeVar("T")


def preset(cls: type[T], folder: Path, name: str, overrides: tuple[str, ...] | list[str] = ()) -> T:
    """``cls`` from the preset ``<folder>/<name>.yaml`` with ``key=value`` ``overrides``."""
    path = folder / f"{name}.yaml"
    if not path.is_file():
        names = sorted(p.stem for p in folder.glob("*.yaml"))
        raise ConfigError(f"unknown preset {name!r} of {cls.__name__}; choose one of {names}")
    return load_typed(cls, path, overrides, where=f"{cls.__name__} preset {name}")


def train_overrides(train: dict[str, Any], prefix: str = "") -> list[str]:
    """A (nested or dotted) mapping of training settings as ``key.subkey=value`` overrides, in order.

    ``{"epochs": 1, "model": {"width": 0.125}, "monitor.probe": False}`` ->
    ``["epochs=1", "model.width=0.125", "monitor.probe=false"]`` (values as YAML reads them back).
    """
    overrides = []
    for key, value in train.items():
        if isinstance(value, dict):
            overrides += train_overrides(value, f"{prefix}{key}.")
        else:
            overrides.append(f"{prefix}{key}={value if isinstance(value, str) else json.dumps(value)}")
    return overrides


def resolve_zoo_home(zoo_home: str | None, root: Path) -> Path:
    """The model zoo of a pipeline run: its config's ``zoo_home``; None: ``$NEUROEQUI_ZOO_HOME`` when set,
    else the run's own ``<root>/zoo``. The pipeline saves the resolved path in the config its jobs read."""
    return Path(zoo_home or os.environ.get("NEUROEQUI_ZOO_HOME") or root / "zoo").expanduser().resolve()


def save(config: object, path: Path) -> Path:
    """Write a config dataclass as YAML (atomically); :func:`load` reads it back unchanged."""
    with atomic_write(path) as tmp:
        tmp.write_text(yaml.safe_dump(to_plain(config), sort_keys=False, allow_unicode=True))
    return path


def load(cls: type[T], path: Path) -> T:
    """The ``cls`` config :func:`save` wrote to ``path``."""
    return load_typed(cls, path, where=str(path))
