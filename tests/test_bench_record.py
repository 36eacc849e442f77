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


def test_every_benchmark_script_has_a_results_section():
    """RESULTS.md holds a section for every tests/benchmarks/bench_*.py (the README quotes only this file)."""
    record = load_record()
    names = list(record.sections((BENCHMARKS / "RESULTS.md").read_text()))
    scripts = sorted(p.name for p in BENCHMARKS.glob("bench_*.py"))
    missing = [s for s in scripts if not any(n == s or n.startswith(s + " ") for n in names)]
    assert not missing, f"no RESULTS.md section for {missing}: run python tests/benchmarks/record.py <script>"
    for name in names:  # and every section says what machine and load it ran under
        body = record.sections((BENCHMARKS / "RESULTS.md").read_text())[name]
        assert "- machine:" in body and "load average" in body, name


def fake_python(tmp_path: Path, device_ok: bool) -> tuple[Path, Path]:
    """A stand-in interpreter that logs its arguments; ``-c`` (the CUDA check) succeeds when ``device_ok``."""
    log = tmp_path / "calls.txt"
    fake = tmp_path / "python"
    fake.write_text(
        f"#!/usr/bin/env bash\nprintf '%s\\n' \"$*\" >> {log}\n"
        f'if [ "$1" = -c ]; then exit {0 if device_ok else 1}; fi\nexit 0\n'
    )
    fake.chmod(0o755)
    return fake, log


def test_gpu_check_runs_every_device_benchmark_and_the_figure_on_cuda(tmp_path):
    """gpu_check.sh with a stubbed device check: each benchmark that takes --device runs through record.py
    with --device cuda, plus the offline figure; those without --device are named as CPU-only."""
    fake, log = fake_python(tmp_path, device_ok=True)
    done = subprocess.run(["bash", str(BENCHMARKS / "gpu_check.sh"), str(fake)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    runs = [line.split() for line in log.read_text().splitlines() if not line.startswith("-c")]
    assert all(
        r[0] == "tests/benchmarks/record.py" and "--device" in r and r[r.index("--device") + 1] == "cuda" for r in runs
    ), runs
    ran = {Path(r[1]).name for r in runs}
    script_text = (BENCHMARKS / "gpu_check.sh").read_text()
    for path in BENCHMARKS.glob("bench_*.py"):
        if '"--device"' in path.read_text():
            assert path.name in ran, f"{path.name} takes --device but gpu_check.sh does not run it"
        else:
            assert path.name in script_text.split("have no --device")[0], f"{path.name}: neither run nor named CPU-only"
    assert any(Path(r[1]).name == "bench_figure1.py" and "offline" in r for r in runs)


def test_gpu_check_stops_without_cuda_and_records_nothing(tmp_path):
    fake, log = fake_python(tmp_path, device_ok=False)
    done = subprocess.run(["bash", str(BENCHMARKS / "gpu_check.sh"), str(fake)], capture_output=True, text=True)
    assert done.returncode == 2
    assert all(line.startswith("-c") for line in log.read_text().splitlines())
