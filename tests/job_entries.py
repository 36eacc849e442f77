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
