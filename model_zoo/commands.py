"""The commands of the model-zoo layer: ``zoo list|show|add`` (see :mod:`neuroequi.cli`)."""

from __future__ import annotations

from neuroequi.cli import Command

COMMANDS: tuple[Command, ...] = (
    Command(
        "zoo",
        "list, show and add models in the model zoo",
        commands=(
            Command("list", "list every model (built-in and registered)", run="model_zoo.cli:run_list"),
            Command(
                "show",
                "print one model's catalogue entry",
                run="model_zoo.cli:run_show",
                config="model_zoo.cli:ShowConfig",
                aliases={"--model": "model"},
                required=("model",),
            ),
            Command(
                "add",
                "register a model: a state dict of any torchvision, timm or your own architecture "
                "(--arch), or a checkpoint of this project",
                run="model_zoo.cli:run_add",
                config="model_zoo.cli:AddConfig",
                subject="path",
                required=("path",),
                aliases={
                    "--arch": "arch",
                    "--name": "name",
                    "--layers": "layers",
                    "--image-size": "image_size",
                    "--mean": "mean",
                    "--std": "std",
                    "--url": "url",
                    "--replace": "replace",
                },
            ),
        ),
    ),
)
