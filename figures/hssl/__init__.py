"""The A-SSL vs H-SSL experiment (``neuroequi hssl``): probe accuracy of p4 and control backbones.

* :mod:`figures.hssl.config` -- :class:`HsslConfig` and its preset ``cpu.yaml``;
* :mod:`figures.hssl.pipeline` -- the runs (rows as data), training and probing;
* :mod:`figures.hssl.table` -- the table's rows and file;
* :mod:`figures.hssl.cli` -- ``neuroequi hssl``.

The methods and backbones themselves are :mod:`neuroequi.hssl`.
"""
