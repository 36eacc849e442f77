"""Exact, fast Bures distances between covariance matrices and between sample sets, on torch.

Definition (what every function here returns)
---------------------------------------------
For positive semidefinite ``A, B`` (d x d) with ``normalize=True`` (the
default) both are first divided by their trace, ``Â = A / tr A``,
``B̂ = B / tr B``, and::

    d_B(A, B) = sqrt( max(0, 2 - 2 * tr((Â^½ B̂ Â^½)^½)) )       in [0, √2]

With ``normalize=False`` the raw Bures distance
``sqrt(max(0, tr A + tr B - 2 tr((A^½ B A^½)^½)))`` is returned (the quantity
POT's :func:`ot.gaussian.bures_distance` returns, not squared).

How it is computed
------------------
Every covariance is handled through a *row factor* ``R`` (r x d) with
``C = Rᵀ R``. For two factors, ``tr((A^½ B A^½)^½) = ‖R_A R_Bᵀ‖_*`` (the
nuclear norm, i.e. the sum of singular values, of an r_A x r_B matrix):
``A^½ B A^½ = (A^½ R_Bᵀ)(A^½ R_Bᵀ)ᵀ`` and ``R_A`` differs from ``A^½`` only by a
left factor with orthonormal columns, which keeps singular values.

* Sample matrices ``X`` (n x d): ``R = X_c / ‖X_c‖_F`` with ``X_c`` the
  column-centred samples (``/ sqrt(n - 1)`` when ``normalize=False``, i.e. the
  unbiased covariance of :func:`numpy.cov`). When n < d this is the O(n² d)
  path: no d x d matrix is ever formed. Its rank is at most n - 1.
* Covariances (and sample sets with n >= d): ``R = diag(sqrt λ) Vᵀ`` from one
  ``eigh`` per matrix. Eigenvalues below ``d · eps · λ_max`` (numerical zeros;
  ``eps``: the larger unit roundoff of the input's and the compute dtype) are
  set to 0 and their rows dropped where ranks may differ.

The nuclear norm of ``M = R_A R_Bᵀ`` is ``Σ sqrt(λ_k)`` over the eigenvalues of
the smaller Gram matrix ``M Mᵀ`` or ``Mᵀ M`` (one symmetric eigenvalue problem,
the cost of the classic ``eigvalsh(A^½ B A^½)``); the eigenvalues known to be 0
from the factors' ranks are left out. A square root amplifies the eigenvalue
error ``δ ≈ eps·λ_max`` of small eigenvalues to ``e_k = δ / (sqrt(λ_k) + sqrt(λ_k + δ))``,
so each pair also gets the estimate ``sqrt(Σ_k e_k²)`` of its nuclear norm's
error (the eigenvalue errors are independent in sign; on 300 random graded
spectra the actual error was 0.4x the estimate in the median, 12x at most);
where it exceeds ``1000·eps`` of the nuclear norm the pair's singular values are taken
from an SVD of ``M`` instead, which keeps full precision for small singular
values (the classic formula loses half the digits, ~1e-8, on rank-deficient
inputs and turns numerical zeros into spurious ``sqrt(1e-16)`` contributions).
All pairs among factors of rank >= d/2 take the same eigenvalues from
``T_i C_j T_iᵀ``, with ``T_i`` the triangular factor of a QR of ``R_i``: the
zeros of ``T_i`` halve the arithmetic of forming the Gram matrix.

Inputs are scaled by exact powers of two before anything is squared, so data
near the float64 range limits (samples of size 1e±200) work.

Devices and precision
---------------------
Everything runs in torch, float64 by default, on the CPU unless ``device``
names a CUDA device. ``dtype=torch.float32`` halves the memory and is faster on
a GPU, but its error grows as the distance shrinks (``bench_bures.py``'s
"float32 near 0" part, in ``tests/benchmarks/RESULTS.md``: about 1e-6 at
distances near 1, 1% at 0.007, meaningless below ~1e-3), so it is never the
default. Numpy inputs give numpy results (a float for a single pair); tensor
inputs give float tensors on the compute device.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from analyses.linalg import as_float_tensor, compute_dtype, resolve_device
from neuroequi.errors import ConfigError

__all__ = [
    "bures_distance",
    "bures_distance_from_samples",
    "pairwise_bures_distance",
    "pairwise_bures_distance_from_samples",
]

Result = float | np.ndarray | torch.Tensor
Device = str | torch.device | None

# Floors of the relative tolerances for asymmetry |A - Aᵀ| / max|A| and for negative eigenvalues
# (-λ_min / λ_max) above which a matrix is rejected; both grow to d·eps of the input's dtype.
_SYMMETRY_RTOL = 1e-8
_NEGATIVE_RTOL = 1e-8
# A pair's nuclear norm comes from the SVD when the square-root error estimate of its Gram
# eigenvalues exceeds this many units of roundoff (of the compute dtype) times the norm.
_SQRT_GUARD_ULPS = 1000.0


class _Factors:
    """Row factors ``R`` (..., r, d) of a stack of covariances, with ``C = scale² · Rᵀ R``.

    ``rank`` (...) bounds each factor's rank (its other rows are zero or centred away);
    ``scale`` (...) is an exact power of two (1 for trace-normalised factors).
    """

    def __init__(self, R: torch.Tensor, rank: torch.Tensor, scale: torch.Tensor) -> None:
        self.R, self.rank, self.scale = R, rank, scale


def _pow2_scale(x: torch.Tensor, dims: tuple[int, ...], even: bool = False) -> torch.Tensor:
    """A power of two ``>= max|x|`` over ``dims`` (kept as size-1 dims; 1 where x is all 0).

    Dividing by it is exact and brings the largest entry into [0.5, 1) (into
    [0.25, 1) with ``even``, whose square root is again a power of two).
    """
    top = x.abs().amax(dim=dims, keepdim=True)
    exponent = torch.frexp(top).exponent
    if even:
        exponent = exponent + (exponent % 2)
    return torch.where(top > 0, torch.ldexp(torch.ones_like(top), exponent), torch.ones_like(top))


def _output(d: torch.Tensor, as_tensor: bool) -> Result:
    if as_tensor:
        return d
    values = d.cpu().numpy()
    return float(values) if values.ndim == 0 else values


def _check_covariance(
    C: object, name: str, device: torch.device, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Validate a stack of symmetric matrices (..., d, d).

    Returns ``(scaled, scale, eps)``: the matrices symmetrised and divided by
    ``scale`` (..., 1, 1), an even power of two, and the larger of the input's
    and the compute dtype's unit roundoff (the input's rounding bounds how
    asymmetric or negative a PSD matrix may look).
    """
    arr, eps_in = as_float_tensor(C, name, 2, device, dtype)
    if arr.shape[-1] != arr.shape[-2]:
        raise ConfigError(f"{name} must be square in its last two dims, got shape {tuple(arr.shape)}")
    eps = max(eps_in, float(torch.finfo(dtype).eps))
    unit = _pow2_scale(arr, (-2, -1), even=True)
    arr = arr / unit
    scale = arr.abs().amax(dim=(-2, -1))
    asym = (arr - arr.mT).abs().amax(dim=(-2, -1))
    tol = max(_SYMMETRY_RTOL, arr.shape[-1] * eps)
    if bool((asym > tol * scale).any()):
        worst = float((asym / torch.where(scale > 0, scale, torch.ones_like(scale))).max())
        raise ConfigError(f"{name} is not symmetric: max |A - Aᵀ| / max |A| = {worst:.3g} (allowed {tol:.1g})")
    return 0.5 * (arr + arr.mT), unit, eps


