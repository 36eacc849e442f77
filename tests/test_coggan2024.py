"""Brain-Score's Coggan2024 fMRI benchmarks offline, and the human-IT RDM of the 92 images."""

from __future__ import annotations

import hashlib
import importlib
import shutil

import numpy as np
import pytest

from analyses.neural.coggan2024 import (
    COGGAN_BENCHMARKS,
    STIMULUS_SET_IDENTIFIER,
    coggan_assembly,
    coggan_benchmark,
    coggan_proto_assembly,
    coggan_stimulus_set,
    local_data,
)

COMMIT = "c019c8039afbfa83f46c4a8d942c48662b432f96"
IT = "tong.Coggan2024_fMRI.IT-rdm"
HIT = "Kriegeskorte2008.hIT-rdm"
MODELS = ("cifar-resnet20-supervised", "cifar-resnet20-random")
# Column order of Brain-Score's published stimulus CSV (its packaging writes the columns of a Python
# set, so the order is not derivable); found by matching the csv_sha1 in packaged_stimulus_metadata.pkl
# (brain-score/vision @ c019c80, brainscore_vision/data/coggan2024_fMRI/).
PUBLISHED_CSV_COLUMNS = (
    "imagenet_class_name",
    "object_name",
    "occlusion_condition",
    "filename",
    "imagenet_class_description",
    "imagenet_path",
    "stimulus_id",
    "imagenet_class_index_1K",
)


def off_diagonal(matrix: np.ndarray) -> np.ndarray:
    """The off-diagonal entries of a square matrix, row-major."""
    return matrix[~np.eye(len(matrix), dtype=bool)]


def test_files_are_registered_with_their_source(data_root):
    from neuroequi.data import dataset_files

    files = {f.relpath: f for f in dataset_files("coggan2024_fmri")}
    assert len(files) == 28 and len([p for p in files if p.startswith("coggan2024_fmri/stimuli/")]) == 24
    base = f"https://raw.githubusercontent.com/brain-score/vision/{COMMIT}"
    assert files["coggan2024_fmri/dataset.pkl"].url == f"{base}/brainscore_vision/data/coggan2024_fMRI/dataset.pkl"
    assert files["coggan2024_fmri/LICENSE"].url == f"{base}/LICENSE"
    sums = dict(line.split()[::-1] for line in (data_root / "SHA256SUMS.txt").read_text().splitlines())
    for relpath, entry in files.items():
        assert sums[f"./{relpath}"] == entry.sha256, relpath


def test_loader_shapes_and_order(data_root):
    from neuroequi.data import COGGAN2024_REGIONS, coggan2024

    data = coggan2024()
    assert data.stimulus_ids == sorted(p.stem for p in (data_root / "coggan2024_fmri" / "stimuli").glob("*.png"))
    assert [p.stem for p in data.stimulus_paths] == data.stimulus_ids
    assert tuple(data.rsms) == COGGAN2024_REGIONS
    for subjects in data.rsms.values():
        assert list(subjects) == [f"sub-{k}" for k in range(9)]
        assert all(m.shape == (24, 24) and np.isfinite(m).all() for m in subjects.values())
    assert (
        data.packaged["assembly"]["identifier"]
        == data.packaged["stimulus_set"]["identifier"]
        == STIMULUS_SET_IDENTIFIER
    )


