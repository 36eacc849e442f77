"""Benchmark: all-pairs trace-normalised Bures distances, ours vs POT and vs the eigh lower bound, in one run.

Everything timed runs in torch (float64) with the same BLAS/LAPACK on the same
device: ours (:mod:`analyses.bures`), POT's batched
``ot.gaussian.bures_distance`` on its torch backend, and the bound. The sides
are timed in turn, ``--repeats`` times (POT, the slowest by far, on the first
``--pot-repeats`` of them), and each figure is the median of the per-repeat
ratios, with their range: the machine may be shared, so only ratios measured
side by side are quoted.

1. K sample sets (n x d, default K=20, n=256, d=2048): ours from the samples
   (O(n² d) path: one Gram eigenvalue problem of n x n per pair) vs POT on the
   same trace-normalised covariances. POT's numpy backend contracts
   ``nij,mjk,nkl`` with an unoptimised 3-operand ``np.einsum`` (O(d⁴) per pair)
   and takes ``sqrt`` of negative rounding eigenvalues, hence its torch
   backend. A full K x K batched POT call would hold two (K, K, d, d) float64
   arrays (13 GB at the defaults), so POT is called batched on ``--pot-rows``
   source covariances against all K targets and its time is scaled linearly
   to K rows (its cost is linear in the number of pairs); values are compared
   on those rows. POT's square root of a rank-deficient d x d product turns
   its ~d - n numerically zero eigenvalues into sqrt(eps)-sized terms, which
   bias its distance by ~1e-8; the script prints that signed difference and,
   as an independent check of ours, our eigh path on the same covariances
   against our sample path.
2. K full-rank covariances at d=512: ours (one eigh per matrix, then per pair
   one product, its Gram matrix and one ``eigvalsh``) vs the eigh lower bound
   of any square-root-based method (one eigh per matrix + one ``eigvalsh`` of
   ``A^½ B A^½`` per pair, the products not timed; the faster of one call per
   pair and one batched call per row, the batching ours uses), and vs POT.
3. float32 (``dtype=torch.float32``) against float64 on both inputs, and on
   sample sets at a chosen distance from each other (how float32 fares near 0).

Run: ``.venv/bin/python tests/benchmarks/bench_bures.py [--threads 2] [--device cuda]``;
``tests/benchmarks/record.py`` stores the output in RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import ot
import torch
from record import environment
from threadpoolctl import threadpool_limits

from analyses.bures import pairwise_bures_distance, pairwise_bures_distance_from_samples
from analyses.linalg import resolve_device
from neuroequi.errors import ConfigError


def timed(fn: Callable[[], object], device: torch.device) -> tuple[object, float]:
    """``(fn(), seconds)``, waiting for the device's queued work on both ends."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    out = fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return out, time.perf_counter() - start


def sample_sets(K: int, n: int, d: int, seed: int) -> np.ndarray:
    """K sample sets (n, d) with a power-law spectrum and set-specific rotations of a shared basis."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.standard_normal((d, d)))[0]
    scales = np.arange(1, d + 1) ** -0.5
    sets = []
    for _ in range(K):
        mix = np.linalg.qr(rng.standard_normal((d, d)) * 0.2 + np.eye(d))[0]
        sets.append((rng.standard_normal((n, d)) * scales) @ (basis @ mix).T)
    return np.stack(sets)


def normalised_covariances(sets: np.ndarray) -> np.ndarray:
    covs = np.stack([np.cov(s, rowvar=False) for s in sets])
    return covs / np.trace(covs, axis1=1, axis2=2)[:, None, None]


def pot_rows(covs: torch.Tensor, rows: int, chunk: int) -> tuple[np.ndarray, float]:
    """POT's batched all-pairs distances for the first ``rows`` sources vs all K targets, and its seconds."""
    out, total = [], 0.0
    for start in range(0, rows, chunk):
        block, seconds = timed(
            lambda: ot.gaussian.bures_distance(covs[start : min(start + chunk, rows)], covs), covs.device
        )
        out.append(block.cpu().numpy())
        total += seconds
    return np.concatenate(out, axis=0), total


def max_rel_diff(ours: np.ndarray, ref: np.ndarray) -> float:
    mask = ref > 0
    return float(np.max(np.abs(ours[mask] - ref[mask]) / ref[mask]))


