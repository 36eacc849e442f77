"""Shared test set-up: real data from NEUROEQUI_DATA, no network, few threads."""

from __future__ import annotations

import os
import tempfile

import pytest

# Tests never download: a missing file must fail loudly, not fetch.
os.environ.setdefault("NEUROEQUI_OFFLINE", "1")
# Brain-Score's activation cache is fixed when brainscore is first imported: give every test
# session its own, so results cached by earlier runs (or by the user) never leak into tests.
os.environ.setdefault("RESULTCACHING_HOME", tempfile.mkdtemp(prefix="neuroequi-resultcaching-"))

import neuroequi  # noqa: E402,F401  (compat shim before torchvision)
import torch  # noqa: E402

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(scope="session")
def data_root():
    """The real data directory (CI: ../shared/data). Fails, not skips, when absent."""
    from neuroequi.data import data_dir

    root = data_dir()
    if not (root / "cowley2023_v4").is_dir():
        pytest.fail(f"real data not found in {root}: set NEUROEQUI_DATA (CI uses ../shared/data)")
    return root


@pytest.fixture(scope="session")
def smoke_figure1(tmp_path_factory, data_root):
    """One run of the Figure-1 pipeline in smoke mode (toy sizes), shared by the tests.

    Returns ``(results_dir, out_dir, table)``; the zoo home is private to the run.
    """
    from figures.figure1.config import preset
    from figures.figure1.pipeline import run

    base = tmp_path_factory.mktemp("figure1")
    table = run(preset("smoke"), base / "results", base / "figures", zoo_home=base / "zoo")
    return base / "results", base / "figures", table