def test_stimulus_set_is_brainscores_published_one():
    from brainscore_core.supported_data_standards.brainio.packaging import (
        extract_specific,
    )
    from PIL import Image

    from neuroequi.data import coggan2024

    data = coggan2024()
    stimulus_set = coggan_stimulus_set()
    assert stimulus_set.identifier == STIMULUS_SET_IDENTIFIER
    assert list(stimulus_set["stimulus_id"]) == data.stimulus_ids
    # The columns Brain-Score's packaging writes (create_stimulus_csv: the set's extract_specific columns,
    # DataFrame.to_csv without index), in the published order, reproduce the published file byte for byte.
    assert set(extract_specific(stimulus_set)) == set(PUBLISHED_CSV_COLUMNS)
    csv = stimulus_set[list(PUBLISHED_CSV_COLUMNS)].to_csv(index=False).encode()
    assert hashlib.sha1(csv).hexdigest() == data.packaged["stimulus_set"]["csv_sha1"]
    for stimulus_id, original in zip(data.stimulus_ids, data.stimulus_paths):
        with Image.open(stimulus_set.get_stimulus(stimulus_id)) as ours, Image.open(original) as theirs:
            assert ours.mode == theirs.mode
            np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_assembly_is_what_brainscores_writer_and_loader_give(tmp_path):
    """Ours equals the packaged assembly written by brainio's write_netcdf and read back by its loader."""
    from brainscore_core.supported_data_standards.brainio.assemblies import (
        NeuroidAssembly,
        StimulusMergeAssemblyLoader,
    )
    from brainscore_core.supported_data_standards.brainio.packaging import write_netcdf

    from neuroequi.data import coggan2024

    stimulus_set = coggan_stimulus_set()
    write_netcdf(NeuroidAssembly(coggan_proto_assembly(stimulus_set)), tmp_path / "assy.nc")
    loaded = StimulusMergeAssemblyLoader(
        cls=NeuroidAssembly,
        file_path=tmp_path / "assy.nc",
        stimulus_set_identifier=STIMULUS_SET_IDENTIFIER,
        stimulus_set=stimulus_set,
    ).load()
    ours = coggan_assembly()
    assert ours.dims == loaded.dims == ("presentation", "presentation", "neuroid")
    assert ours.shape == (24, 24, 36)
    np.testing.assert_array_equal(ours.values, loaded.values)
    assert set(ours.coords) == set(loaded.coords)
    for name in ours.coords:
        if name not in ("presentation", "neuroid"):
            assert list(ours[name].values) == list(loaded[name].values), name
    assert ours.attrs["stimulus_set_identifier"] == loaded.attrs["stimulus_set_identifier"]
    assert ours.attrs["identifier"] == STIMULUS_SET_IDENTIFIER
    data = coggan2024()
    assert list(ours["stimulus_id"].values) == data.stimulus_ids  # the RSMs' rows: sorted files
    for region, subjects in data.rsms.items():
        for k, (subject, rsm) in enumerate(subjects.items()):
            column = ours.sel(region=region).isel(subject=k)
            assert column["subject"].item() == subject
            np.testing.assert_array_equal(column.values, rsm)


def test_brainscores_own_data_tests_pass_on_the_local_data():
    """Brain-Score's tests of the Coggan2024 data plugin, run against our loaders (not S3)."""
    import brainscore_vision

    plugin_tests = importlib.import_module("brainscore_vision.data.coggan2024_fMRI.test")
    original = brainscore_vision.data_registry["Coggan2024_fMRI"]
    with local_data():
        assert brainscore_vision.load_dataset("Coggan2024_fMRI").attrs["identifier"] == STIMULUS_SET_IDENTIFIER
        plugin_tests.test_Coggan2024_fMRI_stimuli()
        plugin_tests.test_Coggan2024_fMRI_dataset()
    assert brainscore_vision.data_registry["Coggan2024_fMRI"] is original


def test_benchmarks_are_brainscores_classes():
    from brainscore_vision.benchmarks.coggan2024_fMRI.benchmark import (
        Coggan2024_fMRI_Benchmark,
    )

    from analyses.neural import benchmark_names, is_online, load_benchmark

    for name, region in COGGAN_BENCHMARKS.items():
        benchmark = load_benchmark(name)
        assert isinstance(benchmark, Coggan2024_fMRI_Benchmark)
        assert benchmark.identifier == name and benchmark.region == region
        assert benchmark._assembly.sizes["subject"] == 9 and "(r / ceiling)^2" in benchmark.ceiling_formula
        assert name in benchmark_names() and not is_online(name)
    with pytest.raises(ValueError, match="unknown Coggan2024 benchmark"):
        coggan_benchmark("tong.Coggan2024_fMRI.V3-rdm")


@pytest.fixture
def coggan_copy(tmp_path, data_root, monkeypatch):
    """A writable copy of the Coggan files as the data directory, offline."""
    folder = tmp_path / "coggan2024_fmri"
    shutil.copytree(data_root / "coggan2024_fmri", folder, copy_function=shutil.copyfile)
    monkeypatch.setenv("NEUROEQUI_DATA", str(tmp_path))
    monkeypatch.setenv("NEUROEQUI_OFFLINE", "1")
    return folder


def _assert_names_file_sha_and_source(message: str, path, relpath: str) -> None:
    from neuroequi.data import registered_files

    entry = registered_files()[relpath]
    assert str(path) in message and entry.sha256[:12] in message
    assert f"raw.githubusercontent.com/brain-score/vision/{COMMIT}/" in message


