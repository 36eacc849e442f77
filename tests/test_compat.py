"""The torchvision shim acts only when torchvision's compiled extension cannot load."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = """
import torch
from neuroequi._compat import _extension_path
try:
    torch.ops.load_library(_extension_path())
    print("loads")
except (OSError, RuntimeError):
    print("fails")
"""

USE = """
import neuroequi, torch, torchvision
from neuroequi._compat import ensure_torchvision
from torchvision.models import resnet18
import torchvision.transforms.v2 as T
out = resnet18(num_classes=3)(torch.rand(2, 3, 32, 32))
crop = T.RandomResizedCrop(16)(torch.rand(3, 40, 40))
print(ensure_torchvision(), tuple(out.shape), tuple(crop.shape))
"""


def _run(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "BS_INSTALL_DEPENDENCIES"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_shim_acts_iff_extension_cannot_load():
    extension = _run(PROBE)
    patched, shapes = _run(USE).split(" ", 1)
    assert patched == ("True" if extension == "fails" else "False")
    assert shapes == "(2, 3) (3, 16, 16)"


def test_brainscore_never_installs_behind_the_users_back():
    """Set when brainscore_vision is first imported, not when neuroequi is (no environment set at import)."""
    code = ("import neuroequi, os; print(os.environ.get('BS_INSTALL_DEPENDENCIES'));"
            "import brainscore_vision; print(os.environ.get('BS_INSTALL_DEPENDENCIES'))")
    assert _run(code).split() == ["None", "no"]


def test_importing_neuroequi_loads_no_torch():
    assert _run("import sys, neuroequi, neuroequi.cli; print('torch' in sys.modules)") == "False"
