"""Fault injection of issue 23: stale reuse, shared zoos, damaged checkpoints, errors after the work.

Like ``test_faults.py`` (whose helpers and tiny trainings this module uses), each case asserts what
the user sees (exit code 2 and one ``neuroequi: error:`` line naming the problem, no traceback) and
that nothing was lost or changed. The stale-lock race is in ``test_locks.py``.
"""

from __future__ import annotations

import errno
import importlib
import os
import shutil
import struct
import tempfile
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
from test_faults import cache, fails, finished, one_error_line, snapshot, zoo  # noqa: F401  (fixtures)

from neuroequi.cli import main
from neuroequi.errors import CheckpointError, ConfigError, WriteError
from neuroequi.io import sha256_file

# ------------------------------------------------------------------------------------ damaged checkpoints


def plant(path: Path, value: float = 1e30) -> None:
    """Overwrite every float32 of every tensor record of the torch archive ``path`` with ``value``
    in place (the zip's CRCs are then wrong; size and layout are unchanged)."""
    with zipfile.ZipFile(path) as archive:
        records = [info for info in archive.infolist() if "/data/" in info.filename and info.file_size >= 4]
    with open(path, "r+b") as fh:
        for info in records:
            fh.seek(info.header_offset + 26)
            name_len, extra_len = struct.unpack("<HH", fh.read(4))
            fh.seek(info.header_offset + 30 + name_len + extra_len)
            fh.write(struct.pack("<f", value) * (info.file_size // 4))


def test_damaged_checkpoint_is_refused_at_registration_and_at_load(tmp_path, finished, zoo, capsys):  # noqa: F811
    """Issue 23: 1e30 planted into every tensor record was accepted by `zoo add`, scored and analysed."""
    good = Path(shutil.copyfile(finished / "checkpoints" / "final.pt", tmp_path / "good.pt"))
    bad = Path(shutil.copyfile(good, tmp_path / "bad.pt"))
    plant(bad)
    fails(capsys, ["zoo", "add", str(bad)], str(bad), "CRC-32")
    assert not (zoo / "catalogue.json").exists()
    fails(capsys, ["analyze", "--model", str(bad), "--out", str(tmp_path / "a"), "probe_train=0"], str(bad), "CRC-32")
    assert not (tmp_path / "a").exists()

    assert main(["zoo", "add", str(good), "--name", "mine"]) == 0
    recorded = sha256_file(good)
    plant(good)  # damaged after registration: the hash no longer matches either
    before = snapshot(zoo, good)
    fails(
        capsys, ["score", "--model", "mine", "--benchmark", "Kiani2007.IT-rdm"], str(good), recorded, sha256_file(good)
    )
    assert snapshot(zoo, good) == before


def test_archive_check_names_the_damaged_record(tmp_path, finished):  # noqa: F811
    from neuroequi.checkpoint import load_checkpoint

    bad = Path(shutil.copyfile(finished / "checkpoints" / "final.pt", tmp_path / "bad.pt"))
    plant(bad, float("nan"))
    with pytest.raises(CheckpointError, match=r"record '.*/data/\d+' fails"):
        load_checkpoint(bad)


# ------------------------------------------------------------------------------------ analysis API: no quiet NaN


def test_decoding_refuses_a_nan_parameter_instead_of_dropping_it():
    """Issue 23: one NaN in a parameter dropped it; decoding_r_mean was "over 1 parameters"."""
    from analyses.measures import augmentation_decoding

    rng = np.random.default_rng(0)
    params = rng.uniform(size=(6, 4, 2))
    responses = np.concatenate([params, rng.normal(size=(6, 4, 3))], axis=2)
    assert augmentation_decoding(responses, params, ["brightness", "contrast"], n_splits=3).parameters == (
        "brightness",
        "contrast",
    )
    params[2, 1, 1] = np.nan
    with pytest.raises(ConfigError, match=r"augmentation parameter 'contrast' hold 1 NaN.*index \(2, 1\)"):
        augmentation_decoding(responses, params, ["brightness", "contrast"], n_splits=3)
    responses[0, 0, 0] = np.inf
    with pytest.raises(ConfigError, match="responses hold 1 NaN or inf"):
        augmentation_decoding(responses, params, ["brightness", "contrast"], n_splits=3)


def test_hierarchical_interval_refuses_nan_scores():
    """Issue 23: [[nan, .5, .6, .7, .4]] gave (nan, 0.456, 0.645) from the resamples that missed the NaN."""
    from analyses.hierarchical import hierarchical_interval

    mean, low, high = hierarchical_interval(np.array([[0.3, 0.5, 0.6, 0.7, 0.4]]), n_boot=200)
    assert low <= mean <= high and mean == pytest.approx(0.5)
    for scores in ([[np.nan, 0.5, 0.6, 0.7, 0.4]], [[0.1, 0.5], [np.inf, 0.2]]):
        with pytest.raises(ConfigError, match="scores hold 1 NaN or inf"):
            hierarchical_interval(np.array(scores), n_boot=200)


def test_r2_score_never_returns_nan():
    from analyses.augmentation_prediction import r2_score

    y = np.arange(8.0).reshape(4, 2)
    assert r2_score(y, y)[0] == 1.0
    with pytest.raises(ConfigError, match="r2_score predictions hold 1 NaN"):
        r2_score(np.where(y == 3, np.nan, y), y)
    with pytest.raises(ConfigError, match="r2_score targets hold"):
        r2_score(y, np.where(y == 3, np.inf, y))
    with pytest.raises(ConfigError, match="targets do not vary"):
        r2_score(y, np.ones_like(y))
    with pytest.raises(ConfigError, match="do not vary .under 1 of 2"):  # a resample of one row
        r2_score(y, np.array([[0, 1], [2, 2], [4, 5], [6, 7]]), np.array([[1, 1, 1, 1], [0, 4, 0, 0]]))


def test_image_measure_row_is_finite_or_an_error():
    from analyses.measures import ImageMeasure

    pairs = np.array([[np.nan, 0.2, 0.3], [0.2, np.nan, 0.4], [0.3, 0.4, np.nan]])  # the diagonal is unused
    row = ImageMeasure("shared_variability", "x", pairs, np.arange(3)).row(n_boot=50)
    assert np.isfinite([row["value"], row["ci_low"], row["ci_high"]]).all()
    pairs[0, 1] = np.nan
    with pytest.raises(ConfigError, match="shared_variability values hold 1 NaN"):
        ImageMeasure("shared_variability", "x", pairs, np.arange(3))
    with pytest.raises(ConfigError, match="too few"):
        ImageMeasure("shared_variability", "x", np.zeros((1, 1)), np.arange(1))
    with pytest.raises(ConfigError, match="per_image values hold 1 NaN"):
        ImageMeasure("per_image", "x", np.array([0.1, np.nan]), np.arange(2))


# ------------------------------------------------------------------------------------ write failures: one line, nothing lost


@pytest.fixture
def full_disk(monkeypatch):
    """Every file written through :func:`neuroequi.io.atomic_write` lands on ``/dev/full``: ENOSPC, as on a full disk."""
    import neuroequi.io

    def mkstemp(*args, **kwargs):
        fd, name = tempfile.mkstemp(*args, **kwargs)
        os.close(fd)
        os.unlink(name)
        os.symlink("/dev/full", name)
        return os.open(name, os.O_WRONLY), name

    monkeypatch.setattr(neuroequi.io, "tempfile", types.SimpleNamespace(mkstemp=mkstemp))


def test_full_disk_during_a_checkpoint_write_names_the_file_and_keeps_the_old_one(tmp_path, finished, full_disk):  # noqa: F811
    """Issue 23: torch's `RuntimeError: [enforce fail at inline_container.cc:672] unexpected pos` hid ENOSPC."""
    from neuroequi.checkpoint import load_checkpoint, save_checkpoint

    target = Path(shutil.copyfile(finished / "checkpoints" / "final.pt", tmp_path / "last.pt"))
    before = snapshot(tmp_path)
    with pytest.raises(WriteError, match=rf"cannot write '{target}': No space left on device \(ENOSPC\)") as err:
        save_checkpoint(load_checkpoint(target), target)
    assert err.value.errno == errno.ENOSPC
    assert snapshot(tmp_path) == before  # the old checkpoint intact, no temporary left behind


def test_read_only_output_is_one_line(tmp_path, monkeypatch, capsys):
    """Issue 23: read-only output folders gave PermissionError tracebacks (root ignores modes: injected)."""
    import neuroequi.io

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", kwargs.get("dir"))

    def no_work(*args, **kwargs):
        raise AssertionError("the benchmark ran before its output was checked")

    monkeypatch.setattr(neuroequi.io, "tempfile", types.SimpleNamespace(mkstemp=refuse))
    monkeypatch.setattr(importlib.import_module("analyses.augmentation_prediction"), "augmentation_prediction", no_work)
    fails(
        capsys,
        [
            "augmentation-prediction",
            "--model",
            "cifar-resnet20-random",
            "--out",
            str(tmp_path / "o"),
            "n_train=8",
            "n_test=8",
            "families=[flip]",
            "n_boot=10",
            "progress=false",
        ],
        "cannot write",
        str(tmp_path / "o"),
        "Permission denied (EACCES)",
    )


def test_console_turns_a_stray_write_oserror_into_one_line(monkeypatch, capsys):
    def full(argv):  # a command whose write fails outside atomic_write
        raise OSError(errno.ENOSPC, "No space left on device", "/somewhere/file")

    monkeypatch.setattr("neuroequi.cli.parse", full)
    fails(capsys, ["zoo", "list"], "cannot write '/somewhere/file': No space left on device (ENOSPC)")
    monkeypatch.setattr("neuroequi.cli.parse", lambda argv: (_ for _ in ()).throw(OSError(errno.EIO, "I/O error")))
    with pytest.raises(OSError, match="I/O error"):  # not a write the user can fix: a bug, kept as it is
        main(["zoo", "list"])


def test_full_disk_while_caching_a_score_prints_the_score(tmp_path, zoo, full_disk, capsys):  # noqa: F811
    """Issue 23: a full disk while caching a score printed nothing and lost the computed score."""
    capsys.readouterr()
    assert main(["score", "--model", "cifar-resnet20-random", "--benchmark", "Kiani2007.IT-rdm"]) == 2
    out, err = capsys.readouterr()
    score = float(next(line for line in out.splitlines() if line.strip().startswith("score:")).split(":")[1])
    assert np.isfinite(score) and "not cached" in out
    one_error_line(err, "score not cached", "Kiani2007.IT-rdm", f"{score:.4f}", "No space left on device (ENOSPC)")
    assert not (zoo / "scores").exists() or not any((zoo / "scores").rglob("*.json"))


def test_layers_naming_no_layer_is_refused(zoo, capsys):  # noqa: F811
    """Issue 23: `--layers ,` silently scored one (the committed) layer."""
    for layers in (",", " , ,"):
        fails(
            capsys,
            ["score", "--model", "cifar-resnet20-random", "--benchmark", "Kiani2007.IT-rdm", "--layers", layers],
            "--layers",
            "names nothing",
        )
    assert not zoo.exists()


def test_outputs_are_checked_before_any_work(tmp_path, capsys):
    """Issue 23: `augmentation-prediction --out <existing file>` failed with a traceback after the work (160 s)."""
    ap = importlib.import_module("analyses.augmentation_prediction")  # the package exports a function of that name

    def no_work(*args, **kwargs):
        raise AssertionError("the benchmark ran before its output was checked")

    afile = tmp_path / "a_file"
    afile.write_text("kept")
    argv = ["augmentation-prediction", "--model", "cifar-resnet20-random", "n_train=8", "n_test=8", "progress=false"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ap, "augmentation_prediction", no_work)
        fails(capsys, [*argv, "--out", str(afile)], str(afile), "exists and is not a folder")
        fails(capsys, [*argv, "--out", str(afile / "sub")], str(afile), "is a file")
    assert afile.read_text() == "kept"


# ------------------------------------------------------------------------------------ malformed inputs: one line


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"meta": {}}, "metadata lacks ['arch', 'width']"),
        ({"model": None}, "'model' must be a state dict of tensors, got NoneType"),
        ({"backbone": {}}, "'backbone' must be a non-empty state dict of tensors, got dict (empty)"),
        ({"meta": None}, "metadata lacks"),
    ],
)
def test_malformed_checkpoint_is_one_line(tmp_path, finished, zoo, capsys, change, named):  # noqa: F811
    """Issue 23: a checkpoint with meta={} or model=None gave KeyError/AttributeError tracebacks."""
    from neuroequi.checkpoint import load_checkpoint, save_checkpoint

    bad = save_checkpoint({**load_checkpoint(finished / "checkpoints" / "final.pt"), **change}, tmp_path / "bad.pt")
    fails(capsys, ["zoo", "add", str(bad)], str(bad), named)
    fails(capsys, ["analyze", "--model", str(bad), "--out", str(tmp_path / "a"), "probe_train=0"], named)
    assert not (zoo / "catalogue.json").exists() and not (tmp_path / "a").exists()


