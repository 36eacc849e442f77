#!/usr/bin/env bash
# Every benchmark's --device cuda run plus one whole offline-preset Figure 1 on one GPU, in about 8 minutes,
# each recorded as a section of tests/benchmarks/RESULTS.md (through record.py):
#   bench_bures.py --device cuda     all-pairs Bures distances: ours vs POT (torch backend) and the eigh bound,
#                                    float32 accuracy
#   bench_decoding.py --device cuda  the decoding regressions vs scikit-learn's pipeline (on the CPU)
#   bench_responses.py --device cuda responses of a ResNet-50 at 224 px, fp32 and bf16, vs a bare model(x) loop
#   bench_train.py --device cuda     the paper-scale training step vs a bare ResNet-50 step (bf16, batch 256)
#   bench_profile.py --device cuda   where a Figure-1 training and evaluation job spend their time
#   bench_figure1.py --device cuda   the offline preset end to end, training on the GPU, jobs side by side
# The CPU-only comparisons (bench_augment.py: batched CPU augmentation vs torchvision on PIL;
# bench_brainscore.py, bench_layers.py: Brain-Score's CPU extraction path; bench_pls.py: the pls
# estimator on numpy inputs; bench_reproducibility.py: CPU kernels and thread counts; bench_jobs.py: local
# jobs started warm vs as new interpreters) have no --device and are not rerun here.
# Usage: tests/benchmarks/gpu_check.sh [PYTHON]   (default: $PYTHON, else .venv/bin/python, else python3);
# NEUROEQUI_DATA must hold the data directory. `make bench` runs it when CUDA is present.
# Stops at once, recording nothing, when torch finds no CUDA device. Each step has its own time limit
# (GPU_CHECK_SCALE multiplies them); a step over its limit fails the script.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${1:-${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" BS_INSTALL_DEPENDENCIES=no PYTHONHASHSEED=0
"$PY" -c "from analyses.linalg import resolve_device; resolve_device('cuda')" 2>/dev/null || {
    "$PY" -c "import torch; print(f'gpu_check: no CUDA device (torch {torch.__version__}, cuda {torch.version.cuda})')" >&2 || true
    exit 2
}
CPUS=$(nproc)
THREADS=$(( CPUS < 8 ? CPUS : 8 ))
SCALE=${GPU_CHECK_SCALE:-1}
run() { timeout "$(( $1 * SCALE ))" "$PY" tests/benchmarks/record.py "${@:2}"; }
run 60 tests/benchmarks/bench_bures.py --device cuda --threads "$THREADS" --repeats 5 --pot-repeats 2
run 40 tests/benchmarks/bench_decoding.py --device cuda --threads "$THREADS" --repeats 2 --sizes 128x32x512,256x32x2048
run 60 tests/benchmarks/bench_responses.py --device cuda --threads "$THREADS" --images 0 \
    --resnet50-images 128 --resnet50-K 8 --resnet50-batch 128 --repeats 3
run 60 tests/benchmarks/bench_train.py --device cuda --steps 10 --warmup 3
run 40 tests/benchmarks/bench_profile.py --device cuda --steps 0
run 220 tests/benchmarks/bench_figure1.py --preset offline --device cuda "parallel=$CPUS"
