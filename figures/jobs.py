"""One job protocol for every pipeline: a job is a saved typed config plus a library entry point.

A pipeline saves its typed config (:func:`figures.configs.save`) and describes each piece of work
that runs as its own process as a :class:`Job`: the entry point ``"module:function"``, the config
(its class and its file) and JSON keyword arguments. An executor (:mod:`figures.executors`:
local processes, SLURM through submitit) runs :attr:`Job.command`, i.e. ``python -m figures.jobs
SPEC``, which loads the config and calls ``function(config, **params)``; a known error
(:class:`~neuroequi.errors.NeuroequiError`) is one line and exit code 2, which
:func:`figures.steps.run_jobs` reports as it is. No pipeline runs the user command line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Job:
    """One job of a pipeline, run as its own process.

    Attributes:
        name: what the log calls it, e.g. ``train lam0.1``.
        entry: the library function it runs, ``"module:function"``, called as ``function(config, **params)``.
        config_class: the class of the saved config, ``"module:Class"``.
        config: the saved config (:func:`figures.configs.save`).
        params: JSON keyword arguments of the entry point (e.g. ``{"lam": 0.1, "seed": 0}``).
        done: True when the job's outputs exist (checked before and after it runs).
        log_path: where the process's stdout/stderr go.
        after: names of the jobs that must finish first.
        on_done: called in the parent once the job has finished (e.g. register a model).
        distributed: the job may use every GPU of a node, one task each (a training job on a
            cluster, :mod:`figures.executors`).
    """

    name: str
    entry: str
    config_class: str
    config: Path
    params: dict[str, Any]
    done: Callable[[], bool]
    log_path: Path
    after: tuple[str, ...] = ()
    on_done: Callable[[], None] | None = None
    distributed: bool = False

    @property
    def spec(self) -> dict[str, Any]:
        """What the job computes, and all it reads besides the files its config names: the entry point,
        the config (class and file) and the parameters. (The job's identity: a reuse key hashes this
        with the config file's contents.)"""
        return {
            "entry": self.entry,
            "config_class": self.config_class,
            "config": str(self.config),
            "params": self.params,
        }

    @property
    def command(self) -> list[str]:
        """The argv an executor runs: ``python -m figures.jobs SPEC`` (SPEC: :attr:`spec` as JSON)."""
        return [sys.executable, "-m", "figures.jobs", json.dumps(self.spec)]


def run_spec(spec: dict[str, Any]) -> Any:
    """Load the job's config and call its entry point (in the job's own process); its return value."""
    from figures import configs
    from neuroequi.cli import resolve

    config = configs.load(resolve(spec["config_class"]), Path(spec["config"]))
    return resolve(spec["entry"])(config, **spec["params"])


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m figures.jobs SPEC``: run one job; print what its entry point returns."""
    from neuroequi.cli import report
    from neuroequi.errors import NeuroequiError

    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m figures.jobs SPEC (a job's JSON, figures.jobs.Job.spec)", file=sys.stderr)
        return 2
    try:
        result = run_spec(json.loads(argv[0]))
    except NeuroequiError as err:  # one line, exit code 2: the pipeline reports it as it is
        return report(err)
    if result is not None:
        print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