def test_empty_zip_to_brainscore_check_is_one_line(tmp_path, capsys):
    """Issue 23: an empty zip gave a FileNotFoundError traceback."""
    empty = tmp_path / "empty.zip"
    zipfile.ZipFile(empty, "w").close()
    fails(capsys, ["brainscore", "check", str(empty)], str(empty), "expected one folder models/<plugin>/")


def test_refused_package_records_no_layer_map(tmp_path, finished, zoo, capsys):  # noqa: F811
    """Issue 23: a refused `brainscore package` (no public URL) still recorded a held-out layer map,
    which changed the next `score` of that model (0.069 -> 0.101)."""
    assert main(["zoo", "add", str(finished / "checkpoints" / "final.pt"), "--name", "mine"]) == 0
    before = snapshot(zoo)
    fails(capsys, ["brainscore", "package", "--model", "mine", "--out", str(tmp_path / "s")], "no public URL")
    (tmp_path / "afile").write_text("")
    fails(
        capsys,
        [
            "brainscore",
            "package",
            "--model",
            "mine",
            "--out",
            str(tmp_path / "afile"),
            "weights_url=https://example.org/w.pt",
        ],
        "exists and is not a folder",
    )
    fails(
        capsys,
        [
            "brainscore",
            "package",
            "--model",
            "mine",
            "--out",
            str(tmp_path / "s"),
            "weights_url=https://example.org/w.pt",
            "region_layer_map={IT: nolayer}",
        ],
        "nolayer",
    )
    assert snapshot(zoo) == before and not (tmp_path / "s").exists()


