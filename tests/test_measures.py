"""Ground-truth tests of analyses.measures on constructed linear representations."""

from __future__ import annotations

import numpy as np
import pytest

from analyses.bures import bures_distance_from_samples
from analyses.measures import (
    ImageMeasure,
    _weighted_r,
    augmentation_decoding,
    bootstrap_counts,
    content_augmentation_factorization,
    crop_photometric_factorization,
    delta,
    shared_variability,
)
from analyses.responses import responses_array

I, K, N, Q, P = 24, 12, 40, 5, 4
COLUMNS = ("crop_x", "crop_w", "brightness", "hue")


def orthonormal(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    return np.linalg.qr(rng.standard_normal((n, k)))[0]


def linear_representation(rng, content_map, aug_map, params, matched_images=I):
    """h(t_k(x_i)) = content_map z_i + aug_map t_ik: (I, K, N) responses, clean (I, N), params (I, K, P)."""
    z = rng.standard_normal((matched_images, content_map.shape[1]))
    clean = z @ content_map.T
    return clean[:, None, :] + params @ aug_map.T, clean


def test_shared_vector_field_gives_zero_shared_variability_and_perfect_decoding():
    rng = np.random.default_rng(0)
    basis = orthonormal(rng, N, Q + P)
    C, W = basis[:, :Q], basis[:, Q:] @ rng.standard_normal((P, P))
    matched_params = np.broadcast_to(rng.uniform(size=(1, K, P)), (I, K, P))
    matched, _ = linear_representation(rng, C, W, matched_params)
    shared = shared_variability(matched)
    off = ~np.eye(I, dtype=bool)
    assert np.max(shared.values[off]) < 1e-6
    # Image-specific augmentation effects: clearly not shared.
    specific = np.stack([matched_params[i] @ rng.standard_normal((P, N)) for i in range(I)])
    assert shared_variability(specific).mean() > 0.5

    params = rng.uniform(size=(I, K, P))
    responses, clean = linear_representation(rng, C, W, params)
    result = augmentation_decoding(responses, params, COLUMNS, parameters=COLUMNS)
    assert np.all(result.r() > 0.99)
    diff = augmentation_decoding(responses, params, COLUMNS, clean=clean)  # h(t(x)) - h(x) = W t exactly
    assert diff.source == "difference" and np.all(diff.r() > 0.999)
    assert diff.rows(n_boot=10)[0]["quantity"] == "decoding_diff_r[crop_x]"


def test_random_features_decode_at_chance():
    means = []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        params = rng.uniform(size=(I, K, P))
        result = augmentation_decoding(rng.standard_normal((I, K, N)), params, COLUMNS)
        assert np.all(np.abs(result.r()) < 0.3), result.r()
        means.append(result.r().mean())
        mean_row = result.rows(n_boot=100)[-1]
        assert mean_row["quantity"] == "decoding_r_mean"
        assert mean_row["ci_low"] <= mean_row["value"] <= mean_row["ci_high"]
    assert abs(np.mean(means)) < 0.06, means


def test_decoding_folds_never_share_an_image():
    """A representation that memorises each image's parameters cannot decode them on held-out images."""
    rng = np.random.default_rng(2)
    params = np.broadcast_to(rng.uniform(size=(I, 1, P)), (I, K, P)) + 0.0
    identity = np.repeat(np.eye(I), K, axis=0).reshape(I, K, I)  # one-hot image code: in-sample r would be 1
    r = augmentation_decoding(identity + 1e-3 * rng.standard_normal((I, K, I)), params, COLUMNS).r()
    assert np.all(r < 0.5), r


def test_content_augmentation_factorization_orthogonal_vs_overlapping():
    rng = np.random.default_rng(3)
    basis = orthonormal(rng, N, Q + P)
    C = basis[:, :Q] * rng.uniform(0.5, 2.0, Q)
    params = rng.uniform(size=(I, K, P))
    orth_resp, clean = linear_representation(rng, C, basis[:, Q:], params)
    factorized = content_augmentation_factorization(orth_resp, clean)
    assert np.allclose(factorized.values, np.sqrt(2.0), atol=1e-6)
    overlap_resp, clean = linear_representation(rng, C, C @ rng.standard_normal((Q, P)), params)
    entangled = content_augmentation_factorization(overlap_resp, clean)
    assert entangled.mean() < 1.0
    # Definition: per image, D_B of that image's augmented samples and all clean samples.
    assert entangled.values[3] == pytest.approx(bures_distance_from_samples(overlap_resp[3], clean), rel=1e-10)


def test_crop_photometric_factorization_orthogonal_vs_shared_subspace():
    rng = np.random.default_rng(4)
    basis = orthonormal(rng, N, Q + 2 * P)
    C = basis[:, :Q]
    crop_params, photo_params = rng.uniform(size=(I, K, P)), rng.uniform(size=(I, K, P))
    z = rng.standard_normal((I, 1, Q)) @ C.T

    def ensembles(W_crop, W_photo):
        return z + crop_params @ W_crop.T, z + photo_params @ W_photo.T

    W_crop = basis[:, Q : Q + P]
    factorized = crop_photometric_factorization(*ensembles(W_crop, basis[:, Q + P :]))
    assert np.allclose(factorized.values, np.sqrt(2.0), atol=1e-6)
    shared = crop_photometric_factorization(*ensembles(W_crop, W_crop @ np.diag([1.0, 1.1, 0.9, 1.05])))
    assert shared.mean() < 0.6  # finite-K estimates of the same-subspace covariances differ a little


def explicit_pair_mean(values: np.ndarray, sample: np.ndarray) -> float:
    """Reference: mean of values[a, b] over positions a != b of a resample whose originals differ."""
    pairs = [values[a, b] for i, a in enumerate(sample) for j, b in enumerate(sample) if i != j and a != b]
    return float(np.mean(pairs))


def test_bootstrap_statistics_match_explicit_resamples():
    rng = np.random.default_rng(5)
    n = 7
    D = rng.uniform(size=(n, n))
    D = D + D.T
    v = rng.uniform(size=n)
    counts = bootstrap_counts(n, 5, seed=3)
    pair_measure = ImageMeasure("shared_variability", "", D, np.arange(n))
    image_measure = ImageMeasure("content_augmentation_factorization", "", v, np.arange(n))
    for b, c in enumerate(counts):
        sample = np.repeat(np.arange(n), c.astype(int))
        assert pair_measure.resampled(counts)[b] == pytest.approx(explicit_pair_mean(D, sample), rel=1e-12)
        assert image_measure.resampled(counts)[b] == pytest.approx(v[sample].mean(), rel=1e-12)
    assert pair_measure.mean() == pytest.approx(D[np.triu_indices(n, 1)].mean(), rel=1e-12)


def test_decoding_bootstrap_r_matches_duplicated_rows():
    rng = np.random.default_rng(6)
    params = rng.uniform(size=(10, 5, P))
    result = augmentation_decoding(
        params @ rng.standard_normal((P, 8)) + rng.standard_normal((10, 5, 8)), params, COLUMNS
    )
    rows = result.rows(n_boot=50, seed=9)
    counts = bootstrap_counts(10, 50, seed=9)

    def fold_mean_r(keep: np.ndarray) -> float:
        """Reference: rows kept (with repeats) -> Pearson r within each test fold, mean over folds."""
        rs = [
            np.corrcoef(
                result.targets[keep[result.folds[keep] == f], 0], result.predictions[keep[result.folds[keep] == f], 0]
            )[0, 1]
            for f in np.unique(result.folds[keep])
        ]
        return float(np.nanmean(rs))

    boot = []
    for c in counts:
        keep = np.concatenate([np.flatnonzero(result.groups == g).repeat(int(m)) for g, m in enumerate(c)])
        boot.append(fold_mean_r(keep))
    low, high = np.nanpercentile(boot, [2.5, 97.5])
    assert rows[0]["ci_low"] == pytest.approx(low, rel=1e-9) and rows[0]["ci_high"] == pytest.approx(high, rel=1e-9)
    assert rows[0]["value"] == pytest.approx(fold_mean_r(np.arange(len(result.groups))), rel=1e-12)
    assert set(np.unique(result.folds)) == set(range(5))
    for f in range(5):  # GroupKFold: each image's rows all in one test fold
        assert len(np.unique(result.folds[result.groups == f])) == 1


def test_delta_is_paired_and_signed():
    rng = np.random.default_rng(7)
    base = ImageMeasure("crop_photometric_factorization", "x", rng.uniform(size=30), np.arange(30))
    more = ImageMeasure(base.quantity, "x", base.values + 0.1 + 0.01 * rng.standard_normal(30), np.arange(30))
    row = delta(more, base, n_boot=500)
    assert row["quantity"] == "delta_crop_photometric_factorization"
    assert row["value"] == pytest.approx(more.mean() - base.mean())
    # Paired: the interval reflects the small per-image differences, not the spread of values.
    assert 0.09 < row["ci_low"] < row["value"] < row["ci_high"] < 0.11
    same = delta(base, base, n_boot=50)
    assert same["value"] == 0.0 and same["ci_low"] == 0.0 == same["ci_high"]
    # The baseline is aligned by image id.
    shuffled = np.random.default_rng(0).permutation(30)
    permuted = ImageMeasure(base.quantity, "x", base.values[shuffled], np.arange(30)[shuffled])
    assert delta(base, permuted, n_boot=20)["value"] == pytest.approx(0.0, abs=1e-15)
    with pytest.raises(ValueError, match="different images"):
        delta(base, ImageMeasure(base.quantity, "x", base.values, np.arange(1, 31)))
    with pytest.raises(ValueError, match="cannot subtract"):
        delta(base, ImageMeasure("shared_variability", "x", base.values, np.arange(30)))


def test_dataarray_inputs_and_matched_check():
    rng = np.random.default_rng(8)
    from neuroequi.augment import COLUMNS as ALL_COLUMNS

    params = np.zeros((I, K, len(ALL_COLUMNS)))
    params[:, :, ALL_COLUMNS.index("crop_w")] = rng.uniform(0.3, 1.0, size=(I, K))
    params[:, :, ALL_COLUMNS.index("brightness")] = rng.uniform(0.6, 1.4, size=(I, K))
    W = rng.standard_normal((len(ALL_COLUMNS), N))
    values = params @ W + 0.05 * rng.standard_normal((I, 1, N))
    da = responses_array(values, [f"img{i}" for i in range(I)], params, ALL_COLUMNS, "full")
    result = augmentation_decoding(da)
    assert result.parameters == ("crop_w", "brightness")  # only the varying default parameters
    assert np.all(result.r() > 0.99)
    assert list(result.images[:2]) == ["img0", "img1"]
    with pytest.raises(ValueError, match="matched ensemble"):
        shared_variability(da)
    matched = responses_array(values, range(I), np.broadcast_to(params[:1], params.shape), ALL_COLUMNS, "matched")
    assert shared_variability(matched).values.shape == (I, I)


def test_invalid_inputs():
    rng = np.random.default_rng(9)
    with pytest.raises(ValueError, match="at least 2 augmentations"):
        shared_variability(rng.standard_normal((4, 1, 3)))
    with pytest.raises(ValueError, match="needs params"):
        augmentation_decoding(rng.standard_normal((4, 3, 3)))
    with pytest.raises(ValueError, match="unknown parameters"):
        augmentation_decoding(rng.standard_normal((4, 3, 3)), rng.uniform(size=(4, 3, 1)), ["a"], parameters=["b"])
    with pytest.raises(ValueError, match="n_splits"):
        augmentation_decoding(rng.standard_normal((4, 3, 3)), rng.uniform(size=(4, 3, 1)), ["a"], n_splits=5)
    with pytest.raises(ValueError, match="must be"):
        shared_variability(rng.standard_normal((4, 3)))
    with pytest.raises(ValueError, match="same images"):
        crop_photometric_factorization(rng.standard_normal((4, 3, 3)), rng.standard_normal((5, 3, 3)))


@pytest.mark.slow
def test_analyze_command_on_the_real_cifar_resnet(tmp_path):
    """`neuroequi analyze` on the supervised CIFAR ResNet-20 and its random init, real CIFAR-10 test images."""
    import pandas as pd

    from analyses.pipeline import TABLE_COLUMNS
    from neuroequi.cli import main

    common = ["n_images=12", "K=6", "progress=false"]
    (tmp_path / "analysis.yaml").write_text("n_boot: 100\nK: 4\n")  # K: overridden on the line
    sup, rand = tmp_path / "supervised", tmp_path / "random"
    assert (
        main(
            [
                "analyze",
                "--model",
                "cifar-resnet20-supervised",
                "--out",
                str(sup),
                "probe_train=400",
                "probe_test=300",
                "--config",
                str(tmp_path / "analysis.yaml"),
                *common,
            ]
        )
        == 0
    )
    table = pd.read_csv(sup / "measures.csv")
    assert tuple(table.columns) == TABLE_COLUMNS
    assert set(table["K"]) == {6} and set(table["n_images"]) == {12} and set(table["layer"]) == {"avgpool"}
    value = dict(zip(table["quantity"], table["value"]))
    for q in ("shared_variability", "content_augmentation_factorization", "crop_photometric_factorization"):
        assert 0.0 < value[q] < np.sqrt(2.0)
    assert value["decoding_r[crop_w]"] > 0.5  # crop scale is decodable from a trained network
    assert value["probe_accuracy"] > 0.5
    assert np.all(table["ci_low"] <= table["value"] + 1e-12) and np.all(table["value"] <= table["ci_high"] + 1e-12)
    cached = sorted(p.name for p in (sup / "responses").iterdir())
    assert len(cached) == 5 + 2  # five ensembles + the probe's train and test features

    assert (
        main(
            [
                "analyze",
                "--model",
                "cifar-resnet20-random",
                "--out",
                str(rand),
                "probe_train=0",
                "--baseline",
                str(sup),
                "n_boot=100",
                *common,
            ]
        )
        == 0
    )
    other = pd.read_csv(rand / "measures.csv")
    other_value = dict(zip(other["quantity"], other["value"]))
    for q in ("shared_variability", "content_augmentation_factorization", "crop_photometric_factorization"):
        assert other_value[f"delta_{q}"] == pytest.approx(other_value[q] - value[q], abs=1e-12)
    assert "probe_accuracy" not in other_value


def test_analyze_settings_are_checked_before_any_work(tmp_path, capsys):
    from neuroequi.cli import main

    for bad, named in (
        ("K=1", "K"),
        ("precision=fp16", "precision"),
        ("n_image=3", "n_image"),
        ("layer=layer9", "layer9"),
    ):
        assert main(["analyze", "--model", "cifar-resnet20-random", "--out", str(tmp_path), bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith("neuroequi: error: ") and named in err and err.count("\n") == 1
    assert not (tmp_path / "measures.csv").exists()


def test_weighted_r_is_the_pearson_r_of_the_repeated_rows():
    """Each (resample, column) r is np.corrcoef of the rows repeated by their weights; NaN where the weights are all
    zero or the column (a flag) is constant on the weighted rows; repeated calls give identical bits."""
    rng = np.random.default_rng(11)
    R = 40
    targets = np.column_stack([rng.uniform(size=R) + 1e3, (rng.random(R) < 0.2).astype(float), rng.normal(size=R)])
    predictions = targets * [1.0, 0.5, 0.2] + rng.normal(size=(R, 3)) * [1e-3, 0.3, 1.0]
    weights = rng.multinomial(R, np.full(R, 1 / R), size=6).astype(float)
    weights[0] = 0.0  # a fold left out of the resample
    weights[1] = 0.0
    weights[1, targets[:, 1] == 1] = 3.0  # the flag column constant (1) on the weighted rows
    r = _weighted_r(targets, predictions, weights)
    assert r.shape == (6, 3) and np.isnan(r[0]).all() and np.isnan(r[1, 1]) and np.isfinite(r[1:, [0, 2]]).all()
    for b in range(1, 6):
        keep = np.repeat(np.arange(R), weights[b].astype(int))
        for p in range(3):
            if b == 1 and p == 1:
                continue
            assert r[b, p] == pytest.approx(np.corrcoef(targets[keep, p], predictions[keep, p])[0, 1], rel=1e-10)
    assert np.array_equal(_weighted_r(targets, predictions, weights), r, equal_nan=True)
