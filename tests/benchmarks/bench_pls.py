"""Benchmark: Brain-Score's ``pls`` estimator, scikit-learn's ``PLSRegression`` vs ``NipalsPLS``, in one run.

1. One fit + predict at the size of a Figure-1 evaluation (real V4 responses of Cowley session 190923,
   ``--train`` training images of ``--features`` model-like features: a ReLU of a random mix of the
   responses plus noise), 25 components: scikit-learn's ``PLSRegression(n_components=25, scale=False)``
   (what Brain-Score's ``pls_regression()`` builds) and :class:`analyses.neural.pls.NipalsPLS`, timed in
   turn ``--repeats`` times; the ratio is the median of the per-repeat ratios, with its range. The
   largest coefficient difference and both iteration counts are printed.
2. The whole ``Cowley2023.V4-pls`` benchmark (3 sessions x 10 splits, Brain-Score's metric classes) of
   a zoo model (``--model``, default the supervised CIFAR ResNet-20 of the data directory), once with
   Brain-Score's registered ``pls`` metric and once with the local one (``NipalsPLS`` and the vectorised
   per-neuron r, :class:`analyses.neural.pls.NeuroidPearsonr`), in turn: wall and CPU seconds, both scores.

Run: ``.venv/bin/python tests/benchmarks/bench_pls.py [--threads 1]``; ``tests/benchmarks/record.py``
stores the output in RESULTS.md. CPU only (the metric's inputs are numpy arrays on the CPU).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.cross_decomposition import PLSRegression

from analyses.neural.pls import NipalsPLS
from neuroequi.data import cowley2023_session


def fit_predict(estimator, x: np.ndarray, y: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, float]:
    """``(predictions on test, seconds)`` of one fit + predict."""
    start = time.perf_counter()
    prediction = estimator.fit(x, y).predict(test)
    return prediction, time.perf_counter() - start


def estimator_ratio(n_train: int, n_features: int, repeats: int) -> None:
    """Part 1: one fit + predict, scikit-learn vs ours, on real V4 responses."""
    responses = cowley2023_session("190923").responses.T.astype(np.float64)
    rng = np.random.default_rng(0)
    mix = rng.standard_normal((responses.shape[1], n_features)) / np.sqrt(responses.shape[1])
    features = np.maximum(responses @ mix + rng.standard_normal((len(responses), n_features)), 0.0)
    x, y, test = features[:n_train], responses[:n_train], features[n_train:]
    ratios, theirs, ours = [], [], []
    for _ in range(repeats):
        reference, t_ref = fit_predict(PLSRegression(n_components=25, scale=False), x, y, test)
        estimate, t_ours = fit_predict(NipalsPLS(n_components=25), x, y, test)
        theirs.append(t_ref)
        ours.append(t_ours)
        ratios.append(t_ref / t_ours)
    sk = PLSRegression(n_components=25, scale=False).fit(x, y)
    mine = NipalsPLS(n_components=25).fit(x, y)
    print(f"fit + predict, {n_train} images x {n_features} features -> {y.shape[1]} V4 neurons, 25 components")
    print(
        f"  scikit-learn PLSRegression  median {statistics.median(theirs):.3f} s (range {min(theirs):.3f}-{max(theirs):.3f})"
    )
    print(
        f"  NipalsPLS (torch)           median {statistics.median(ours):.3f} s (range {min(ours):.3f}-{max(ours):.3f})"
    )
    print(f"  ratio scikit-learn / ours: {statistics.median(ratios):.1f}x (range {min(ratios):.1f}-{max(ratios):.1f})")
    print(f"  power iterations equal: {sk.n_iter_ == mine.n_iter_} (total {sum(sk.n_iter_)})")
    print(f"  max |coefficient difference| {np.abs(sk.coef_.T - mine.coef_.numpy()).max():.1e}")
    print(f"  max |prediction difference| {np.abs(reference - estimate).max():.1e}")


def benchmark_ratio(model: str) -> None:
    """Part 2: the whole Cowley2023.V4-pls benchmark with Brain-Score's pls metric, then with ours."""
    import analyses.neural.benchmarks as benchmarks
    from analyses.neural.scoring import score

    def brainscore_pls():
        from brainscore_vision import load_metric

        return load_metric("pls", crossvalidation_kwargs=dict(stratification_coord=None))

    local = benchmarks.pls_metric
    home = Path(tempfile.mkdtemp(prefix="bench_pls_"))
    print(f"Cowley2023.V4-pls of {model} (3 sessions x 10 splits; extraction included in both)")
    times = {}
    for name, metric in (("Brain-Score pls (scikit-learn)", brainscore_pls), ("local pls (NipalsPLS)", local)):
        benchmarks.pls_metric = metric
        wall, cpu = time.perf_counter(), time.process_time()
        result = score(model, "Cowley2023.V4-pls", recompute=True, home=home)
        times[name] = time.perf_counter() - wall
        print(
            f"  {name:32s} {times[name]:6.1f} s wall, {time.process_time() - cpu:6.1f} s CPU; "
            f"score {result['score']:.10f}, error {result['error']:.10f}"
        )
    benchmarks.pls_metric = local
    first, second = times.values()
    print(f"  ratio Brain-Score / local: {first / second:.2f}x (one run each)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS threads (default 1, as a job)")
    parser.add_argument("--train", type=int, default=1080, help="training images (default 1080: a 90%% split)")
    parser.add_argument("--features", type=int, default=2048, help="model features (default 2048)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", default="cifar-resnet20-supervised", help="zoo model for part 2 ('' skips it)")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    print(f"threads {args.threads}; load average {os.getloadavg()[0]:.1f}")
    with threadpool_limits(args.threads):
        estimator_ratio(args.train, args.features, args.repeats)
        if args.model:
            benchmark_ratio(args.model)


if __name__ == "__main__":
    main()
