"""The layer contract (figures > analyses > model_zoo > neuroequi, checked by import-linter), no import
cycles, no upward imports hidden in strings or notebooks (:mod:`architecture`, beside this file), and ruff.

The contract lives in ``setup.cfg`` (``[importlinter]``); these tests run it the way CI does, and every
check on the repository and on a copy with a planted case, so a check that cannot fail would show.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import architecture

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


@pytest.mark.parametrize(
    ("low", "high"), [("neuroequi", "figures"), ("neuroequi", "model_zoo"), ("model_zoo", "analyses")]
)
def test_a_planted_back_import_breaks_the_contract(tmp_path: Path, low: str, high: str):
    root = _copy(tmp_path)
    (root / low / "planted_back_import.py").write_text(f"import {high}\n")
    result = _lint(root)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{low} is not allowed to import {high}" in result.stdout
    assert f"{low}.planted_back_import -> {high}" in result.stdout


def test_no_import_cycles_between_modules():
    """Lazy (in-function) and TYPE_CHECKING imports count; so does a package ``__init__`` an import runs."""
    assert architecture.cycles(ROOT) == []


def test_no_module_names_a_higher_layer_in_a_string():
    """``importlib.import_module("...")`` and ``"module:function"`` entry points look down too."""
    assert architecture.string_imports(ROOT) == []


def test_notebooks_import_only_their_layer_and_below():
    assert architecture.notebook_imports(ROOT) == []


def test_a_planted_cycle_is_found(tmp_path: Path):
    root = _copy(tmp_path)
    (root / "neuroequi" / "planted_a.py").write_text("from neuroequi import planted_b\n")
    (root / "neuroequi" / "planted_b.py").write_text("def f():\n    import neuroequi.planted_a\n")  # a lazy import
    assert architecture.cycles(root) == [["neuroequi.planted_a", "neuroequi.planted_b"]]


@pytest.mark.parametrize(
    "source", ['import importlib\nimportlib.import_module("figures.plot")\n', 'ENTRY = "figures.plot:draw_figure1"\n']
)
def test_a_planted_string_import_is_found(tmp_path: Path, source: str):
    root = _copy(tmp_path)
    (root / "model_zoo" / "planted.py").write_text(source)
    assert architecture.string_imports(root) == ["model_zoo.planted: 'figures.plot'"]


def test_a_planted_notebook_import_is_found(tmp_path: Path):
    root = _copy(tmp_path)
    notebook = root / "analyses" / "notebooks" / "02_analyze_checkpoint.ipynb"
    data = json.loads(notebook.read_text())
    data["cells"].append(
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "source": ["%matplotlib inline\n", "from figures.plot import draw_figure1\n"],
        }
    )
    notebook.write_text(json.dumps(data))
    assert architecture.notebook_imports(root) == ["analyses/notebooks/02_analyze_checkpoint.ipynb: figures.plot"]


def test_templates_are_package_data():
    """Every rendered-source template (``*.tmpl``) ships in the package (``setup.cfg [options.package_data]``)."""
    import configparser
    import fnmatch

    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    patterns = {
        package: [p.strip() for p in value.replace("\n", ",").split(",") if p.strip()]
        for package, value in config["options.package_data"].items()
    }
    templates = [p.relative_to(ROOT) for package in PACKAGES for p in (ROOT / package).rglob("*.tmpl")]
    assert templates
    for path in templates:
        package, rel = path.parts[0], "/".join(path.parts[1:])
        assert any(fnmatch.fnmatch(rel, pattern) for pattern in patterns.get(package, [])), path


def test_ruff_passes_on_the_packages_and_tests():
    """``ruff check`` with the repository's configuration (``[tool.ruff]`` in pyproject.toml)."""
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", *PACKAGES, "tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_tree_is_formatted():
    """``ruff format --check``: one layout everywhere (the generated plugin files excluded, pyproject.toml)."""
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", *PACKAGES, "tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
