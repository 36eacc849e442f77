# neuroequi — `make figures` and `make test` build the environment themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.stamp
# The real data directory: NEUROEQUI_DATA if set, else ../shared/data when it
# exists (this project's machines), else the per-user cache (see README).
NEUROEQUI_DATA ?= $(if $(wildcard ../shared/data/SHA256SUMS.txt),$(abspath ../shared/data),)
export NEUROEQUI_DATA
export BS_INSTALL_DEPENDENCIES := no
export PYTHONHASHSEED := 0
FIGURE1 ?= offline
FIGURE1_ARGS ?=
PYTEST_ARGS ?=

.PHONY: help env test figures bench clean-results clean

help:  ## list the targets
	@grep -E '^[a-z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): setup.cfg pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and exactly: a floating torch would pull CUDA wheels.
	$(PY) -m pip install --quiet torch==2.13.0 torchvision==0.28.0
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

env: $(STAMP)  ## build or refresh .venv from setup.cfg (done by test/figures too)

test: $(STAMP)  ## run the test suite (NEUROEQUI_DATA names the real data)
	$(PY) -m pytest $(PYTEST_ARGS)

figures: $(STAMP)  ## Figure 1: FIGURE1=offline (default; rewrites README's block), smoke, paper or imagenet
	$(PY) -m neuroequi.cli figures figure1 --preset $(FIGURE1) $(FIGURE1_ARGS)$(if $(filter offline,$(FIGURE1)), --readme README.md)

bench: $(STAMP)  ## run every benchmark, writing tests/benchmarks/RESULTS.md (+ gpu_check.sh on a GPU)
	@for b in tests/benchmarks/bench_*.py; do echo "== $$b"; $(PY) tests/benchmarks/record.py $$b || exit 1; done
	@if $(PY) -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then tests/benchmarks/gpu_check.sh $(PY); fi

clean-results:  ## remove Figure 1 intermediate results (checkpoints, responses, scores)
	rm -rf results

clean:  ## remove the environment and all results
	rm -rf $(VENV) results
