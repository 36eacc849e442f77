"""Figure 1 of the TeSSL paper: a λ sweep from training to the five-panel figure.

* :mod:`figures.figure1.config` -- :class:`Figure1Config` and its presets ``offline|smoke|paper.yaml``;
* :mod:`figures.figure1.pipeline` -- the job graph: train, register, analyse, score, then table and figure;
* :mod:`figures.figure1.jobs` -- one training or evaluation job (the processes run side by side);
* :mod:`figures.figure1.table` -- the tidy table (ΔD_B rows against λ=0);
* :mod:`figures.figure1.caption` -- the caption, written from the table;
* :mod:`figures.figure1.cli` -- ``neuroequi figures``.
"""
