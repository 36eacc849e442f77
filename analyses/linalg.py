"""The heavy linear algebra of the analyses on torch: devices, validated inputs, ridge with leave-one-out.

Every analysis that does real linear algebra (:mod:`analyses.bures`, the
decoding of :mod:`analyses.measures`) computes in torch, float64 by default, on
the CPU unless the caller names a CUDA device. Torch brings its own BLAS and
LAPACK (MKL on x86 CPUs, cuBLAS/cuSOLVER on a GPU), so the speed does not depend
on which kernel numpy's bundled OpenBLAS happens to pick for the processor.

Inputs may be numpy arrays or torch tensors; results come back as numpy for
numpy inputs (what the APIs returned before) and as tensors on the compute
device for tensor inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from neuroequi.errors import ConfigError

__all__ = ["as_float_tensor", "compute_dtype", "resolve_device", "ridge_loo_predict", "standardize"]

_FLOAT64_EPS = float(np.finfo(np.float64).eps)


def resolve_device(device: str | torch.device | None, *inputs: object) -> torch.device:
    """The torch device to compute on.

    Args:
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` (or a :class:`torch.device`);
            ``None``: the device of the first tensor among ``inputs``, else the CPU.
        inputs: the arrays/tensors the computation takes (only read for ``None``).

    Raises:
        ConfigError: an unknown device string, a CUDA device when torch finds no
            GPU, or a CUDA index beyond the GPUs present.
    """
    if device is None:
        return next((x.device for x in inputs if isinstance(x, torch.Tensor)), torch.device("cpu"))
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ConfigError(f"device={device!r} is not a device; use 'cpu', 'cuda' or 'cuda:N'") from err
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            why = "torch was built without CUDA" if torch.version.cuda is None else "no GPU is visible"
            raise ConfigError(
                f"device={device!r}: CUDA is not available ({why}; torch {torch.__version__}); use device='cpu'"
            )
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise ConfigError(f"device={device!r}: this machine has {count} CUDA device(s), cuda:0..cuda:{count - 1}")
    elif dev.type != "cpu":
        raise ConfigError(f"device={device!r}: only 'cpu' and 'cuda[:N]' are supported")
    return dev


def compute_dtype(dtype: torch.dtype | str) -> torch.dtype:
    """``torch.float64`` or ``torch.float32`` (also given as ``"float64"`` / ``"float32"``)."""
    resolved = getattr(torch, dtype, None) if isinstance(dtype, str) else dtype
    if resolved not in (torch.float32, torch.float64):
        raise ConfigError(f"dtype={dtype!r}: the analyses compute in torch.float64 (default) or torch.float32")
    return resolved


def _input_eps(dtype: torch.dtype | np.dtype) -> float:
    """Unit roundoff of an input's dtype (float64's for integers and booleans, which convert exactly)."""
    if isinstance(dtype, torch.dtype):
        return float(torch.finfo(dtype).eps) if dtype.is_floating_point else _FLOAT64_EPS
    return float(np.finfo(dtype).eps) if np.issubdtype(dtype, np.floating) else _FLOAT64_EPS


def as_float_tensor(
    x: object, name: str, min_ndim: int, device: torch.device, dtype: torch.dtype = torch.float64
) -> tuple[torch.Tensor, float]:
    """A finite real tensor of ``dtype`` on ``device`` with at least ``min_ndim`` dims and non-empty last dims.

    Returns ``(tensor, eps)`` where ``eps`` is the unit roundoff of the *input*
    dtype (float32 data carry float32's rounding even once converted).

    Raises:
        ConfigError: complex or non-numeric values, too few dims, an empty last
            dim, or NaN/inf entries (with their count).
    """
    if isinstance(x, torch.Tensor):
        if x.is_complex():
            raise ConfigError(f"{name} is complex ({x.dtype}); only real matrices are allowed")
        source_dtype, t = x.dtype, x.detach()
    else:
        arr = np.asarray(x)
        if arr.dtype.kind == "c":
            raise ConfigError(f"{name} is complex ({arr.dtype}); only real matrices are allowed")
        if arr.dtype.kind not in "biuf":
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError) as err:
                raise ConfigError(f"{name} must hold real numbers, got dtype {arr.dtype}: {err}") from err
        source_dtype, t = arr.dtype, torch.from_numpy(np.ascontiguousarray(arr))
    if t.ndim < min_ndim:
        raise ConfigError(f"{name} must have at least {min_ndim} dimensions, got shape {tuple(t.shape)}")
    if any(s == 0 for s in t.shape[t.ndim - min_ndim :]):
        raise ConfigError(f"{name} is empty (shape {tuple(t.shape)}); its last {min_ndim} dims must be >= 1")
    t = t.to(device=device, dtype=dtype)
    finite = torch.isfinite(t)
    if not bool(finite.all()):
        raise ConfigError(f"{name} contains {int((~finite).sum())} NaN/inf value(s)")
    return t, _input_eps(source_dtype)


def standardize(train: torch.Tensor, *others: torch.Tensor) -> list[torch.Tensor]:
    """Z-score columns by the training rows' mean and population std; constant columns are only centred.

    A column counts as constant when its variance is within the rounding
    error of the two-pass variance algorithm (Chan, Golub & LeVeque:
    ``var <= n·eps·var + (n·eps·mean)²``), the rule scikit-learn's
    ``StandardScaler`` uses. Returns ``[train, *others]`` standardised.
    """
    n = train.shape[0]
    mean = train.mean(dim=0)
    var = ((train - mean) ** 2).mean(dim=0)
    constant = var <= n * _FLOAT64_EPS * var + (n * mean * _FLOAT64_EPS) ** 2
    scale = torch.where(constant, torch.ones_like(var), var.sqrt())
    return [(x - mean) / scale for x in (train, *others)]


def ridge_loo_predict(
    X_train: torch.Tensor, Y_train: torch.Tensor, X_test: torch.Tensor, alphas: Sequence[float]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Ridge regression with an unpenalised intercept, the ridge strength chosen per target by leave-one-out.

    Features are standardised on the training rows (:func:`standardize`). With
    the centred training features ``Z = U S Vᵀ`` (thin SVD) and ``f_a = s²/(s²+α_a)``,
    the fit at strength ``α_a`` is ``ŷ = ȳ + U diag(f_a) Uᵀ (y - ȳ)`` and its
    hat-matrix diagonal ``h = 1/n + (U∘U) f_a`` (both evaluated through ``1 - f_a``
    to keep precision at small α); the exact leave-one-out residual
    of row i is ``(y_i - ŷ_i) / (1 - h_i)``. Each target keeps the first α of
    ``alphas`` with the smallest mean squared leave-one-out residual (what
    scikit-learn's ``RidgeCV(alpha_per_target=True)`` with its default
    efficient LOO selects), and its coefficients ``V diag(s/(s²+α)) Uᵀ (y - ȳ)``
    predict the test rows.

    Args:
        X_train: (n, p) features, float tensor on the compute device.
        Y_train: (n, T) targets.
        X_test: (m, p) features to predict from.
        alphas: the candidate ridge strengths (> 0).

    Returns:
        ``(predictions (m, T), chosen alphas (T,))``.
    """
    Z_train, Z_test = standardize(X_train, X_test)
    n = Z_train.shape[0]
    z_mean, y_mean = Z_train.mean(dim=0), Y_train.mean(dim=0)
    Zc, Yc = Z_train - z_mean, Y_train - y_mean
    U, s, Vh = torch.linalg.svd(Zc, full_matrices=False)
    # Directions of numerically zero singular values carry no fit (and may hold the intercept's
    # direction 1/√n, which the centred features cannot span): leave them out.
    rank = int((s > max(Zc.shape) * float(torch.finfo(s.dtype).eps) * s[0]).sum()) if len(s) else 0
    U, s, Vh = U[:, :rank], s[:rank], Vh[:rank]
    grid = torch.as_tensor(list(alphas), dtype=Zc.dtype, device=Zc.device)
    s2 = s * s
    kept = grid[:, None] / (s2 + grid[:, None])  # (A, k): 1 - s²/(s²+α), the part the ridge leaves
    UtY = U.mT @ Yc  # (k, T)
    # Residual y - ŷ and 1 - h, each as (the part outside span(1, U)) + (U's part times α/(s²+α)):
    # no cancellation at small α. U is orthogonal to 1; with rank n - 1 nothing is outside.
    U2 = U * U
    if rank == n - 1:
        outside, outside_y = torch.zeros_like(Yc[:, 0]), torch.zeros_like(Yc)
    else:
        outside, outside_y = (1.0 - 1.0 / n - U2.sum(dim=1)).clamp_min(0.0), Yc - U @ UtY
    residual = outside_y + U @ (kept[:, :, None] * UtY)  # (A, n, T)
    leave = outside[:, None] + U2 @ kept.mT  # (n, A): 1 - h
    loo = residual / leave.mT[:, :, None]
    best = torch.argmin((loo * loo).mean(dim=1), dim=0)  # (T,) first minimum, as RidgeCV
    chosen = grid[best]
    coef = Vh.mT @ ((s[:, None] / (s2[:, None] + chosen[None, :])) * UtY)  # (p, T)
    return (Z_test - z_mean) @ coef + y_mean, chosen
