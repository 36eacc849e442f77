"""Run one benchmark script and record its output as a section of ``tests/benchmarks/RESULTS.md``.

Usage: ``python tests/benchmarks/record.py tests/benchmarks/bench_bures.py [args...]``.

The script runs with the same interpreter; its output is shown as it comes and
then written, with the machine, library versions, BLAS/LAPACK kernels, thread
settings and date, as the section named by the script and its arguments. A
section of the same name is replaced, every other section is kept, so
``make bench`` (every ``bench_*.py`` on the CPU) and ``gpu_check.sh`` (the
``--device cuda`` runs) rewrite their own sections of one file. A failing
script records nothing and its exit code is passed on.

:func:`environment` is also what the benchmark scripts print about the BLAS each side used.
"""

from __future__ import annotations

import datetime
import os
import platform
import re
import shlex
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
sys.path.insert(0, str(HERE.parents[1]))  # the repository root, for neuroequi.io

HEADER = """# Benchmark results

Written by `make bench` (every `tests/benchmarks/bench_*.py` on the CPU) and by
`tests/benchmarks/gpu_check.sh` (the `--device cuda` runs), through
`tests/benchmarks/record.py`; each section is replaced when its command runs
again. Do not edit by hand: the README quotes this file.
"""


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else platform.machine()


def environment() -> list[str]:
    """Machine, library versions, BLAS/LAPACK kernels of numpy/scipy (threadpoolctl) and torch, threads."""
    import numpy as np
    import scipy.linalg  # noqa: F401  (loads scipy's BLAS, so that threadpoolctl lists it)
    import torch
    from threadpoolctl import threadpool_info

    from neuroequi.io import package_versions

    gpu = (
        f"{torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda}, {torch.cuda.device_count()} device(s))"
        if torch.cuda.is_available()
        else "none"
    )
    versions = package_versions("POT", "scikit-learn", "scipy", "threadpoolctl")
    config = torch.__config__.show()
    capability = re.search(r"CPU capability usage: (\S+)", config)
    blas = re.search(r"BLAS_INFO=(\w+)", config)
    lapack = re.search(r"LAPACK_INFO=(\w+)", config)
    libraries = [
        f"{pool['internal_api']} {pool.get('version')} ({Path(pool['filepath']).name}): kernel "
        f"{pool.get('architecture', 'n/a')}, {pool['num_threads']} threads"
        for pool in threadpool_info()
        if pool["user_api"] == "blas"
    ]
    from neuroequi.hardware import cpu_flags, describe

    flags = cpu_flags()
    isa = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile") if f in flags]
    return [
        f"machine: {cpu_model()}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}; GPU: {gpu}",
        f"CPU flags: {', '.join(isa) or 'none of avx2/avx512/amx'}; native bf16 (precision: auto -> bf16): "
        f"{'yes' if describe('cpu')['native_bf16'] else 'no'}",
        "versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        f"torch BLAS/LAPACK: {blas.group(1) if blas else '?'}/{lapack.group(1) if lapack else '?'} "
        f"(MKL available: {torch.backends.mkl.is_available()}), CPU kernels {capability.group(1) if capability else '?'}; "
        f"default intra-op threads {torch.get_num_threads()} (each benchmark states the threads it sets)",
        "numpy/scipy BLAS: " + ("; ".join(libraries) or "none found") + f" (numpy {np.__version__})",
    ]


def sections(text: str) -> dict[str, str]:
    """``{name: body}`` of the ``## name`` sections of a RESULTS.md text, in file order."""
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1].strip("\n") for i in range(1, len(parts), 2)}


def write_section(name: str, body: str, path: Path = RESULTS) -> None:
    """Replace (or append) section ``name`` of ``path``, keeping the others."""
    from neuroequi.io import atomic_write

    kept = sections(path.read_text()) if path.exists() else {}
    kept[name] = body
    text = HEADER + "".join(f"\n## {key}\n\n{value}\n" for key, value in kept.items())
    with atomic_write(path) as tmp:
        tmp.write_text(text)


def main() -> int:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__.split("\n\n")[1])
    script, args = Path(sys.argv[1]), sys.argv[2:]
    command = [sys.executable, str(script), *args]
    started, load = datetime.datetime.now(datetime.UTC), os.getloadavg()
    lines = []
    quiet = {**os.environ, "TQDM_DISABLE": "1"}  # a section holds results, not progress bars (Brain-Score's too)
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=quiet) as proc:
        for line in proc.stdout:
            print(line, end="", flush=True)
            lines.append(line.rstrip("\n"))
    if proc.returncode != 0:
        print(f"[record] {script.name} exited with {proc.returncode}: {RESULTS.name} not changed", file=sys.stderr)
        return proc.returncode
    minutes = (datetime.datetime.now(datetime.UTC) - started).total_seconds() / 60
    env = {
        k: os.environ[k]
        for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY")
        if k in os.environ
    }
    meta = [
        f"command: `python {shlex.join([str(script), *args])}`",
        f"date: {started:%Y-%m-%d %H:%M} UTC, {minutes:.1f} min; load average (1, 5, 15 min) before the run: "
        f"{', '.join(f'{x:.1f}' for x in load)} (other work shares the machine)",
        *environment(),
        f"thread variables: {env or 'none set'}",
    ]
    body = "\n".join(f"- {line}" for line in meta) + "\n\n```text\n" + "\n".join(lines) + "\n```"
    write_section(" ".join([script.name, *args]), body)
    print(f"[record] wrote section '{' '.join([script.name, *args])}' of {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
