"""What each benchmark is: region, species, data, metric, ceiling, number of images, source.

:func:`benchmark_rows` is what ``neuroequi benchmarks list`` prints. The descriptions are
written here once per benchmark; the number of images of a local benchmark is counted from its
stimulus sets in the data directory (never typed in); Brain-Score's online benchmarks keep
their data on its S3 bucket, so their count is not known offline (``None``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from analyses.neural import ONLINE_BENCHMARKS, load_benchmark, local_benchmarks

#: Columns of the listing, in order.
COLUMNS = ("identifier", "region", "species", "data", "metric", "ceiling", "images", "source")

_PLS = "PLS regression (25 components), Pearson r on held-out images, 10 splits"
_RDM = "RDM (1 - Pearson r), Spearman rho with the brain RDM"
_EXPLAINED = "internal consistency (split-half over repetitions), explained variance"
_COWLEY = "Cowley et al. 2023, Utah arrays"
_KRIEGESKORTE = "the Kriegeskorte et al. 2008 object images"
_COGGAN = "Coggan & Tong 2024 fMRI, object images"
_BRAINSCORE = "Brain-Score (S3 bucket; needs a network once)"
_LOCAL = "data directory (neuroequi data fetch)"


@dataclass(frozen=True)
class BenchmarkInfo:
    """One row of the listing (:data:`COLUMNS`); ``images`` None where it cannot be counted here."""

    identifier: str
    region: str
    species: str
    data: str
    metric: str
    ceiling: str
    images: int | None
    source: str


#: identifier -> (region, species, data, metric, ceiling, source)
DESCRIPTIONS: dict[str, tuple[str, str, str, str, str, str]] = {
    "Cowley2023.V4-pls": (
        "V4",
        "macaque",
        f"{_COWLEY}; test sessions 190923, 201025, 210225 (mean)",
        _PLS,
        "none (raw r)",
        _LOCAL,
    ),
    "Cowley2023-210325.V4-pls": (
        "V4",
        "macaque",
        f"{_COWLEY}; session 210325, repeated presentations",
        _PLS,
        _EXPLAINED,
        _LOCAL,
    ),
    "Cowley2023-selection.V4-pls": (
        "V4",
        "macaque",
        f"{_COWLEY}; sessions 190925, 210224 (held out: choosing a model's V4 layer, never its score)",
        _PLS,
        "none (raw r)",
        _LOCAL,
    ),
    "Kiani2007.IT-rdm": ("IT", "macaque", f"Kiani et al. 2007 IT RDM; {_KRIEGESKORTE}", _RDM, "none (raw rho)", _LOCAL),
    "Kriegeskorte2008.hIT-rdm": ("IT", "human", f"human IT fMRI RDM; {_KRIEGESKORTE}", _RDM, "none (raw rho)", _LOCAL),
    "Kriegeskorte2008.hIT-subjects-rdm": (
        "IT",
        "human",
        f"human IT fMRI RDMs of 4 subjects (2 sessions averaged each); {_KRIEGESKORTE}",
        "RSA per subject (Spearman of RDMs), mean over subjects",
        "noise ceiling: leave-one-subject-out lower bound",
        _LOCAL,
    ),
    **{
        f"tong.Coggan2024_fMRI.{region}-rdm": (
            region,
            "human",
            _COGGAN,
            "RSA of selected units (Brain-Score's)",
            "Brain-Score's (r / ceiling)^2",
            _LOCAL,
        )
        for region in ("V1", "V2", "V4", "IT")
    },
    **{
        name: ("IT", "macaque", f"{name.split('.')[0]} (Brain-Score)", _PLS, _EXPLAINED, _BRAINSCORE)
        for name in ONLINE_BENCHMARKS
    },
}


def count_images(identifier: str) -> int:
    """Distinct images a local benchmark shows (over all its stimulus sets)."""
    from analyses.neural.benchmarks import benchmark_stimuli

    ids = set()
    for stimulus_set, _ in benchmark_stimuli(load_benchmark(identifier)):
        ids.update(str(s) for s in stimulus_set["stimulus_id"].values)
    return len(ids)


def benchmark_rows(count: bool = True) -> list[dict]:
    """One dict per named benchmark (local first), keys :data:`COLUMNS`; ``count``: count the local
    benchmarks' images (loads their data, seconds), else ``images`` is None."""
    rows, local = [], local_benchmarks()
    for identifier in (*local, *ONLINE_BENCHMARKS):
        images = count_images(identifier) if count and identifier in local else None
        rows.append(
            asdict(BenchmarkInfo(identifier, *DESCRIPTIONS[identifier][:5], images, DESCRIPTIONS[identifier][5]))
        )
    return rows
