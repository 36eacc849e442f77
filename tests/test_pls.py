"""NipalsPLS is scikit-learn's PLSRegression (Brain-Score's ``pls`` estimator), and the local ``pls``
metric built on it gives Brain-Score's scores.

The reference is run side by side in each test: scikit-learn's ``PLSRegression(n_components, scale=False)``
(what Brain-Score's ``pls_regression()`` builds) and Brain-Score's registered ``pls`` metric.
"""

from __future__ import annotations

import numpy as np
import pytest

from analyses.neural.pls import NipalsPLS
from neuroequi.errors import ConfigError

PLSRegression = pytest.importorskip("sklearn.cross_decomposition").PLSRegression


def _features(responses: np.ndarray, n_features: int, seed: int) -> np.ndarray:
    """Model-like features ``(n, n_features)``: a ReLU of a random mix of ``responses`` plus noise."""
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((responses.shape[1], n_features)) / np.sqrt(responses.shape[1])
    return np.maximum(responses @ mix + rng.standard_normal((len(responses), n_features)), 0.0)


def _v4_responses(n_images: int) -> np.ndarray:
    """Repeat-averaged V4 responses of Cowley session 190923, ``(n_images, neurons)``."""
    from neuroequi.data import cowley2023_session

    return cowley2023_session("190923").responses.T[:n_images].astype(np.float64)


def _assert_same_fit(x: np.ndarray, y: np.ndarray, n_components: int) -> None:
    reference = PLSRegression(n_components=n_components, scale=False).fit(x, y)
    ours = NipalsPLS(n_components=n_components).fit(x, y)
    assert ours.n_iter_ == reference.n_iter_
    scale = np.abs(reference.coef_).max()
    np.testing.assert_allclose(ours.coef_.numpy(), reference.coef_.T, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(ours.predict(x), reference.predict(x), rtol=1e-9, atol=1e-9)


def test_nipals_equals_scikit_learn_on_v4_responses(data_root):
    """25 components (Brain-Score's setting) on real V4 responses: same iterations, coefficients, predictions."""
    y = _v4_responses(400)
    _assert_same_fit(_features(y, 300, seed=0), y, n_components=25)


def test_nipals_equals_scikit_learn_on_one_target_and_a_constant_column():
    """One target (scikit-learn stops after one power step) and a constant target column (zeroed)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((120, 40))
    y = x[:, :3] @ rng.standard_normal((3, 3)) + 0.5 * rng.standard_normal((120, 3))
    _assert_same_fit(x, y[:, :1], n_components=5)
    y[:, 1] = 2.0
    _assert_same_fit(x, y, n_components=8)


def test_nipals_refuses_more_components_than_features():
    with pytest.raises(ConfigError, match="n_components=25"):
        NipalsPLS(n_components=25).fit(np.ones((30, 10)), np.ones((30, 2)))


def test_local_pls_metric_gives_brainscores_pls_score(data_root):
    """Score and split error of the local metric equal Brain-Score's registered ``pls`` metric
    (scikit-learn inside) on the same V4 assembly and model-like features (10 splits)."""
    from brainscore_vision import load_metric
    from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly

    from analyses.neural.benchmarks import pls_metric
    from analyses.neural.data import cowley_assembly

    target = cowley_assembly("190923")
    target = target.isel(presentation=slice(0, 300))
    features = _features(np.asarray(target.transpose("presentation", "neuroid").values), 64, seed=2)
    coords = {name: ("presentation", target[name].values) for name in ("stimulus_id", "image_file_name")}
    coords |= {"neuroid_id": ("neuroid", [f"f{k}" for k in range(64)]), "region": ("neuroid", ["V4"] * 64)}
    source = NeuroidAssembly(features, coords=coords, dims=["presentation", "neuroid"])
    ours = pls_metric()(source, target)
    reference = load_metric("pls", crossvalidation_kwargs=dict(stratification_coord=None))(source, target)
    assert float(ours.values) == pytest.approx(float(reference.values), abs=1e-9)
    assert float(ours.attrs["error"]) == pytest.approx(float(reference.attrs["error"]), abs=1e-9)


def _neuroid_assembly(values: np.ndarray, stimuli: list[str], neuroids: list[str]):
    from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly

    coords = {
        "stimulus_id": ("presentation", stimuli),
        "image_file_name": ("presentation", [f"{s}.png" for s in stimuli]),
        "neuroid_id": ("neuroid", neuroids),
        "region": ("neuroid", ["V4"] * len(neuroids)),
    }
    return NeuroidAssembly(values, coords=coords, dims=["presentation", "neuroid"])


def test_vectorised_pearsonr_equals_brainscores_per_neuroid_scipy_loop(data_root):
    """NeuroidPearsonr gives Brain-Score's pearsonr_correlation() (scipy per neuroid) on real V4
    responses against noisy predictions, with shuffled stimulus/neuroid order and a constant column."""
    from brainscore_vision.metrics.regression_correlation import pearsonr_correlation

    from analyses.neural.pls import NeuroidPearsonr

    y = _v4_responses(120)
    rng = np.random.default_rng(3)
    x = y + rng.standard_normal(y.shape) * y.std(0)
    x[:, 4] = 1.5  # a constant prediction: r is NaN for both
    stimuli, neuroids = [f"s{k:03d}" for k in range(len(y))], [f"n{k:02d}" for k in range(y.shape[1])]
    target = _neuroid_assembly(y, stimuli, neuroids)
    rows, cols = rng.permutation(len(y)), rng.permutation(y.shape[1])
    prediction = _neuroid_assembly(x[rows][:, cols], [stimuli[i] for i in rows], [neuroids[j] for j in cols])
    with np.errstate(all="ignore"), pytest.warns(Warning):  # scipy warns on the constant column
        reference = pearsonr_correlation()(prediction, target)
    ours = NeuroidPearsonr()(prediction, target)
    assert list(ours["neuroid_id"].values) == list(reference["neuroid_id"].values)
    assert list(ours["region"].values) == list(reference["region"].values)
    np.testing.assert_allclose(ours.values, reference.values, rtol=0, atol=1e-13)
    assert np.isnan(ours.sel(neuroid=ours["neuroid_id"] == neuroids[4]).values).all()


def test_vectorised_pearsonr_refuses_misaligned_stimuli():
    from analyses.neural.pls import NeuroidPearsonr
    from neuroequi.errors import IntegrityError

    values = np.arange(12, dtype=float).reshape(4, 3) ** 1.5
    target = _neuroid_assembly(values, ["a", "b", "c", "d"], ["n0", "n1", "n2"])
    prediction = _neuroid_assembly(values, ["a", "b", "c", "e"], ["n0", "n1", "n2"])
    with pytest.raises(IntegrityError, match="stimulus_id"):
        NeuroidPearsonr()(prediction, target)
