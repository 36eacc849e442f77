"""The ``neuroequi`` command: one entry point, one sub-command per pipeline step.

Sub-command modules are imported only when their command runs, so
``neuroequi --help`` is instant. Each module defines
``configure(parser: argparse.ArgumentParser) -> None`` and
``run(args: argparse.Namespace) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# command -> (module, one-line help). Data flows top to bottom.
COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("neuroequi.data.cli", "list, fetch and verify the real datasets"),
    "train": ("neuroequi.train.cli", "train an SSL model (TeSSL, EquiMod, invariance baselines)"),
    "hssl": ("neuroequi.hssl.experiment", "the H-SSL vs A-SSL experiment (CPU-sized)"),
    "zoo": ("model_zoo.cli", "list, show and add models in the model zoo"),
    "brainscore": ("model_zoo.brainscore_cli", "install zoo plugins into brainscore_vision; package one"),
    "score": ("model_zoo.score_cli", "score a zoo model on a neural benchmark"),
    "analyze": ("analyses.cli", "responses to augmentation ensembles and every Figure-1 measure"),
    "figures": ("figures.cli", "Figure 1: offline default or from the published checkpoints"),
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    """Parser with every command listed; only the invoked one is configured."""
    parser = argparse.ArgumentParser(prog="neuroequi", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error (anywhere on the line)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, help_text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            mod = importlib.import_module(module)
            mod.configure(cmd)
            cmd.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``neuroequi`` console script.

    A :class:`~neuroequi.errors.NeuroequiError` (any error the user can fix)
    is printed as one line on stderr with exit code 2; ``--debug`` (anywhere
    on the line) shows its traceback instead. Other exceptions are bugs and
    keep their traceback.
    """
    from neuroequi.errors import NeuroequiError

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    try:
        args = build_parser(argv).parse_args(argv)
        return int(args._run(args) or 0)
    except NeuroequiError as err:
        if debug:
            raise
        message = " ".join(str(err).split()) or type(err).__name__
        print(f"neuroequi: error: {message}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("neuroequi: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
