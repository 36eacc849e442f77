"""Tests of analyses.bures against POT, reference formulas written here (numpy SVD of the factors'
cross product, scipy.linalg.sqrtm), a 40-digit mpmath reference and metric properties; the torch
path on the CPU, float32, tensors, CUDA (when present) and the input checks."""

from __future__ import annotations

import mpmath
import numpy as np
import ot
import pytest
import scipy.linalg
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ortho_group

import analyses.bures as bures_module
from analyses.bures import (
    bures_distance,
    bures_distance_from_samples,
    pairwise_bures_distance,
    pairwise_bures_distance_from_samples,
)
from neuroequi.errors import ConfigError

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")


def sqrtm_reference(A: np.ndarray, B: np.ndarray) -> float:
    """Trace-normalised Bures distance written out with scipy.linalg.sqrtm (full-rank inputs)."""
    An, Bn = A / np.trace(A), B / np.trace(B)
    root = scipy.linalg.sqrtm(An)
    inner = np.trace(scipy.linalg.sqrtm(root @ Bn @ root)).real
    return float(np.sqrt(max(2.0 - 2.0 * inner, 0.0)))


def random_covariance(rng: np.random.Generator, d: int, rank: int) -> np.ndarray:
    F = rng.standard_normal((d, rank)) * rng.uniform(0.1, 3.0, size=rank)
    return F @ F.T


def svd_reference(RA: np.ndarray, RB: np.ndarray) -> float:
    """d from row factors (C = Rᵀ R): sqrt(‖R_A‖² + ‖R_B‖² − 2 ‖R_A R_Bᵀ‖_*), numpy SVD."""
    nuclear = np.linalg.svd(RA @ RB.T, compute_uv=False).sum()
    return float(np.sqrt(max(np.sum(RA * RA) + np.sum(RB * RB) - 2.0 * nuclear, 0.0)))


def sample_factor_reference(X: np.ndarray, normalize: bool) -> np.ndarray:
    """Centred samples scaled so that Rᵀ R is the (trace-normalised) unbiased covariance."""
    Xc = X - X.mean(axis=0)
    return Xc / (np.linalg.norm(Xc) if normalize else np.sqrt(len(X) - 1))


def covariance_factor_reference(C: np.ndarray, normalize: bool) -> np.ndarray:
    """diag(sqrt λ) Vᵀ of a full-rank covariance (divided by its trace if normalize)."""
    w, V = np.linalg.eigh(C / np.trace(C) if normalize else C)
    return np.sqrt(w)[:, None] * V.T


@st.composite
def psd_matrices(draw, count: int):
    """``count`` PSD d x d matrices (d in 2..6), each of random rank >= 1, non-zero."""
    d = draw(st.integers(2, 6))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    ranks = [draw(st.integers(1, d)) for _ in range(count)]
    return [random_covariance(rng, d, r) for r in ranks]


@pytest.mark.parametrize("d", [3, 8, 40])
def test_matches_pot_and_sqrtm_on_full_rank(d):
    rng = np.random.default_rng(d)
    A, B = random_covariance(rng, d, d), random_covariance(rng, d, d)
    An, Bn = A / np.trace(A), B / np.trace(B)
    ours = bures_distance(A, B)
    # POT returns the (unsquared) raw Bures distance; on trace-normalised inputs it is ours.
    pot = float(ot.gaussian.bures_distance(An, Bn))
    assert ours == pytest.approx(pot, rel=1e-8)
    assert ours == pytest.approx(sqrtm_reference(A, B), rel=1e-8)
    # Unnormalised: POT's raw distance directly.
    assert bures_distance(A, B, normalize=False) == pytest.approx(float(ot.gaussian.bures_distance(A, B)), rel=1e-8)


