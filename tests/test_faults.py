"""Fault injection: every bad input and fault of issue 11, against the CLI and the Python API.

Each case asserts what the user sees (exit code 2 and exactly one ``neuroequi: error:`` line
naming the problem, never a traceback) and that nothing was lost or changed (the sha256 of
every file involved, before and after). Concurrency and kills use real processes. Trainings
are tiny (32-64 real CIFAR-10 images, width 1/16, 16 px views, a few steps).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import neuroequi  # noqa: F401
import pytest
import torch
import yaml

import model_zoo
from neuroequi.checkpoint import load_checkpoint, save_checkpoint
from neuroequi.cli import main
from neuroequi.config import apply_overrides
from neuroequi.errors import ConfigError
from neuroequi.io import sha256_file
from neuroequi.train import config_from_dict, train

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------ helpers


def snapshot(*roots: Path) -> dict[str, str]:
    """sha256 of every file under ``roots`` (or of the files themselves), by path."""
    files = [p for root in roots for p in ([root] if root.is_file() else sorted(root.rglob("*"))) if p.is_file()]
    return {str(p): sha256_file(p) for p in files}


def one_error_line(err: str, *fragments: str) -> str:
    """The one ``neuroequi: error:`` line of ``err`` (no traceback), holding every fragment."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("neuroequi: error: ")]
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def fails(capsys: pytest.CaptureFixture[str], argv: list[str], *fragments: str) -> str:
    """Run ``neuroequi ARGV`` in this process: exit code 2 and one error line with ``fragments``."""
    capsys.readouterr()
    assert main(argv) == 2
    return one_error_line(capsys.readouterr().err, *fragments)


def child_env() -> dict[str, str]:
    """Environment of a child process: this checkout first on the path, one thread."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",
    }


def tiny(root: Path, cache: Path, *overrides: str) -> dict:
    """A run of a few steps on 32 real CIFAR-10 images (2 steps per epoch), every step logged;
    ``overrides`` as on the command line (``epochs=4``)."""
    values: dict = {
        "name": "run",
        "output_dir": str(root),
        "seed": 0,
        "epochs": 2,
        "batch_size": 16,
        "device": "cpu",
        "threads": 1,
        "checkpoint_every": 1,
        "data": {"dataset": "cifar10", "subset": 32, "size": 16, "cache_dir": str(cache)},
        "model": {"arch": "resnet18_cifar", "width": 0.0625},
        "method": {"name": "barlow_twins", "options": {"projector": [32, 32]}, "equivariance": "tessl", "lam": 0.2},
        "optim": {"name": "lars", "lr": 0.3, "warmup_epochs": 0.5},
        "monitor": {"knn": False, "log_every": 1, "progress": False},
    }
    return apply_overrides(values, overrides)


def write_config(path: Path, values: dict) -> Path:
    path.write_text(yaml.safe_dump(values))
    return path


def logged_steps(run: Path) -> list[int]:
    with (run / "log.csv").open() as fh:
        return [int(row["step"]) for row in csv.DictReader(fh)]


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """Decoded-image cache shared by the module's trainings."""
    return tmp_path_factory.mktemp("decoded")


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory, cache) -> Path:
    """A run stopped after 2 of its 4 steps: ``checkpoints/last.pt`` at step 2, no ``final.pt``
    (copy it before use)."""
    root = tmp_path_factory.mktemp("interrupted")
    train(config_from_dict(tiny(root, cache, "max_steps=2")))
    run = root / "run"
    (run / "checkpoints" / "final.pt").unlink()
    return run


@pytest.fixture(scope="module")
def finished(tmp_path_factory, cache) -> Path:
    """A finished 4-step run (copy it before use)."""
    root = tmp_path_factory.mktemp("finished")
    train(config_from_dict(tiny(root, cache)))
    return root / "run"