def spread(values: list[float]) -> str:
    """Median and range of repeated measurements."""
    return f"{statistics.median(values):9.3f}  (range {min(values):.3f}-{max(values):.3f})"


def bench_samples(K: int, n: int, d: int, rows: int, repeats: int, pot_repeats: int, device: torch.device) -> None:
    sets = sample_sets(K, n, d, seed=0)
    covs = torch.from_numpy(normalised_covariances(sets)).to(device)
    sets_t = torch.from_numpy(sets).to(device)
    pairwise_bures_distance_from_samples(sets_t[:2, :8, :16])  # warm-up (CUDA context, kernels)
    t_ours, t_pot, ratios = [], [], []
    for repeat in range(repeats):
        ours, seconds = timed(lambda: pairwise_bures_distance_from_samples(sets_t), device)
        t_ours.append(seconds)
        if repeat < pot_repeats:
            pot, pot_seconds = pot_rows(covs, rows, chunk=1)
            t_pot.append(pot_seconds * K / rows)
            ratios.append(t_pot[-1] / seconds)
    ours = ours.cpu().numpy()
    off = ~np.eye(K, dtype=bool)[:rows]
    print(
        f"[samples] K={K} n={n} d={d}: all {K * (K - 1) // 2} pairs; medians of {repeats} repeats (POT: {pot_repeats})"
    )
    print(f"  ours (samples, O(n²d))          {spread(t_ours)} s")
    print(f"  POT batched, torch f64          {spread(t_pot)} s  ({rows} x {K} pairs timed, scaled to {K} x {K})")
    print(f"  speed-up POT / ours             {spread(ratios)} x   (target >= 300 x)")
    print(
        f"  max |ours - POT| / POT          {max_rel_diff(ours[:rows][off], pot[off]):9.2e}   (POT's own error ~1e-8)"
    )
    print(f"  mean (ours - POT)               {np.mean(ours[:rows][off] - pot[off]):9.2e}")
    check = min(K, 3)
    eigh_path, t_eigh = timed(lambda: pairwise_bures_distance(covs[:check]), device)
    print(
        f"  ours, eigh path on {check} covariances {t_eigh:9.3f} s;"
        f" max rel diff to samples path {max_rel_diff(eigh_path.cpu().numpy(), ours[:check, :check]):.2e}"
    )
    d32, t32 = timed(lambda: pairwise_bures_distance_from_samples(sets_t, dtype=torch.float32), device)
    print(
        f"  float32: {t32:.3f} s, max |d32 - d64| {np.max(np.abs(d32.cpu().numpy() - ours)):.1e} "
        f"(distances {ours[~np.eye(K, dtype=bool)].min():.3f}-{ours.max():.3f})"
    )


def eigh_lower_bound(covs: torch.Tensor) -> float:
    """Seconds of the spectral work alone: eigh per matrix + eigvalsh of A^½ B A^½ per pair.

    The per-pair eigenvalue calls are timed both one by one and batched per
    row (as ours batches them); the faster total is returned.
    """
    (w, V), t_eigh = timed(lambda: torch.linalg.eigh(covs), covs.device)
    roots = (V * w.clamp_min(0.0).sqrt()[:, None, :]) @ V.mT
    one_by_one = batched = 0.0
    for i in range(len(covs) - 1):
        products = roots[i] @ covs[i + 1 :] @ roots[i]
        batched += timed(lambda: torch.linalg.eigvalsh(products), covs.device)[1]
        for product in products:
            one_by_one += timed(lambda: torch.linalg.eigvalsh(product), covs.device)[1]
    return t_eigh + min(one_by_one, batched)


