"""`neuroequi report`: a new user's model in, every benchmark, layer and measure out."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
import torch

import model_zoo
from analyses.neural.registry import local_benchmarks
from figures.report import ReportConfig, report
from figures.report.pipeline import COLUMNS
from neuroequi.cli import main
from neuroequi.config import load_typed

TESTS = Path(__file__).resolve().parent
#: Small sizes: a few images for the measures and the probes, a 100-component reduction.
SMALL = [
    "measures.n_images=10",
    "measures.K=6",
    "measures.n_boot=20",
    "augmentation.n_train=20",
    "augmentation.n_test=10",
    "augmentation.n_boot=20",
    "augmentation.families=[rotation,flip]",
    "reduction.components=100",
    "reduction.images=100",
    "batch_size=32",
]


@pytest.fixture()
def isolated(tmp_path, monkeypatch):
    """A fresh zoo home; ``tiny_cnn`` (this folder) importable by job processes too."""
    monkeypatch.setenv("NEUROEQUI_ZOO_HOME", str(tmp_path / "zoo"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH")) if p))
    return tmp_path


def _check_complete(
    table: pd.DataFrame,
    model: str,
    layers: tuple[str, ...],
    benchmarks: list[str],
    families: tuple[str, ...] = ("rotation", "flip"),
    measures: bool = True,
) -> None:
    """Every benchmark and layer has a row (ceiled and raw where ceiled), every layer its measures and
    its augmentation prediction; values are numbers or empty, never text."""
    rows = table[table["model"] == model]
    assert list(table.columns) == list(COLUMNS)
    bench = rows[rows["kind"] == "benchmark"]
    assert set(zip(bench["name"], bench["layer"])) == {(b, l) for b in benchmarks for l in layers}
    for name, group in bench.groupby("name"):
        statistics = set(group["statistic"])
        assert statistics in ({"raw"}, {"raw", "ceiled"}), (name, statistics)
        assert (statistics == {"raw", "ceiled"}) == group["ceiling"].notna().any(), name
        assert group["reduction"].str.match(r"^(none|pca100-cifar10test100) \(\d+ -> \d+ features\)$").all()
    measured = rows[rows["kind"] == "measure"]
    for layer in layers if measures else ():
        names = set(measured.loc[measured["layer"] == layer, "name"])
        assert {
            "shared_variability",
            "content_augmentation_factorization",
            "crop_photometric_factorization",
            "decoding_r_mean",
            "decoding_diff_r_mean",
        } <= names, (layer, names)
    augmentation = rows[rows["kind"] == "augmentation"]
    assert set(zip(augmentation["name"], augmentation["layer"])) == {
        (f"augmentation_prediction[{f}]", l) for f in families for l in layers
    }
    finite = rows.dropna(subset=["ci_low", "ci_high"])
    assert ((finite["ci_low"] <= finite["value"] + 1e-9) & (finite["value"] <= finite["ci_high"] + 1e-9)).all()


@pytest.mark.slow
def test_a_torchvision_state_dict_gets_every_benchmark_layer_and_measure(isolated, capsys):
    """What a new user does: a ResNet-18 state dict (random weights) -> zoo add -> report -> the CSV.

    The entry's preprocessing is set to 64 px (part of the entry) so the 224-px network stays cheap."""
    import torchvision

    from figures.report.config import default_benchmarks

    torch.manual_seed(0)
    torch.save(
        {"state_dict": {f"module.{k}": v for k, v in torchvision.models.resnet18().state_dict().items()}},
        isolated / "resnet18.pt",
    )
    assert (
        main(
            [
                "zoo",
                "add",
                str(isolated / "resnet18.pt"),
                "--arch",
                "torchvision:resnet18",
                "--name",
                "mine",
                "--image-size",
                "64",
            ]
        )
        == 0
    )
    out = isolated / "report"
    assert main(["report", "--model", "mine", "--out", str(out), *SMALL]) == 0
    table = pd.read_csv(out / "report.csv")
    benchmarks = list(default_benchmarks())
    assert "Cowley2023-selection.V4-pls" not in benchmarks and len(benchmarks) == len(local_benchmarks()) - 1
    _check_complete(table, "mine", ("layer1", "layer2", "layer3", "layer4", "avgpool"), benchmarks)
    assert (out / "report.png").stat().st_size > 10_000
    markdown = (out / "report.md").read_text()
    assert "mine" in markdown and "Best layer per benchmark" in markdown
    log = capsys.readouterr().out
    assert "estimate" in log and "\r" not in log
    # a second run reuses every piece and writes the same table
    assert main(["report", "--model", "mine", "--out", str(out), *SMALL]) == 0
    again = capsys.readouterr().out
    pieces = [line for line in again.splitlines() if line.startswith("[report] mine ")]
    assert pieces and all(line.endswith("reused") for line in pieces)
    pd.testing.assert_frame_equal(pd.read_csv(out / "report.csv"), table)
    json.loads((out / "timings.json").read_text(), parse_constant=lambda token: 1 / 0)