def test_baseline_measured_differently_is_refused_before_any_work(tmp_path, zoo, capsys):  # noqa: F811
    """Issue 23: `analyze --baseline` measured at another layer (layer2 vs avgpool) or with another K
    and policy on the same images wrote delta_* rows, exit 0."""
    import analyses.pipeline as pipeline

    common = ["--model", "cifar-resnet20-random", "probe_train=0", "n_images=10", "K=4", "n_boot=10", "progress=false"]
    base = tmp_path / "base"
    assert main(["analyze", *common, "--out", str(base), "layer=layer2"]) == 0

    def no_work(*args, **kwargs):
        raise AssertionError("responses were extracted before the baseline was checked")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "extract_ensembles", no_work)
        for setting, named in (
            (["layer=avgpool"], "layer 'layer2' (baseline) != 'avgpool'"),
            (["layer=layer2", "K=5"], "K 4 (baseline) != 5"),
            (["layer=layer2", "policy=simclr_cifar"], "policy 'cifar' (baseline) != 'simclr_cifar'"),
            (["layer=layer2", "seed=1"], "images: "),
        ):
            fails(
                capsys,
                ["analyze", *common, *setting, "--out", str(tmp_path / "o"), "--baseline", str(base)],
                str(base),
                "measured differently",
                named,
            )
    assert not (tmp_path / "o").exists()


