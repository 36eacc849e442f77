"""``neuroequi analyze``: the command around :func:`analyses.pipeline.analyze`.

::

    neuroequi analyze --model NAME_OR_CHECKPOINT --out DIR [--baseline DIR] [--config FILE] [KEY=VALUE ...]

Every setting is a key of :class:`~analyses.pipeline.AnalysisConfig`
(``n_images=64 K=16 policy=cifar images=FOLDER layer=avgpool probe_train=0 ...``),
read from ``--config FILE`` and/or ``key=value`` overrides anywhere on the line.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    """Flags ``--model``, ``--out``, ``--baseline``; settings via ``--config FILE`` / ``key=value``."""
    from neuroequi.cli import add_config_arguments

    parser.add_argument("--model", required=True, help="model_zoo catalogue name, or a neuroequi checkpoint file")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="--out folder of the baseline (λ=0) analysis: adds ΔD_B rows")
    add_config_arguments(parser)
    parser.epilog = (parser.epilog or "") + (
        " Keys: layer, policy, images (an ImageFolder; default CIFAR-10 test), n_images, K, seed, precision, "
        "batch_size, probe_train (0: no probe), probe_test, n_boot, progress.")


def run(args: argparse.Namespace) -> int:
    """Load the model, run :func:`~analyses.pipeline.analyze`, print where the table went (JSON)."""
    from neuroequi.io import to_json
    import pandas as pd

    import model_zoo
    from analyses.pipeline import AnalysisConfig, analyze, check_paths
    from neuroequi.cli import command_config

    config = command_config(AnalysisConfig, args, where="analyze")
    check_paths(args.out, args.baseline)
    model = model_zoo.load(args.model)
    table = analyze(model, config, args.out, baseline_dir=args.baseline)
    print(to_json({"table": str(table), "rows": len(pd.read_csv(table)), "model": model.identifier}))
    return 0
