"""``neuroequi brainscore install|package``: the zoo's Brain-Score plugins and the local benchmarks."""

from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    """Sub-commands ``install [--remove]`` and ``package ID [-o ZIP] [--requirement REQ]``."""
    sub = parser.add_subparsers(dest="brainscore_command", metavar="SUBCOMMAND", required=True)
    install = sub.add_parser("install", help="link the model plugins and local benchmarks into brainscore_vision")
    install.add_argument("--remove", action="store_true", help="remove the links instead")
    package = sub.add_parser("package", help="write a Brain-Score submission zip for one model")
    package.add_argument("name", help="catalogue name")
    package.add_argument("-o", "--output", "--out", type=Path, help="zip path (default: ./<plugin>.zip)")
    package.add_argument("--requirement", help="pip requirement providing model_zoo on Brain-Score's servers "
                                               "(default: neuroequi==<version>)")


def run(args: argparse.Namespace) -> int:
    """Run the chosen sub-command; 0 on success (user errors raise ``neuroequi.errors`` errors)."""
    from analyses.neural import install_plugins, uninstall_plugins
    from model_zoo.brainscore import package, plugin_dirname

    if args.brainscore_command == "install":
        for link in (uninstall_plugins() if args.remove else install_plugins()):
            print(("removed " if args.remove else "linked ") + str(link))
        return 0
    output = args.output or Path(f"{plugin_dirname(args.name)}.zip")
    print(f"wrote {package(args.name, output, args.requirement)}")
    return 0