@pytest.fixture
def zoo(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "zoo"
    monkeypatch.setenv("NEUROEQUI_ZOO_HOME", str(home))
    return home


# ------------------------------------------------------------------------------------ training: locks and state


@pytest.mark.slow
def test_two_trainings_into_one_run_directory_one_is_refused(tmp_path, cache):
    """Two real `neuroequi train` processes at once: one trains, the other exits 2 (the directory is in
    use, or already has the winner's checkpoints); the result is the solo run's, every step logged once."""
    config = write_config(tmp_path / "c.yaml", tiny(tmp_path / "runs", cache, "epochs=4"))
    command = [sys.executable, "-m", "neuroequi.cli", "train", "--config", str(config)]
    procs = [
        subprocess.Popen(command, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=300), p.communicate()[1]) for p in procs]
    assert sorted(rc for rc, _ in results) == [0, 2], results
    loser = next(err for rc, err in results if rc == 2)
    line = one_error_line(loser)
    assert "is in use by process" in line or "already has checkpoints" in line, line
    run = tmp_path / "runs" / "run"
    assert logged_steps(run) == list(range(1, 9)) and not (run / ".lock").exists()

    solo = load_checkpoint(train(config_from_dict(tiny(tmp_path / "solo", cache, "epochs=4"))))
    final = load_checkpoint(run / "checkpoints" / "final.pt")
    for key, value in solo["backbone"].items():
        assert torch.equal(final["backbone"][key], value), key


def test_a_live_owner_refuses_a_second_run_and_nothing_is_touched(tmp_path, cache, interrupted, capsys):
    run = tmp_path / "runs" / "run"
    shutil.copytree(interrupted, run)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from neuroequi.locks import owner_lock\n"
            "with owner_lock(sys.argv[1]):\n    print('held', flush=True); time.sleep(120)",
            str(run),
        ],
        env=child_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        before = snapshot(run)
        config = write_config(tmp_path / "c.yaml", tiny(tmp_path / "runs", cache))
        fails(
            capsys,
            ["train", "--config", str(config), "--resume"],
            f"in use by process {holder.pid}",
            str(run / ".lock"),
        )
        assert snapshot(run) == before
    finally:
        holder.kill()
        holder.wait()


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path, cache, interrupted):
    run = tmp_path / "runs" / "run"
    shutil.copytree(interrupted, run)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (run / ".lock").write_text(json.dumps({"pid": int(dead.stdout), "host": socket.gethostname(), "started": 0}))
    final = train(config_from_dict(tiny(tmp_path / "runs", cache)), resume=True)
    assert load_checkpoint(final)["meta"]["step"] == 4 and not (run / ".lock").exists()


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("optim.lr=0.1", "optim.lr: 0.3 -> 0.1"),
        ("method.lam=0.5", "method.lam: 0.2 -> 0.5"),
        ("method.name=simclr", "method.name: 'barlow_twins' -> 'simclr'"),
    ],
)
def test_refused_resume_changes_nothing(tmp_path, cache, interrupted, capsys, override, named):
    """A resume with another config is refused before config.yaml, logs or checkpoints are written."""
    run = tmp_path / "runs" / "run"
    shutil.copytree(interrupted, run)
    before = snapshot(run)
    config = write_config(tmp_path / "c.yaml", tiny(tmp_path / "runs", cache))
    fails(capsys, ["train", "--config", str(config), "--resume", override], "cannot resume", named)
    assert snapshot(run) == before


def test_resume_of_a_finished_run_with_another_config_is_an_error(tmp_path, cache, finished, capsys):
    run = tmp_path / "runs" / "run"
    shutil.copytree(finished, run)
    before = snapshot(run)
    config = write_config(tmp_path / "c.yaml", tiny(tmp_path / "runs", cache))
    fails(capsys, ["train", "--config", str(config), "--resume", "method.lam=0.4"], "cannot resume", "final.pt")
    fails(
        capsys,
        ["train", "--config", str(config), "--resume", "method.equivariance=none", "method.lam=0"],
        "method.equivariance",
    )
    fails(capsys, ["train", "--config", str(config)], "already has checkpoints")
    assert snapshot(run) == before
    assert main(["train", "--config", str(config), "--resume"]) == 0  # the same config: the finished run
    assert capsys.readouterr().out.strip() == str(run / "checkpoints" / "final.pt")
    assert snapshot(run) == before


def test_a_moved_run_directory_resumes(tmp_path, cache, interrupted):
    moved = tmp_path / "elsewhere" / "renamed"
    shutil.copytree(interrupted, moved)
    final = train(config_from_dict(tiny(tmp_path / "elsewhere", cache, "name=renamed")), resume=True)
    assert final == moved / "checkpoints" / "final.pt" and load_checkpoint(final)["meta"]["step"] == 4
    assert yaml.safe_load((moved / "config.yaml").read_text())["output_dir"] == str(tmp_path / "elsewhere")


