"""The notebooks (analyses/notebooks/, figures/notebooks/) run end to end on small settings.

Each notebook is executed by nbclient in a ``python3`` kernel (jupyter_client starts
it with this interpreter) with its parameters cell overridden, and prints one
``NOTEBOOK_RESULT <json>`` line that the tests check against references computed here.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from nbclient import NotebookClient

from analyses.measures import DECODED_PARAMETERS
from analyses.responses import ENSEMBLES, load_responses
from figures.figure1.config import preset
from figures.figure1.table import analysis_dir

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(REPO.glob("*/notebooks/*.ipynb"))
SMOKE = preset("smoke")
MARKER = "NOTEBOOK_RESULT "


def parameters_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The one code cell tagged ``parameters``."""
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged 'parameters', found {len(cells)}"
    return cells[0]


def run_notebook(path: str, parameters: dict[str, object], workdir: Path) -> dict:
    """Execute the notebook ``path`` (from the repository root) with ``parameters`` overriding its defaults;
    its result JSON."""
    name = Path(path).name
    nb = nbformat.read(REPO / path, as_version=4)
    cell = parameters_cell(nb)
    defined = {t.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign) for t in node.targets}
    assert set(parameters) <= defined, f"{name} has no parameters {sorted(set(parameters) - defined)}"
    cell.source += "\n" + "\n".join(f"{key} = {value!r}" for key, value in parameters.items())
    NotebookClient(nb, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(workdir)}}).execute()
    lines = [
        line
        for c in nb.cells
        if c.cell_type == "code"
        for out in c.outputs
        if out.output_type == "stream" and out.name == "stdout"
        for line in out.text.splitlines()
        if line.startswith(MARKER)
    ]
    assert len(lines) == 1, f"{name} printed {len(lines)} result lines"
    return json.loads(lines[0][len(MARKER) :])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
    parameters_cell(nb)


LAYERS = ("neuroequi", "model_zoo", "analyses", "figures")


