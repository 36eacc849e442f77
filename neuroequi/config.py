"""Typed configs for every command: dataclasses read from YAML with dotted ``key=value`` overrides.

One grammar everywhere: a command takes an optional YAML file and any number
of overrides ``section.key=value`` (the value is YAML: ``1e-3``, ``[0.2, 1.0]``,
``true``, ``null``). Floats in scientific notation without a dot (``1e-3``)
parse as numbers (YAML 1.1 would read them as strings). Unknown keys, wrong
types and malformed overrides raise :class:`~neuroequi.errors.ConfigError`
naming the key, the value and what is allowed.

``load_typed(cls, path, overrides, where)`` is the whole entry point;
``dataclass_from_mapping`` builds one dataclass from a plain mapping;
``to_plain`` is its inverse (YAML-serialisable).
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

import yaml

from neuroequi.errors import ConfigError

__all__ = [
    "apply_overrides",
    "dataclass_from_mapping",
    "load_typed",
    "narrow",
    "parse_override",
    "read_yaml",
    "to_plain",
]

T = TypeVar("T")


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-3`` / ``5E+2`` (no dot) as floats, as YAML 1.2 does."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)


def dataclass_from_mapping(cls: type[T], values: Mapping[str, Any], where: str) -> T:
    """Build dataclass ``cls`` from a plain mapping (e.g. parsed YAML), checking every value.

    Supported field types: bool, int, float (ints accepted), str, ``X | None``, ``Literal``,
    ``tuple[X, ...]`` / ``list[X]`` (from YAML lists), ``dict[str, Any]`` and nested dataclasses (a
    mapping sets keys of the field's default section, so a default that is not the section class's own
    keeps its other values).
    Raises ConfigError naming ``where`` and the key for unknown keys and wrong types.
    """
    if not isinstance(values, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {type(values).__name__} {values!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; valid: {sorted(fields)}")
    kwargs = {}
    for key, value in values.items():
        default = _default(fields[key])
        if dataclasses.is_dataclass(default) and isinstance(value, Mapping):  # keys of a section set on its default
            value = {**to_plain(default), **value}
        kwargs[key] = _coerce(hints[key], value, f"{where}.{key}")
    return cls(**kwargs)


def _default(f: dataclasses.Field) -> Any:
    """The default value of a dataclass field (None when it has none)."""
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


_SCALARS: dict[type, tuple[tuple[type, ...], str]] = {
    bool: ((bool,), "true/false"),
    int: ((int,), "an integer"),
    float: ((int, float), "a number"),
    str: ((str,), "a string"),
}


def _coerce(tp: Any, value: Any, where: str) -> Any:
    """Check ``value`` against type ``tp`` (converting lists to tuples, ints to floats)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(arg, value, where)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{where}: {value!r} matches none of {args}")
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {list(args)}")
        return value
    if dataclasses.is_dataclass(tp):
        return value if isinstance(value, tp) else dataclass_from_mapping(tp, value, where)  # type: ignore[arg-type]
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__} {value!r}")
        item = args[0] if args else Any
        items = [_coerce(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__} {value!r}")
        return dict(value)
    if tp in _SCALARS:
        allowed, what = _SCALARS[tp]
        if not isinstance(value, allowed) or (isinstance(value, bool) and tp is not bool):
            raise ConfigError(f"{where}: expected {what}, got {type(value).__name__} {value!r}")
        return float(value) if tp is float else value
    raise TypeError(f"{where}: unsupported field type {tp!r}")


def to_plain(value: Any) -> Any:
    """A dataclass (or nested mappings/sequences) as plain dicts and lists, YAML-serialisable."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"optim.lr=1e-3"`` -> ``(["optim", "lr"], 0.001)``; the value is parsed as YAML."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like key.subkey=value")
    key, raw = text.split("=", 1)
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"override {text!r} has an empty key")
    try:
        return key.split("."), _yaml(raw)
    except yaml.YAMLError as err:
        problem = getattr(err, "problem", None) or "not a YAML value"
        raise ConfigError(f"override {text!r}: the value {raw!r} is not valid YAML ({problem})") from err


def apply_overrides(values: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Set ``key.subkey=value`` overrides in a nested dict (creating sections as needed)."""
    for text in overrides:
        path, value = parse_override(text)
        node = values
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {text!r}: {part!r} is not a section")
            node = child
        node[path[-1]] = value
    return values


def read_yaml(path: str | Path, what: str = "config file") -> dict[str, Any]:
    """The mapping in a YAML file; ConfigError naming the file when it is missing, a folder,
    empty, not YAML or not a mapping."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{what} {str(path)!r} is a directory, not a YAML file")
    if not path.is_file():
        raise ConfigError(f"{what} {str(path)!r} does not exist")
    try:
        loaded = _yaml(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ConfigError(f"{what} {str(path)!r} is not valid YAML: {' '.join(str(err).split())}") from err
    if loaded is None:
        raise ConfigError(f"{what} {str(path)!r} is empty (pass no file to use the defaults)")
    if not isinstance(loaded, dict):
        raise ConfigError(f"{what} {str(path)!r} must hold a mapping, got {type(loaded).__name__}")
    return loaded


def load_typed(
    cls: type[T],
    path: str | Path | None = None,
    overrides: Sequence[str] = (),
    where: str = "config",
    base: Mapping[str, Any] | None = None,
) -> T:
    """``cls`` from ``base`` (a mapping), then the YAML file ``path``, then ``overrides``.

    Sections of the file replace keys of ``base`` one level deep per section
    (nested mappings are merged recursively).
    """
    values: dict[str, Any] = to_plain(dict(base or {}))
    if path is not None:
        _merge(values, read_yaml(path))
    return dataclass_from_mapping(cls, apply_overrides(values, overrides), where)


def _merge(into: dict[str, Any], update: Mapping[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = to_plain(value)


def narrow(config: Any, cls: type[T]) -> T:
    """The fields of ``config`` that dataclass ``cls`` has, as a ``cls`` (a command's config that
    extends a library config with e.g. ``model`` -> the library config)."""
    return cls(**{f.name: getattr(config, f.name) for f in dataclasses.fields(cls) if f.init})  # type: ignore[arg-type]
