"""Guarded compatibility step for a torchvision whose compiled ops cannot load.

The registry's torchvision 0.28.0 wheel is a CUDA build. With the CPU build of
torch 2.13.0 its extension ``torchvision/_C.so`` fails to load, and
``import torchvision`` then dies with ``operator torchvision::nms does not
exist`` (its fake-tensor registrations need the operator schemas). When, and
only when, the extension cannot load, :func:`ensure_torchvision` defines the
two schemas torchvision needs at import time. ``torchvision.models`` and
``torchvision.transforms.v2`` then work; ``torchvision.ops.nms`` and the other
compiled ops, and ``torchvision.io`` image decoding, stay unavailable (use PIL
for image files). On a CUDA install or a matching CPU build this does nothing.

``import neuroequi`` installs the step (:func:`install_import_steps`). So that a plain
``import torchvision`` works too (a user's own script, a notebook), ``make env`` runs
``python -m neuroequi._compat``, which writes a ``.pth`` file into the environment's
site-packages (:func:`write_pth`): at interpreter start it loads this file on its own (not the
``neuroequi`` package, and not torch; only the standard library is imported here) and
installs the same step. Every copy of this module shares one state (:func:`_state`), so the
step acts once per process however many copies are loaded.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import logging
import os
import sys
import sysconfig
import types
from pathlib import Path
from typing import Any

# Schemas of the ops that torchvision's ``_meta_registrations`` touches at import.
_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
#: ``sys.modules`` key of the state every copy of this module shares (the .pth loads its own copy).
_STATE_MODULE = "_neuroequi_compat_state"
#: Name of the file :func:`write_pth` puts into site-packages.
PTH_NAME = "neuroequi-torchvision-compat.pth"


def _state() -> dict[str, Any]:
    """The process-wide state: ``patched`` (the step's outcome) and ``library`` (the schemas' holder)."""
    holder = sys.modules.get(_STATE_MODULE)
    if holder is None:
        holder = types.ModuleType(_STATE_MODULE, "state of neuroequi._compat, shared by its copies")
        holder.state = {}
        sys.modules[_STATE_MODULE] = holder
    return holder.state


def _extension_path() -> str | None:
    """Path of torchvision's compiled ``_C`` extension, or None if not installed."""
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return None
    finder = importlib.machinery.FileFinder(
        spec.submodule_search_locations[0],
        (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES),
    )
    ext = finder.find_spec("_C")
    return None if ext is None else ext.origin


def ensure_torchvision() -> bool:
    """Make ``import torchvision`` work; return True if the shim had to act.

    Must run before torchvision is first imported. Idempotent (in every copy of this module).
    """
    state = _state()
    if "patched" in state:
        return state["patched"]
    patched = False
    if "torchvision" not in sys.modules:
        path = _extension_path()
        if path is not None:
            import torch

            try:
                torch.ops.load_library(path)
            except (OSError, RuntimeError):
                state["library"] = torch.library.Library("torchvision", "DEF")
                for schema in _SCHEMAS:
                    state["library"].define(schema)
                patched = True
                logging.getLogger(__name__).info(
                    "torchvision's compiled ops cannot load with this torch build; "
                    "registered their schemas so torchvision.models and transforms work "
                    "(torchvision.ops.nms and torchvision.io decoding are unavailable)."
                )
    state["patched"] = patched
    return patched


class _BeforeFirstImport(importlib.abc.MetaPathFinder):
    """Runs a package's compatibility step just before it is first imported, then lets the
    ordinary finders import it: torchvision (:func:`ensure_torchvision`) and brainscore_vision
    (``BS_INSTALL_DEPENDENCIES=no``: it never runs ``pip`` for a plugin's requirements behind the
    user's back)."""

    busy = False

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if self.busy or name not in ("torchvision", "brainscore_vision"):
            return None
        self.busy = True
        try:
            if name == "torchvision":
                ensure_torchvision()
            else:
                os.environ["BS_INSTALL_DEPENDENCIES"] = "no"
        finally:
            self.busy = False
        return None


def install_import_steps() -> None:
    """Put :class:`_BeforeFirstImport` first on ``sys.meta_path`` (once, whichever copy of this module
    installed it); imports nothing heavy."""
    if not any(type(finder).__name__ == _BeforeFirstImport.__name__ for finder in sys.meta_path):
        sys.meta_path.insert(0, _BeforeFirstImport())


def pth_line(source: str | Path | None = None) -> str:
    """The one line of the ``.pth`` file: load ``source`` (this file) as a module of its own and call
    its :func:`install_import_steps`; any failure (the file moved) is silent, as if there were no hook."""
    source = str(Path(source or __file__).resolve())
    body = (
        "try:\n"
        "    import importlib.util as u\n"
        f"    s = u.spec_from_file_location('_neuroequi_compat_hook', {source!r})\n"
        "    m = u.module_from_spec(s)\n"
        "    s.loader.exec_module(m)\n"
        "    m.install_import_steps()\n"
        "except Exception:\n"
        "    pass\n"
    )
    return f"import sys; exec({body!r})\n"


def write_pth(site_dir: str | Path | None = None) -> Path:
    """Write :data:`PTH_NAME` into ``site_dir`` (default: this interpreter's site-packages); its path."""
    target = Path(site_dir or sysconfig.get_paths()["purelib"]) / PTH_NAME
    target.write_text(pth_line())
    return target


if __name__ == "__main__":
    print(f"wrote {write_pth(sys.argv[1] if len(sys.argv) > 1 else None)}")