def test_pipeline_outputs_are_checked_before_any_work(tmp_path, zoo, capsys):  # noqa: F811
    """Issue 23: `figures --readme <missing file>` failed after the whole pipeline (109 s);
    `equivariance-table name=../../x` trained outside --out before refusing the name."""
    import figures.figure1.pipeline as figure1

    def no_work(*args, **kwargs):
        raise AssertionError("the pipeline started work before its outputs were checked")

    out = tmp_path / "deep" / "out"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(figure1, "run_jobs", no_work)
        patch.setattr(figure1, "place_stimuli_on_screen", no_work, raising=False)
        for readme, named in ((tmp_path / "missing.md", "does not exist"), (tmp_path, "is not a file")):
            fails(
                capsys,
                [
                    "figures",
                    "--preset",
                    "smoke",
                    "--results",
                    str(out / "r"),
                    "--out",
                    str(out / "f"),
                    "--readme",
                    str(readme),
                ],
                str(readme),
                named,
            )
        (tmp_path / "plain.md").write_text("# no block\n")
        fails(
            capsys,
            [
                "figures",
                "--preset",
                "smoke",
                "--results",
                str(out / "r"),
                "--out",
                str(out / "f"),
                "--readme",
                str(tmp_path / "plain.md"),
            ],
            "has no Figure-1 block",
        )
    for name in ("../../x", "a/b", "/abs", ".."):
        fails(
            capsys,
            ["equivariance-table", "--preset", "smoke", f"name={name}", "--out", str(out)],
            f"name {name!r} must be one folder name",
        )
    assert [p.name for p in tmp_path.rglob("*")] == ["plain.md"]  # nothing trained, written or created


