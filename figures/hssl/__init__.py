"""The A-SSL vs H-SSL experiment (``neuroequi figures hssl``): probe accuracy of the rotation, translation and scale
backbones and their controls over several seeds, and the Figure-3 sweeps.

* :mod:`figures.hssl.config` -- :class:`HsslConfig`, its presets ``cpu.yaml`` and ``toy.yaml``, the runs;
* :mod:`figures.hssl.pipeline` -- training and probing every run (one process each, :mod:`figures.hssl.jobs`);
* :mod:`figures.hssl.table` -- the table, the paired differences and the sweeps, with hierarchical intervals;
* :mod:`figures.hssl.plot` -- the Figure-3 plots;
* :mod:`figures.hssl.cli` -- ``neuroequi figures hssl``.

The methods and backbones themselves are :mod:`neuroequi.hssl`.
"""
