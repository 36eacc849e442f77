"""The commands of the analyses layer (see :mod:`neuroequi.cli`): ``analyze``,
``augmentation-prediction``, ``score`` and the ``brainscore`` group."""

from __future__ import annotations

from neuroequi.cli import Command, Option

_OUT = Option("--out", "output folder", required=True)
_MODEL = {"--model": "model"}
_NEEDS_MODEL = ("model",)
_BS = "analyses.neural.brainscore_cli"

COMMANDS: tuple[Command, ...] = (
    Command(
        "analyze",
        "responses to augmentation ensembles and every Figure-1 measure",
        run="analyses.cli:run",
        config="analyses.cli:AnalyzeSettings",
        aliases=_MODEL,
        required=_NEEDS_MODEL,
        options=(_OUT, Option("--baseline", "--out folder of the baseline (λ=0) analysis: adds ΔD_B rows")),
    ),
    Command(
        "augmentation-prediction",
        "predict each transformation's parameters from [h(x) ; h(t(x))]",
        run="analyses.augmentation_prediction:run",
        config="analyses.prediction_config:PredictionSettings",
        aliases=_MODEL,
        required=_NEEDS_MODEL,
        options=(_OUT,),
    ),
    Command(
        "score",
        "score a zoo model on neural benchmarks (committed layers, or every layer)",
        run="analyses.neural.score_cli:run",
        config="analyses.neural.score_cli:ScoreConfig",
        aliases={**_MODEL, "--benchmark": "benchmarks", "--layers": "layers", "--recompute": "recompute"},
        required=("model", "benchmarks"),
        options=(
            Option(
                "--out",
                "folder of the per-layer files layer_scores.csv/.png and run.json "
                "(default <zoo home>/scores/<identifier>/layers)",
            ),
            Option("--json", "print the result as JSON", "switch"),
        ),
    ),
    Command(
        "benchmarks",
        "the neural benchmarks",
        commands=(
            Command(
                "list",
                "every benchmark: region, species, data, metric, ceiling, number of images, source",
                run="analyses.neural.benchmarks_cli:run_list",
                options=(
                    Option("--json", "print JSON, one object per benchmark", "switch"),
                    Option("--no-count", "do not count images (no data is loaded)", "switch"),
                ),
            ),
        ),
        default="list",
    ),
    Command(
        "brainscore",
        "Brain-Score: install zoo plugins; package, check and commit a submission",
        commands=(
            Command(
                "install",
                "link the model plugins and local benchmarks into brainscore_vision",
                run=f"{_BS}:run_install",
                options=(Option("--remove", "remove the links instead", "switch"),),
            ),
            Command(
                "package",
                "write a self-contained Brain-Score submission <out>/<plugin>.zip for one model",
                run=f"{_BS}:run_package",
                config=f"{_BS}:PackageConfig",
                aliases={**_MODEL, "--weights-url": "weights_url"},
                required=_NEEDS_MODEL,
                options=(Option("--out", "folder of the zip and its plugin folder", default="."),),
            ),
            Command(
                "check",
                "run Brain-Score's checks on a submission zip, this project blocked",
                run=f"{_BS}:run_check",
                config=f"{_BS}:CheckConfig",
                subject="submission",
                required=("submission",),
                aliases={"--benchmark": "benchmarks", "--keep": "keep"},
            ),
            Command(
                "commit",
                "choose a model's region->layer map on held-out data and record it",
                run=f"{_BS}:run_commit",
                config=f"{_BS}:CommitConfig",
                aliases=_MODEL,
                required=_NEEDS_MODEL,
            ),
        ),
    ),
)
