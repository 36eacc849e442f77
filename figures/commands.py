"""The commands of the figures layer (see :mod:`neuroequi.cli`): the ``figures`` group of experiment
pipelines, and the old top-level spellings ``hssl`` and ``equivariance-table`` (one release)."""

from __future__ import annotations

from pathlib import Path

from neuroequi.cli import Command, Option

HERE = Path(__file__).resolve().parent

FIGURE1 = Command(
    "figure1",
    "Figure 1: --preset offline (default), smoke, paper (published checkpoints) or imagenet",
    run="figures.figure1.cli:run",
    config="figures.figure1.config:Figure1Config",
    presets=HERE / "figure1",
    preset="offline",
    aliases={"--images": "images"},
    options=(
        Option("--results", "intermediate results (resumable)", default="results"),
        Option("--out", "where the figure, table and caption go", default="figures"),
        Option("--readme", "rewrite the Figure-1 block of this README from the table (make figures: offline)", "file"),
    ),
)
HSSL = Command(
    "hssl",
    "the H-SSL vs A-SSL experiment (CPU-sized): probe accuracy table",
    run="figures.hssl.cli:run",
    config="figures.hssl.config:HsslConfig",
    presets=HERE / "hssl",
    preset="cpu",
    options=(Option("--out", "output folder (table.csv, report.md, train/)", default="results/hssl"),),
)
EQUIVARIANCE_TABLE = Command(
    "equivariance-table",
    "SIE vs the reconstruction method vs VICReg on CIFAR-10 (poster layout)",
    run="figures.equivariance_table.cli:run",
    config="figures.equivariance_table.config:EquivarianceTableConfig",
    presets=HERE / "equivariance_table",
    preset="cpu",
    options=(
        Option(
            "--out",
            "results folder (resumable); the tables go to <out>/<name>/table.{csv,md}",
            default="results/equivariance_table",
        ),
    ),
)

REPORT = Command(
    "report",
    "every local benchmark, layer and measure of one or several models: CSV, figure, markdown",
    run="figures.report.cli:run",
    config="figures.report.config:ReportConfig",
    aliases={"--model": "models", "--benchmark": "benchmarks", "--layers": "layers"},
    required=("models",),
    options=(Option("--out", "report folder (finished pieces are reused)", default="report"),),
)

COMMANDS: tuple[Command, ...] = (
    REPORT,
    Command(
        "figures",
        "the experiment pipelines: figure1, hssl, equivariance-table",
        commands=(FIGURE1, HSSL, EQUIVARIANCE_TABLE),
        default="figure1",
    ),
    Command("hssl", HSSL.help, alias_of=("figures", "hssl")),
    Command("equivariance-table", EQUIVARIANCE_TABLE.help, alias_of=("figures", "equivariance-table")),
)