def bench_full_rank(K: int, d: int, repeats: int, pot_repeats: int, device: torch.device) -> None:
    covs = torch.from_numpy(normalised_covariances(sample_sets(K, 4 * d, d, seed=1))).to(device)
    pairwise_bures_distance(covs[:2, :16, :16])  # warm-up
    t_ours, t_bound, t_pot, bound_ratios, pot_ratios = [], [], [], [], []
    for repeat in range(repeats):
        ours, seconds = timed(lambda: pairwise_bures_distance(covs), device)
        t_ours.append(seconds)
        t_bound.append(eigh_lower_bound(covs))
        bound_ratios.append(seconds / t_bound[-1])
        if repeat < pot_repeats:
            pot, pot_seconds = pot_rows(covs, K, chunk=4)
            t_pot.append(pot_seconds)
            pot_ratios.append(pot_seconds / seconds)
    ours = ours.cpu().numpy()
    off = ~np.eye(K, dtype=bool)
    print(
        f"[full rank] K={K} d={d} (covariances of {4 * d} samples): all {K * (K - 1) // 2} pairs; "
        f"medians of {repeats} repeats (POT: {pot_repeats})"
    )
    print(f"  ours (eigh once + Gram eigvalsh per pair) {spread(t_ours)} s")
    print(f"  eigh lower bound                {spread(t_bound)} s")
    print(f"  ours / bound                    {spread(bound_ratios)}     (target <= 1.5)")
    print(f"  POT batched, torch f64          {spread(t_pot)} s")
    print(f"  POT / ours                      {spread(pot_ratios)}")
    print(f"  max |ours - POT| / POT          {max_rel_diff(ours[off], pot[off]):9.2e}")
    d32, t32 = timed(lambda: pairwise_bures_distance(covs, dtype=torch.float32), device)
    print(f"  float32: {t32:.3f} s, max |d32 - d64| {np.max(np.abs(d32.cpu().numpy() - ours)):.1e}")


def bench_float32_near_zero(n: int, d: int, device: torch.device) -> None:
    """float32 vs float64 on pairs of sample sets X, X + ε·noise (distances from ~1 down to ~1e-4)."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((n, d)) * np.arange(1, d + 1) ** -0.5
    noise = rng.standard_normal((n, d)) * np.arange(1, d + 1) ** -0.5
    print(f"[float32 near 0] sample sets n={n} d={d}: d_B(X, X + ε·noise)")
    for eps in (1.0, 1e-1, 1e-2, 1e-3, 1e-4):
        Y = torch.from_numpy(np.stack([X, X + eps * noise])).to(device)
        d64 = float(pairwise_bures_distance_from_samples(Y)[0, 1])
        d32 = float(pairwise_bures_distance_from_samples(Y, dtype=torch.float32)[0, 1])
        print(f"  ε={eps:7.0e}: float64 {d64:.6e}  float32 {d32:.6e}  relative error {abs(d32 - d64) / d64:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="BLAS/torch threads (default 2, the CI machine)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda[:N]")
    parser.add_argument("--repeats", type=int, default=5, help="repeats, sides in turn (medians reported)")
    parser.add_argument("--pot-repeats", type=int, default=2, help="repeats that also time POT (<= --repeats)")
    parser.add_argument("--K", type=int, default=20)
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--d", type=int, default=2048)
    parser.add_argument("--d-full", type=int, default=512)
    parser.add_argument("--pot-rows", type=int, default=1, help="source covariances POT is timed on (<= K)")
    parser.add_argument("--only", choices=("samples", "full-rank", "float32"), default=None, help="run one part")
    args = parser.parse_args()
    if not 1 <= args.pot_rows <= args.K:
        raise SystemExit(f"--pot-rows must be in 1..K={args.K}, got {args.pot_rows}")
    if not 1 <= args.pot_repeats <= args.repeats:
        raise SystemExit(f"--pot-repeats must be in 1..--repeats={args.repeats}, got {args.pot_repeats}")
    try:
        device = resolve_device(args.device)
    except ConfigError as err:
        raise SystemExit(f"--device {args.device}: {err}") from None
    torch.set_num_threads(args.threads)
    with threadpool_limits(limits=args.threads):
        print(
            f"threads: {args.threads}; device {device}; numpy {np.__version__}, torch {torch.__version__}, "
            f"POT {ot.__version__} (torch backend)"
        )
        print("BLAS/LAPACK of every timed side (ours, POT, bound): torch's; numpy only makes the inputs.")
        for line in environment():
            print(f"  {line}")
        if args.only in (None, "samples"):
            bench_samples(args.K, args.n, args.d, args.pot_rows, args.repeats, args.pot_repeats, device)
        if args.only in (None, "full-rank"):
            bench_full_rank(args.K, args.d_full, args.repeats, args.pot_repeats, device)
        if args.only in (None, "float32"):
            bench_float32_near_zero(args.n, args.d, device)


if __name__ == "__main__":
    main()
