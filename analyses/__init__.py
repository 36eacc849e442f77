"""analyses: responses to augmentation ensembles, Bures distances, decoding, factorization,
EquiMod equivariance, augmentation prediction, linear probes and neural predictivity (see README.md).

The package imports nothing (``neuroequi --help`` and the commands' help stay light); the public
API lives in its modules: :mod:`analyses.pipeline` (``AnalysisConfig``, ``analyze``,
``delta_table``), :mod:`analyses.responses` (``extract_ensemble(s)``, ``load_responses``),
:mod:`analyses.measures`, :mod:`analyses.bures`, :mod:`analyses.augmentation_prediction`,
:mod:`analyses.probe` and :mod:`analyses.neural`.
"""
