"""The project's own architectures as source text, for self-contained Brain-Score plugins.

A submission cannot import this project on Brain-Score's servers, so its ``model.py`` carries
the source of the network it builds. That source is *read from the project's modules* at
packaging time, never kept by hand: :func:`bundle` takes the top-level definitions a plugin
needs (e.g. ``model_zoo.cifar_resnet:CifarResNet``) and follows every name they use into the
module that defines it, within this project, collecting

* each definition's source exactly as written (classes, functions, module constants), in an
  order where every definition comes after the ones it uses, and
* the import lines of the third-party modules they use (``torch``, ``torchvision``, ...).

A name imported under another name (``from x import a as b``) or a name bound to two different
texts is refused (RuntimeError: a bug in the project, not a user error), so the rendered text is
the project's code, not an edited copy; the same text under the same name in two modules (a
constant both define) is rendered once. :func:`architecture` says which
definitions and which constructor call build a catalogue entry's network, read from
:mod:`neuroequi.registry` for the project's backbones.
"""

from __future__ import annotations

import ast
import builtins
import functools
import importlib.util
import symtable
from dataclasses import dataclass
from pathlib import Path

from model_zoo.catalogue import Entry
from neuroequi.errors import ConfigError

#: Top-level packages of this project: never imported by a rendered plugin.
PROJECT_PACKAGES = ("neuroequi", "model_zoo", "analyses", "figures")


@dataclass(frozen=True)
class Bundle:
    """Rendered source of some definitions of the project and everything they use.

    Attributes:
        imports: import lines of third-party modules, sorted (``import torch``, ``from torch import nn``).
        source: the definitions, each preceded by a ``# <module>.<name>`` line, dependencies first.
        origins: ``<module>:<name>`` of every definition, in the order of ``source``.
    """

    imports: tuple[str, ...]
    source: str
    origins: tuple[str, ...]


@dataclass(frozen=True)
class _Module:
    """Top-level bindings of one project module: definitions and imports by bound name."""

    name: str
    lines: tuple[str, ...]
    definitions: dict[str, ast.stmt]
    project_imports: dict[str, tuple[str, str]]  # bound name -> (module, original name)
    external_imports: dict[str, tuple[str | None, str, str | None]]  # bound name -> (from-module, name, alias)


def _is_project(module: str) -> bool:
    return module.split(".")[0] in PROJECT_PACKAGES


def _bound_names(node: ast.stmt) -> list[str]:
    """Names a top-level definition statement binds (def, class, ``NAME = ...``, ``NAME: T = ...``)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
        return [node.target.id]
    return []


@functools.cache
def _module(name: str) -> _Module:
    """Parse the project module ``name`` (``a.b.c``) into its top-level bindings."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"cannot find the source of module {name!r}")
    text = Path(spec.origin).read_text()
    definitions: dict[str, ast.stmt] = {}
    project: dict[str, tuple[str, str]] = {}
    external: dict[str, tuple[str | None, str, str | None]] = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                raise RuntimeError(f"{name}: relative imports are not supported by the plugin renderer")
            if node.module == "__future__":
                continue
            for alias in node.names:
                bound = alias.asname or alias.name
                if _is_project(node.module or ""):
                    if alias.asname and alias.asname != alias.name:
                        raise RuntimeError(f"{name}: project name imported under another name: {ast.unparse(node)}")
                    project[bound] = (node.module, alias.name)
                else:
                    external[bound] = (node.module, alias.name, alias.asname)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _is_project(alias.name):
                    raise RuntimeError(f"{name}: `import {alias.name}` of a project module is not supported")
                external[alias.asname or alias.name.split(".")[0]] = (None, alias.name, alias.asname)
        else:
            for bound in _bound_names(node):
                definitions[bound] = node
    return _Module(name, tuple(text.splitlines()), definitions, project, external)


def _used_names(node: ast.stmt, text: str) -> list[str]:
    """The global names a top-level definition ``node`` (source ``text``) reads, sorted: those its
    own statement reads (bases, decorators, defaults, values) and those any function, class or
    comprehension inside it reads without binding them (:mod:`symtable` scopes)."""
    names: set[str] = set()

    def walk(table: symtable.SymbolTable, top: bool) -> None:
        for symbol in table.get_symbols():
            if symbol.is_referenced() and (top or symbol.is_global()):
                names.add(symbol.get_name())
        for child in table.get_children():
            walk(child, False)

    walk(symtable.symtable(text, "<definition>", "exec"), True)
    return sorted(names - set(_bound_names(node)))


def _segment(module: _Module, node: ast.stmt) -> str:
    """Source lines of a top-level statement, decorators included."""
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    return "\n".join(module.lines[first - 1 : node.end_lineno])


