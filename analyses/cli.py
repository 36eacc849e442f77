"""``neuroequi analyze``: the command around :func:`analyses.pipeline.analyze`.

::

    neuroequi analyze --model NAME_OR_CHECKPOINT --out DIR [--baseline DIR] [--config FILE] [KEY=VALUE ...]

Every setting is a key of :class:`AnalyzeSettings` (those of :class:`~analyses.config.AnalysisConfig`
and the model, ``n_images=64 K=16 policy=cifar images=FOLDER layer=avgpool probe_train=0 ...``).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass

from analyses.config import AnalysisConfig


@dataclass(frozen=True)
class AnalyzeSettings(AnalysisConfig):
    """Settings of ``neuroequi analyze``: the analysis (:class:`~analyses.config.AnalysisConfig`) and its model.

    Attributes:
        model: model_zoo catalogue name, or a neuroequi checkpoint file.
    """

    model: str = ""


def run(config: AnalyzeSettings, args: argparse.Namespace) -> int:
    """Load the model, run :func:`~analyses.pipeline.analyze`, print where the table went (JSON)."""
    import pandas as pd

    import model_zoo
    from analyses.pipeline import analyze, check_paths
    from neuroequi.config import narrow

    check_paths(args.out, args.baseline)
    model = model_zoo.load(config.model)
    table = analyze(model, narrow(config, AnalysisConfig), args.out, baseline_dir=args.baseline)
    print(json.dumps({"table": str(table), "rows": len(pd.read_csv(table)), "model": model.identifier}))
    return 0
