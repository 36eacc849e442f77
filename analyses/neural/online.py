"""Brain-Score's own IT benchmarks (Figure 1 of the TeSSL paper), run through ``brainscore_vision``.

Their recordings live on Brain-Score's S3 bucket and brainio downloads them on
first use into ``$BRAINIO_HOME`` (default ``~/.brainio``). Without a network
brainio's boto3 download would retry for minutes; :func:`fail_fast` checks,
before any S3 transfer starts, that the bucket's host answers within a few
seconds, and otherwise raises :class:`~neuroequi.errors.OfflineError` naming the
benchmark, the file and where to put it (pre-seeding ``BRAINIO_HOME``); with
``NEUROEQUI_OFFLINE=1`` it raises at once, without any connection. Files
already in ``BRAINIO_HOME`` are used as they are, offline too.
"""

from __future__ import annotations

import contextlib
import os
import socket
from urllib.parse import urlparse

from neuroequi.data.registry import offline
from neuroequi.errors import ConfigError, OfflineError

ONLINE_BENCHMARKS = (
    "MajajHong2015public.IT-pls",
    "MajajHong2015.IT-pls",
    "Sanghavi2020.IT-pls",
    "SanghaviJozwik2020.IT-pls",
    "SanghaviMurty2020.IT-pls",
)
#: Brain-Score's neural benchmarks ceil with explained_variance over internal_consistency.
ONLINE_CEILING_FORMULA = (
    "brainscore explained_variance: score = r_raw^2 / ceiling; ceiling = internal_consistency "
    "(split-half over repetitions, Spearman-Brown corrected), as defined by the benchmark in brainscore_vision"
)


def reachable(host: str, port: int = 443, timeout: float = 3.0) -> str | None:
    """None if a TCP connection to ``host:port`` opens within ``timeout`` s, else the reason."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"


@contextlib.contextmanager
def fail_fast(benchmark: str, timeout: float = 3.0):
    """Within this block, a brainio S3 download of a missing file first checks the host is reachable.

    Raises:
        OfflineError: the file is missing and downloads are off (``NEUROEQUI_OFFLINE=1``, no
            connection tried) or the host does not answer.
    """
    from brainscore_core.supported_data_standards.brainio import fetch

    original = fetch.BotoFetcher.fetch

    def guarded(self):
        if not os.path.exists(self.output_filename):
            host = urlparse(self.location).hostname
            reason = "downloads are off (NEUROEQUI_OFFLINE=1)" if offline() else reachable(host, timeout=timeout)
            if reason is not None:
                raise OfflineError(
                    f"benchmark {benchmark!r} needs Brain-Score's data file {self.location} "
                    f"(S3 bucket {self.bucketname!r}, key {self.relative_path!r}), which is not in "
                    f"BRAINIO_HOME={fetch.get_local_data_path()} and cannot be downloaded from {host}: "
                    f"{reason}. To run offline, pre-seed BRAINIO_HOME: on a machine with a "
                    f"network run `BRAINIO_HOME=<dir> neuroequi score --model <any> --benchmark {benchmark}` "
                    f"(or brainscore_vision.load_benchmark({benchmark!r})), copy <dir> here and set "
                    f"BRAINIO_HOME to it; this file belongs at {self.output_filename}."
                )
        return original(self)

    fetch.BotoFetcher.fetch = guarded
    try:
        yield
    finally:
        fetch.BotoFetcher.fetch = original


def load_online_benchmark(identifier: str):
    """``brainscore_vision.load_benchmark(identifier)`` for one of :data:`ONLINE_BENCHMARKS`, failing fast offline."""
    import brainscore_vision

    if identifier not in ONLINE_BENCHMARKS:
        raise ConfigError(f"unknown online benchmark {identifier!r}; known: {ONLINE_BENCHMARKS}")
    with fail_fast(identifier):
        benchmark = brainscore_vision.load_benchmark(identifier)
    benchmark.ceiling_formula = ONLINE_CEILING_FORMULA
    return benchmark


def score_online(benchmark, candidate):
    """Score ``candidate`` on an online benchmark (its ceiling may download too), failing fast offline."""
    from brainscore_core.benchmarks import score_benchmark

    with fail_fast(benchmark.identifier):
        return score_benchmark(benchmark, candidate)
