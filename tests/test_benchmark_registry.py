"""The local benchmarks are one folder each (Brain-Score's layout); the registry and the Brain-Score
bridge plugin are generated from the folders."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import analyses.neural.benchmarks as benchmarks_package
from analyses.neural import registry

FOLDERS = Path(benchmarks_package.__file__).parent


def test_every_folder_registers_and_its_init_only_registers():
    local = registry.local_benchmarks()
    folders = sorted(p.parent for p in FOLDERS.glob("*/__init__.py"))
    assert [f.name for f in folders] == ["coggan2024", "cowley2023", "kriegeskorte2008"]
    for folder in folders:
        tree = ast.parse((folder / "__init__.py").read_text())
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "register"]
        assert calls, folder  # it registers something
        # only imports, register(...) calls (a loop over names at most), a docstring: no definitions
        assert not [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Assign))], folder
    assert {"Cowley2023.V4-pls", "Kiani2007.IT-rdm", "tong.Coggan2024_fMRI.IT-rdm"} <= set(local)


def test_bridge_plugin_is_the_rendering_of_the_folders():
    committed = (registry.BRIDGE_DIR / "neuroequi_neural" / "__init__.py").read_text()
    assert committed == registry.render_bridge(), "run `python -m analyses.neural.registry`"
    bridged = set(registry.bridged())
    assert bridged == set(registry.local_benchmarks()) - registry.BRAINSCORE_OWN
    for name in bridged:  # the literal text Brain-Score's plugin finder looks for
        assert f"benchmark_registry['{name}']" in committed
    assert not any(name in committed for name in registry.BRAINSCORE_OWN)


def test_a_new_folder_is_registered_and_bridged(tmp_path, monkeypatch):
    planted = tmp_path / "planted2099"
    planted.mkdir()
    (planted / "__init__.py").write_text(
        "from analyses.neural.registry import register\nregister('Planted2099.IT-rdm', lambda: 'a benchmark')\n"
    )
    monkeypatch.setattr(benchmarks_package, "__path__", [*benchmarks_package.__path__, str(tmp_path)])
    monkeypatch.setattr(registry, "BENCHMARKS", dict(registry.BENCHMARKS))
    try:
        assert registry.local_benchmarks()["Planted2099.IT-rdm"]() == "a benchmark"
        assert "benchmark_registry['Planted2099.IT-rdm']" in registry.render_bridge()
    finally:
        sys.modules.pop("analyses.neural.benchmarks.planted2099", None)


def test_a_name_registered_twice_is_refused(monkeypatch):
    monkeypatch.setattr(registry, "BENCHMARKS", {"A.IT-rdm": lambda: None})
    with pytest.raises(RuntimeError, match="registered twice"):
        registry.register("A.IT-rdm", lambda: None)


def test_preloaded_benchmarks_are_handed_out_and_online_ones_skipped(data_root, monkeypatch):
    """preload_benchmarks builds an offline benchmark once; load_benchmark then returns that object
    (a forked scoring job inherits it), other identifiers are still built anew, unknown ones refused."""
    import analyses.neural as neural
    from neuroequi.errors import ConfigError

    monkeypatch.setattr(neural, "_PRELOADED", {})
    neural.preload_benchmarks(["Kiani2007.IT-rdm", "MajajHong2015public.IT-pls"])
    assert set(neural._PRELOADED) == {"Kiani2007.IT-rdm"}
    first = neural.load_benchmark("Kiani2007.IT-rdm")
    assert first is neural._PRELOADED["Kiani2007.IT-rdm"] and neural.load_benchmark("Kiani2007.IT-rdm") is first
    other = neural.load_benchmark("Kriegeskorte2008.hIT-rdm")
    assert other is not neural.load_benchmark("Kriegeskorte2008.hIT-rdm")
    with pytest.raises(ConfigError, match="unknown benchmark 'Nope.IT-rdm'"):
        neural.preload_benchmarks(["Nope.IT-rdm"])
