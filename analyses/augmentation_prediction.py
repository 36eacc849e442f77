"""Augmentation prediction: how well a frozen representation tells which transformation was applied.

For each transformation family ``f`` (:data:`neuroequi.augment.families.FAMILIES`) and a layer ``h``
of a model of the zoo (:func:`model_zoo.load`: a catalogue name or a checkpoint file):

1. ``n_train`` CIFAR-10 *training* images and ``n_test`` *test* images (random subsets by
   ``seed``), each under ``per_image`` transformations of family ``f`` alone (every other
   family at the identity; parameter ranges from ``transforms``);
2. features ``[h(x) ; h(t(x))]``: the responses to the original and the transformed image,
   concatenated (``feature_slice`` keeps a slice of ``h``, e.g. a split model's equivariant part);
3. a probe fitted on the training images: ridge regression (z-scored features, ridge strength
   by efficient leave-one-out) onto the family's targets
   (:data:`~neuroequi.augment.families.TARGETS`: cos/sin of the angle, the relative shift,
   jitter factors, blur radius σ, crop box, log scale), or a logistic regression for
   ``flip``; ``probe="mlp"`` uses scikit-learn's multi-layer perceptron instead;
4. the score on the held-out test images: ``R²`` for numeric targets, accuracy for flip
   (chance 0.5), with a bootstrap interval over test images (all transformations of an image
   resampled together).

``R²`` is SIE's ``r2_score`` (``facebookresearch/SIE``, ``src/models.py`` and the
``eval_*_prediction.py`` scripts): ``1 − Σ(y − ŷ)² / Σ(y − ȳ)²`` over every entry of the
target matrix, ``ȳ`` the grand mean; here ``y`` are the targets standardised with the
training images' mean and standard deviation, so every target dimension weighs the same.

Where this differs from SIE's evaluation scripts (``eval_angle_prediction.py``,
``eval_color_prediction.py``):

* SIE pairs two random views of an object (both transformed) and predicts the *relative*
  transformation; here one image of the pair is the original, so the target is the
  transformation itself (the relative one with view 1 at the identity).
* SIE trains a linear head or a 3-layer MLP (1024 hidden units) with Adam (lr 1e-3, MSE) for
  300 epochs, drawing a new pair each epoch; here the probe is a closed-form ridge regression
  (or scikit-learn's MLP) on a fixed set of ``per_image`` transformations per image.
* SIE applies its ``r2_score`` to the raw targets (quaternions, colour differences); here to
  standardised targets, as above.
* SIE fits on its 3DIEBench training split and scores its validation split with no interval;
  here CIFAR-10 train and test images, with a bootstrap interval over test images.
* Inputs are normalised as the model was trained (SIE: 3DIEBench statistics).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from analyses.measures import ALPHAS, TableRow, bootstrap_counts, interval, require_finite
from analyses.probe import cifar10_subset
from analyses.responses import _responses_to_views, view_batches
from model_zoo import LoadedModel
from analyses.prediction_config import PredictionConfig, PredictionSettings
from neuroequi.augment.families import (
    CATEGORICAL,
    TARGETS,
    FamilyPolicy,
    check_families,
    family_policy,
    family_targets,
)
from neuroequi.augment.images import as_images, image_sizes
from neuroequi.errors import ConfigError
from neuroequi.io import atomic_write, output_folder, to_json

__all__ = ["PredictionConfig", "PredictionSettings", "augmentation_prediction", "r2_score", "run", "score_probe"]

TABLE = "augmentation_prediction.csv"


def r2_score(predictions: np.ndarray, targets: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """SIE's ``r2_score``: ``1 − Σ w (y − ŷ)² / Σ w (y − ȳ)²`` over all entries, ``ȳ`` the (weighted) grand mean.

    ``predictions``, ``targets``: ``(R, d)``; ``weights``: row weights ``(B, R)`` (bootstrap
    multiplicities) or None (all ones). Returns ``(B,)`` (``(1,)`` without weights).

    Raises:
        ConfigError: a NaN or inf in an argument (named); targets without variance under some
            weights (R² is undefined there, never a quiet NaN).
    """
    y = require_finite(np.asarray(targets, np.float64), "r2_score targets")
    p = require_finite(np.asarray(predictions, np.float64), "r2_score predictions")
    w = np.ones((1, len(y))) if weights is None else require_finite(np.asarray(weights, np.float64), "r2_score weights")
    total = w.sum(axis=1) * y.shape[1]
    grand = (w @ y.sum(axis=1)) / total
    ss_res = w @ ((y - p) ** 2).sum(axis=1)
    ss_tot = w @ (y**2).sum(axis=1) - total * grand**2
    flat = ss_tot <= 1e-12 * (w @ (y**2).sum(axis=1))  # no variance, up to rounding
    if flat.any():
        raise ConfigError(
            f"r2_score: the targets do not vary (under {int(flat.sum())} of {len(flat)} weightings), so R² is undefined"
        )
    return 1.0 - ss_res / ss_tot


def _probe(kind: str, categorical: bool, hidden: Sequence[int], seed: int):
    if kind == "mlp":
        cls = MLPClassifier if categorical else MLPRegressor
        net = cls(hidden_layer_sizes=tuple(hidden), max_iter=300, early_stopping=True, random_state=seed)
        return make_pipeline(StandardScaler(), net)
    if categorical:
        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    return make_pipeline(StandardScaler(), RidgeCV(alphas=ALPHAS))


def score_probe(
    family: str,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    test_images: np.ndarray,
    probe: str = "ridge",
    mlp_hidden: Sequence[int] = (256, 256),
    n_boot: int = 1000,
    seed: int = 0,
) -> TableRow:
    """Fit the probe on ``train = (features (R, F), targets (R, d))`` and score ``test``.

    ``test_images``: ``(R_test,)`` index of the image of each test row (the bootstrap unit).
    Returns one tidy row: quantity ``augmentation_prediction[<family>]``, value, 95% interval.
    """
    (x_train, y_train), (x_test, y_test) = train, test
    categorical = family in CATEGORICAL
    model = _probe(probe, categorical, mlp_hidden, seed)
    images, rows_of = np.unique(test_images, return_inverse=True)
    weights = bootstrap_counts(len(images), n_boot, seed)[:, rows_of]
    if categorical:
        model.fit(x_train, y_train[:, 0].astype(int))
        correct = (model.predict(x_test) == y_test[:, 0].astype(int)).astype(np.float64)
        value, boot, metric = float(correct.mean()), weights @ correct / weights.sum(axis=1), "accuracy"
    else:
        mean, std = y_train.mean(axis=0), y_train.std(axis=0)
        std = np.where(std > 0, std, 1.0)
        model.fit(x_train, (y_train - mean) / std)
        pred = model.predict(x_test).reshape(len(x_test), -1)
        y = (y_test - mean) / std
        value, boot, metric = float(r2_score(pred, y)[0]), r2_score(pred, y, weights), "R²"
    low, high = interval(boot, 0.95)
    what = "flip (accuracy, chance 0.5)" if categorical else f"{', '.join(TARGETS[family])} ({metric}, standardised)"
    label = f"{metric} of a {probe} probe [h(x) ; h(t(x))] → {what}, {family} only, held-out CIFAR-10 test images"
    return {
        "quantity": f"augmentation_prediction[{family}]",
        "label": label,
        "value": value,
        "ci_low": low,
        "ci_high": high,
        "n": len(images),
        "family": family,
        "metric": metric,
    }


def _features(
    model: LoadedModel,
    layer: str,
    policy: FamilyPolicy,
    images: list | torch.Tensor,
    params,
    K: int,
    config: PredictionConfig,
    desc: str,
) -> np.ndarray:
    """Responses ``(len(params), F)`` of ``layer`` to ``policy.apply`` of each row's image (row r is image r // K)."""
    values = _responses_to_views(
        model,
        layer,
        view_batches(policy, images, params, K, config.batch_size),
        len(params),
        config.precision,
        desc,
        config.progress,
    )
    if config.feature_slice is not None:
        start, stop = config.feature_slice
        values = values[:, start:stop]
    return values