# ------------------------------------------------------------------------------------ shared zoos: models named by content


@pytest.fixture(scope="module")
def other_lr(tmp_path_factory, cache) -> Path:  # noqa: F811
    """The 4-step run of ``finished`` with another learning rate (other weights, other config)."""
    from test_faults import tiny

    from neuroequi.train import config_from_dict, train

    root = tmp_path_factory.mktemp("other_lr")
    return train(config_from_dict(tiny(root, cache, "optim.lr=0.9")))


def test_two_pipelines_sharing_a_zoo_read_only_their_own_models(tmp_path, finished, other_lr, zoo):  # noqa: F811
    """Issue 23: two Figure-1 runs sharing a zoo (the second with lr=0.9) both registered `figure1-smoke-lam0-seed0`;
    the second analysed and scored the first one's checkpoint."""
    import model_zoo
    from figures.figure1.config import preset
    from figures.figure1.pipeline import final_checkpoint, model_name, register_model

    first, second = preset("smoke", ["seeds=[0]"]), preset("smoke", ["seeds=[0]", "train.optim.lr=0.9"])
    roots = {}
    for config, source, root in (
        (first, finished / "checkpoints" / "final.pt", tmp_path / "a"),
        (second, other_lr, tmp_path / "b"),
    ):
        final = final_checkpoint(config, 0.0, 0, root)
        final.parent.mkdir(parents=True)
        shutil.copyfile(source, final)
        roots[root] = (config, final, register_model(config, 0.0, 0, final, zoo))
    (config_a, final_a, name_a), (config_b, final_b, name_b) = roots.values()
    assert name_a != name_b and name_a.startswith("figure1-smoke-lam0-seed0-w")
    assert (
        model_name(config_a, 0.0, 0, tmp_path / "a") == name_a
        and model_name(config_b, 0.0, 0, tmp_path / "b") == name_b
    )
    assert model_zoo.load(name_a, home=zoo).sha256 == sha256_file(final_a)
    assert model_zoo.load(name_b, home=zoo).sha256 == sha256_file(final_b)


def test_content_names_reuse_only_the_same_weights_and_config(tmp_path, finished, other_lr, zoo):  # noqa: F811
    import json

    import model_zoo

    ckpt = finished / "checkpoints" / "final.pt"
    entry = model_zoo.register_run(ckpt, "p", home=zoo)
    assert entry.name == model_zoo.run_name(ckpt, "p") and entry.meta["weights_sha256"]
    elsewhere = Path(shutil.copytree(finished, tmp_path / "elsewhere")) / "checkpoints" / "final.pt"
    moved = model_zoo.register_run(elsewhere, "p", home=zoo)  # the same weights and config, another folder
    assert moved.name == entry.name and moved.source.location == str(elsewhere.resolve())
    assert model_zoo.register_run(other_lr, "p", home=zoo).name != entry.name
    catalogue = zoo / "catalogue.json"
    data = json.loads(catalogue.read_text())
    data[entry.name]["meta"]["weights_sha256"] = "0" * 64  # an entry of that name recording other weights
    catalogue.write_text(json.dumps(data))
    before = snapshot(catalogue)
    with pytest.raises(ConfigError, match=f"records weights {'0' * 64}.*refusing to reuse a name for other weights"):
        model_zoo.register_run(ckpt, "p", home=zoo)
    assert snapshot(catalogue) == before


