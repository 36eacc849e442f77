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
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import logging
import os
import sys
from typing import Any

# Schemas of the ops that torchvision's ``_meta_registrations`` touches at import.
_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_LIBRARY: Any = None  # the torch.library.Library holding the schemas, once defined
_STATE: dict[str, bool] = {}


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

    Must run before torchvision is first imported. Idempotent.
    """
    global _LIBRARY
    import torch

    if "patched" in _STATE:
        return _STATE["patched"]
    patched = False
    if "torchvision" not in sys.modules:
        path = _extension_path()
        if path is not None:
            try:
                torch.ops.load_library(path)
            except (OSError, RuntimeError):
                _LIBRARY = torch.library.Library("torchvision", "DEF")
                for schema in _SCHEMAS:
                    _LIBRARY.define(schema)
                patched = True
                logging.getLogger(__name__).info(
                    "torchvision's compiled ops cannot load with this torch build; "
                    "registered their schemas so torchvision.models and transforms work "
                    "(torchvision.ops.nms and torchvision.io decoding are unavailable)."
                )
    _STATE["patched"] = patched
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
    """Put :class:`_BeforeFirstImport` first on ``sys.meta_path`` (once); imports nothing heavy."""
    if not any(isinstance(finder, _BeforeFirstImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _BeforeFirstImport())
