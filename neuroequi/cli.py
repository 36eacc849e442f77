"""The ``neuroequi`` command: one entry point, one sub-command per pipeline step.

Sub-command modules are imported only when their command runs, so
``neuroequi --help`` is instant. Each module defines
``configure(parser: argparse.ArgumentParser) -> None`` and
``run(args: argparse.Namespace) -> int``.

One grammar for every command::

    neuroequi COMMAND [SUB-COMMAND] [--config FILE] [KEY.SUBKEY=VALUE ...] [--flags]

* settings live in a typed config (a dataclass); ``--config FILE`` reads a
  YAML file (or ``--preset NAME`` one shipped beside the code) and every
  ``key=value`` token, wherever it stands on the line, overrides one key
  (values parsed as YAML; :mod:`neuroequi.config`). A command opts in with
  :func:`add_config_arguments` and reads its config with :func:`command_config`;
* flags are for what is not a setting (``--resume``, ``--out``, ``--debug``)
  and mean the same in every command;
* a known error (:class:`~neuroequi.errors.NeuroequiError`) is one line on
  stderr and exit code 2; ``--debug`` shows its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from neuroequi.config import load_typed, read_yaml

T = TypeVar("T")

# command -> (module, one-line help). Data flows top to bottom.
COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("neuroequi.data.cli", "list, fetch and verify the real datasets"),
    "train": ("neuroequi.train.cli", "train an SSL model (TeSSL, EquiMod, invariance baselines)"),
    "hssl": ("figures.hssl.cli", "the H-SSL vs A-SSL experiment (CPU-sized): probe accuracy table"),
    "zoo": ("model_zoo.cli", "list, show and add models in the model zoo"),
    "brainscore": ("analyses.neural.brainscore_cli", "Brain-Score: install zoo plugins; package, check and commit a submission"),
    "benchmarks": ("analyses.neural.benchmarks_cli", "list every benchmark: region, species, data, metric, ceiling, images, source"),
    "score": ("analyses.neural.score_cli", "score a zoo model on a neural benchmark"),
    "analyze": ("analyses.cli", "responses to augmentation ensembles and every Figure-1 measure"),
    "augmentation-prediction": ("analyses.augmentation_prediction", "predict each transformation's parameters from [h(x) ; h(t(x))]"),
    "report": ("figures.report.cli", "every local benchmark, layer and measure of one or several models: CSV, figure, markdown"),
    "figures": ("figures.figure1.cli", "Figure 1: --preset offline (default), smoke, paper (published checkpoints) or imagenet"),
    "equivariance-table": ("figures.equivariance_table.cli", "SIE vs the reconstruction method vs VICReg on CIFAR-10 (poster layout)"),
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


_OVERRIDE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*=")


def valued_flags(parser: argparse.ArgumentParser) -> set[str]:
    """The option strings of ``parser`` (and of its sub-commands) that take a value (not ``--resume``)."""
    flags: set[str] = set()
    for action in parser._actions:  # argparse has no public accessor for its actions
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                flags |= valued_flags(sub)
        elif action.option_strings and action.nargs != 0:
            flags.update(action.option_strings)
    return flags


def split_overrides(argv: Sequence[str], parser: argparse.ArgumentParser | None = None) -> tuple[list[str], list[str]]:
    """``argv`` -> (arguments for argparse, ``key=value`` overrides), wherever the overrides stand.

    A token is an override when it starts with a dotted identifier and ``=``
    (``optim.lr=1e-3``) and is not the value of a preceding flag: with ``parser``, a flag
    that takes a value (:func:`valued_flags`; so ``--resume optim.lr=1e-3`` is an override),
    without it any ``--flag``.
    """
    valued = None if parser is None else valued_flags(parser)
    rest: list[str] = []
    overrides: list[str] = []
    for i, token in enumerate(argv):
        previous = argv[i - 1] if i > 0 else ""
        if valued is None:
            after_flag = previous.startswith("--") and "=" not in previous
        else:
            after_flag = previous in valued
        if _OVERRIDE.match(token) and not after_flag:
            overrides.append(token)
        else:
            rest.append(token)
    return rest, overrides


def add_config_arguments(parser: argparse.ArgumentParser, presets: Path | None = None) -> None:
    """``--config FILE`` (and ``--preset NAME`` when ``presets`` names a folder of ``NAME.yaml``)."""
    parser.add_argument("--config", type=Path, default=None, metavar="FILE", help="YAML config file")
    if presets is not None:
        names = sorted(p.stem for p in presets.glob("*.yaml"))
        parser.add_argument("--preset", choices=names, default=None,
                            help=f"a config shipped with neuroequi ({', '.join(names)}); --config overrides it")
    parser.epilog = ((parser.epilog or "") + " Settings: KEY.SUBKEY=VALUE anywhere on the line "
                     "(values parsed as YAML, e.g. optim.lr=1e-3 data.crop_scale=[0.2,1.0]).").strip()


def command_config(cls: type[T], args: argparse.Namespace, presets: Path | None = None,
                   where: str = "config") -> T:
    """The typed config of a command: ``cls`` defaults, then ``--preset``, ``--config``, then overrides."""
    base: dict = {}
    preset = getattr(args, "preset", None)
    if preset is not None and presets is not None:
        base = read_yaml(presets / f"{preset}.yaml", "preset")
    return load_typed(cls, getattr(args, "config", None), getattr(args, "overrides", []), where, base=base)


def report(err: Exception) -> int:
    """Print a known error (:class:`~neuroequi.errors.NeuroequiError`) as the one line
    ``neuroequi: error: <message>`` on stderr; return its exit code (2)."""
    message = " ".join(str(err).split()) or type(err).__name__
    print(f"neuroequi: error: {message}", file=sys.stderr)
    return getattr(err, "exit_code", 2)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``neuroequi`` console script.

    A :class:`~neuroequi.errors.NeuroequiError` (any error the user can fix)
    is printed as one line on stderr with exit code 2; ``--debug`` (anywhere
    on the line) shows its traceback instead. Other exceptions are bugs and
    keep their traceback.
    """
    from neuroequi.errors import ConfigError, NeuroequiError

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    try:
        parser = build_parser(argv)
        argv, overrides = split_overrides(argv, parser)
        args = parser.parse_args(argv)
        if overrides and "--config" not in valued_flags(parser):
            raise ConfigError(f"neuroequi {args.command} takes no KEY=VALUE settings, got {overrides}")
        args.overrides = overrides
        return int(args._run(args) or 0)
    except NeuroequiError as err:
        if debug:
            raise
        return report(err)
    except KeyboardInterrupt:
        print("neuroequi: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
