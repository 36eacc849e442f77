"""The commands of the base layer: ``data`` and ``train`` (see :mod:`neuroequi.cli`)."""

from __future__ import annotations

from pathlib import Path

from neuroequi.cli import Command, Option

_DATA = "neuroequi.data.cli:DataConfig"

COMMANDS: tuple[Command, ...] = (
    Command(
        "data",
        "list, fetch and verify the real datasets",
        commands=(
            Command(
                "list",
                "list the datasets of the registry: source, licence, number of checksummed files",
                run="neuroequi.data.cli:run",
                config=_DATA,
                subject="datasets",
            ),
            Command(
                "fetch",
                "download the missing files of datasets, then verify every file's sha256",
                run="neuroequi.data.cli:run",
                config=_DATA,
                subject="datasets",
            ),
            Command(
                "verify",
                "verify every file's sha256 without downloading (a missing file is an error)",
                run="neuroequi.data.cli:run",
                config=_DATA,
                subject="datasets",
            ),
        ),
    ),
    Command(
        "train",
        "train an SSL model (TeSSL, EquiMod, invariance baselines)",
        run="neuroequi.train.cli:run",
        config="neuroequi.train.config:TrainConfig",
        load="neuroequi.train.cli:load",
        presets=Path(__file__).parent / "configs" / "recipes",
        options=(Option("--resume", "continue from the run's latest checkpoint", "switch"),),
        renamed={"--recipe": "--preset"},
    ),
)
