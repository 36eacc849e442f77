"""Library-style entry points for the executor tests (``tests/test_figure1.py``): the jobs they run
through :mod:`figures.jobs` (a saved config plus an entry point), like a pipeline's."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from neuroequi.errors import ConfigError


@dataclass(frozen=True)
class Order:
    """Attributes:
    out: the file every job appends its name to.
    """

    out: str = ""


def append(config: Order, name: str) -> None:
    """Some CPU work, then append ``name`` to ``config.out``."""
    sum(range(3_000_000))
    with open(config.out, "a") as f:
        f.write(name + "\n")


def fail(config: Order, code: int) -> None:
    """A bug (prints ``boom``, exits ``code``) or, with code 2, a known error."""
    if code == 2:
        raise ConfigError("no such file x")
    print("boom")
    sys.exit(code)


def crash(config: Order) -> None:
    """A bug: an uncaught exception (a traceback, exit status 1)."""
    raise RuntimeError("crashed on purpose")


def wait(config: Order, seconds: float) -> None:
    """Say ``waiting`` (flushed), then sleep ``seconds``."""
    import time

    print("waiting", flush=True)
    time.sleep(seconds)


def report(config: Order) -> None:
    """Write what a job's process looks like to ``config.out`` (JSON): its argv, ``__main__``'s file,
    the thread variables and torch's thread count, and one draw of Python's, NumPy's and torch's
    global RNGs."""
    import json
    import os
    import random

    import numpy as np
    import torch

    facts = {
        "argv": sys.argv,
        "main": sys.modules["__main__"].__file__,
        "omp": os.environ.get("OMP_NUM_THREADS"),
        "torch_threads": torch.get_num_threads(),
        "cwd": os.getcwd(),
        "random": random.random(),
        "numpy": float(np.random.random()),
        "torch": float(torch.rand(1)),
    }
    with open(config.out, "w") as f:
        json.dump(facts, f)