def _covariance_factor(C: torch.Tensor, normalize: bool, name: str, eps: float) -> _Factors:
    """Eigen row factors (..., d, d) of symmetric ``C`` (divided by tr C if normalize), scale 1.

    Rows of numerically zero eigenvalues (below ``d·eps·λ_max``) are exactly
    zero and come first (eigenvalues ascend).
    """
    evals, evecs = torch.linalg.eigh(C)
    top = evals[..., -1:]
    if bool((top <= 0).any()):
        raise ConfigError(f"{name} has a matrix with no positive eigenvalue (largest {float(top.min()):.3g})")
    d = C.shape[-1]
    lowest = float((evals[..., :1] / top).min())
    tol = max(_NEGATIVE_RTOL, d * eps)
    if lowest < -tol:
        raise ConfigError(
            f"{name} is not positive semidefinite: eigenvalue {lowest:.3g} x the largest (allowed down to -{tol:.1g})"
        )
    keep = evals > d * eps * top
    evals = torch.where(keep, evals, torch.zeros_like(evals))
    if normalize:
        evals = evals / evals.sum(dim=-1, keepdim=True)
    R = evals.sqrt()[..., :, None] * evecs.mT
    return _Factors(R, keep.sum(dim=-1), torch.ones(C.shape[:-2], dtype=C.dtype, device=C.device))