@pytest.mark.slow
def test_module_architectures_run_side_by_side_through_the_executor(isolated, capsys):
    """Two state dicts of a CNN defined in a module (``--arch module:tiny_cnn:build``), one report, two
    job processes (the executor of the figure pipelines)."""
    from tiny_cnn import build

    for seed in (0, 1):
        torch.manual_seed(seed)
        torch.save(build().state_dict(), isolated / f"tiny{seed}.pt")
        assert (
            main(
                [
                    "zoo",
                    "add",
                    str(isolated / f"tiny{seed}.pt"),
                    "--arch",
                    "module:tiny_cnn:build",
                    "--name",
                    f"tiny{seed}",
                    "--image-size",
                    "32",
                ]
            )
            == 0
        )
    out = isolated / "report"
    benchmarks = ["Kiani2007.IT-rdm", "tong.Coggan2024_fMRI.IT-rdm"]
    assert (
        main(
            [
                "report",
                "--model",
                "tiny0",
                "--model",
                "tiny1",
                "--out",
                str(out),
                "parallel=2",
                f"benchmarks=[{','.join(benchmarks)}]",
                *SMALL,
            ]
        )
        == 0
    )
    log = capsys.readouterr().out
    assert "[report] report tiny0 started" in log and "[report] report tiny1 started" in log
    table = pd.read_csv(out / "report.csv")
    for model in ("tiny0", "tiny1"):
        _check_complete(table, model, ("conv1", "conv2", "conv3", "avgpool"), benchmarks)
    job_log = (out / "logs" / "tiny0.log").read_text()
    assert "\r" not in job_log and job_log.count("[report] tiny0 ") >= 2 * 4


def test_an_in_memory_network_is_reported_in_this_process(isolated):
    from tiny_cnn import build

    torch.manual_seed(2)
    loaded = model_zoo.from_module(build(), name="in-memory", image_size=32, layers=["conv2", "avgpool"])
    settings = [*SMALL, "benchmarks=[Kiani2007.IT-rdm]", "pieces=[benchmarks,augmentation]"]
    table = report([loaded], load_typed(ReportConfig, None, settings, "test"), isolated / "report")
    _check_complete(table, "in-memory", ("conv2", "avgpool"), ["Kiani2007.IT-rdm"], measures=False)
    assert set(table["kind"]) == {"benchmark", "augmentation"}
    assert set(table["identifier"]) == {loaded.identifier}


def test_report_settings_fail_before_any_work(isolated, capsys):
    assert (
        main(
            [
                "report",
                "--model",
                "cifar-resnet20-random",
                "--out",
                str(isolated / "r"),
                "benchmarks=[MajajHong2015public.IT-pls]",
            ]
        )
        == 2
    )
    assert "online" in capsys.readouterr().err
    assert main(["report", "--model", "cifar-resnet20-random", "--out", str(isolated / "r"), "pieces=[probes]"]) == 2
    assert "pieces" in capsys.readouterr().err
    assert main(["report", "--out", str(isolated / "r")]) == 2
    assert "--model" in capsys.readouterr().err
    assert not (isolated / "r").exists()


def test_a_section_default_other_than_its_class_keeps_its_values_when_one_key_is_set(capsys):
    from analyses.neural.reduction import LAYER_SELECTION

    assert load_typed(ReportConfig, None, []).reduction == LAYER_SELECTION
    assert load_typed(ReportConfig, None, ["reduction.images=2000"]).reduction.components == LAYER_SELECTION.components
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    assert f"reduction.components : int = {LAYER_SELECTION.components}" in capsys.readouterr().out
