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
    code = (
        "import neuroequi, os; print(os.environ.get('BS_INSTALL_DEPENDENCIES'));"
        "import brainscore_vision; print(os.environ.get('BS_INSTALL_DEPENDENCIES'))"
    )
    assert _run(code).split() == ["None", "no"]


def test_importing_neuroequi_loads_no_torch():
    assert _run("import sys, neuroequi, neuroequi.cli; print('torch' in sys.modules)") == "False"


def test_import_torchvision_alone_works_with_the_pth_file_make_env_installs(tmp_path):
    # A clean interpreter (this checkout not on its path) that reads the .pth file as site-packages
    # would: `import torchvision` must work without `import neuroequi`, and starting the interpreter
    # must not import torch (the step waits for torchvision's import).
    from neuroequi._compat import PTH_NAME, write_pth

    assert write_pth(tmp_path) == tmp_path / PTH_NAME
    code = f"""
import site, sys
site.addsitedir({str(tmp_path)!r})
hooked = any(type(f).__name__ == "_BeforeFirstImport" for f in sys.meta_path)
torch_at_start = "torch" in sys.modules
import torch, torchvision.models
net = torchvision.models.resnet18(num_classes=3).eval()
print(hooked, torch_at_start, "neuroequi" in sys.modules, tuple(net(torch.rand(1, 3, 32, 32)).shape))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"}
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False", "False", "(1,", "3)"]


def test_the_step_acts_once_with_the_pth_copy_and_the_package_both_loaded(tmp_path):
    from neuroequi._compat import write_pth

    write_pth(tmp_path)
    code = f"""
import site, sys
site.addsitedir({str(tmp_path)!r})
sys.path.insert(0, {str(__import__("pathlib").Path(__file__).resolve().parents[1])!r})
import neuroequi, torchvision
from neuroequi._compat import ensure_torchvision
print(sum(type(f).__name__ == "_BeforeFirstImport" for f in sys.meta_path), ensure_torchvision())
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"}
    )
    assert done.returncode == 0, done.stderr
    finders, patched = done.stdout.split()
    assert finders == "1" and patched == _run(PROBE).replace("fails", "True").replace("loads", "False")


def test_a_pth_pointing_at_a_moved_file_is_silent(tmp_path):
    from neuroequi._compat import PTH_NAME, pth_line

    (tmp_path / PTH_NAME).write_text(pth_line(tmp_path / "gone.py"))
    code = f"import site; site.addsitedir({str(tmp_path)!r}); print('started')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "started", "")
