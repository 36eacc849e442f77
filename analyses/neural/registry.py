"""The local benchmarks, registered by their folders (Brain-Score's plugin layout).

Each folder of ``analyses/neural/benchmarks/`` is one benchmark plugin: its ``__init__.py`` only
registers identifiers (:func:`register`), its ``benchmark.py`` (where the folder needs one) defines
them; the shared benchmark classes live in :mod:`analyses.neural.benchmarks`. :func:`local_benchmarks`
imports every folder once and returns what they registered, so the registry -- and the Brain-Score
bridge plugin (``analyses/neural/brainscore_plugin``), which registers :func:`bridged` -- is
generated from the folders, not listed by hand (:func:`render_bridge`; a test checks the committed
file against a fresh rendering). A new benchmark is a new folder, then ``python -m analyses.neural.registry``.
"""

from __future__ import annotations

import importlib
import pkgutil
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: The Brain-Score bridge plugin folder and the template of its ``__init__.py``.
BRIDGE_DIR = Path(__file__).resolve().parent / "brainscore_plugin"

#: identifier -> a function building the Brain-Score benchmark object (filled by the folders).
BENCHMARKS: dict[str, Callable[[], Any]] = {}
#: Identifiers Brain-Score registers itself (served offline here; the bridge leaves them to Brain-Score).
BRAINSCORE_OWN: set[str] = set()


def register(identifier: str, factory: Callable[[], Any], *, brainscore_own: bool = False) -> None:
    """Register a local benchmark (called by a folder's ``__init__.py``); ``brainscore_own``: the
    identifier is one of Brain-Score's own, which this project runs on local files."""
    if identifier in BENCHMARKS:
        raise RuntimeError(f"benchmark {identifier!r} is registered twice")
    BENCHMARKS[identifier] = factory
    if brainscore_own:
        BRAINSCORE_OWN.add(identifier)


def local_benchmarks() -> dict[str, Callable[[], Any]]:
    """Every local benchmark, identifier -> factory, after importing every folder of the benchmarks package."""
    import analyses.neural.benchmarks as package

    for folder in pkgutil.iter_modules(package.__path__):
        if folder.ispkg:
            importlib.import_module(f"{package.__name__}.{folder.name}")
    return BENCHMARKS


def bridged() -> dict[str, Callable[[], Any]]:
    """The local benchmarks the Brain-Score bridge plugin registers: all but Brain-Score's own."""
    return {name: factory for name, factory in local_benchmarks().items() if name not in BRAINSCORE_OWN}


def render_bridge() -> str:
    """The bridge plugin's ``__init__.py``: one literal ``benchmark_registry['<id>'] = ...`` line per
    :func:`bridged` benchmark (Brain-Score's plugin finder matches that text before importing)."""
    lines = [f"benchmark_registry[{name!r}] = local_benchmarks()[{name!r}]" for name in bridged()]
    template = string.Template((BRIDGE_DIR / "bridge_init.py.tmpl").read_text())
    return template.substitute(registrations="\n".join(lines))


def write_bridge() -> Path:
    """(Re)write ``brainscore_plugin/neuroequi_neural/__init__.py`` from the folders; its path."""
    path = BRIDGE_DIR / "neuroequi_neural" / "__init__.py"
    path.write_text(render_bridge())
    return path


if __name__ == "__main__":  # the folders register into the imported module, not into __main__
    from analyses.neural.registry import write_bridge as _write_bridge

    print(_write_bridge())
