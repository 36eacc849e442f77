"""The layer contract (figures > analyses > model_zoo > neuroequi, checked by import-linter) and ruff.

The contract lives in ``setup.cfg`` (``[importlinter]``); these tests run it the way CI does, on the
repository and on a copy with a planted back-import, so a contract that cannot fail would show.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("neuroequi", "model_zoo", "analyses", "figures")
LINT = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(config_filename='setup.cfg', no_cache=True))"


def _lint(root: Path) -> subprocess.CompletedProcess:
    """import-linter's ``lint_imports`` on the packages under ``root`` (its ``setup.cfg``); exit 0 = kept."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, "-c", LINT], cwd=root, env=env, capture_output=True, text=True, timeout=600)


def _copy(tmp_path: Path) -> Path:
    """The four packages and setup.cfg, copied under ``tmp_path`` (about 1 MB)."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "setup.cfg", tmp_path / "setup.cfg")
    return tmp_path


def test_layers_only_look_down():
    """No module of a lower layer imports a higher one (the contract in setup.cfg is kept)."""
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("low", "high"), [("neuroequi", "figures"), ("neuroequi", "model_zoo"), ("model_zoo", "analyses")])
def test_a_planted_back_import_breaks_the_contract(tmp_path: Path, low: str, high: str):
    root = _copy(tmp_path)
    (root / low / "planted_back_import.py").write_text(f"import {high}\n")
    result = _lint(root)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{low} is not allowed to import {high}" in result.stdout
    assert f"{low}.planted_back_import -> {high}" in result.stdout


def test_ruff_passes_on_the_packages_and_tests():
    """``ruff check`` with the repository's configuration (``[tool.ruff]`` in pyproject.toml)."""
    result = subprocess.run([sys.executable, "-m", "ruff", "check", *PACKAGES, "tests"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
