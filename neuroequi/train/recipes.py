"""The papers' recipes: training configs as the authors ran them (``neuroequi/configs/recipes/``).

A recipe is a training config (YAML, loaded by :func:`~neuroequi.train.config.load_config`) whose
header names the source repository, commit and files; ``README.md`` beside the recipes lists
every hyper-parameter with its source line. :func:`load_recipe` loads one by name with
``key=value`` overrides, refusing overrides that would change the recipe's architecture (module
shapes and which rows share BatchNorm statistics): to change those, copy the file and train
with ``--config``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from neuroequi.errors import ConfigError
from neuroequi.train.config import TrainConfig, load_config

RECIPES_DIR = Path(__file__).resolve().parent.parent / "configs" / "recipes"

ARCHITECTURE_KEYS: tuple[str, ...] = (
    "model.arch",
    "model.width",
    "method.name",
    "method.equivariance",
    "method.options.projector",
    "method.options.predictor",
    "method.options.hidden_bias",
    "method.options.last_bn",
    "method.tessl.bn_groups",
    "method.equimod.projector",
    "method.equimod.aug_dim",
    "method.equimod.heads",
    "method.equimod.bn_groups",
    "method.equimod.encoding",
)
"""Config keys a recipe fixes: a recipe override may not change them."""


def recipe_names() -> tuple[str, ...]:
    """Names of the shipped recipes (the file stems in :data:`RECIPES_DIR`), sorted."""
    return tuple(sorted(p.stem for p in RECIPES_DIR.glob("*.yaml")))


def recipe_path(recipe: str | Path) -> Path:
    """The YAML file of a recipe given by name (``tessl-barlow-imagenet``) or path.

    Raises ConfigError naming the valid recipes when there is no such recipe.
    """
    path = Path(recipe)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    candidate = RECIPES_DIR / f"{recipe}.yaml"
    if candidate.is_file():
        return candidate
    raise ConfigError(f"unknown recipe {str(recipe)!r}; valid: {list(recipe_names())} (or the path of a recipe YAML)")


def _value(values: dict[str, Any], key: str) -> Any:
    node: Any = values
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _momentum(values: dict[str, Any]) -> bool:
    """Whether the config has a momentum branch that the method's options switch on."""
    return _value(values, "method.options.momentum_tau") is not None


def load_recipe(recipe: str | Path, overrides: Sequence[str] = ()) -> TrainConfig:
    """The recipe's validated :class:`TrainConfig` with ``overrides`` applied.

    Overrides may change anything but the recipe's architecture (:data:`ARCHITECTURE_KEYS` and
    whether a momentum branch exists); such an override raises ConfigError.
    """
    path = recipe_path(recipe)
    base = load_config(path).to_dict()
    config = load_config(path, overrides)
    values = config.to_dict()
    for key in ARCHITECTURE_KEYS:
        if _value(base, key) != _value(values, key):
            raise ConfigError(
                f"recipe {path.stem!r} fixes {key} = {_value(base, key)!r} (its architecture); the overrides give "
                f"{_value(values, key)!r}. To change the architecture, copy {path} and train with --config"
            )
    if _momentum(base) != _momentum(values):
        raise ConfigError(
            f"recipe {path.stem!r} fixes method.options.momentum_tau to be "
            f"{'a number' if _momentum(base) else 'null'} (its momentum branch); the overrides give "
            f"{_value(values, 'method.options.momentum_tau')!r}"
        )
    return config


__all__ = ["ARCHITECTURE_KEYS", "RECIPES_DIR", "load_recipe", "recipe_names", "recipe_path"]