def _covariance_factors(checked: tuple[torch.Tensor, torch.Tensor, float], normalize: bool, name: str) -> _Factors:
    """Factors of checked covariances (:func:`_check_covariance`): trace-normalised, or carrying their scale."""
    scaled, unit, eps = checked
    factors = _covariance_factor(scaled, normalize, name, eps)
    if not normalize:
        factors.scale = unit[..., 0, 0].sqrt()
    return factors


def _sample_factors(X: torch.Tensor, normalize: bool, name: str) -> _Factors:
    """Row factors of the covariances of sample sets (..., n, d): the centred, scaled samples
    themselves when n < d (O(n² d) downstream), else the eigh factors of their d x d covariance
    (formed in the compute dtype from exact input values, so its rounding is the compute dtype's)."""
    n, d = X.shape[-2:]
    if n < 2:
        raise ConfigError(f"{name} needs at least 2 samples (rows), got {n}")
    outer = _pow2_scale(X, (-2, -1))
    Xs = X / outer
    Xc = Xs - Xs.mean(dim=-2, keepdim=True)
    inner = _pow2_scale(Xc, (-2, -1))
    Xc = Xc / inner
    if normalize:
        total = (Xc * Xc).sum(dim=(-2, -1), keepdim=True)
        if bool((total <= 0).any()):
            raise ConfigError(f"{name} has a sample set with zero variance: its covariance has trace 0")
        R, scale = Xc / total.sqrt(), torch.ones(X.shape[:-2], dtype=X.dtype, device=X.device)
    else:
        R, scale = Xc / (n - 1) ** 0.5, (outer * inner)[..., 0, 0]
    if n < d:
        return _Factors(R, torch.full(X.shape[:-2], n - 1, device=X.device), scale)
    factors = _covariance_factor(R.mT @ R, False, f"cov({name})", float(torch.finfo(X.dtype).eps))
    factors.scale = scale
    return factors


