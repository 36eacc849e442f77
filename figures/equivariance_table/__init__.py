"""The CIFAR-10 experiment of Wang, Krajsek & Scharr's poster at CPU size (``neuroequi figures equivariance-table``).

Trains SIE on each transformation family alone and on all of them, the reconstruction method
(``recon_equi``) and a VICReg baseline on real CIFAR-10 images (training configs
``neuroequi/configs/cifar10_sie_cpu.yaml`` and ``cifar10_recon_equi_cpu.yaml``), registers each
checkpoint in the model zoo, runs the augmentation-prediction benchmark
(:mod:`analyses.augmentation_prediction`) and a linear classification probe on each, and writes
``table.csv`` (tidy) and ``table.md`` (the poster's layout, with 95% intervals, beside the poster's
numbers) under ``<out>/<name>/``. The unknown-transformations variant trains SIE(all) on the
fraction of images whose parameters are known. Every step is skipped when its output exists.

* :mod:`figures.equivariance_table.config` -- :class:`EquivarianceTableConfig` and its presets
  ``cpu.yaml`` and ``smoke.yaml`` (toy sizes, for tests) beside it;
* :mod:`figures.equivariance_table.pipeline` -- the runs (rows as data), training, evaluation;
* :mod:`figures.equivariance_table.table` -- the tidy table, the poster layout, the orderings;
* :mod:`figures.equivariance_table.cli` -- ``neuroequi figures equivariance-table``.
"""