# ------------------------------------------------------------------------------------ reuse keyed on the computation


def _figure1(base: Path, *overrides: str):
    """A two-model Figure-1 smoke run (λ 0 and 0.5, seed 0, 64 training images, one benchmark) into ``base``."""
    from figures.figure1.config import preset
    from figures.figure1.pipeline import run

    config = preset(
        "smoke", ["seeds=[0]", "train.data.subset=64", "benchmarks=[Kiani2007.IT-rdm]", "n_boot=20", *overrides]
    )
    return run(config, base / "results", base / "figures", zoo_home=base / "zoo")


@pytest.mark.slow
def test_a_rerun_with_changed_settings_recomputes_or_refuses(tmp_path, capsys):
    """Issue 23: a rerun with n_images=12 train.optim.lr=0.9 into an existing --results reused all 4 steps
    (the CSV byte-identical) while config.yaml and the run record claimed the new settings."""
    first = _figure1(tmp_path)
    root, table = tmp_path / "results" / "figure1" / "smoke", tmp_path / "figures" / "figure1_smoke.csv"
    saved, before = root / "config.yaml", sha256_file(table)
    capsys.readouterr()
    _figure1(tmp_path)  # the same settings: every step reused
    assert "recomputed" not in capsys.readouterr().out and sha256_file(table) == before

    with pytest.raises(ConfigError, match=r"n_images: 8 -> 12; train.optim.lr: <unset> -> 0.9\); pass reuse=recompute"):
        _figure1(tmp_path, "n_images=12", "train.optim.lr=0.9", "reuse=refuse")
    assert sha256_file(table) == before and "lr" not in saved.read_text()  # refused: nothing written

    second = _figure1(tmp_path, "n_images=12", "train.optim.lr=0.9")
    assert "reused" not in capsys.readouterr().out  # every training and evaluation ran again
    job_log = (root / "analyses" / "lam0-seed0.log").read_text()  # the evaluation job's own step lines
    assert "recomputed (analysis.n_images: 8 -> 12; input checkpoint: " in job_log
    assert "lr: 0.9" in saved.read_text() and sha256_file(table) != before
    assert not first.equals(second)


@pytest.mark.slow
def test_equivariance_table_rerun_with_changed_settings(tmp_path, capsys, monkeypatch):
    """Issue 23: `equivariance-table epochs=3 prediction.n_train=40` reused every step; table.md said 3 epochs,
    table.csv came from 1. Here: the smallest table (one family, no unknown variant, 4 runs)."""
    from figures.equivariance_table.config import preset
    from figures.equivariance_table.pipeline import run_table

    monkeypatch.setenv("NEUROEQUI_ZOO_HOME", str(tmp_path / "zoo"))
    small = [
        "families=[rotation]",
        "known_fraction=0",
        "train_images=128",
        "prediction.families=[rotation]",
        "probe_train=20",
        "probe_test=10",
    ]
    first = run_table(preset("smoke", small), tmp_path)
    saved = tmp_path / "smoke" / "config.yaml"
    before = snapshot(tmp_path / "smoke")
    with pytest.raises(ConfigError, match=r"epochs: 1 -> 2; prediction.n_train: 48 -> 40"):
        run_table(preset("smoke", [*small, "epochs=2", "prediction.n_train=40", "reuse=refuse"]), tmp_path)
    assert snapshot(tmp_path / "smoke") == before
    capsys.readouterr()
    second = run_table(preset("smoke", [*small, "prediction.n_train=40"]), tmp_path)
    printed = capsys.readouterr().out
    assert printed.count("reused") == 2 * 4  # the trainings and the probes: their settings did not change
    assert printed.count("recomputed (prediction.n_train: 48 -> 40)") == 4
    assert "n_train: 40" in saved.read_text() and not first.equals(second)
