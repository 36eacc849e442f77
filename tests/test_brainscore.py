"""The zoo's Brain-Score plugins: rendered files, install into brainscore_vision, load_model/score,
the plugins' own test.py files (submissions: tests/test_submission.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from analyses.neural import install_plugins
from model_zoo.brainscore import (
    PLUGINS_DIR,
    USER_FAMILY,
    builtin_families,
    render_plugin,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def isolated(tmp_path, monkeypatch):
    """Fresh zoo home in tmp_path (Brain-Score's caches are fixed when it is imported: left alone)."""
    monkeypatch.setenv("NEUROEQUI_ZOO_HOME", str(tmp_path / "zoo"))
    return tmp_path


@pytest.fixture()
def installed(isolated):
    """Model plugins and the local benchmarks linked into brainscore_vision; links into tmp_path removed afterwards."""
    links = install_plugins()
    yield links
    for link in links:
        if link.is_symlink() and str(isolated) in os.readlink(link):
            link.unlink()


def test_committed_plugins_are_the_rendering_of_the_catalogue():
    for family, models in builtin_families().items():
        rendered = render_plugin(family, models)
        on_disk = {
            str(p.relative_to(PLUGINS_DIR / family)): p.read_text()
            for p in (PLUGINS_DIR / family).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        }
        assert on_disk == rendered, f"{family}: run model_zoo.brainscore.render_builtin_plugins()"
        for model in models:
            assert f"model_registry['{model.name}'] = lambda: _commit('{model.name}')" in rendered["__init__.py"]
            assert set(model.region_layer_map) == {"V1", "V2", "V4", "IT"}  # never layer selection


def test_brainscore_load_model_and_score_on_a_project_plugin(installed, data_root):
    import brainscore_vision

    model = brainscore_vision.load_model("cifar-resnet20-supervised")
    assert model.identifier == "cifar-resnet20-supervised-12fca82f"
    assert model.layer_model.region_layer_map["IT"] == "layer3"
    score = brainscore_vision.score("cifar-resnet20-supervised", "Kiani2007.IT-rdm")
    assert score.attrs["benchmark_identifier"] == "Kiani2007.IT-rdm"
    assert 0.15 < float(score) < 1


def test_plugin_test_files_pass(installed, data_root):
    files = [str(PLUGINS_DIR / family / "test.py") for family in builtin_families()]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "4 passed" in run.stdout  # the CIFAR family; the CE-SSL weights are unreachable offline (skipped)


def test_registered_checkpoints_become_a_plugin(installed, tmp_path):
    import brainscore_vision
    from test_model_zoo import _save_project_checkpoint

    from model_zoo.catalogue import register_checkpoint

    register_checkpoint(_save_project_checkpoint(tmp_path / "run.pt", seed=0), name="my-run")
    links = install_plugins()  # re-render: the user family now has a model
    user = next(link for link in links if link.name == USER_FAMILY)
    assert "model_registry['my-run']" in (user / "__init__.py").read_text()
    model = brainscore_vision.load_model("my-run")
    assert model.identifier.startswith("my-run-")
    installed.extend(links)


def test_model_zoo_imports_no_higher_layer():
    """The zoo renders plugins and knows no benchmarks: no module of model_zoo imports analyses or figures."""
    import ast

    for path in (ROOT / "model_zoo").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(n.split(".")[0] in ("analyses", "figures") for n in names), f"{path}: {names}"
