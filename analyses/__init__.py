"""analyses: responses to augmentation ensembles, Bures distances, decoding, factorization,
EquiMod equivariance, augmentation prediction, linear probes and neural predictivity (see README.md).

The names below are the public API; each lives in the submodule named in its docstring.
"""

import neuroequi  # noqa: F401  (compat shim + BS_INSTALL_DEPENDENCIES=no before anything else)
from analyses.augmentation_prediction import PredictionConfig, augmentation_prediction
from analyses.bures import (
    bures_distance,
    bures_distance_from_samples,
    pairwise_bures_distance,
    pairwise_bures_distance_from_samples,
)
from analyses.measures import (
    ImageMeasure,
    augmentation_decoding,
    content_augmentation_factorization,
    crop_photometric_factorization,
    delta,
    shared_variability,
)
from analyses.pipeline import AnalysisConfig, analyze, delta_table
from analyses.responses import extract_ensemble, extract_ensembles, load_responses

__all__ = [
    "AnalysisConfig", "ImageMeasure", "PredictionConfig", "analyze", "augmentation_decoding", "augmentation_prediction",
    "bures_distance",
    "bures_distance_from_samples", "content_augmentation_factorization", "crop_photometric_factorization",
    "delta", "delta_table", "extract_ensemble", "extract_ensembles", "load_responses",
    "pairwise_bures_distance", "pairwise_bures_distance_from_samples", "shared_variability",
]
