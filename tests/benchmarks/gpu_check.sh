#!/usr/bin/env bash
# The analysis path on one GPU, in a few minutes, recorded in tests/benchmarks/RESULTS.md:
#   bench_bures.py --device cuda     all-pairs Bures distances: ours vs POT (torch backend) and the eigh bound,
#                                    float32 accuracy
#   bench_decoding.py --device cuda  the decoding regressions vs scikit-learn's pipeline (on the CPU)
#   bench_responses.py --device cuda responses of a ResNet-50 at 224 px, fp32 and bf16, vs a bare model(x) loop
# Usage: tests/benchmarks/gpu_check.sh [PYTHON]   (default: $PYTHON, else .venv/bin/python, else python3);
# NEUROEQUI_DATA must hold the CIFAR-10 test images (bench_responses). `make bench` runs it when CUDA is present.
# Stops at once, recording nothing, when torch finds no CUDA device.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${1:-${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" BS_INSTALL_DEPENDENCIES=no PYTHONHASHSEED=0
"$PY" -c "from analyses.linalg import resolve_device; resolve_device('cuda')" 2>/dev/null || {
    "$PY" -c "import torch; print(f'gpu_check: no CUDA device (torch {torch.__version__}, cuda {torch.version.cuda})')" >&2
    exit 2
}
THREADS=$(( $(nproc) < 8 ? $(nproc) : 8 ))
run() { timeout "$1" "$PY" tests/benchmarks/record.py "${@:2}"; }
run 300 tests/benchmarks/bench_bures.py --device cuda --threads "$THREADS" --repeats 5 --pot-repeats 2
run 300 tests/benchmarks/bench_decoding.py --device cuda --threads "$THREADS" --repeats 2 --sizes 128x32x512,256x32x2048
run 300 tests/benchmarks/bench_responses.py --device cuda --threads "$THREADS" --images 0 \
    --resnet50-images 128 --resnet50-K 8 --resnet50-batch 128 --repeats 3