def test_batched_matches_pot_all_pairs():
    rng = np.random.default_rng(1)
    covs = np.stack([random_covariance(rng, 12, 12) for _ in range(5)])
    normed = covs / np.trace(covs, axis1=1, axis2=2)[:, None, None]
    pot = ot.gaussian.bures_distance(normed, normed)
    ours_broadcast = bures_distance(covs[:, None], covs[None])
    ours_pairs = pairwise_bures_distance(covs)
    np.fill_diagonal(pot, 0.0)
    np.fill_diagonal(ours_broadcast, 0.0)
    np.testing.assert_allclose(ours_broadcast, pot, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(ours_pairs, pot, rtol=1e-8, atol=1e-12)


def test_rank_deficient_matches_pot_torch_backend():
    """On rank-deficient covariances POT's torch backend clamps negative eigenvalues; both agree."""
    rng = np.random.default_rng(2)
    A, B = random_covariance(rng, 20, 4), random_covariance(rng, 20, 7)
    An, Bn = A / np.trace(A), B / np.trace(B)
    pot = float(ot.gaussian.bures_distance(torch.from_numpy(An), torch.from_numpy(Bn)))
    ours = bures_distance(A, B)
    assert np.isfinite(ours)
    # POT's eigh-of-product path turns numerical zeros into sqrt(eps)-sized terms.
    assert ours == pytest.approx(pot, abs=1e-6)


def mpmath_reference(X: np.ndarray, Y: np.ndarray) -> float:
    """Trace-normalised Bures distance of two sample sets in 40-digit arithmetic: centring, scaling,
    cross product and singular values all in mpmath (d² = 2 − 2‖X̂Ŷᵀ‖_*)."""
    mpmath.mp.dps = 40

    def scaled(Z):
        M = mpmath.matrix(Z.tolist())
        for j in range(M.cols):
            mean = mpmath.fsum(M[i, j] for i in range(M.rows)) / M.rows
            for i in range(M.rows):
                M[i, j] -= mean
        return M / mpmath.sqrt(mpmath.fsum(v**2 for v in M))

    singular = mpmath.svd_r(scaled(X) * scaled(Y).T, compute_uv=False)
    return float(mpmath.sqrt(2 - 2 * mpmath.fsum(singular)))


def test_rank_deficient_matches_40_digit_reference():
    """n < d: ours (both paths) to 1e-12 of a 40-digit reference; POT's eigh of the d x d product is ~1e-8 off."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((12, 80)) * np.arange(1, 81) ** -0.5
    Y = rng.standard_normal((12, 80)) * np.arange(1, 81) ** -0.5 + 0.3 * X
    ref = mpmath_reference(X, Y)
    A, B = np.cov(X, rowvar=False), np.cov(Y, rowvar=False)
    assert bures_distance_from_samples(X, Y) == pytest.approx(ref, rel=1e-12)
    assert bures_distance(A, B) == pytest.approx(ref, rel=1e-12)
    pot = float(ot.gaussian.bures_distance(torch.from_numpy(A / np.trace(A)), torch.from_numpy(B / np.trace(B))))
    assert abs(pot - ref) > 100 * abs(bures_distance_from_samples(X, Y) - ref)


@pytest.mark.parametrize(("n_x", "n_y", "d"), [(10, 14, 50), (30, 30, 200), (60, 80, 20), (8, 40, 20)])
def test_samples_path_equals_covariance_path(n_x, n_y, d):
    rng = np.random.default_rng(n_x * d)
    X = rng.standard_normal((n_x, d)) @ rng.standard_normal((d, d))
    Y = rng.standard_normal((n_y, d)) + 0.5 * X[:1]
    for normalize in (True, False):
        via_samples = bures_distance_from_samples(X, Y, normalize=normalize)
        via_cov = bures_distance(np.cov(X, rowvar=False), np.cov(Y, rowvar=False), normalize=normalize)
        assert via_samples == pytest.approx(via_cov, rel=1e-8)


def test_pairwise_paths_agree_and_match_broadcast():
    rng = np.random.default_rng(3)
    sets = rng.standard_normal((6, 15, 40)) * rng.uniform(0.5, 2.0, size=(6, 1, 40))
    covs = np.stack([np.cov(s, rowvar=False) for s in sets])
    from_samples = pairwise_bures_distance_from_samples(sets)
    from_covs = pairwise_bures_distance(covs)
    broadcast = bures_distance_from_samples(sets[:, None], sets[None])
    np.testing.assert_allclose(from_samples, from_covs, rtol=1e-8, atol=1e-12)
    off = ~np.eye(6, dtype=bool)
    np.testing.assert_allclose(from_samples[off], broadcast[off], rtol=1e-8)
    assert np.all(np.diag(from_samples) == 0.0)
    # Sample sets of different sizes, some above d (covariance path) and some below.
    mixed = [rng.standard_normal((n, 10)) for n in (4, 9, 10, 25)]
    expected = np.array(
        [
            [bures_distance_from_samples(a, b) if i != j else 0.0 for j, b in enumerate(mixed)]
            for i, a in enumerate(mixed)
        ]
    )
    np.testing.assert_allclose(pairwise_bures_distance_from_samples(mixed), expected, rtol=1e-8, atol=1e-12)


def test_near_singular_inputs_give_finite_values():
    rng = np.random.default_rng(4)
    U = ortho_group.rvs(8, random_state=5)
    A = U @ np.diag([1.0, 0.5, 1e-9, 1e-14, 0, 0, 0, 0]) @ U.T
    A_noisy = A + 1e-18 * rng.standard_normal((8, 8))
    A_noisy = 0.5 * (A_noisy + A_noisy.T)
    B = random_covariance(rng, 8, 1)
    for a in (A, A_noisy):
        d = bures_distance(a, B)
        assert np.isfinite(d) and 0.0 <= d <= np.sqrt(2.0)
        assert bures_distance(a, a) < 1e-6
    # Perfectly collinear samples (rank 1 covariance), and identical sample sets.
    X = np.outer(rng.standard_normal(5), rng.standard_normal(30))
    assert bures_distance_from_samples(X, X) < 1e-6
    assert bures_distance_from_samples(X, rng.standard_normal((5, 30))) > 0.1


def test_orthogonal_supports_are_maximally_distant():
    A = np.diag([1.0, 2.0, 0.0, 0.0])
    B = np.diag([0.0, 0.0, 3.0, 1.0])
    assert bures_distance(A, B) == pytest.approx(np.sqrt(2.0), rel=1e-12)


@pytest.mark.parametrize(
    ("A", "B", "match"),
    [
        (np.full((3, 3), np.nan), np.eye(3), "NaN/inf"),
        (np.eye(3), np.array([[1.0, np.inf, 0], [np.inf, 1, 0], [0, 0, 1]]), "NaN/inf"),
        (np.ones((3, 4)), np.eye(3), "square"),
        (np.array([[1.0, 0.5], [0.0, 1.0]]), np.eye(2), "not symmetric"),
        (np.diag([1.0, -0.5]), np.eye(2), "not positive semidefinite"),
        (np.zeros((2, 2)), np.eye(2), "no positive eigenvalue"),
        (np.eye(2), np.eye(3), "same d"),
        (np.ones(3), np.eye(3), "at least 2 dimensions"),
    ],
)
def test_invalid_matrices_raise(A, B, match):
    with pytest.raises(ConfigError, match=match):
        bures_distance(A, B)


def test_invalid_samples_raise():
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match="at least 2 samples"):
        bures_distance_from_samples(rng.standard_normal((1, 5)), rng.standard_normal((4, 5)))
    with pytest.raises(ConfigError, match="zero variance"):
        bures_distance_from_samples(np.ones((4, 5)), rng.standard_normal((4, 5)))
    with pytest.raises(ConfigError, match="same number of features"):
        bures_distance_from_samples(rng.standard_normal((4, 5)), rng.standard_normal((4, 6)))
    with pytest.raises(ConfigError, match="NaN/inf"):
        bures_distance_from_samples(np.full((4, 5), np.nan), rng.standard_normal((4, 5)))
    with pytest.raises(ConfigError, match="one d"):
        pairwise_bures_distance_from_samples([rng.standard_normal((4, 5)), rng.standard_normal((4, 6))])


@settings(max_examples=60, deadline=None)
@given(psd_matrices(count=1))
def test_self_distance_is_zero(mats):
    (A,) = mats
    assert bures_distance(A, A) < 1e-6
    assert bures_distance(A, 7.5 * A) < 1e-6  # trace normalisation removes scale


@settings(max_examples=60, deadline=None)
@given(psd_matrices(count=2))
def test_symmetric_and_bounded(mats):
    A, B = mats
    ab, ba = bures_distance(A, B), bures_distance(B, A)
    assert ab == pytest.approx(ba, abs=1e-9)
    assert 0.0 <= ab <= np.sqrt(2.0) + 1e-12


@settings(max_examples=60, deadline=None)
@given(psd_matrices(count=3))
def test_triangle_inequality(mats):
    A, B, C = mats
    assert bures_distance(A, C) <= bures_distance(A, B) + bures_distance(B, C) + 1e-7


@settings(max_examples=60, deadline=None)
@given(psd_matrices(count=2), st.integers(0, 2**32 - 1))
def test_invariant_to_common_orthogonal_transform(mats, seed):
    A, B = mats
    Q = ortho_group.rvs(A.shape[0], random_state=seed)
    assert bures_distance(Q @ A @ Q.T, Q @ B @ Q.T) == pytest.approx(bures_distance(A, B), abs=1e-7)


# ------------------------------------------------------------------ equality with the reference formulas


@pytest.mark.parametrize(("n_x", "n_y", "d"), [(10, 14, 50), (30, 30, 200), (60, 80, 20), (8, 40, 20), (256, 200, 300)])
@pytest.mark.parametrize("normalize", [True, False])
def test_samples_path_equals_svd_reference(n_x, n_y, d, normalize):
    """The torch path (Gram eigenvalues + guard, eigh factors for n >= d) equals the SVD formula to 1e-10."""
    rng = np.random.default_rng(n_x + n_y + d)
    X = (rng.standard_normal((n_x, d)) * np.arange(1, d + 1) ** -0.5) @ rng.standard_normal((d, d))
    Y = rng.standard_normal((n_y, d)) * rng.uniform(0.2, 3.0, d) + 0.1 * X[:1]
    ref = svd_reference(sample_factor_reference(X, normalize), sample_factor_reference(Y, normalize))
    assert bures_distance_from_samples(X, Y, normalize=normalize) == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("normalize", [True, False])
def test_all_functions_equal_svd_reference(normalize):
    """Pairwise (samples, covariances) and broadcast distances, equal and unequal set sizes, to 1e-10."""
    rng = np.random.default_rng(11)
    sets = [
        rng.standard_normal((n, 30)) @ rng.standard_normal((30, 30)) * s
        for n, s in [(12, 1.0), (12, 3.0), (20, 0.5), (45, 1.0), (12, 2.0)]
    ]
    factors = [sample_factor_reference(x, normalize) for x in sets]
    expected = np.array(
        [[svd_reference(a, b) if i != j else 0.0 for j, b in enumerate(factors)] for i, a in enumerate(factors)]
    )
    np.testing.assert_allclose(pairwise_bures_distance_from_samples(sets, normalize), expected, rtol=1e-10)
    equal = np.stack([sets[0], sets[1], sets[4]])
    broadcast = bures_distance_from_samples(equal[:, None], equal[None], normalize)
    off = ~np.eye(3, dtype=bool)
    np.testing.assert_allclose(broadcast[off], expected[np.ix_([0, 1, 4], [0, 1, 4])][off], rtol=1e-10)
    covs = np.stack(
        [np.cov(rng.standard_normal((n, 30)) * rng.uniform(0.3, 3.0, 30), rowvar=False) for n in (31, 45, 90)]
    )
    cov_factors = [covariance_factor_reference(c, normalize) for c in covs]
    expected_cov = np.array(
        [[svd_reference(a, b) if i != j else 0.0 for j, b in enumerate(cov_factors)] for i, a in enumerate(cov_factors)]
    )
    np.testing.assert_allclose(pairwise_bures_distance(covs, normalize), expected_cov, rtol=1e-10)
    np.testing.assert_allclose(bures_distance(covs[:, None], covs[None], normalize)[off], expected_cov[off], rtol=1e-10)


@pytest.mark.parametrize(("n", "d"), [(10, 60), (15, 20)])  # rank < d/2: cross products; >= d/2: covariance form
def test_rank_deficient_pairwise_and_tensors_match_40_digit_reference(n, d):
    """Rank-deficient covariances (n < d) through every entry point, numpy and torch, to 1e-12 of mpmath."""
    rng = np.random.default_rng(8)
    sets = np.stack([rng.standard_normal((n, d)) * np.arange(1, d + 1) ** -0.7 for _ in range(3)])
    sets[2] += 0.5 * sets[0]
    ref = np.array(
        [[mpmath_reference(a, b) if i != j else 0.0 for j, b in enumerate(sets)] for i, a in enumerate(sets)]
    )
    covs = np.stack([np.cov(s, rowvar=False) for s in sets])
    np.testing.assert_allclose(pairwise_bures_distance_from_samples(sets), ref, rtol=1e-12)
    np.testing.assert_allclose(pairwise_bures_distance(covs), ref, rtol=1e-12)
    as_tensor = pairwise_bures_distance_from_samples(torch.from_numpy(sets))
    assert isinstance(as_tensor, torch.Tensor) and as_tensor.dtype == torch.float64
    np.testing.assert_allclose(as_tensor.numpy(), ref, rtol=1e-12)
    single = bures_distance(torch.from_numpy(covs[0]), torch.from_numpy(covs[1]))
    assert isinstance(single, torch.Tensor) and float(single) == pytest.approx(ref[0, 1], rel=1e-12)


def graded_samples(rng: np.random.Generator, n: int, d: int, smallest: float) -> np.ndarray:
    """n samples whose centred singular values fall geometrically from 1 to ``smallest``."""
    k = min(n - 1, d)
    U = np.linalg.qr(rng.standard_normal((n, k)))[0]
    U -= U.mean(axis=0)  # keep the columns centred: the singular values survive centring
    U = np.linalg.qr(U)[0]
    V = np.linalg.qr(rng.standard_normal((d, k)))[0]
    return (U * np.geomspace(1.0, smallest, k)) @ V.T


def test_square_root_guard_keeps_small_singular_values_exact(monkeypatch):
    """Cross products with singular values down to ~1e-20: the Gram eigenvalues alone are ~1e-9 off,
    the guarded result (SVD for those pairs) stays within 1e-12 of the 40-digit reference."""
    rng = np.random.default_rng(5)
    X = graded_samples(rng, 16, 40, 1e-10)
    Y = X + 1e-3 * graded_samples(rng, 16, 40, 1e-10)
    ref = mpmath_reference(X, Y)
    assert bures_distance_from_samples(X, Y) == pytest.approx(ref, rel=1e-12)
    monkeypatch.setattr(bures_module, "_SQRT_GUARD_ULPS", float("inf"))
    assert abs(bures_distance_from_samples(X, Y) - ref) > 1e-10 * ref  # what the guard prevents


def test_square_root_guard_in_the_covariance_form(monkeypatch):
    """Full-rank covariances (n > d: pairwise goes through T_i C_j T_iᵀ) with graded spectra: 1e-11 of
    the 40-digit reference (the eigh of each d x d covariance already costs ~1e-12), ~1e-6 without the guard."""
    rng = np.random.default_rng(12)
    X = graded_samples(rng, 30, 20, 1e-6)
    sets = [X, X + 0.1 * graded_samples(rng, 30, 20, 1e-6), graded_samples(rng, 40, 20, 1e-6)]
    ref = np.array(
        [[mpmath_reference(a, b) if i != j else 0.0 for j, b in enumerate(sets)] for i, a in enumerate(sets)]
    )
    np.testing.assert_allclose(pairwise_bures_distance_from_samples(sets), ref, rtol=1e-11)
    monkeypatch.setattr(bures_module, "_SQRT_GUARD_ULPS", float("inf"))
    assert np.max(np.abs(pairwise_bures_distance_from_samples(sets) - ref) / np.where(ref > 0, ref, 1.0)) > 1e-8


# ------------------------------------------------------------------ faults of issue 11, devices, precision


def test_complex_input_is_rejected():
    A = np.eye(3) + 1j * np.diag([0.0, 1.0, 0.0])
    with pytest.raises(ConfigError, match="complex"):
        bures_distance(A, np.eye(3))
    with pytest.raises(ConfigError, match="complex"):
        bures_distance_from_samples(torch.randn(5, 3, dtype=torch.complex128), np.ones((5, 3)))
    with pytest.raises(ConfigError, match="complex"):
        pairwise_bures_distance_from_samples([np.ones((4, 3)), np.ones((4, 3), dtype=complex)])


def test_float32_covariances_with_fewer_samples_than_d_are_accepted():
    """torch.cov in float32 with n < d has rounding eigenvalues far below -1e-8 x the largest."""
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(16, 256, generator=generator) * torch.linspace(0.2, 2.0, 256)
    Y = torch.randn(16, 256, generator=generator) + 0.5 * X
    A, B = torch.cov(X.T), torch.cov(Y.T)
    lowest = torch.linalg.eigvalsh(A.double())
    assert float(lowest[0] / lowest[-1]) < -1e-8  # the float64 tolerance alone would reject A
    exact = float(bures_distance_from_samples(X.double(), Y.double()))
    assert float(bures_distance(A, B)) == pytest.approx(exact, abs=1e-5)
    assert float(pairwise_bures_distance(torch.stack([A, B]))[0, 1]) == pytest.approx(exact, abs=1e-5)


@pytest.mark.parametrize("scale", [1e200, 1e-200, 1e-300])
def test_extreme_scales(scale):
    """The trace-normalised distance is scale-free; the raw one scales with the samples."""
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((12, 30)), rng.standard_normal((9, 30)) * 2.0
    assert bures_distance_from_samples(scale * X, scale * Y) == pytest.approx(
        bures_distance_from_samples(X, Y), rel=1e-12
    )
    raw = bures_distance_from_samples(X, Y, normalize=False)
    assert bures_distance_from_samples(scale * X, scale * Y, normalize=False) == pytest.approx(scale * raw, rel=1e-12)
    sets = [scale * X, scale * Y, scale * rng.standard_normal((40, 30))]
    np.testing.assert_allclose(
        pairwise_bures_distance_from_samples(sets),
        pairwise_bures_distance_from_samples([x / scale for x in sets]),
        rtol=1e-12,
    )
    A = np.cov(X, rowvar=False)
    assert bures_distance(A * 1e250, np.cov(Y, rowvar=False) * 1e-250) == pytest.approx(
        bures_distance_from_samples(X, Y), rel=1e-12
    )


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: bures_distance(np.zeros((0, 0)), np.zeros((0, 0))), "empty"),
        (lambda: bures_distance_from_samples(np.zeros((0, 4)), np.ones((3, 4))), "empty"),
        (lambda: bures_distance_from_samples(np.ones((3, 0)), np.ones((3, 0))), "empty"),
        (lambda: pairwise_bures_distance_from_samples([]), "at least one sample set"),
        (lambda: bures_distance(np.array([["a", "b"], ["c", "d"]]), np.eye(2)), "real numbers"),
        (lambda: bures_distance(np.eye(2), np.eye(2), dtype=torch.float16), "dtype"),
        (lambda: bures_distance(np.eye(2), np.eye(2), device="tpu:0"), "device"),
        (lambda: bures_distance(np.eye(2), np.eye(2), device="no-such-device"), "not a device"),
    ],
)
def test_more_invalid_inputs_raise(call, match):
    with pytest.raises(ConfigError, match=match):
        call()


def test_missing_cuda_device_is_a_clear_error():
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    device = f"cuda:{count}"  # one past the last GPU; "CUDA is not available" on a CPU machine
    with pytest.raises(ConfigError, match="CUDA is not available|CUDA device"):
        bures_distance(np.eye(2), np.eye(2), device=device)
    with pytest.raises(ConfigError, match="CUDA is not available|CUDA device"):
        pairwise_bures_distance_from_samples(np.ones((2, 3, 4)), device=device)


def test_float32_compute_is_close_to_float64():
    rng = np.random.default_rng(6)
    sets = rng.standard_normal((5, 20, 64)) * rng.uniform(0.5, 2.0, size=(5, 1, 64))
    d64 = pairwise_bures_distance_from_samples(sets)
    d32 = pairwise_bures_distance_from_samples(sets, dtype=torch.float32)
    assert d32.dtype == np.float32
    np.testing.assert_allclose(d32, d64, atol=1e-4)


@needs_cuda
def test_cuda_equals_cpu():
    rng = np.random.default_rng(9)
    sets = rng.standard_normal((4, 20, 50)) * rng.uniform(0.5, 2.0, size=(4, 1, 50))
    covs = np.stack([np.cov(s, rowvar=False) for s in sets])
    for fn, arg in [(pairwise_bures_distance_from_samples, sets), (pairwise_bures_distance, covs)]:
        np.testing.assert_allclose(fn(arg, device="cuda"), fn(arg), rtol=1e-10, atol=1e-13)
    on_gpu = bures_distance_from_samples(torch.from_numpy(sets).cuda(), torch.from_numpy(sets[::-1].copy()).cuda())
    assert on_gpu.device.type == "cuda"
    np.testing.assert_allclose(on_gpu.cpu().numpy()[:2], bures_distance_from_samples(sets, sets[::-1])[:2], rtol=1e-10)