_KILLER = textwrap.dedent("""
    # Runs `neuroequi train`, then SIGKILLs itself at an injected point (argv: config, point).
    import contextlib, os, signal, sys
    import neuroequi.checkpoint as checkpoint
    import neuroequi.train.metrics as metrics
    from neuroequi.cli import main

    point = sys.argv[2]
    if point == "checkpoint-write":  # the 2nd checkpoint: half of it on disk, then killed
        real_atomic_write, saves = checkpoint.atomic_write, []
        @contextlib.contextmanager
        def atomic_write(path, **kwargs):
            with real_atomic_write(path, **kwargs) as tmp:
                yield tmp  # save_checkpoint writes the whole file here
                saves.append(path)
                if len(saves) == 2:
                    data = open(tmp, "rb").read()
                    open(tmp, "wb").write(data[: len(data) // 2])
                    os.kill(os.getpid(), signal.SIGKILL)
        checkpoint.atomic_write = atomic_write
    else:  # "after-logging": killed once log.csv holds the row of step 3 (checkpoints at even steps)
        real_write = metrics.CsvSink.write
        def write(self, row):
            real_write(self, row)
            if row["step"] == 3:
                os.kill(os.getpid(), signal.SIGKILL)
        metrics.CsvSink.write = write
    sys.exit(main(["train", "--config", sys.argv[1]]))
""")


def _killed_run(tmp_path: Path, cache: Path, point: str) -> tuple[Path, dict]:
    """Start a 2-epoch run of 8 steps in a child process killed at ``point``; (run dir, its config)."""
    values = tiny(tmp_path / "runs", cache, "checkpoint_every=2", "data.subset=64")
    config = write_config(tmp_path / "c.yaml", values)
    script = tmp_path / "killer.py"
    script.write_text(_KILLER)
    proc = subprocess.run(
        [sys.executable, str(script), str(config), point], env=child_env(), capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    return tmp_path / "runs" / "run", values


@pytest.mark.slow
def test_kill_during_checkpoint_write_then_resume_is_bit_identical(tmp_path, cache):
    run, values = _killed_run(tmp_path, cache, "checkpoint-write")
    assert load_checkpoint(run / "checkpoints" / "last.pt")["meta"]["step"] == 2  # the complete earlier one
    resumed = load_checkpoint(train(config_from_dict(values), resume=True))
    straight = load_checkpoint(train(config_from_dict({**values, "name": "straight"})))
    assert resumed["meta"]["step"] == straight["meta"]["step"] == 8
    for part in ("model", "backbone", "probe"):
        for key, value in straight[part].items():
            assert torch.equal(resumed[part][key], value), f"{part}.{key}"


@pytest.mark.slow
def test_kill_then_resume_logs_every_step_once_and_whole_epoch_means(tmp_path, cache):
    run, values = _killed_run(tmp_path, cache, "after-logging")
    assert logged_steps(run) == [1, 2, 3] and load_checkpoint(run / "checkpoints" / "last.pt")["meta"]["step"] == 2
    train(config_from_dict(values), resume=True)
    assert logged_steps(run) == list(range(1, 9))
    with (run / "log.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    epochs = [json.loads(line) for line in (run / "epochs.jsonl").read_text().splitlines()]
    assert [e["step"] for e in epochs] == [4, 8]
    for summary in epochs:
        losses = [float(r["loss"]) for r in rows if int(r["epoch"]) == summary["epoch"] - 1]
        assert len(losses) == 4 and summary["mean_loss"] == pytest.approx(sum(losses) / 4, rel=1e-5)


# ------------------------------------------------------------------------------------ training: validated inputs


def test_bad_training_configs_are_refused_before_anything_is_written(tmp_path, cache, capsys):
    config = write_config(tmp_path / "c.yaml", tiny(tmp_path / "runs", cache))
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "folder.yaml").mkdir()
    cases = [
        (["--config", str(tmp_path / "empty.yaml")], ["is empty"]),
        (["--config", str(tmp_path / "folder.yaml")], ["is a directory"]),
        (["--config", str(config), "method.lam=1.0"], ["method.lam must be in [0, 1)", "1.0"]),
        (["--config", str(config), "name=../../x"], ["name '../../x'", "inside output_dir"]),
        (["--config", str(config), "name=/tmp/x"], ["name '/tmp/x'"]),
        (["--config", str(config), "threads=0"], ["threads must be >= 1", "got 0"]),
        (["--config", str(config), "optim.lr=[1"], ["override 'optim.lr=[1'"]),
        (["--config", str(config), "batch_size=15"], ["batch_size must be even", "15"]),
        (["--config", str(config), "optim.weight_decay=-1"], ["optim.weight_decay must be >= 0", "-1"]),
        (["--config", str(config), "monitor.knn=true", "monitor.knn_k=0"], ["monitor.knn_k must be >= 1"]),
        (["--config", str(config), "data.crop_scale=[0.9,0.1]"], ["data.crop_scale", "[0.9, 0.1]"]),
        (
            ["--config", str(config), "data.dataset=imagefolder", f"data.root={tmp_path / 'folder.yaml'}"],
            ["class folder", str(tmp_path / "folder.yaml")],
        ),
    ]
    for args, fragments in cases:
        fails(capsys, ["train", *args], *fragments)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml", "empty.yaml", "folder.yaml"]
    assert load_config_ok(config, "optim.lr=1e-3")


def load_config_ok(config: Path, override: str) -> bool:
    """Scientific notation parses as a number (YAML 1.1 would read ``1e-3`` as text)."""
    from neuroequi.train import load_config

    return load_config(config, [override]).optim.lr == 1e-3


def test_console_script_prints_one_line_without_traceback(tmp_path):
    """The real entry point in a child process (not only main() in this one)."""
    (tmp_path / "folder.yaml").mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "neuroequi.cli", "train", "--config", str(tmp_path / "folder.yaml")],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        == f"neuroequi: error: config file '{tmp_path / 'folder.yaml'}' is a directory, not a YAML file"
    )


