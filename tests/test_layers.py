"""Per-layer scores (activations once, PCA-reduced layers), the score command's grammar, and region->layer
maps chosen on held-out data."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
import torch

from analyses.neural.layers import COLUMNS, resolve_layers, score_layers
from analyses.neural.reduction import LAYER_SELECTION, PCAProjection, Reduction, fit_groups
from neuroequi.errors import ConfigError

MODEL = "cifar-resnet20-supervised"


@pytest.fixture(scope="module")
def home(tmp_path_factory, data_root):
    """One zoo home for the module (scores and activations cached there, never from earlier runs)."""
    root = tmp_path_factory.mktemp("layers")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEUROEQUI_ZOO_HOME", str(root / "zoo"))
        yield root / "zoo"


@pytest.fixture(scope="module")
def unreduced(home):
    """Every layer of the ResNet-20 on Kiani2007.IT-rdm, with the default reduction (none)."""
    table, stages = score_layers(MODEL, ["Kiani2007.IT-rdm"], ["all"])
    return table, stages


def test_pca_projection_is_scikit_learns_up_to_sign():
    from sklearn.decomposition import PCA

    generator = torch.Generator().manual_seed(0)
    X = torch.randn(60, 8, generator=generator) @ torch.randn(8, 500, generator=generator) + 0.1 * torch.randn(
        60, 500, generator=generator
    )
    Y = torch.randn(7, 500, generator=generator)
    reference = PCA(n_components=20, random_state=0).fit(X.numpy())
    ours = PCAProjection(X.clone(), 20)
    expected, got = reference.transform(Y.numpy()), ours(Y).numpy()
    signs = np.sign((expected * got).sum(axis=0))
    np.testing.assert_allclose(got * signs, expected, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(ours.explained_variance.numpy(), reference.explained_variance_, rtol=1e-4)
    assert PCAProjection(X.clone(), 60).components == 59  # centred n images have rank n - 1: no zero-variance axis


def test_layers_are_grouped_under_the_fit_memory_budget():
    counts = {"a": 60_000, "b": 200_000, "c": 50, "d": 30_000, "e": 40_000}
    reduction = Reduction(components=100, images=1000, max_fit_gb=0.5)  # 0.5 GiB = 134,217 fit features
    groups = fit_groups(counts, reduction)
    assert [layer for group in groups for layer in group] == list(counts)
    assert groups == [["a"], ["b"], ["c", "d", "e"]]
    for group in groups:
        size = sum(reduction.images * counts[l] * 4 for l in group if counts[l] > reduction.components)
        assert len(group) == 1 or size <= reduction.max_fit_gb * 2**30
    assert fit_groups(counts, Reduction(components=0)) == [list(counts)]


def test_unreduced_layer_scores_equal_the_committed_score_and_activations_are_reused(unreduced, monkeypatch):
    from analyses.neural import activation_store
    from analyses.neural.scoring import score

    table, stages = unreduced
    assert list(table.columns) == list(COLUMNS) and list(table["layer"]) == ["layer1", "layer2", "layer3", "avgpool"]
    committed = score(MODEL, "Kiani2007.IT-rdm")  # IT -> layer3, through the zoo's PytorchWrapper
    assert committed["region_layer_map"]["IT"] == "layer3"
    assert abs(table.set_index("layer").loc["layer3", "score"] - committed["score"]) <= 1e-6
    assert (table["features"] == table["reduced_from"]).all() and stages["activations"]["peak_rss_gb"] > 0
    assert (table["reduction"] == "none").all() and committed["reduction"] == "none"

    def no_network(*args, **kwargs):
        raise AssertionError("activations were recomputed")

    monkeypatch.setattr(activation_store, "layer_activations", no_network)
    again, _ = score_layers(MODEL, ["Kiani2007.IT-rdm"], ["layer2", "avgpool"], Reduction(components=0))
    pd.testing.assert_series_equal(
        again.set_index("layer")["score"], table.set_index("layer").loc[["layer2", "avgpool"], "score"]
    )


def test_large_layers_are_reduced_to_principal_components(unreduced):
    reduced, _ = score_layers(MODEL, ["Kiani2007.IT-rdm"], ["layer3", "avgpool"], Reduction(components=50, images=100))
    rows = reduced.set_index("layer")
    assert rows.loc["layer3", ["features", "reduced_from"]].tolist() == [50, 4096]
    assert rows.loc["avgpool", ["features", "reduced_from"]].tolist() == [50, 64]
    assert (rows["reduction"] == "pca50-cifar10test100").all()
    assert np.isfinite(rows["score"]).all()
    assert rows.loc["layer3", "score"] != unreduced[0].set_index("layer").loc["layer3", "score"]


def test_score_command_writes_table_plot_and_run(unreduced, home, tmp_path, capsys):
    from neuroequi.cli import main

    out = tmp_path / "out"
    assert (
        main(
            [
                "score",
                "--model",
                MODEL,
                "--benchmark",
                "Kiani2007.IT-rdm",
                "--layers",
                "all",
                "--out",
                str(out),
                "reduction.components=0",
            ]
        )
        == 0
    )
    table = pd.read_csv(out / "layer_scores.csv")
    assert {"layer", "benchmark", "score", "error", "ceiling"} <= set(table.columns) and len(table) == 4
    np.testing.assert_allclose(table["score"], unreduced[0]["score"], rtol=1e-5)
    run = json.loads((out / "run.json").read_text())
    assert set(run["stages"]) == {"activations", "scores"} and run["peak_rss_gb"] > 0
    assert (out / "layer_scores.png").read_bytes().startswith(b"\x89PNG")


def test_score_settings_as_keys_and_a_users_layer_map(unreduced, capsys):
    from neuroequi.cli import main

    assert (
        main(["score", f"model={MODEL}", "benchmarks=[Kiani2007.IT-rdm]", "region_layer_map={IT: layer2}", "--json"])
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["region_layer_map"]["IT"] == "layer2" and "overridden by the user" in result["layer_map_source"]
    assert abs(result["score"] - unreduced[0].set_index("layer").loc["layer2", "score"]) <= 1e-6


def test_bad_layers_and_online_benchmarks_are_one_line_errors(home, capsys):
    from neuroequi.cli import main

    assert main(["score", "--model", MODEL, "--benchmark", "Kiani2007.IT-rdm", "--layers", "layer9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neuroequi: error: layer 'layer9' not in") and err.count("\n") == 1
    assert main(["score", "--model", MODEL, "--benchmark", "Kiani2007.IT-rdm", "region_layer_map={V9: layer1}"]) == 2
    assert "unknown region(s) ['V9']" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="per-layer scores run on the local benchmarks"):
        score_layers(MODEL, ["MajajHong2015public.IT-pls"], ["all"])


def test_the_default_reduction_is_brainscores_scoring_and_layers_follow_the_network(home):
    from model_zoo import load

    assert Reduction().key == "none" and LAYER_SELECTION.key == "pca1000-cifar10test1000"
    assert resolve_layers(load(MODEL), ["avgpool", "layer1", "layer3"]) == ["layer1", "layer3", "avgpool"]


def test_layers_on_a_ceiled_v4_benchmark_equal_the_committed_score(home):
    from analyses.neural.scoring import score

    table, _ = score_layers(MODEL, ["Cowley2023-210325.V4-pls"], ["avgpool"])
    committed = score(MODEL, "Cowley2023-210325.V4-pls", region_layer_map={"V4": "avgpool"})
    row = table.iloc[0]
    assert row["benchmark"] == "Cowley2023-210325.V4-pls" and np.isfinite(row["ceiling"]) and row["ceiling"] > 0
    for key in ("score", "raw", "ceiling"):
        assert abs(row[key] - committed[key]) <= 1e-6, key
    # explained variance: score = raw^2 / ceiling
    assert row["score"] == pytest.approx(row["raw"] ** 2 / row["ceiling"], rel=1e-5)


def test_a_failed_benchmark_keeps_the_finished_rows_and_a_rerun_resumes(home, tmp_path, monkeypatch):
    import analyses.neural as neural

    real, calls, failing = neural.run_benchmark, [], {"Kriegeskorte2008.hIT-rdm"}

    def run_benchmark(bench, candidate):
        calls.append((candidate.identifier.rsplit("-", 1)[1], bench.identifier))
        if bench.identifier in failing:
            raise RuntimeError("stopped")
        return real(bench, candidate)

    benchmarks, layers = ["Kiani2007.IT-rdm", "Kriegeskorte2008.hIT-rdm"], ["layer3", "avgpool"]
    monkeypatch.setattr(neural, "run_benchmark", run_benchmark)
    with pytest.raises(RuntimeError, match="stopped"):
        score_layers(MODEL, benchmarks, layers, save_dir=tmp_path)
    kept = pd.read_csv(tmp_path / "layer_scores.csv")
    assert kept[["layer", "benchmark", "reduction"]].values.tolist() == [["layer3", "Kiani2007.IT-rdm", "none"]]

    failing.clear()
    calls.clear()
    table, _ = score_layers(MODEL, benchmarks, layers, save_dir=tmp_path)
    assert ("layer3", "Kiani2007.IT-rdm") not in calls and len(calls) == 3  # the finished row is not rescored
    assert table[["layer", "benchmark"]].values.tolist() == [[l, b] for l in layers for b in benchmarks]
    assert table.iloc[0]["score"] == pytest.approx(kept.iloc[0]["score"], rel=1e-5)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "layer_scores.csv"), table, check_dtype=False, rtol=1e-5)
    # a saved row of other settings (another reduction) is not reused
    other, _ = score_layers(
        MODEL, ["Kiani2007.IT-rdm"], ["avgpool"], Reduction(components=50, images=100), save_dir=tmp_path
    )
    assert other.iloc[0]["reduction"] == "pca50-cifar10test100"


def test_two_cache_folders_in_turn_score_and_agree(home, tmp_path, monkeypatch):
    """Brain-Score's activation cache (one RESULTCACHING_HOME for the session) once crashed when the
    stimuli moved with XDG_CACHE_HOME; a damaged entry of our own activation cache is recomputed."""
    from analyses.neural.scoring import score

    results = []
    for run in ("first", "second", "first"):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / run / "cache"))
        monkeypatch.setenv("NEUROEQUI_ZOO_HOME", str(tmp_path / run / "zoo"))
        committed = score(MODEL, "Kiani2007.IT-rdm", recompute=True)
        table, _ = score_layers(MODEL, ["Kiani2007.IT-rdm"], ["layer3"])
        results.append((committed["score"], float(table["score"].iloc[0])))
        for stored in (tmp_path / run / "zoo" / "activations").rglob("layer3.npy"):
            stored.write_bytes(b"damaged")  # the next run in this folder must recompute it
    assert np.isfinite(results).all()
    np.testing.assert_allclose(results, [results[0]] * 3, atol=1e-6)
    assert abs(results[0][0] - results[0][1]) <= 1e-6


def test_activations_over_the_memory_limit_are_refused_before_any_image_runs(home):
    from analyses.neural.reduction import held_bytes

    counts = {"layer1": 802_816, "avgpool": 2048}
    assert held_bytes(counts, 1000, Reduction()) == 4 * 1000 * (802_816 + 2048)
    assert held_bytes(counts, 1000, LAYER_SELECTION) == 4 * 1000 * (1000 + 1000)
    with pytest.raises(ConfigError, match="reduction.components=1000"):  # layer1: 16,384 x 92 x 4 bytes
        score_layers(MODEL, ["Kiani2007.IT-rdm"], ["layer1"], Reduction(max_held_gb=0.001))


def test_a_reduction_without_layers_is_a_one_line_error(home, capsys):
    from neuroequi.cli import main

    assert main(["score", "--model", MODEL, "--benchmark", "Kiani2007.IT-rdm", "reduction.components=1000"]) == 2
    err = capsys.readouterr().err
    assert "a reduction applies to per-layer scores" in err and err.count("\n") == 1


# --------------------------------------------------------------------------- held-out layer choice


def _image_hashes(benchmark) -> set[str]:
    from analyses.neural.benchmarks import benchmark_stimuli

    hashes = set()
    for stimulus_set, _ in benchmark_stimuli(benchmark):
        for stimulus_id in stimulus_set["stimulus_id"]:
            hashes.add(hashlib.sha256(stimulus_set.get_stimulus(stimulus_id).read_bytes()).hexdigest())
    return hashes


def test_layers_are_chosen_on_data_no_score_uses(home):
    from analyses.neural import load_benchmark
    from analyses.neural.commitment import SELECTION_BENCHMARKS

    v4 = load_benchmark(SELECTION_BENCHMARKS["V4"])
    for scored in ("Cowley2023.V4-pls", "Cowley2023-210325.V4-pls"):
        test = load_benchmark(scored)
        assert not _image_hashes(v4) & _image_hashes(test)
        assert not set(v4.sessions) & set(getattr(test, "sessions", ("210325",)))
    it, kiani = load_benchmark(SELECTION_BENCHMARKS["IT"]), load_benchmark("Kiani2007.IT-rdm")
    assert it.target_rdm.shape == kiani.target_rdm.shape and not np.allclose(it.target_rdm, kiani.target_rdm)


@pytest.mark.slow
def test_a_chosen_map_is_recorded_used_by_score_and_overridable(home):
    from analyses.neural.commitment import choose_region_layer_map
    from analyses.neural.layer_maps import recorded_commitment
    from analyses.neural.scoring import score
    from model_zoo import load

    loaded = load(MODEL)
    record = choose_region_layer_map(loaded, reduction=Reduction(components=50, images=100))
    assert recorded_commitment(loaded.identifier) == record
    for region in ("V1", "V2", "V4", "IT"):
        scores = record["chosen_by"][region]["scores"]
        assert set(scores) == set(loaded.layers) and record["region_layer_map"][region] == max(scores, key=scores.get)
    result = score(loaded, "Kiani2007.IT-rdm")
    assert result["region_layer_map"] == record["region_layer_map"]
    assert result["layer_map_source"].startswith("chosen on held-out data: IT=")
    other = next(l for l in loaded.layers if l != record["region_layer_map"]["IT"])
    overridden = score(loaded, "Kiani2007.IT-rdm", region_layer_map={"IT": other})
    assert overridden["region_layer_map"]["IT"] == other and overridden["score"] != result["score"]
    # scored on the IT selection data itself, IT keeps the catalogue's layer
    own = score(loaded, record["chosen_by"]["IT"]["benchmark"])
    assert (
        own["region_layer_map"]["IT"] == loaded.region_layer_map["IT"]
        and "kept at the catalogue" in own["layer_map_source"]
    )


def test_stimulus_sets_are_keyed_on_their_pixels_under_a_relocatable_folder(tmp_path, monkeypatch):
    from PIL import Image

    from analyses.neural.data import make_stimulus_set

    def images(value):
        return [Image.new("RGB", (4, 4), (value, 0, 0)), Image.new("RGB", (4, 4), (0, value, 0))]

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "a"))
    first = make_stimulus_set("toy", images(10), ["s0", "s1"])
    again = make_stimulus_set("toy", images(10), ["s0", "s1"])
    other = make_stimulus_set("toy", images(11), ["s0", "s1"])
    assert first.identifier == again.identifier != other.identifier and first.identifier.startswith("toy-")
    assert make_stimulus_set("toy", images(10), ["s0", "s1"], content_key=False).identifier == "toy"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "b"))
    moved = make_stimulus_set("toy", images(10), ["s0", "s1"])
    assert moved.identifier == first.identifier
    for stimulus_set, root in ((first, "a"), (moved, "b")):
        path = stimulus_set.get_stimulus("s1")
        assert path.is_relative_to(tmp_path / root) and ".brainio" in path.parts  # Brain-Score compares from there
        assert Image.open(path).getpixel((0, 0)) == (0, 10, 0)
