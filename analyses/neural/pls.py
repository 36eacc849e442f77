"""PLS regression for Brain-Score's ``pls`` metric, computed on torch in the cross-covariance space.

Brain-Score's ``pls`` metric fits scikit-learn's ``PLSRegression(n_components=25, scale=False)``
(NIPALS, ``max_iter=500``, ``tol=1e-6``, regression deflation) once per cross-validation split.
:class:`NipalsPLS` runs the same algorithm with the same stopping rule and returns the same
coefficients (equal to scikit-learn's to float64 round-off; ``tests/test_pls.py`` compares them on
real V4 recordings and on random data), so a score does not change; only where the power iterations
run changes.

scikit-learn iterates on the data: each power step costs four products with ``X`` (``n × p``) and
``Y`` (``n × q``). The normalised x-weights of that iteration obey
``w ← C Cᵀ w / ‖C Cᵀ w‖`` with ``C = Xᵀ Y`` (``p × q``), started at ``C[:, j]`` for the first
non-zero column ``j`` of ``Y`` (every scale factor in scikit-learn's step is positive), so the same
sequence of weights, and the same test ``‖w_i - w_{i-1}‖² < tol``, runs on the small matrix ``C``.
After each component the deflation ``X ← X - t pᵀ``, ``Y ← Y - t qᵀ`` (``p = Xᵀt / tᵀt``,
``q = Yᵀt / tᵀt``) changes ``C`` by ``-(tᵀt) p qᵀ``, so ``C`` is updated rather than recomputed.
"""

from __future__ import annotations

import numpy as np
import torch

from neuroequi.errors import ConfigError


class NipalsPLS:
    """scikit-learn's ``PLSRegression`` (NIPALS, ``scale=False``): ``fit(X, Y)``, ``predict(X)``.

    Args:
        n_components: number of PLS components (Brain-Score's ``pls``: 25).
        max_iter: most power iterations per component (scikit-learn's default 500).
        tol: stop when the squared change of the normalised x-weights is below it (default 1e-6).
    """

    def __init__(self, n_components: int = 25, max_iter: int = 500, tol: float = 1e-6):
        if n_components < 1:
            raise ConfigError(f"pls n_components={n_components!r}: must be a positive integer")
        self.n_components = n_components
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_: list[int] = []

    def fit(self, X, Y) -> NipalsPLS:
        """Fit on ``X`` (``n × p``, any array-like) and ``Y`` (``n × q``); float64 throughout."""
        x = torch.as_tensor(np.asarray(X, dtype=np.float64))
        y = torch.as_tensor(np.asarray(Y, dtype=np.float64))
        if y.ndim == 1:
            y = y[:, None]
        if x.ndim != 2 or y.shape[0] != x.shape[0]:
            raise ConfigError(f"pls: X {tuple(x.shape)} and Y {tuple(y.shape)} must be (n, p) and (n, q)")
        if self.n_components > x.shape[1]:
            raise ConfigError(f"pls n_components={self.n_components}: at most the {x.shape[1]} features of X")
        self._x_mean, self._y_mean = x.mean(0), y.mean(0)
        xk, yk = x - self._x_mean, y - self._y_mean
        weights, x_loadings, y_loadings = [], [], []
        eps = torch.finfo(torch.float64).eps
        cross = xk.T @ yk
        self.n_iter_ = []
        for _ in range(self.n_components):
            zero = (yk.abs() < 10 * eps).all(0)
            if zero.any():
                yk[:, zero] = 0.0
                cross[:, zero] = 0.0
            w = self._first_weights(yk, cross, eps)
            if w is None:
                break
            t = xk @ w
            tt = t @ t
            p, q = xk.T @ t / tt, yk.T @ t / tt
            xk.addr_(t, p, alpha=-1)
            yk.addr_(t, q, alpha=-1)
            cross.addr_(p, q, alpha=-float(tt))
            weights.append(w)
            x_loadings.append(p)
            y_loadings.append(q)
        w, p, q = torch.stack(weights, 1), torch.stack(x_loadings, 1), torch.stack(y_loadings, 1)
        self.coef_ = w @ torch.linalg.pinv(p.T @ w) @ q.T
        return self

    def _first_weights(self, yk: torch.Tensor, cross: torch.Tensor, eps: float) -> torch.Tensor | None:
        """The normalised, sign-fixed x-weights (``p``) of the next component; None if ``Y`` is spent."""
        nonzero = (yk.abs() > eps).any(0).nonzero()
        if len(nonzero) == 0:
            return None
        w = _unit(cross[:, int(nonzero[0])], eps)
        n_iter = 1
        while n_iter < self.max_iter and yk.shape[1] > 1:
            new = _unit(cross @ (cross.T @ w), eps)
            n_iter += 1
            converged = float(((new - w) ** 2).sum()) < self.tol
            w = new
            if converged:
                break
        self.n_iter_.append(n_iter)
        return w * torch.sign(w[torch.argmax(w.abs())])

    def predict(self, X) -> np.ndarray:
        """``(n, q)`` predictions for ``X`` (``n × p``)."""
        x = torch.as_tensor(np.asarray(X, dtype=np.float64))
        return ((x - self._x_mean) @ self.coef_ + self._y_mean).numpy()


def _unit(v: torch.Tensor, eps: float) -> torch.Tensor:
    """``v / (‖v‖ + eps)``, scikit-learn's normalisation of the x-weights."""
    return v / (torch.linalg.vector_norm(v) + eps)