def _panels(a: int) -> list[tuple[int, int]]:
    """Up to 8 consecutive index ranges of width >= 64 covering ``range(a)``."""
    count = max(1, min(8, a // 64))
    edges = [round(p * a / count) for p in range(count + 1)]
    return list(zip(edges[:-1], edges[1:]))


def _lower_gram(M: torch.Tensor) -> torch.Tensor:
    """``M Mᵀ`` (..., a, a) with only its lower triangle set (all ``eigvalsh(UPLO="L")`` reads).

    Computed in column panels: panel ``lo:hi`` needs the rows from ``lo`` on,
    about half the multiply-adds of the full product.
    """
    gram = torch.empty(M.shape[:-1] + (M.shape[-2],), dtype=M.dtype, device=M.device)
    for lo, hi in _panels(M.shape[-2]):
        gram[..., lo:, lo:hi] = M[..., lo:, :] @ M[..., lo:hi, :].mT
    return gram


def _congruence_gram(T: torch.Tensor, C: torch.Tensor) -> torch.Tensor:
    """``T C_j Tᵀ`` (B, r, r), *upper* triangle only, for an upper trapezoidal ``T`` (r, d) and
    symmetric ``C`` (B, d, d) (contiguous).

    ``T`` has zeros left of its diagonal, so row panel ``lo:hi`` of
    ``W = T [C_1 … C_B]`` needs the rows of the ``C_j`` from ``lo`` on, and row
    panel ``lo:hi`` of the upper triangle of ``T W_jᵀ`` needs the rows and
    columns of ``W_j`` from ``lo`` on: about half the arithmetic of two dense
    products, every piece one matrix product over all B matrices at once.
    """
    B, d, r = C.shape[0], C.shape[-1], T.shape[-2]
    side_by_side = C.reshape(B * d, d).mT  # [C_1 … C_B] (d, B·d): each C_j is symmetric
    W = torch.empty((r, B * d), dtype=C.dtype, device=C.device)
    for lo, hi in _panels(r):
        W[lo:hi] = T[lo:hi, lo:] @ side_by_side[lo:]
    W = W.view(r, B, d)
    gram = torch.empty((B, r, r), dtype=C.dtype, device=C.device)
    for lo, hi in _panels(r):
        block = T[lo:hi, lo:] @ W[lo:, :, lo:].reshape((r - lo) * B, d - lo).mT
        gram[:, lo:hi, lo:] = block.view(hi - lo, r - lo, B).permute(2, 0, 1)
    return gram


def _root_sums(gram: torch.Tensor, rank: torch.Tensor, uplo: str = "L") -> tuple[torch.Tensor, torch.Tensor]:
    """``Σ sqrt(λ)`` over the eigenvalues of PSD ``gram`` (..., m, m) (triangle ``uplo`` read) whose
    rank is at most ``rank`` (...), and where that sum is suspect (square-root error estimate
    above the guard: module docstring)."""
    m = gram.shape[-1]
    lam = torch.linalg.eigvalsh(gram, UPLO=uplo).clamp_min(0.0)
    known_zero = torch.arange(m, device=gram.device) < (m - rank.clamp(max=m))[..., None]
    lam = torch.where(known_zero, torch.zeros_like(lam), lam)
    root = lam.sqrt()
    nuclear = root.sum(dim=-1)
    eps = float(torch.finfo(gram.dtype).eps)
    delta = eps * lam[..., -1:]
    spread = torch.where(delta > 0, delta / (root + (lam + delta).sqrt()), torch.zeros_like(lam))
    # Eigenvalue errors are independent in sign: their root sum of squares estimates the total.
    estimate = torch.where(known_zero, torch.zeros_like(lam), spread).square().sum(dim=-1).sqrt()
    return nuclear, estimate > _SQRT_GUARD_ULPS * eps * nuclear


def _nuclear_norms(M: torch.Tensor, rank: torch.Tensor) -> torch.Tensor:
    """Nuclear norms ``(...)`` of matrices ``M`` (..., a, b) whose ranks are at most ``rank`` (...):
    from the eigenvalues of the smaller Gram matrix, by SVD where those are suspect."""
    nuclear, suspect = _root_sums(_lower_gram(M if M.shape[-2] <= M.shape[-1] else M.mT), rank)
    if bool(suspect.any()):
        nuclear[suspect] = torch.linalg.svdvals(M[suspect]).sum(dim=-1)
    return nuclear


def _common_scale(*factors: _Factors) -> torch.Tensor:
    """Rescale raw-mode factors to one power of two (exactly); return it (the distances' unit)."""
    unit = torch.stack([f.scale.amax() for f in factors]).amax()
    for f in factors:
        f.R = f.R * (f.scale / unit)[..., None, None]
        f.scale = torch.ones_like(f.scale)
    return unit


def _squared_norm(R: torch.Tensor) -> torch.Tensor:
    return (R * R).sum(dim=(-2, -1))


def _distances(FA: _Factors, FB: _Factors, normalize: bool) -> torch.Tensor:
    """d_B between factors (..., r_a, d) and (..., r_b, d), broadcast over leading dims."""
    unit = torch.ones((), dtype=FA.R.dtype, device=FA.R.device) if normalize else _common_scale(FA, FB)
    nuclear = _nuclear_norms(FA.R @ FB.R.mT, torch.minimum(FA.rank, FB.rank))
    squared = _squared_norm(FA.R) + _squared_norm(FB.R) - 2.0 * nuclear
    return squared.clamp_min(0.0).sqrt() * unit


def _pairwise_nuclear_factor_form(mats: Sequence[torch.Tensor], ranks: torch.Tensor) -> torch.Tensor:
    """Nuclear norms ``‖R_i R_jᵀ‖_*`` for i < j (upper triangle of a (K, K) tensor) from factors (r_k, d).

    One matrix product per row ``i`` gives the cross blocks ``R_i R_jᵀ`` for
    all j > i; blocks of equal width then share one batched eigenvalue call.
    """
    sizes = [m.shape[0] for m in mats]
    edges = np.concatenate([[0], np.cumsum(sizes)])
    stacked = torch.cat(mats, dim=0)
    K = len(mats)
    nuclear = torch.zeros((K, K), dtype=stacked.dtype, device=stacked.device)
    for i in range(K - 1):
        row = mats[i] @ stacked[edges[i + 1] :].mT
        by_width: dict[int, list[int]] = {}
        for j in range(i + 1, K):
            by_width.setdefault(sizes[j], []).append(j)
        for width, js in by_width.items():
            if len(js) == K - 1 - i:  # one width: the row is the blocks side by side, no copy
                blocks = row.unflatten(1, (len(js), width)).transpose(0, 1)
            else:
                blocks = torch.stack([row[:, edges[j] - edges[i + 1] : edges[j + 1] - edges[i + 1]] for j in js])
            cols = torch.tensor(js, device=stacked.device)
            nuclear[i, cols] = _nuclear_norms(blocks, torch.minimum(ranks[i], ranks[cols]))
    return nuclear


def _pairwise_nuclear_covariance_form(mats: Sequence[torch.Tensor], ranks: torch.Tensor) -> torch.Tensor:
    """As :func:`_pairwise_nuclear_factor_form`, for factors of high rank (r_k >= d/2).

    Each factor becomes upper triangular (trapezoidal), ``T_k`` with
    ``T_kᵀ T_k = R_kᵀ R_k = C_k`` (same singular values of every cross product):
    the Cholesky factor of ``C_k``, or where that fails (rank < d, or nearly so)
    the triangle of a QR of ``R_k``. The Gram matrix of pair (i, j) is
    ``T_i C_j T_iᵀ`` (:func:`_congruence_gram`), batched over j > i: half the
    arithmetic of forming ``R_i R_jᵀ`` and its Gram. Suspect pairs take the SVD
    of ``T_i T_jᵀ``.
    """
    covs = torch.stack([m.mT @ m for m in mats])
    lower, failed = torch.linalg.cholesky_ex(covs)
    tri = [torch.linalg.qr(m, mode="r").R if bad else low.mT for m, low, bad in zip(mats, lower, failed.tolist())]
    K = len(mats)
    nuclear = torch.zeros((K, K), dtype=covs.dtype, device=covs.device)
    for i in range(K - 1):
        cols = torch.arange(i + 1, K, device=covs.device)
        gram = _congruence_gram(tri[i], covs[i + 1 :])
        row, suspect = _root_sums(gram, torch.minimum(ranks[i], ranks[cols]), uplo="U")
        for j in cols[suspect].tolist():
            row[j - i - 1] = torch.linalg.svdvals(tri[i] @ tri[j].mT).sum()
        nuclear[i, cols] = row
    return nuclear


def _pairwise(factors: Sequence[_Factors], normalize: bool) -> torch.Tensor:
    """All-pairs d_B (K, K) among single factors ``factors[k]`` (r_k, d) with their zero rows dropped.

    Each factor is used as is (its square root is never recomputed); factors of
    rank >= d/2 (covariances of well-sampled sets) go through the covariance
    form, the others (sample sets with n < d, low-rank covariances) through the
    cross products of the factors.
    """
    unit = torch.ones((), dtype=factors[0].R.dtype, device=factors[0].R.device)
    if not normalize:
        unit = _common_scale(*factors)
    mats = [f.R for f in factors]
    ranks = torch.stack([f.rank for f in factors])
    sq_norms = torch.stack([_squared_norm(m) for m in mats])
    if all(2 * m.shape[0] >= m.shape[1] for m in mats):
        nuclear = _pairwise_nuclear_covariance_form(mats, ranks)
    else:
        nuclear = _pairwise_nuclear_factor_form(mats, ranks)
    nuclear = nuclear + nuclear.T
    squared = sq_norms[:, None] + sq_norms[None, :] - 2.0 * nuclear
    out = squared.clamp_min(0.0).sqrt() * unit
    return out.fill_diagonal_(0.0)


def bures_distance(
    A: object, B: object, normalize: bool = True, device: Device = None, dtype: torch.dtype = torch.float64
) -> Result:
    """Bures distance between PSD matrices, batched over leading dims.

    Args:
        A: (..., d, d) symmetric positive semidefinite matrices (numpy or torch, real).
        B: (..., d, d), leading dims broadcastable against ``A``'s.
        normalize: divide each matrix by its trace first (the trace-normalised
            distance, in [0, √2]); False gives the raw Bures distance.
        device: ``"cpu"`` / ``"cuda[:N]"``; default: the inputs' tensor device, else the CPU.
        dtype: compute dtype, torch.float64 (default) or torch.float32.

    Returns:
        For numpy inputs a float for two single matrices, else an array of the
        broadcast leading shape; a tensor on ``device`` for tensor inputs. The
        distance itself, not its square.

    Raises:
        ConfigError: NaN/inf, complex or empty input, non-square, non-symmetric
            or clearly non-PSD matrices (tolerances: d·eps of the input dtype,
            at least 1e-8), mismatched d, a zero matrix, or an unavailable device.
    """
    dev, dt = resolve_device(device, A, B), compute_dtype(dtype)
    checked_a, checked_b = _check_covariance(A, "A", dev, dt), _check_covariance(B, "B", dev, dt)
    d_a, d_b = checked_a[0].shape[-1], checked_b[0].shape[-1]
    if d_a != d_b:
        raise ConfigError(f"A and B must have the same d, got {d_a} and {d_b}")
    FA, FB = _covariance_factors(checked_a, normalize, "A"), _covariance_factors(checked_b, normalize, "B")
    return _output(_distances(FA, FB, normalize), isinstance(A, torch.Tensor) or isinstance(B, torch.Tensor))


def bures_distance_from_samples(
    X: object, Y: object, normalize: bool = True, device: Device = None, dtype: torch.dtype = torch.float64
) -> Result:
    """Bures distance between the sample covariances of ``X`` and ``Y``.

    Exactly ``bures_distance(cov(X), cov(Y), normalize)`` (``cov`` centres each
    sample set; unbiased, as :func:`numpy.cov` with rows as observations).
    A sample set with fewer samples than d never forms its covariance: it
    enters as its centred, scaled samples, and with both below d the trace
    term is the nuclear norm of their ``n_x x n_y`` cross product (cost
    O(n_x n_y d)). A set with n >= d goes through the eigh of its d x d
    covariance instead; the two kinds of factor mix freely.

    Args:
        X: (..., n_x, d) samples as rows.
        Y: (..., n_y, d) samples as rows, leading dims broadcastable with ``X``.
        normalize: trace-normalise the covariances (result in [0, √2]).
        device, dtype: as :func:`bures_distance`.

    Returns:
        A float for two single numpy sample sets, else an array of the broadcast
        leading shape (a tensor for tensor inputs).
    """
    dev, dt = resolve_device(device, X, Y), compute_dtype(dtype)
    X_t, _ = as_float_tensor(X, "X", 2, dev, dt)
    Y_t, _ = as_float_tensor(Y, "Y", 2, dev, dt)
    if X_t.shape[-1] != Y_t.shape[-1]:
        raise ConfigError(f"X and Y must have the same number of features, got {X_t.shape[-1]} and {Y_t.shape[-1]}")
    FX, FY = _sample_factors(X_t, normalize, "X"), _sample_factors(Y_t, normalize, "Y")
    return _output(_distances(FX, FY, normalize), isinstance(X, torch.Tensor) or isinstance(Y, torch.Tensor))


def _drop_zero_rows(f: _Factors) -> _Factors:
    return _Factors(f.R[(f.R != 0).any(dim=1)], f.rank, f.scale)


def pairwise_bures_distance(
    covariances: object, normalize: bool = True, device: Device = None, dtype: torch.dtype = torch.float64
) -> np.ndarray | torch.Tensor:
    """All-pairs Bures distances among K covariance matrices.

    Each matrix is decomposed once (one ``eigh``); its numerically zero
    eigen-directions are dropped, so rank-r matrices cost O(r² d) per pair.

    Args:
        covariances: (K, d, d) PSD matrices.
        normalize: trace-normalise each matrix first.
        device, dtype: as :func:`bures_distance`.

    Returns:
        (K, K) symmetric array (tensor for a tensor input) of distances with a zero diagonal.
    """
    dev, dt = resolve_device(device, covariances), compute_dtype(dtype)
    checked = _check_covariance(covariances, "covariances", dev, dt)
    if checked[0].ndim != 3:
        raise ConfigError(f"covariances must be a (K, d, d) stack, got shape {tuple(checked[0].shape)}")
    F = _covariance_factors(checked, normalize, "covariances")
    factors = [_drop_zero_rows(_Factors(F.R[k], F.rank[k], F.scale[k])) for k in range(F.R.shape[0])]
    return _output(_pairwise(factors, normalize), isinstance(covariances, torch.Tensor))


def pairwise_bures_distance_from_samples(
    samples: object, normalize: bool = True, device: Device = None, dtype: torch.dtype = torch.float64
) -> np.ndarray | torch.Tensor:
    """All-pairs Bures distances among the covariances of K sample sets.

    Args:
        samples: (K, n, d) array or tensor, or a sequence of K arrays (n_k, d)
            whose sample counts may differ. Sets with n_k < d use the O(n² d)
            sample path; the others are decomposed once through their covariance.
        normalize: trace-normalise each covariance first.
        device, dtype: as :func:`bures_distance`.

    Returns:
        (K, K) symmetric array of distances with a zero diagonal (a tensor when
        the sets are tensors).
    """
    items = list(samples)
    if len(items) < 1:
        raise ConfigError("samples must contain at least one sample set")
    dev, dt = resolve_device(device, samples, *items), compute_dtype(dtype)
    sets = [as_float_tensor(x, f"samples[{k}]", 2, dev, dt) for k, x in enumerate(items)]
    dims = {x.shape[-1] for x, _ in sets}
    if len(dims) != 1 or any(x.ndim != 2 for x, _ in sets):
        raise ConfigError(
            f"samples must be K arrays (n_k, d) with one d, got shapes {[tuple(x.shape) for x, _ in sets]}"
        )
    factors = [_drop_zero_rows(_sample_factors(x, normalize, f"samples[{k}]")) for k, (x, _) in enumerate(sets)]
    as_tensor = isinstance(samples, torch.Tensor) or any(isinstance(x, torch.Tensor) for x in items)
    return _output(_pairwise(factors, normalize), as_tensor)