def project_imports(nb: nbformat.NotebookNode) -> set[str]:
    """Modules of the project a notebook imports (``analyses.pipeline``, ``figures.figure1.table``, ...)."""
    modules = set()
    for cell in (c for c in nb.cells if c.cell_type == "code"):
        source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                modules |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules.add(node.module)
    return {m for m in modules if m.split(".")[0] in LAYERS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_import_their_layer_and_below_and_no_command(path):
    layer = path.parent.parent.name  # <layer>/notebooks/<name>.ipynb
    allowed = LAYERS[: LAYERS.index(layer) + 1]
    modules = project_imports(nbformat.read(path, as_version=4))
    assert modules and all(m.split(".")[0] in allowed for m in modules), modules
    assert not [m for m in modules if m.endswith(".cli")], modules


def test_figure1_panel_notebook_recomputes_the_saved_panel(smoke_figure1, tmp_path):
    results, out, table = smoke_figure1
    seed = SMOKE.seeds[-1]
    result = run_notebook(
        "figures/notebooks/01_figure1_panel.ipynb",
        {"RESULTS": str(results), "MODE": "smoke", "FIGURES": str(out), "SEED": seed},
        tmp_path,
    )
    rows = table[table["quantity"] == "delta_shared_variability"].sort_values("lambda_")
    saved = rows[rows["seed"] == str(seed)]
    assert result["panel"] == 2 and result["seed"] == seed
    assert result["lambdas"] == saved["lambda_"].tolist() == list(SMOKE.lambdas)

    # Reference written here: mean over pairs i<j of the saved pair distances, λ model minus λ=0 of the same seed.
    def pair_mean(lam: float, seed: int) -> float:
        path = analysis_dir(results / "figure1" / "smoke", lam, seed) / "image_measures.nc"
        distances = xr.load_dataset(path, engine="h5netcdf")["shared_variability"].values
        assert distances.shape == (SMOKE.n_images, SMOKE.n_images)
        return float(distances[np.triu_indices(SMOKE.n_images, k=1)].mean())

    expected = [pair_mean(lam, seed) - pair_mean(0.0, seed) for lam in SMOKE.lambdas]
    assert expected[0] == 0.0 and expected[1] != 0.0
    np.testing.assert_allclose(result["by_hand"], expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result["recomputed"], expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(result["recomputed"], saved["value"], rtol=0, atol=1e-9)
    later = saved["lambda_"] > 0  # λ=0: ΔD_B is 0 on every resample, the table has no interval
    np.testing.assert_allclose(
        np.array(result["recomputed_ci"])[later.to_numpy()], saved.loc[later, ["ci_low", "ci_high"]], rtol=0, atol=1e-9
    )
    assert saved.loc[~later, ["ci_low", "ci_high"]].isna().all().all()
    assert result["max_abs_diff"] < 1e-9
    mean = [np.mean([pair_mean(lam, s) - pair_mean(0.0, s) for s in SMOKE.seeds]) for lam in SMOKE.lambdas]
    np.testing.assert_allclose(result["mean_over_seeds"], mean, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result["saved_mean"], rows.loc[rows["seed"] == "all", "value"], rtol=0, atol=1e-12)


def test_analyze_checkpoint_notebook_on_the_supervised_resnet20(data_root, tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROEQUI_ZOO_HOME", str(tmp_path / "zoo"))
    out = tmp_path / "analysis"
    n_images, K = 6, 6  # the smallest decoding fold then holds 6 views (analyses.measures.MIN_FOLD_ROWS)
    result = run_notebook(
        "analyses/notebooks/02_analyze_checkpoint.ipynb",
        {
            "MODEL": "cifar-resnet20-supervised",
            "N_IMAGES": n_images,
            "K": K,
            "PROBE_TRAIN": 0,
            "N_BOOT": 50,
            "OUT": str(out),
        },
        tmp_path,
    )
    assert result["model"].startswith("cifar-resnet20-supervised") and result["layer"] == "avgpool"
    assert result["ensembles"] == sorted(ENSEMBLES)
    assert result["matched_shape"] == [n_images, K, 64]  # ResNet-20's pooled stage-3 features

    # Reference written here: trace-normalised Bures distance of images 0 and 1 under the matched augmentations,
    # from their sample covariances by eigendecomposition.
    matched = load_responses(next((out / "responses").glob("responses-matched-*.nc")))

    def psd_sqrt(C: np.ndarray) -> np.ndarray:
        w, V = np.linalg.eigh(C)
        return (V * np.sqrt(np.clip(w, 0.0, None))) @ V.T

    A, B = (np.cov(matched.values[i].astype(np.float64), rowvar=False) for i in (0, 1))
    A, B = A / np.trace(A), B / np.trace(B)
    root = psd_sqrt(A)
    fidelity = np.sqrt(np.clip(np.linalg.eigvalsh(root @ B @ root), 0.0, None)).sum()
    expected = np.sqrt(max(2.0 - 2.0 * fidelity, 0.0))
    assert result["pair01_direct"] == pytest.approx(expected, abs=1e-5)
    assert result["pair01_saved"] == pytest.approx(expected, abs=1e-5)

    table = pd.read_csv(out / "measures.csv").set_index("quantity")
    for quantity, mean in result["means"].items():
        assert 0.0 <= mean <= np.sqrt(2)
        assert mean == pytest.approx(table.loc[quantity, "value"], abs=1e-12)
    assert result["quantities"] == table.index.tolist()
    assert "probe_accuracy" not in table.index and not table.index.str.startswith("delta_").any()
    decoded = result["decoding_r"]
    assert set(decoded) <= set(DECODED_PARAMETERS) and {"crop_w", "brightness"} <= set(decoded)
    assert all(-1.0 <= r <= 1.0 for r in decoded.values())
    for parameter, r in decoded.items():
        assert r == pytest.approx(table.loc[f"decoding_r[{parameter}]", "value"], abs=1e-12)
