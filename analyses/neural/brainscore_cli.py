"""``neuroequi brainscore install|package|check|commit``: Brain-Score plugins, submissions and their checks.

::

    neuroequi brainscore install [--remove]
    neuroequi brainscore package --model MODEL [--out DIR] [--weights-url URL] [region_layer_map.IT=layer3 ...]
    neuroequi brainscore check SUB.zip [--benchmark B] [--keep DIR] [phases=[...]] [timeout=1800]
    neuroequi brainscore commit --model MODEL

``package`` writes a self-contained submission (:mod:`model_zoo.submission`). Its region->layer
map: the catalogue's for the built-in models; for the project's own checkpoints the one chosen on
held-out data (:mod:`analyses.neural.commitment`, chosen now when none is recorded); keys
``region_layer_map.<REGION>=<layer>`` override regions. ``check`` runs Brain-Score's checks on a
submission with this project blocked and scores it on a local benchmark
(:mod:`analyses.neural.submission_check`); it exits 1 when a check fails. ``commit`` chooses
and records a model's map on held-out data.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class PackageConfig:
    """Settings of ``neuroequi brainscore package``.

    Attributes:
        model: catalogue name (see ``neuroequi zoo list``).
        weights_url: a public mirror of the weights (default: the entry's URL).
        region_layer_map: regions to map to other layers than committed, e.g. ``{IT: layer3}``.
        choose_layers: own checkpoints without a recorded map: choose one on held-out data first.
        allow_private_url: accept a loopback or private weights URL (a local test mirror only: Brain-Score's
            servers cannot download from it).
    """

    model: str = ""
    weights_url: str = ""
    region_layer_map: dict[str, str] = field(default_factory=dict)
    choose_layers: bool = True
    allow_private_url: bool = False


@dataclass(frozen=True)
class CheckConfig:
    """Settings of ``neuroequi brainscore check``.

    Attributes:
        submission: the submission zip (``neuroequi brainscore package``).
        benchmarks: the local benchmark of the comparison score (one).
        phases: the checks to run.
        timeout: seconds each phase may take.
        keep: a folder to work in and keep (default: a temporary one).
        allow_private_url: accept a loopback or private weights URL (a local test mirror).
    """

    submission: str = ""
    benchmarks: tuple[str, ...] = ("Kiani2007.IT-rdm",)
    phases: tuple[str, ...] = ("check_base_models", "generic_tests", "plugin_tests", "record")
    timeout: float = 1800.0
    keep: str = ""
    allow_private_url: bool = False


@dataclass(frozen=True)
class CommitConfig:
    """Settings of ``neuroequi brainscore commit``.

    Attributes:
        model: catalogue name or checkpoint file.
    """

    model: str = ""


def run_install(config: None, args: argparse.Namespace) -> int:
    """Link (or with ``--remove`` unlink) the model plugins and local benchmarks into brainscore_vision."""
    from analyses.neural import install_plugins, uninstall_plugins

    for link in uninstall_plugins() if args.remove else install_plugins():
        print(("removed " if args.remove else "linked ") + str(link))
    return 0


def run_package(config: PackageConfig, args: argparse.Namespace) -> int:
    """Write ``<out>/<plugin>.zip`` and its folder for one model."""
    from analyses.neural.commitment import choose_region_layer_map
    from analyses.neural.layer_maps import recorded_commitment, region_layer_map
    from model_zoo import load
    from model_zoo.brainscore import USER_FAMILY, plugin_dirname
    from model_zoo.submission import LayerMap, package, preflight
    from neuroequi.io import output_folder

    loaded = load(config.model)
    # everything package() refuses is checked before a layer map is chosen and recorded
    output = output_folder(args.out, "--out") / f"{plugin_dirname(loaded.name)}.zip"
    preflight(loaded, config.weights_url or None, config.allow_private_url)
    region_layer_map(loaded, config.region_layer_map or None)  # unknown regions or layers
    if loaded.entry.family == USER_FAMILY and config.choose_layers and recorded_commitment(loaded.identifier) is None:
        print(f"choosing the region->layer map of {loaded.identifier} on held-out data ...")
        choose_region_layer_map(loaded)
    regions, how = region_layer_map(loaded, config.region_layer_map or None)
    written = package(
        loaded,
        output,
        weights_url=config.weights_url or None,
        layer_map=LayerMap(regions, how),
        allow_private_url=config.allow_private_url,
    )
    print(f"wrote {written} and {written.with_suffix('')}/ (region->layer {regions}: {how})")
    return 0


def run_check(config: CheckConfig, args: argparse.Namespace) -> int:
    """Check a submission zip; 1 when a check fails."""
    from analyses.neural.submission_check import check_submission
    from neuroequi.errors import ConfigError

    if len(config.benchmarks) != 1:
        raise ConfigError(f"brainscore check: benchmarks must name one local benchmark, got {list(config.benchmarks)}")
    report = check_submission(
        Path(config.submission),
        config.benchmarks[0],
        tuple(config.phases),
        config.timeout,
        Path(config.keep) if config.keep else None,
        allow_private_url=config.allow_private_url,
    )
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


def run_commit(config: CommitConfig, args: argparse.Namespace) -> int:
    """Choose a model's region->layer map on held-out data and record it."""
    from neuroequi.io import to_json

    from analyses.neural.commitment import choose_region_layer_map
    from analyses.neural.layer_maps import commitment_path

    record = choose_region_layer_map(config.model)
    print(to_json(record, indent=2))
    print(f"recorded in {commitment_path(record['identifier'])}")
    return 0
