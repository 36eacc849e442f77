"""Figure 1 of the TeSSL paper: a λ × seed sweep from training to the five-panel figure.

* :mod:`figures.figure1.config` -- :class:`Figure1Config` and its presets ``offline|smoke|paper|imagenet.yaml``;
* :mod:`figures.figure1.pipeline` -- the job graph: train, register, analyse, score every (λ, seed), then
  table, figure, caption, run record and README block;
* :mod:`figures.figure1.jobs` -- one training or evaluation job (run side by side by an executor,
  :mod:`figures.executors`);
* :mod:`figures.figure1.seeds` -- within-model bootstrap replicates and the interval over seeds and images;
* :mod:`figures.figure1.table` -- the tidy table (one row per λ, seed and quantity, plus the mean over seeds);
* :mod:`figures.figure1.inference` -- the family of tests: p-values of the interval rule, Holm's correction,
  trends over λ, replication in independent halves of the seeds, power and expected rerun agreement;
* :mod:`figures.figure1.combine` -- pool tables of separate runs (other seeds) into one;
* :mod:`figures.figure1.compare` -- a rerun against a run's intervals, and which of its claims replicate;
* :mod:`figures.figure1.caption` -- the caption, written from the table and its tests;
* :mod:`figures.figure1.readme` -- the README's Figure-1 block, written from the saved table;
* :mod:`figures.figure1.cli` -- ``neuroequi figures``.
"""
