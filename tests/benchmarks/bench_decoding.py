"""Benchmark: the decoding regressions, ours (torch float64) vs scikit-learn's pipeline, same folds, in one run.

Ours is :func:`analyses.measures.augmentation_decoding` (GroupKFold by image;
per fold :func:`analyses.linalg.ridge_loo_predict`: z-scoring, one thin SVD,
exact leave-one-out for the 15 ridge strengths of every parameter at once).
The reference is the pipeline it replaced, written here with scikit-learn:
``make_pipeline(StandardScaler(), RidgeCV(alphas, alpha_per_target=True))``
per fold of the same GroupKFold (scipy's LAPACK). Inputs: non-negative,
correlated responses (pooled-ReLU-like) ``(I, K, N)`` and P=12 uniform
parameters; sizes ``IxKxN`` (default: the Figure-1 analysis, 128 images x K=32,
N=512; the GPU run adds a larger one). Each side is timed ``--repeats`` times, interleaved; medians
of the per-repeat ratios, and the largest difference of the held-out predictions.

Run: ``.venv/bin/python tests/benchmarks/bench_decoding.py [--threads 2] [--device cuda]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from record import environment
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from analyses.linalg import resolve_device
from analyses.measures import ALPHAS, augmentation_decoding
from neuroequi.errors import ConfigError

P = 12


def responses(I: int, K: int, N: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    params = rng.uniform(size=(I, K, P))
    mixing = rng.standard_normal((P, N)) + rng.standard_normal((1, N))
    values = np.maximum(params @ mixing + rng.standard_normal((I, K, N)) @ (0.1 * rng.standard_normal((N, N))), 0.0)
    return values, params


def sklearn_predictions(values: np.ndarray, params: np.ndarray, n_splits: int) -> np.ndarray:
    I, K, N = values.shape
    X, Y = values.reshape(I * K, N), params.reshape(I * K, P)
    predictions = np.empty_like(Y)
    for train, test in GroupKFold(n_splits=n_splits).split(X, Y, np.repeat(np.arange(I), K)):
        model = make_pipeline(StandardScaler(), RidgeCV(alphas=ALPHAS, alpha_per_target=True)).fit(X[train], Y[train])
        predictions[test] = model.predict(X[test])
    return predictions


def bench(I: int, K: int, N: int, repeats: int, device: str) -> None:
    values, params = responses(I, K, N, seed=0)
    columns = [f"p{j}" for j in range(P)]
    t_ours, t_ref, ratios = [], [], []
    for _ in range(repeats):
        start = time.perf_counter()
        ours = augmentation_decoding(values, params, columns, parameters=columns, device=device).predictions
        t_ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        ref = sklearn_predictions(values, params, 5)
        t_ref.append(time.perf_counter() - start)
        ratios.append(t_ref[-1] / t_ours[-1])
    print(f"[decoding] {I} images x K={K} = {I * K} rows, N={N} features, {P} parameters, 5 folds, {repeats} repeats")
    print(
        f"  ours (torch f64, {device})        {statistics.median(t_ours):8.2f} s  (range {min(t_ours):.2f}-{max(t_ours):.2f})"
    )
    print(
        f"  sklearn StandardScaler+RidgeCV  {statistics.median(t_ref):8.2f} s  (range {min(t_ref):.2f}-{max(t_ref):.2f})"
    )
    print(
        f"  speed-up sklearn / ours         {statistics.median(ratios):8.2f} x  (range {min(ratios):.2f}-{max(ratios):.2f})"
    )
    print(
        f"  max |ours - sklearn| / max |sklearn| of held-out predictions {np.abs(ours - ref).max() / np.abs(ref).max():.1e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="BLAS/torch threads (default 2, the CI machine)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda[:N] for ours")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", default="128x32x512", help="comma-separated IxKxN (default: the Figure-1 analysis)")
    args = parser.parse_args()
    try:
        device = str(resolve_device(args.device))
    except ConfigError as err:
        raise SystemExit(f"--device {args.device}: {err}") from None
    torch.set_num_threads(args.threads)
    with threadpool_limits(limits=args.threads):
        print(f"threads: {args.threads}; ours on torch ({device}), sklearn on scipy/numpy's OpenBLAS")
        for line in environment():
            print(f"  {line}")
        for size in args.sizes.split(","):
            I, K, N = (int(x) for x in size.split("x"))
            bench(I, K, N, args.repeats, device)


if __name__ == "__main__":
    main()