def test_output_paths_and_stray_settings_are_refused_before_any_work(tmp_path, capsys):
    existing = tmp_path / "file"
    existing.write_text("keep me\n")
    before = snapshot(existing)
    fails(capsys, ["figures", "hssl", "--out", str(existing)], "--out", str(existing), "not a folder")
    fails(capsys, ["figures", "figure1", "--preset", "smoke", "--results", str(existing)], "--results", str(existing))
    fails(
        capsys, ["figures", "equivariance-table", "--preset", "smoke", "--out", str(existing)], "--out", str(existing)
    )
    fails(
        capsys,
        ["score", "--model", "cifar-resnet20-random", "--benchmark", "Kiani2007.IT-rdm", "n_images=3"],
        "unknown key",
        "n_images",
    )
    fails(capsys, ["data", "list", "n_images=3"], "unknown key", "n_images", "valid: ['datasets']")
    fails(capsys, ["zoo", "list", "home=/x"], "zoo list takes no KEY=VALUE settings")
    assert snapshot(existing) == before and sorted(p.name for p in tmp_path.iterdir()) == ["file"]


# ------------------------------------------------------------------------------------ zoo: verified weights


def _scaled_checkpoint(source: Path, target: Path, scale: float) -> Path:
    """A copy of the checkpoint ``source`` with every floating backbone tensor multiplied by ``scale``."""
    blob = load_checkpoint(source)
    for part in ("model", "backbone"):
        blob[part] = {k: v * scale if v.is_floating_point() else v for k, v in blob[part].items()}
    return save_checkpoint(blob, target)


def test_registered_weights_are_verified_at_load(tmp_path, finished, zoo, capsys):
    ckpt = tmp_path / "final.pt"
    shutil.copyfile(finished / "checkpoints" / "final.pt", ckpt)
    assert main(["zoo", "add", str(ckpt), "--name", "mine"]) == 0
    catalogue = zoo / "catalogue.json"
    recorded = json.loads(catalogue.read_text())["mine"]["source"]["sha256"]
    assert recorded == sha256_file(ckpt)

    _scaled_checkpoint(finished / "checkpoints" / "final.pt", ckpt, 0.5)  # replaced after registration
    before = snapshot(catalogue, ckpt)
    fails(
        capsys,
        ["analyze", "--model", "mine", "--out", str(tmp_path / "a"), "probe_train=0"],
        recorded,
        sha256_file(ckpt),
        f"neuroequi zoo add {ckpt} --name mine --replace",
    )
    fails(capsys, ["zoo", "add", str(ckpt), "--name", "mine"], "already in", "--replace")
    assert snapshot(catalogue, ckpt) == before and not (tmp_path / "a").exists()
    assert main(["zoo", "add", str(ckpt), "--name", "mine", "--replace"]) == 0
    assert model_zoo.load("mine").sha256 == sha256_file(ckpt)


