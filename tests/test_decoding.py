"""The decoding regressions on torch: equal to scikit-learn's StandardScaler + RidgeCV, exact
leave-one-out against brute-force refits, the per-fold pipeline of augmentation_decoding, devices."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from analyses.linalg import resolve_device, ridge_loo_predict, standardize
from analyses.measures import ALPHAS, augmentation_decoding
from neuroequi.errors import ConfigError

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")


def relu_features(rng: np.random.Generator, n: int, p: int) -> np.ndarray:
    """Correlated, sparse, non-negative features with a constant and a duplicated column (as pooled ReLUs)."""
    X = np.maximum(rng.standard_normal((n, p)) @ rng.standard_normal((p, p)), 0.0)
    X[:, 0] = 2.5
    X[:, 1] = X[:, 2]
    return X


def regression(rng: np.random.Generator, n: int, p: int, T: int) -> tuple[np.ndarray, np.ndarray]:
    X = relu_features(rng, n, p)
    Y = X @ rng.standard_normal((p, T)) * 0.01 + rng.standard_normal((n, T)) * rng.uniform(0.1, 3.0, T)
    return X, Y


def ours(X_train, Y_train, X_test, alphas=ALPHAS):
    predictions, chosen = ridge_loo_predict(*(torch.from_numpy(a) for a in (X_train, Y_train, X_test)), alphas)
    return predictions.numpy(), chosen.numpy()


@pytest.mark.parametrize(("n", "p", "T"), [(300, 40, 5), (500, 64, 12), (60, 200, 4), (80, 80, 3), (81, 80, 3)])
def test_equals_sklearn_standard_scaler_ridgecv(n, p, T):
    """Both of sklearn's LOO modes (svd for n > p, eigen of X Xᵀ for n <= p): predictions to 1e-10."""
    rng = np.random.default_rng(n * p)
    X, Y = regression(rng, n + 40, p, T)
    reference = make_pipeline(StandardScaler(), RidgeCV(alphas=ALPHAS, alpha_per_target=True)).fit(X[:n], Y[:n])
    predictions, chosen = ours(X[:n], Y[:n], X[n:])
    np.testing.assert_array_equal(chosen, reference[-1].alpha_)
    scale = np.abs(reference.predict(X[n:])).max()
    np.testing.assert_allclose(predictions, reference.predict(X[n:]), rtol=0, atol=1e-10 * scale)


def test_standardize_equals_sklearn_with_constant_columns():
    rng = np.random.default_rng(1)
    X = relu_features(rng, 50, 10)
    X[:, 3] = 1e8 + 1e-9 * rng.standard_normal(50)  # numerically constant: centred, not scaled
    train, test = standardize(torch.from_numpy(X[:40]), torch.from_numpy(X[40:]))
    scaler = StandardScaler().fit(X[:40])
    np.testing.assert_allclose(train.numpy(), scaler.transform(X[:40]), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(test.numpy(), scaler.transform(X[40:]), rtol=1e-12, atol=1e-12)


def test_chosen_alpha_minimises_brute_force_leave_one_out():
    """The exact LOO residuals: refit the ridge (with intercept) n times, one row left out each time."""
    rng = np.random.default_rng(2)
    X, Y = regression(rng, 40, 6, 3)
    alphas = np.logspace(-3, 3, 7)
    Z = StandardScaler().fit_transform(X)  # the LOO keeps the scaling fitted on all training rows
    mse = np.zeros((len(alphas), Y.shape[1]))
    for a, alpha in enumerate(alphas):
        for i in range(len(Z)):
            rest = np.arange(len(Z)) != i
            fit = Ridge(alpha=alpha).fit(Z[rest], Y[rest])
            mse[a] += (fit.predict(Z[i : i + 1])[0] - Y[i]) ** 2 / len(Z)
    _, chosen = ours(X, Y, X[:2], alphas)
    np.testing.assert_array_equal(chosen, alphas[np.argmin(mse, axis=0)])
    assert len(set(chosen)) > 1  # the targets need different strengths: the test can tell them apart


def sklearn_decoding(values: np.ndarray, params: np.ndarray, n_splits: int) -> np.ndarray:
    """The decoding pipeline written with scikit-learn: GroupKFold by image, StandardScaler + RidgeCV per fold."""
    I, K, N = values.shape
    X, Y = values.reshape(I * K, N), params.reshape(I * K, -1)
    predictions = np.empty_like(Y)
    for train, test in GroupKFold(n_splits=n_splits).split(X, Y, np.repeat(np.arange(I), K)):
        model = make_pipeline(StandardScaler(), RidgeCV(alphas=ALPHAS, alpha_per_target=True)).fit(X[train], Y[train])
        predictions[test] = model.predict(X[test])
    return predictions


def test_augmentation_decoding_equals_sklearn_pipeline():
    rng = np.random.default_rng(3)
    I, K, N, P = 12, 8, 24, 3
    params = rng.uniform(size=(I, K, P))
    responses = np.maximum(params @ rng.standard_normal((P, N)) + 0.5 * rng.standard_normal((I, K, N)), 0.0)
    result = augmentation_decoding(responses, params, ["a", "b", "c"], n_splits=4)
    reference = sklearn_decoding(responses, params, 4)
    np.testing.assert_allclose(result.predictions, reference, rtol=0, atol=1e-10 * np.abs(reference).max())


def test_decoding_on_a_missing_cuda_device_is_a_clear_error():
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match="CUDA is not available|CUDA device"):
        augmentation_decoding(
            rng.standard_normal((4, 3, 5)), rng.uniform(size=(4, 3, 1)), ["a"], n_splits=2, device=f"cuda:{count}"
        )
    assert resolve_device(None, torch.ones(1)) == torch.device("cpu")


@needs_cuda
def test_cuda_decoding_equals_cpu():
    rng = np.random.default_rng(4)
    X, Y = regression(rng, 400, 64, 5)
    cpu, alphas_cpu = ours(X[:300], Y[:300], X[300:])
    gpu, alphas_gpu = ridge_loo_predict(*(torch.from_numpy(a).cuda() for a in (X[:300], Y[:300], X[300:])), ALPHAS)
    np.testing.assert_array_equal(alphas_gpu.cpu().numpy(), alphas_cpu)
    np.testing.assert_allclose(gpu.cpu().numpy(), cpu, rtol=0, atol=1e-10 * np.abs(cpu).max())