def _import_line(origin: tuple[str | None, str, str | None]) -> str:
    module, name, alias = origin
    tail = f" as {alias}" if alias else ""
    return f"from {module} import {name}{tail}" if module else f"import {name}{tail}"


def bundle(roots: list[str] | tuple[str, ...]) -> Bundle:
    """Source of the definitions ``roots`` (``'package.module:name'``) and of all they use from the project.

    Raises:
        RuntimeError: a name that cannot be resolved, or two different definitions under one name.
    """
    order: list[tuple[str, str]] = []
    imports: dict[str, tuple[str | None, str, str | None]] = {}
    owners: dict[str, tuple[str, str]] = {}
    visiting: set[tuple[str, str]] = set()
    done: set[tuple[str, str]] = set()

    def visit(module_name: str, name: str) -> None:
        module = _module(module_name)
        if name in module.project_imports:
            visit(*module.project_imports[name])
            return
        if name not in module.definitions:
            raise RuntimeError(f"{module_name} has no top-level definition {name!r}")
        key = (module_name, name)
        if key in done or key in visiting:
            return
        node = module.definitions[name]
        text = _segment(module, node)
        same = name in owners and _segment(_module(owners[name][0]), _module(owners[name][0]).definitions[name]) == text
        if (name in owners and not same) or name in imports:
            raise RuntimeError(f"two definitions named {name!r}: {owners.get(name) or imports[name]} and {key}")
        visiting.add(key)
        for used in _used_names(node, text):
            if used in module.definitions or used in module.project_imports:
                visit(module_name, used)
            elif used in module.external_imports:
                origin = module.external_imports[used]
                if imports.setdefault(used, origin) != origin or used in owners:
                    raise RuntimeError(f"{used!r} is bound to two different things in the bundle")
            elif not hasattr(builtins, used):
                raise RuntimeError(f"{module_name}.{name} uses {used!r}, which is not a top-level binding")
        visiting.discard(key)
        done.add(key)
        if same:  # the same text under the same name in another module: rendered once
            return
        for bound in _bound_names(node):
            owners[bound] = key
        order.append(key)

    for root in roots:
        module_name, _, name = root.partition(":")
        visit(module_name, name)
    source = "\n\n\n".join(f"# {m}.{n}\n{_segment(_module(m), _module(m).definitions[n])}" for m, n in order)
    return Bundle(tuple(sorted(_import_line(o) for o in imports.values())), source, tuple(f"{m}:{n}" for m, n in order))


@dataclass(frozen=True)
class Architecture:
    """How a plugin builds an entry's network: the definitions to render and the constructor call."""

    roots: tuple[str, ...]
    build: str


def architecture(entry: Entry) -> Architecture:
    """The definitions and constructor expression of ``entry``'s network.

    CIFAR ResNets: ``model_zoo.cifar_resnet.CifarResNet(depth)``. The project's backbones: the
    builder registered for ``entry.arch`` in :mod:`neuroequi.registry` (a ``functools.partial``
    of a class or function and the arch name), called with the entry's width.

    Raises:
        ConfigError: an architecture that has no source in this project (the published
            CE-SSL ResNet-50s are on Brain-Score already, as ``CE-*`` plugins; torchvision, timm and
            ``module:`` networks added with ``zoo add --arch``).
    """
    if entry.arch.startswith("cifar_resnet"):
        from model_zoo.cifar_resnet import CifarResNet

        return Architecture(
            (f"{CifarResNet.__module__}:{CifarResNet.__name__}",),
            f"{CifarResNet.__name__}({int(entry.arch.removeprefix('cifar_resnet'))})",
        )
    from model_zoo.architectures import is_external
    from neuroequi.registry import BACKBONE_REGISTRY

    if is_external(entry.arch):
        raise ConfigError(
            f"model {entry.name!r}: {entry.arch} is not one of this project's architectures, whose "
            "source a submission carries; packaging other networks is not supported (scores and "
            "reports work: `neuroequi score`, `neuroequi report`)"
        )
    spec = BACKBONE_REGISTRY.get(entry.arch)
    if spec is None:
        raise ConfigError(
            f"model {entry.name!r}: architecture {entry.arch!r} has no source in this project to "
            "render into a plugin (the published CE-SSL ResNet-50s are on Brain-Score already as its "
            "CE-<method>_lmda_<lambda> plugins)"
        )
    build = spec.build
    if not isinstance(build, functools.partial) or build.keywords:
        raise RuntimeError(f"backbone {entry.arch!r}: expected a functools.partial(builder, arch) in the registry")
    func = build.func
    args = ", ".join(repr(a) for a in (*build.args, float(entry.width)))
    return Architecture((f"{func.__module__}:{func.__qualname__}",), f"{func.__qualname__}({args})")