def test_hand_edited_catalogue_entry_is_checked_against_the_checkpoint(tmp_path, finished, zoo, capsys):
    model_zoo.register_checkpoint(finished / "checkpoints" / "final.pt", name="mine")
    catalogue = zoo / "catalogue.json"
    for key, value, shown in (
        ("lam", 0.5, "lam: catalogue 0.5, checkpoint 0.2"),
        ("image_size", 224, "image_size: catalogue 224, checkpoint 16"),
    ):
        data = json.loads(catalogue.read_text())
        data["mine"][key] = value
        catalogue.write_text(json.dumps(data))
        before = snapshot(catalogue)
        fails(capsys, ["score", "--model", "mine", "--benchmark", "Kiani2007.IT-rdm"], "does not match", shown)
        assert snapshot(catalogue) == before
        model_zoo.register_checkpoint(finished / "checkpoints" / "final.pt", name="mine", replace=True)


def test_non_finite_weights_are_refused_at_registration_and_at_load(tmp_path, finished, zoo, capsys):
    nan = _scaled_checkpoint(finished / "checkpoints" / "final.pt", tmp_path / "nan.pt", float("nan"))
    fails(capsys, ["zoo", "add", str(nan)], str(nan), "NaN or inf")
    assert not (zoo / "catalogue.json").exists()
    fails(capsys, ["analyze", "--model", str(nan), "--out", str(tmp_path / "a"), "probe_train=0"], "NaN or inf")


@pytest.mark.slow
def test_overflowing_weights_score_no_nan_and_cache_nothing(tmp_path, finished, zoo, capsys):
    """Weights of 1e30 are finite and register; their NaN score is an error and is never cached."""
    huge = _scaled_checkpoint(finished / "checkpoints" / "final.pt", tmp_path / "huge.pt", 1e30)
    assert main(["zoo", "add", str(huge), "--name", "huge"]) == 0
    fails(capsys, ["score", "--model", "huge", "--benchmark", "Kiani2007.IT-rdm"], "huge-", "nan", "not cached")
    assert not (zoo / "scores").exists() or not any((zoo / "scores").rglob("*.json"))
    fails(
        capsys,
        [
            "analyze",
            "--model",
            "huge",
            "--out",
            str(tmp_path / "a"),
            "probe_train=0",
            "n_images=5",
            "K=6",
            "n_boot=10",
            "progress=false",
        ],
        "non-finite activations",
    )
    assert not (tmp_path / "a" / "measures.csv").exists()


def _register(path: Path, name: str, home: Path, barrier) -> None:
    """One of the registering processes: wait for all, then register (read-modify-write the catalogue)."""
    barrier.wait(timeout=120)
    model_zoo.register_checkpoint(path, name=name, home=home)


@pytest.mark.slow
def test_eight_processes_registering_at_once_keep_all_eight_entries(tmp_path, finished, zoo):
    """Eight real processes (forked from a server that imported the zoo once) register at the same moment."""
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["model_zoo"])
    barrier = context.Barrier(8)
    procs = []
    for i in range(8):
        ckpt = Path(shutil.copyfile(finished / "checkpoints" / "final.pt", tmp_path / f"c{i}.pt"))
        procs.append(context.Process(target=_register, args=(ckpt, f"p{i}", zoo, barrier)))
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=240)
    assert [proc.exitcode for proc in procs] == [0] * 8
    assert sorted(json.loads((zoo / "catalogue.json").read_text())) == [f"p{i}" for i in range(8)]


def test_damaged_catalogue_is_named_and_builtins_still_work(zoo, capsys):
    zoo.mkdir()
    catalogue = zoo / "catalogue.json"
    for text in ('{"mine": {"name": "mine", "arch"', '{"mine": {"arch": "resnet18"}}', "[1, 2]"):
        catalogue.write_text(text)
        before = snapshot(catalogue)
        capsys.readouterr()
        assert main(["zoo", "list"]) == 2
        out, err = capsys.readouterr()
        one_error_line(err, str(catalogue))
        assert "cifar-resnet20-supervised" in out and "tessl-mmcr-lambda0.2-resnet50" in out
        assert main(["zoo", "show", "--model", "cifar-resnet20-supervised"]) == 0
        assert model_zoo.load("cifar-resnet20-random").name == "cifar-resnet20-random"
        fails(capsys, ["zoo", "show", "--model", "mine"], str(catalogue))
        assert snapshot(catalogue) == before


