"""``neuroequi brainscore install|package|check|commit``: Brain-Score plugins, submissions and their checks.

::

    neuroequi brainscore install [--remove]
    neuroequi brainscore package MODEL --out SUB.zip [--weights-url URL] [region_layer_map.IT=layer3 ...]
    neuroequi brainscore check SUB.zip [--benchmark B] [--keep DIR] [phases=[...]] [timeout=1800]
    neuroequi brainscore commit MODEL

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
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class PackageConfig:
    """Settings of ``brainscore package``: ``weights_url`` (a mirror of the weights; default the
    entry's URL), ``region_layer_map`` (regions to map to other layers), ``choose_layers`` (own
    checkpoints without a recorded map: choose one on held-out data first), ``allow_private_url``
    (accept a loopback or private weights URL: a local test mirror only)."""

    weights_url: str = ""
    region_layer_map: dict[str, str] = field(default_factory=dict)
    choose_layers: bool = True
    allow_private_url: bool = False


@dataclass(frozen=True)
class CheckConfig:
    """Settings of ``brainscore check``: ``benchmark`` (local), ``phases``, ``timeout`` (s), ``keep``
    (a folder to work in and keep) and ``allow_private_url`` (accept a loopback or private weights URL)."""

    benchmark: str = "Kiani2007.IT-rdm"
    phases: tuple[str, ...] = ("check_base_models", "generic_tests", "plugin_tests", "record")
    timeout: float = 1800.0
    keep: str = ""
    allow_private_url: bool = False


def configure(parser: argparse.ArgumentParser) -> None:
    """Sub-commands ``install``, ``package``, ``check``, ``commit``."""
    from neuroequi.cli import add_config_arguments

    sub = parser.add_subparsers(dest="brainscore_command", metavar="SUBCOMMAND", required=True)
    install = sub.add_parser("install", help="link the model plugins and local benchmarks into brainscore_vision")
    install.add_argument("--remove", action="store_true", help="remove the links instead")
    package = sub.add_parser("package", help="write a self-contained Brain-Score submission for one model")
    package.add_argument("name", help="catalogue name")
    package.add_argument("-o", "--output", "--out", type=Path, help="zip path (default: ./<plugin>.zip)")
    package.add_argument("--weights-url", help="public URL of the weights (default: the entry's)")
    add_config_arguments(package)
    check = sub.add_parser("check", help="run Brain-Score's checks on a submission zip, this project blocked")
    check.add_argument("zip", type=Path, help="the submission zip")
    check.add_argument("--benchmark", help="local benchmark for the score (default Kiani2007.IT-rdm)")
    check.add_argument("--keep", help="work in this folder and keep it")
    add_config_arguments(check)
    commit = sub.add_parser("commit", help="choose a model's region->layer map on held-out data and record it")
    commit.add_argument("name", help="catalogue name or checkpoint file")


def _package(args: argparse.Namespace) -> None:
    from analyses.neural.commitment import choose_region_layer_map, recorded_commitment, region_layer_map
    from model_zoo import load
    from model_zoo.brainscore import USER_FAMILY, plugin_dirname
    from model_zoo.submission import LayerMap, package, preflight
    from neuroequi.cli import command_config

    config = command_config(PackageConfig, args, where="brainscore package")
    loaded = load(args.name)
    url = args.weights_url or config.weights_url or None
    preflight(loaded, url, config.allow_private_url)  # the cheap checks, before layers are chosen
    if loaded.entry.family == USER_FAMILY and config.choose_layers and recorded_commitment(loaded.identifier) is None:
        print(f"choosing the region->layer map of {loaded.identifier} on held-out data ...")
        choose_region_layer_map(loaded)
    regions, how = region_layer_map(loaded, config.region_layer_map or None)
    output = args.output or Path(f"{plugin_dirname(loaded.name)}.zip")
    written = package(loaded, output, weights_url=url, layer_map=LayerMap(regions, how),
                      allow_private_url=config.allow_private_url)
    print(f"wrote {written} and {written.with_suffix('')}/ (region->layer {regions}: {how})")


def _check(args: argparse.Namespace) -> int:
    from analyses.neural.submission_check import check_submission
    from neuroequi.cli import command_config

    config = command_config(CheckConfig, args, where="brainscore check")
    config = dataclasses.replace(config, **{k: v for k, v in (("benchmark", args.benchmark), ("keep", args.keep)) if v})
    report = check_submission(args.zip, config.benchmark, tuple(config.phases), config.timeout,
                              Path(config.keep) if config.keep else None, allow_private_url=config.allow_private_url)
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


def run(args: argparse.Namespace) -> int:
    """Run the chosen sub-command; 0 on success, 1 when a submission check fails (user errors raise
    ``neuroequi.errors`` errors: one line, exit code 2)."""
    from analyses.neural import install_plugins, uninstall_plugins

    if args.brainscore_command == "install":
        for link in (uninstall_plugins() if args.remove else install_plugins()):
            print(("removed " if args.remove else "linked ") + str(link))
        return 0
    if args.brainscore_command == "package":
        _package(args)
        return 0
    if args.brainscore_command == "check":
        return _check(args)
    from analyses.neural.commitment import choose_region_layer_map, commitment_path

    from neuroequi.io import to_json

    record = choose_region_layer_map(args.name)
    print(to_json(record, indent=2))
    print(f"recorded in {commitment_path(record['identifier'])}")
    return 0
