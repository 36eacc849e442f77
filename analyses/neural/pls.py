"""PLS regression for Brain-Score's ``pls`` metric, computed on torch in the cross-covariance space,
and the metric's per-neuroid Pearson r in one vectorised pass.

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
``q = Yᵀt / tᵀt``) changes ``C`` by ``-(tᵀt) p qᵀ``, so ``C`` is updated rather than recomputed;
``X`` itself is never rewritten: ``X_k = X_0 - T Pᵀ`` (earlier scores ``T``, loadings ``P``) is
applied to the vectors it multiplies.
"""

from __future__ import annotations

import numpy as np
import torch
import xarray as xr


from neuroequi.errors import ConfigError, IntegrityError


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
        x0, yk = x - self._x_mean, y - self._y_mean
        weights, y_loadings = [], []
        scores = torch.empty(x.shape[0], self.n_components, dtype=x.dtype)
        loadings = torch.empty(x.shape[1], self.n_components, dtype=x.dtype)
        eps = torch.finfo(torch.float64).eps
        cross = x0.T @ yk
        self.n_iter_ = []
        for k in range(self.n_components):
            zero = (yk.abs() < 10 * eps).all(0)
            if zero.any():
                yk[:, zero] = 0.0
                cross[:, zero] = 0.0
            w = self._first_weights(yk, cross, eps)
            if w is None:
                break
            # X is not deflated in place (n × p writes per component): the deflated X_k = X_0 - T Pᵀ
            # of the earlier scores T and loadings P is applied to w and t instead
            t = x0 @ w - scores[:, :k] @ (loadings[:, :k].T @ w)
            tt = t @ t
            p = (x0.T @ t - loadings[:, :k] @ (scores[:, :k].T @ t)) / tt
            q = yk.T @ t / tt
            scores[:, k], loadings[:, k] = t, p
            yk.addr_(t, q, alpha=-1)
            cross.addr_(p, q, alpha=-float(tt))
            weights.append(w)
            y_loadings.append(q)
        w, p, q = torch.stack(weights, 1), loadings[:, : len(weights)], torch.stack(y_loadings, 1)
        self.coef_ = w @ torch.linalg.pinv(p.T @ w) @ q.T
        return self

    def _first_weights(self, yk: torch.Tensor, cross: torch.Tensor, eps: float) -> torch.Tensor | None:
        """The normalised, sign-fixed x-weights (``p``) of the next component; None if ``Y`` is spent.

        The power steps run in the smaller of the two spaces: for ``q < p`` every iterate is
        ``w = C z`` with ``z`` in ``q`` dimensions, so a step is ``z ← G z`` with ``G = CᵀC``
        (``q × q``), ``‖w‖² = zᵀGz`` and the stopping test ``‖w_i - w_{i-1}‖² = dᵀGd`` (``d = z_i -
        z_{i-1}``); otherwise ``z = w`` and the step matrix is ``C Cᵀ``. The iterates are those of
        scikit-learn up to float64 round-off."""
        nonzero = (yk.abs() > eps).any(0).nonzero()
        if len(nonzero) == 0:
            return None
        j = int(nonzero[0])
        # the q × q or p × p products on torch (numpy's BLAS can be slow here); the steps on numpy
        if cross.shape[1] < cross.shape[0]:
            step = norm = (cross.T @ cross).numpy()
            z = np.eye(cross.shape[1])[j]
        else:
            step, norm = (cross @ cross.T).numpy(), None
            z = cross[:, j].numpy().copy()
        z = self._unit(z, norm, eps)
        n_iter = 1
        while n_iter < self.max_iter and yk.shape[1] > 1:
            new = self._unit(step @ z, norm, eps)
            n_iter += 1
            d = new - z
            converged = (d @ d if norm is None else d @ norm @ d) < self.tol
            z = new
            if converged:
                break
        self.n_iter_.append(n_iter)
        w = torch.from_numpy(z) if norm is None else cross @ torch.from_numpy(z)
        return w * torch.sign(w[torch.argmax(w.abs())])

    @staticmethod
    def _unit(z: np.ndarray, norm: np.ndarray | None, eps: float) -> np.ndarray:
        """``z / (‖w‖ + eps)`` for the x-weights ``w`` that ``z`` stands for (``‖w‖² = zᵀ norm z``, or
        ``w = z`` without ``norm``): scikit-learn's normalisation of the x-weights."""
        length = np.sqrt(z @ z if norm is None else z @ norm @ z)
        return z / (length + eps)

    def predict(self, X) -> np.ndarray:
        """``(n, q)`` predictions for ``X`` (``n × p``)."""
        x = torch.as_tensor(np.asarray(X, dtype=np.float64))
        return ((x - self._x_mean) @ self.coef_ + self._y_mean).numpy()


class NeuroidPearsonr:
    """Brain-Score's ``pearsonr_correlation()`` (``XarrayCorrelation(scipy.stats.pearsonr)``) for all
    neuroids at once: ``(prediction, target)`` ``(presentation, neuroid)`` assemblies in, a ``Score``
    ``(neuroid,)`` of Pearson r with the target's neuroid coordinates out.

    Brain-Score sorts both by stimulus and neuroid id, checks they align, then calls scipy once per
    neuroid (an ``isel`` and a scipy call each); here the same sort and checks, then every column's
    ``r = Σ xm·ym / (‖xm‖ ‖ym‖)`` (mean-centred, float64, clipped to [-1, 1]; NaN for a constant
    column) in one pass: equal to scipy's r to float64 round-off (``tests/test_pls.py``).
    """

    stimulus_coord = "stimulus_id"
    neuroid_coord = "neuroid_id"

    def __call__(self, prediction: xr.DataArray, target: xr.DataArray):
        from brainscore_core.supported_data_standards.brainio.assemblies import walk_coords
        from brainscore_vision.metrics import Score

        order = [self.stimulus_coord, self.neuroid_coord]
        prediction, target = prediction.sortby(order), target.sortby(order)
        for coord in order:
            if not np.array_equal(prediction[coord].values, target[coord].values):
                raise IntegrityError(f"prediction and target differ in {coord!r} after sorting")
        neuroid_dims = target[self.neuroid_coord].dims
        x = np.asarray(prediction.transpose(..., *neuroid_dims).values, dtype=np.float64)
        y = np.asarray(target.transpose(..., *neuroid_dims).values, dtype=np.float64)
        xm, ym = x - x.mean(0), y - y.mean(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = (xm * ym).sum(0) / (np.linalg.norm(xm, axis=0) * np.linalg.norm(ym, axis=0))
        coords = {coord: (dims, values) for coord, dims, values in walk_coords(target) if dims == neuroid_dims}
        return Score(np.clip(r, -1.0, 1.0), coords=coords, dims=neuroid_dims)