def test_checkpoint_paths_that_are_not_checkpoints(tmp_path, zoo, data_root, capsys):
    legacy = data_root / "pretrained_cifar_resnet" / "resnet20-12fca82f.th"  # torch's pre-1.6 format
    line = fails(capsys, ["zoo", "add", str(legacy)], str(legacy), "not a neuroequi checkpoint")
    assert "truncated" not in line and "corrupt" not in line
    fails(capsys, ["zoo", "add", str(tmp_path)], "is a directory")
    fails(capsys, ["score", "--model", str(tmp_path), "--benchmark", "Kiani2007.IT-rdm"], "is a directory")
    truncated = tmp_path / "cut.pt"
    truncated.write_bytes(b"PK\x03\x04" + bytes(100))
    fails(capsys, ["zoo", "add", str(truncated)], str(truncated), "truncated or corrupt")
    assert not (zoo / "catalogue.json").exists()


def test_offline_zoo_download_stops_before_any_connection(zoo, monkeypatch, capsys):
    def no_connection(*args, **kwargs):
        raise AssertionError(f"a connection was attempted: {args}")

    monkeypatch.setenv("NEUROEQUI_OFFLINE", "1")
    monkeypatch.setattr(socket.socket, "connect", no_connection)
    entry = model_zoo.get_entry("tessl-simclr-lambda0.1-resnet50")
    fails(
        capsys,
        ["analyze", "--model", entry.name, "--out", str(zoo / "a")],
        "offline",
        entry.source.location,
        str(zoo / "checkpoints" / entry.name),
    )
    assert not (zoo / "checkpoints").exists() or not any((zoo / "checkpoints").rglob("*"))


# ------------------------------------------------------------------------------------ analyses


def test_analysis_arguments_are_checked_before_any_work(tmp_path, capsys):
    existing = tmp_path / "table.csv"
    existing.write_text("keep me\n")
    before = snapshot(existing)
    model = ["analyze", "--model", "cifar-resnet20-random"]
    for n in (0, 1, 2):
        fails(capsys, [*model, "--out", str(tmp_path / "o"), f"n_images={n}"], f"n_images={n}")
    fails(capsys, [*model, "--out", str(tmp_path / "o"), "n_images=5", "K=4"], "n_images >= 10 for K=4")
    fails(capsys, [*model, "--out", str(existing)], str(existing), "not a folder")
    start = time.perf_counter()
    fails(
        capsys,
        [*model, "--out", str(tmp_path / "o"), "--baseline", str(tmp_path / "missing")],
        str(tmp_path / "missing"),
        "does not exist",
    )
    assert time.perf_counter() - start < 5
    fails(capsys, [*model, "--out", str(tmp_path / "o"), "images=" + str(tmp_path / "none")], "none")
    assert snapshot(existing) == before and not (tmp_path / "o").exists()


@pytest.mark.slow
def test_interrupted_analysis_never_reuses_a_partial_file(tmp_path, monkeypatch, capsys):
    import xarray as xr

    args = [
        "analyze",
        "--model",
        "cifar-resnet20-random",
        "n_images=5",
        "K=6",
        "probe_train=0",
        "n_boot=20",
        "progress=false",
    ]
    real, written = xr.DataArray.to_netcdf, []

    def dies_on_the_third(self, path, *a, **kw):
        written.append(path)
        real(self, path, *a, **kw)
        if len(written) == 3:
            Path(path).write_bytes(Path(path).read_bytes()[:100])
            raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(xr.DataArray, "to_netcdf", dies_on_the_third)
        assert main([*args, "--out", str(tmp_path / "cut")]) == 130
    cached = sorted((tmp_path / "cut" / "responses").iterdir())
    assert len(cached) == 2 and not [p for p in cached if p.name.startswith(".")]  # the cut one left nothing
    assert main([*args, "--out", str(tmp_path / "cut")]) == 0
    assert main([*args, "--out", str(tmp_path / "whole")]) == 0
    assert (tmp_path / "cut" / "measures.csv").read_text() == (tmp_path / "whole" / "measures.csv").read_text()


