"""tests/benchmarks/record.py: one section per command in RESULTS.md, replaced in place, others kept."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).parent / "benchmarks"


def load_record():
    spec = importlib.util.spec_from_file_location("record", BENCHMARKS / "record.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sections_are_replaced_in_place_and_others_kept(tmp_path):
    record = load_record()
    path = tmp_path / "RESULTS.md"
    record.write_section("bench_a.py", "- a\n\n```text\nfirst\n```", path)
    record.write_section("bench_b.py --device cuda", "```text\nb\n```", path)
    record.write_section("bench_a.py", "```text\nsecond\n```", path)
    sections = record.sections(path.read_text())
    assert list(sections) == ["bench_a.py", "bench_b.py --device cuda"]
    assert sections["bench_a.py"] == "```text\nsecond\n```"
    assert path.read_text().startswith(record.HEADER)


def test_environment_names_the_blas_of_torch_and_numpy():
    lines = load_record().environment()
    assert any(line.startswith("torch BLAS/LAPACK:") for line in lines)
    assert any("numpy/scipy BLAS:" in line and "kernel" in line for line in lines)


def test_a_failing_script_records_nothing(tmp_path):
    script = tmp_path / "bench_fail.py"
    script.write_text("print('partial'); raise SystemExit(3)\n")
    before = (BENCHMARKS / "RESULTS.md").read_text() if (BENCHMARKS / "RESULTS.md").exists() else None
    done = subprocess.run([sys.executable, str(BENCHMARKS / "record.py"), str(script)], capture_output=True, text=True)
    assert done.returncode == 3 and "not changed" in done.stderr
    after = (BENCHMARKS / "RESULTS.md").read_text() if (BENCHMARKS / "RESULTS.md").exists() else None
    assert after == before
