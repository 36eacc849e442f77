"""What ``tests/test_architecture.py`` checks beyond import-linter, on any copy of the tree.

import-linter (``setup.cfg``) sees ``import`` statements only. These checks read the source (``ast``)
of every module of the four layers and find:

* import cycles between modules, lazy imports (inside functions) and ``TYPE_CHECKING`` ones included;
* modules named in strings — ``importlib.import_module("...")`` / ``find_spec("...")`` arguments and
  ``"package.module:attribute"`` entry points — of a higher layer than the module naming them;
* imports in the notebooks (``analyses/notebooks``, ``figures/notebooks``) of a higher layer than
  the notebook's folder.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path

#: The layers, lowest first (``setup.cfg``'s contract reads them top down).
LAYERS = ("neuroequi", "model_zoo", "analyses", "figures")
_ENTRY = re.compile(r"^(?P<module>(?:" + "|".join(LAYERS) + r")(?:\.\w+)*):\w+$")
_STRING_IMPORTERS = ("import_module", "find_spec")


def modules(root: Path) -> dict[str, Path]:
    """Every module of the layers under ``root``: dotted name -> file (a package is its ``__init__``)."""
    found = {}
    for layer in LAYERS:
        for path in sorted((root / layer).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imported(tree: ast.AST, name: str, is_package: bool, known: set[str] | dict) -> Iterator[str]:
    """Dotted names imported anywhere in ``tree`` (module ``name``), relative imports resolved;
    ``from a import b`` is ``a.b`` when that is a ``known`` module, else ``a``."""
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join([*parts[: len(parts) - node.level + 1], *([base] if base else [])])
            for alias in node.names:
                yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base


def _packages(name: str) -> list[str]:
    """The packages above ``name``: ``a.b.c`` -> ``["a", "a.b"]``."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def graph(root: Path) -> dict[str, set[str]]:
    """module -> the modules of the layers it imports, wherever the import stands; importing ``a.b.c``
    also runs the ``__init__`` of ``a.b`` (an edge, unless it is a package above the importer)."""
    found = modules(root)
    edges = {}
    for name, path in found.items():
        targets = set()
        for imported in _imported(ast.parse(path.read_text()), name, path.name == "__init__.py", found):
            targets.update(p for p in (*_packages(imported), imported) if p in found)
        edges[name] = targets - {name, *_packages(name)}
    return edges


def cycles(root: Path) -> list[list[str]]:
    """The import cycles between modules (strongly connected components of :func:`graph` with more than
    one module, Tarjan's algorithm), each sorted; sorted."""
    edges = graph(root)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def _rank(name: str) -> int:
    return LAYERS.index(name.split(".")[0])


def string_imports(root: Path) -> list[str]:
    """``module: "string"`` for each module named in a string of a module of a lower layer."""
    problems = []
    for name, path in modules(root).items():
        for node in ast.walk(ast.parse(path.read_text())):
            named = None
            if (
                isinstance(node, ast.Call)
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called in _STRING_IMPORTERS:
                    named = node.args[0].value
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _ENTRY.match(node.value):
                named = _ENTRY.match(node.value)["module"]
            if named and named.split(".")[0] in LAYERS and _rank(named) > _rank(name):
                problems.append(f"{name}: {named!r}")
    return sorted(set(problems))


def notebook_imports(root: Path) -> list[str]:
    """``notebook: module`` for each import in a notebook of ``<layer>/notebooks`` of a higher layer."""
    problems = []
    for layer in LAYERS:
        for notebook in sorted((root / layer).glob("notebooks/*.ipynb")):
            cells = json.loads(notebook.read_text())["cells"]
            for cell in (c for c in cells if c["cell_type"] == "code"):
                source = "".join(cell["source"])
                code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
                for imported in _imported(ast.parse(code), f"{layer}.notebooks.cell", False, set()):
                    if imported.split(".")[0] in LAYERS and _rank(imported) > LAYERS.index(layer):
                        problems.append(f"{notebook.relative_to(root)}: {imported}")
    return sorted(set(problems))