def test_equimod_encoder_refuses_another_policys_parameters():
    from neuroequi.augment import EquiModEncoder, get_policy

    cifar, byol = get_policy("cifar", size=32), get_policy("byol_view1", size=32)
    encoder = EquiModEncoder.fit(cifar, n_samples=200)
    params = byol.sample(64, torch.Generator().manual_seed(0), torch.full((64, 2), 32))
    with pytest.raises(ConfigError, match="blur"):
        encoder(params)
    with pytest.raises(ConfigError, match="byol_view1"):
        encoder.check_policy(byol)
    encoder.check_policy(cifar)
    assert encoder(cifar.sample(8, torch.Generator().manual_seed(0), torch.full((8, 2), 32))).shape == (8, encoder.dim)


# ------------------------------------------------------------------------------------ data files


def _fake_cifar(root: Path, data_root: Path, per_class: int = 2) -> list[Path]:
    """A CIFAR-10 JPEG tree of ``per_class`` real images per class and split; the files."""
    files = []
    for split in ("train", "test"):
        for folder in sorted((data_root / "cifar10" / split).iterdir()):
            target = root / "cifar10" / split / folder.name
            target.mkdir(parents=True)
            for image in sorted(folder.iterdir())[:per_class]:
                files.append(Path(shutil.copyfile(image, target / image.name)))
    return files


def test_truncated_jpeg_is_named(tmp_path, data_root, monkeypatch, capsys):
    files = _fake_cifar(tmp_path / "data", data_root)
    bad = next(f for f in files if "/train/" in str(f))
    bad.write_bytes(bad.read_bytes()[:200])
    monkeypatch.setenv("NEUROEQUI_DATA", str(tmp_path / "data"))
    config = write_config(tmp_path / "c.yaml", tiny(tmp_path / "runs", tmp_path / "cache", "data.subset=null"))
    fails(capsys, ["train", "--config", str(config)], str(bad), "truncated or corrupt")
    assert not (tmp_path / "runs" / "run").exists()


def test_corrupt_decoded_image_cache_is_rebuilt(tmp_path, cache, caplog):
    from neuroequi.train.data import cifar10_tensor

    first = cifar10_tensor("train", tmp_path, 32)
    (path,) = tmp_path.glob("cifar10_train_*.pt")
    path.write_bytes(path.read_bytes()[:1000])
    again = cifar10_tensor("train", tmp_path, 32)
    assert torch.equal(again.images, first.images) and torch.equal(again.labels, first.labels)
    assert f"decoded-image cache {path} cannot be read" in caplog.text and "checkpoint" not in caplog.text
    assert torch.equal(torch.load(path, weights_only=True)["images"], first.images)  # rewritten whole


def test_corrupt_registered_data_file_is_named_with_its_sha256_and_source(tmp_path, data_root, monkeypatch, capsys):
    from neuroequi.data import registered_files

    relpath = next(p for p in registered_files() if p.startswith("pretrained_cifar_resnet/resnet20-"))
    (tmp_path / relpath).parent.mkdir(parents=True)
    (tmp_path / relpath).write_bytes(b"not the checkpoint")
    monkeypatch.setenv("NEUROEQUI_DATA", str(tmp_path))
    entry = registered_files()[relpath]
    fails(
        capsys,
        ["score", "--model", "cifar-resnet20-supervised", "--benchmark", "Kiani2007.IT-rdm"],
        "corrupt file",
        hashlib.sha256(b"not the checkpoint").hexdigest()[:12],
        str(tmp_path / relpath),
        entry.url,
    )


def test_offline_benchmark_fails_within_5_s_naming_the_file(tmp_path, monkeypatch, capsys):
    import brainscore_vision  # noqa: F401  (imported before the clock starts)
    from brainscore_core.supported_data_standards.brainio import fetch

    def no_connection(*args, **kwargs):
        raise AssertionError(f"a connection was attempted: {args}")

    monkeypatch.setenv("BRAINIO_HOME", str(tmp_path / "brainio"))
    monkeypatch.setattr(fetch, "_local_data_path", None)
    monkeypatch.setattr(socket.socket, "connect", no_connection)
    start = time.perf_counter()
    fails(
        capsys,
        ["score", "--model", "cifar-resnet20-random", "--benchmark", "MajajHong2015public.IT-pls"],
        "NEUROEQUI_OFFLINE=1",
        "MajajHong2015_public",
        str(tmp_path / "brainio"),
    )
    assert time.perf_counter() - start < 5