def test_corrupt_file_is_a_clear_error(coggan_copy):
    from neuroequi.errors import NeuroequiError

    target = coggan_copy / "dataset.pkl"
    payload = bytearray(target.read_bytes())
    payload[100] ^= 0xFF
    target.write_bytes(bytes(payload))
    with pytest.raises(NeuroequiError, match="corrupt") as err:
        coggan_benchmark(IT)
    _assert_names_file_sha_and_source(str(err.value), target, "coggan2024_fmri/dataset.pkl")


def test_missing_file_is_a_clear_error(coggan_copy):
    from neuroequi.errors import NeuroequiError

    target = coggan_copy / "stimuli" / "teapot_upper.png"
    target.unlink()
    with pytest.raises(NeuroequiError, match="missing") as err:
        coggan_benchmark(IT)
    _assert_names_file_sha_and_source(str(err.value), target, "coggan2024_fmri/stimuli/teapot_upper.png")


def test_human_it_benchmark_targets_the_human_rdm():
    from analyses.neural import load_benchmark
    from neuroequi.data import kriegeskorte92

    data = kriegeskorte92()
    benchmark = load_benchmark(HIT)
    assert benchmark.identifier == HIT and "kriegeskorte2008matching" in benchmark.bibtex
    np.testing.assert_array_equal(benchmark.target_rdm, data.rdm_human_it)
    assert not np.allclose(data.rdm_human_it, data.rdm_monkey_it)
    np.testing.assert_array_equal(load_benchmark("Kiani2007.IT-rdm").target_rdm, data.rdm_monkey_it)


@pytest.fixture(scope="module")
def table(data_root):
    """Both zoo models (random: seeds 0 and 1) on the four Coggan benchmarks and human IT, by the report code."""
    from analyses.neural.rdm_report import RDMReportConfig, report

    return report(RDMReportConfig(seeds=(0, 1), benchmarks=(*COGGAN_BENCHMARKS, HIT)))


def test_scores_through_brainscores_classes_are_finite(table):
    assert len(table) == 3 * 5
    assert np.isfinite(table[["score", "raw"]].to_numpy()).all()
    assert set(table["model"]) == {*MODELS, "cifar-resnet20-random-seed1"}
    assert table.groupby("model")["identifier"].nunique().eq(1).all() and table["identifier"].nunique() == 3
    coggan = table[table["benchmark"].isin(COGGAN_BENCHMARKS)]
    assert (coggan["n_subjects"] == 9).all()
    assert (coggan["score"] >= 0).all() and (coggan["score"] <= 1).all()
    # Brain-Score's ceiler: (r / ceiling)^2 clipped at 1 -- the sign of r is gone from the score.
    np.testing.assert_allclose(coggan["score"], np.minimum(1, (coggan["raw"] / coggan["ceiling"]) ** 2), rtol=1e-12)
    unceiled = table[table["benchmark"] == HIT]
    np.testing.assert_array_equal(unceiled["score"], unceiled["raw"])
    assert unceiled["ceiling"].isna().all()


def test_ceiling_is_leave_one_subject_out(table):
    """The ceiling Brain-Score computes from our assembly = the leave-one-subject-out r, written out here."""
    from neuroequi.data import coggan2024

    rsms = coggan2024().rsms
    for name, region in COGGAN_BENCHMARKS.items():
        stack = np.stack(list(rsms[region].values()))
        expected = np.mean(
            [
                np.corrcoef(off_diagonal(stack[s]), off_diagonal(np.delete(stack, s, axis=0).mean(axis=0)))[0, 1]
                for s in range(len(stack))
            ]
        )
        assert table.loc[table["benchmark"] == name, "ceiling"].to_numpy() == pytest.approx(expected, rel=1e-12)


def test_trained_resnet20_beats_random_weights_on_human_it(table):
    hit = table[table["benchmark"] == HIT].set_index("model")["score"]
    trained = hit.pop("cifar-resnet20-supervised")
    print(f"\n{HIT}: trained {trained:.3f}, random {hit.round(3).to_dict()}")
    assert (trained > hit + 0.1).all()


def test_random_seeds_are_distinct_draws():
    from analyses.neural.rdm_report import reseeded_entry
    from model_zoo.catalogue import get_entry

    assert reseeded_entry("cifar-resnet20-random", 0) == get_entry("cifar-resnet20-random")
    reseeded = reseeded_entry("cifar-resnet20-random", 3)
    assert reseeded.name == "cifar-resnet20-random-seed3" and reseeded.source.location == "3"
    with pytest.raises(ValueError, match="not a random initialisation"):
        reseeded_entry("cifar-resnet20-supervised", 1)
