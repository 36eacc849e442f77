"""``neuroequi equivariance-table``: the CIFAR-10 experiment of Wang, Krajsek & Scharr's poster at CPU size.

Trains SIE on each transformation family alone and on all of them, the reconstruction method
(``recon_equi``) and a VICReg baseline on real CIFAR-10 images (configs
``neuroequi/configs/cifar10_sie_cpu.yaml`` and ``cifar10_recon_equi_cpu.yaml``), registers each
checkpoint in the model zoo, runs the augmentation-prediction benchmark
(:mod:`analyses.augmentation_prediction`) and a linear classification probe on each, and
writes ``table.csv`` (tidy) and ``table.md`` (the poster's layout, with 95% intervals, beside
the poster's numbers) under ``<out>/<name>/``. The unknown-transformations variant trains
SIE(all) on the fraction of images whose parameters are known. Presets: ``cpu`` (default),
``smoke`` (toy sizes, for tests). Every step is skipped when its output exists.

    neuroequi equivariance-table --preset cpu [--out results/equivariance_table] [key=value ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from figures.equivariance_table.config import PRESETS, EquivarianceTableConfig
from figures.equivariance_table.pipeline import run_table

__all__ = ["EquivarianceTableConfig", "configure", "run", "run_table"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``neuroequi equivariance-table``."""
    from neuroequi.cli import add_config_arguments

    parser.add_argument("--out", type=Path, default=Path("results/equivariance_table"),
                        help="results folder (resumable); the tables go to <out>/<name>/table.{csv,md}")
    add_config_arguments(parser, PRESETS)


def run(args: argparse.Namespace) -> int:
    """Run the pipeline for the parsed arguments (default preset: cpu)."""
    from neuroequi.cli import command_config

    if getattr(args, "preset", None) is None and args.config is None:
        args.preset = "cpu"
    run_table(command_config(EquivarianceTableConfig, args, PRESETS), args.out)
    return 0