def augmentation_prediction(model: LoadedModel, config: PredictionConfig = PredictionConfig()) -> pd.DataFrame:
    """The benchmark on one layer of ``model``: one row per family (see the module docstring).

    Returns the tidy table with the columns of :func:`score_probe`'s rows plus ``model``,
    ``weights_sha256``, ``layer``, ``probe``, ``per_image``, ``n_train``, ``seed``.
    """
    families = check_families(config.families, "families")
    for name in ("n_train", "n_test", "per_image", "n_boot"):
        if getattr(config, name) < (2 if name in ("n_train", "n_test") else 1):
            raise ConfigError(
                f"{name} must be >= {2 if name in ('n_train', 'n_test') else 1}, got {getattr(config, name)}"
            )
    if config.feature_slice is not None and (
        len(config.feature_slice) != 2 or not 0 <= config.feature_slice[0] < config.feature_slice[1]
    ):
        raise ConfigError(
            f"feature_slice must be [start, stop) with 0 <= start < stop, got {list(config.feature_slice)}"
        )
    layer = model.layer(config.layer)
    policy = family_policy(config.transforms, model.image_size, name="prediction")
    K = config.per_image
    data = {}
    for split, n in (("train", config.n_train), ("test", config.n_test)):
        pil, _, _ = cifar10_subset(split, n, config.seed)
        images = as_images(pil)
        clean = _features(
            model, layer, policy, images, policy.identity(image_sizes(images)), 1, config, f"{split} clean"
        )
        data[split] = (images, np.repeat(clean, K, axis=0))
    rows = []
    for k, family in enumerate(families):
        restricted = policy.restrict(family)
        split_data = {}
        for s, (split, (images, clean)) in enumerate(data.items()):
            generator = torch.Generator().manual_seed(config.seed * 1000 + 10 * k + s)
            hw = image_sizes(images).repeat_interleave(K, dim=0)
            params = restricted.sample(len(hw), generator, hw)
            moved = _features(model, layer, restricted, images, params, K, config, f"{split} {family}")
            split_data[split] = (np.concatenate([clean, moved], axis=1), family_targets(params, family).numpy())
        test_images = np.repeat(np.arange(len(data["test"][0])), K)
        rows.append(
            score_probe(
                family,
                split_data["train"],
                split_data["test"],
                test_images,
                config.probe,
                config.mlp_hidden,
                config.n_boot,
                config.seed,
            )
        )
    context = {
        "model": model.identifier,
        "weights_sha256": model.sha256,
        "layer": layer,
        "probe": config.probe,
        "per_image": K,
        "n_train": config.n_train,
        "seed": config.seed,
    }
    return pd.DataFrame(rows).assign(**context)


def run(config: PredictionSettings, args: argparse.Namespace) -> int:
    """Run the benchmark for ``config``; write ``<out>/augmentation_prediction.csv``."""
    import model_zoo
    from neuroequi.config import narrow

    path = output_folder(args.out, "--out") / TABLE  # before the work, not after it
    model = model_zoo.load(config.model)
    table = augmentation_prediction(model, narrow(config, PredictionConfig))
    print(table[["family", "metric", "value", "ci_low", "ci_high"]].to_string(index=False), flush=True)
    with atomic_write(path) as tmp:  # printed first: a failed write (a one-line error) loses nothing
        table.to_csv(tmp, index=False)
    print(to_json({"table": str(path), "model": model.identifier}))
    return 0
