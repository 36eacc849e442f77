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

``import neuroequi`` runs the step. So that a plain ``import torchvision`` works too
(a user's own script, a Brain-Score plugin), ``make env`` runs ``python -m neuroequi._compat``,
which writes a ``.pth`` file into the environment's site-packages (:func:`write_pth`): at
interpreter start it loads this file on its own (not the ``neuroequi`` package, and not torch)
and puts :class:`TorchvisionFinder` first on ``sys.meta_path``, which runs
:func:`ensure_torchvision` the first time ``torchvision`` is imported and then steps aside.
Only the standard library is imported at module level; torch when the step runs.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import logging
import sys
import sysconfig
from pathlib import Path

# Schemas of the ops that torchvision's ``_meta_registrations`` touches at import.
_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_LIBRARY = None  # the torch.library.Library holding the schemas, when this module defined them
_STATE: dict[str, bool] = {}
#: Name of the file :func:`write_pth` puts into site-packages.
PTH_NAME = "neuroequi-torchvision-compat.pth"


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

    Must run before torchvision is first imported. Idempotent, also across copies of this
    module (the import hook loads one of its own): schemas that exist are not defined again.
    """
    global _LIBRARY
    if "patched" in _STATE:
        return _STATE["patched"]
    patched = False
    if "torchvision" not in sys.modules:
        path = _extension_path()
        if path is not None:
            import torch

            try:
                torch.ops.load_library(path)
            except (OSError, RuntimeError):
                if not hasattr(torch.ops.torchvision, "nms"):
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


class TorchvisionFinder(importlib.abc.MetaPathFinder):
    """Runs :func:`ensure_torchvision` when ``torchvision`` is first imported, then leaves
    ``sys.meta_path`` (it finds nothing itself: the import goes on as usual)."""

    def find_spec(self, name, path=None, target=None):
        if name == "torchvision":
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            ensure_torchvision()
        return None


def install_hook() -> None:
    """Put a :class:`TorchvisionFinder` first on ``sys.meta_path`` (once; not after torchvision is imported)."""
    if "torchvision" not in sys.modules and not any(type(f).__name__ == "TorchvisionFinder" for f in sys.meta_path):
        sys.meta_path.insert(0, TorchvisionFinder())


def pth_line(source: str | Path | None = None) -> str:
    """The one line of the ``.pth`` file: load ``source`` (this file) as a module of its own and
    call its :func:`install_hook`; any failure (the file moved) is silent, as if no hook were there."""
    source = str(Path(source or __file__).resolve())
    body = (
        "try:\n"
        "    import importlib.util as u\n"
        f"    s = u.spec_from_file_location('_neuroequi_torchvision_hook', {source!r})\n"
        "    m = u.module_from_spec(s)\n"
        "    s.loader.exec_module(m)\n"
        "    m.install_hook()\n"
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
