"""The ``neuroequi`` command: one entry point, one grammar, commands declared by the layers.

One grammar for every command::

    neuroequi COMMAND [SUB-COMMAND] [SUBJECT ...] [--preset NAME] [--config FILE] [KEY.SUBKEY=VALUE ...] [--flags]

* every setting is a key of the command's typed config (a dataclass): its defaults, then
  ``--preset NAME`` (a YAML file shipped beside the code), then ``--config FILE``, then every
  ``key=value`` token wherever it stands on the line (values parsed as YAML; :mod:`neuroequi.config`);
* a flag such as ``--model M`` is only an alias of a key (``model=M``), documented once, beside
  the key, in the command's generated help; the same word means the same thing in every command
  (``--model``, ``--benchmark`` -> ``benchmarks`` (a list), ``--out`` (always a folder));
* the other flags are not settings (``--out DIR``, ``--resume``, ``--json``);
* a known error (:class:`~neuroequi.errors.NeuroequiError`) is one line on stderr and exit code 2;
  ``--debug`` (anywhere on the line) shows its traceback.

Commands are registered from below: every top-level package of the ``neuroequi`` distribution
(the layers, ``setup.cfg [options.packages.find]``) may have a ``commands`` module defining
``COMMANDS: tuple[Command, ...]``. This module names no package of a higher layer. A
:class:`Command` names its config class and run function as ``"module:attribute"`` strings of
its own layer, imported only when that command is configured or runs, so ``neuroequi --help``
imports no command module and ``neuroequi COMMAND --help`` only the command's config.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.metadata
import importlib.util
import json
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from neuroequi.config import load_typed, read_yaml
from neuroequi.errors import ConfigError

DISTRIBUTION = "neuroequi"


@dataclass(frozen=True)
class Option:
    """A flag that is not a setting: an output folder, a switch (``--resume``), a file.

    ``kind``: ``folder`` and ``file`` take a path (``args.<dest>`` is a :class:`~pathlib.Path`
    or ``default``), ``switch`` takes no value.
    """

    flag: str
    help: str
    kind: Literal["folder", "file", "switch"] = "folder"
    default: str | None = None
    required: bool = False


@dataclass(frozen=True)
class Command:
    """One command (or group of sub-commands) of the ``neuroequi`` program.

    Attributes:
        name: the word on the line.
        help: one line for the listing.
        run: ``"module:function"``; ``function(config, args) -> int | None`` (None: 0).
        config: ``"module:Class"``, the typed config (a dataclass whose defaults all exist);
            empty: the command has no settings.
        subject: the config key filled by the positional arguments (a list key takes several).
        aliases: flag -> config key (``{"--model": "model"}``): a bool key is a switch, a list key
            is repeatable and comma-separated, any other takes one value.
        presets: folder of ``NAME.yaml`` configs (``--preset NAME``); ``preset``: the default one.
        options: flags that are not settings (:class:`Option`).
        load: ``"module:function"`` building the config instead of the default reader,
            ``function(args, overrides) -> config`` (``train``: a recipe's rules).
        commands: sub-commands (a group); ``default``: the one run when none is named.
        required: keys that must be set (not empty): a ConfigError naming the key and its flag otherwise.
        renamed: old flag -> new flag, accepted with a one-line notice (one release).
        alias_of: an old spelling of another command (e.g. ``("figures", "hssl")``), run with a notice.
    """

    name: str
    help: str
    run: str = ""
    config: str = ""
    subject: str = ""
    aliases: Mapping[str, str] = field(default_factory=dict)
    presets: Path | None = None
    preset: str | None = None
    options: tuple[Option, ...] = ()
    load: str = ""
    commands: tuple[Command, ...] = ()
    default: str | None = None
    required: tuple[str, ...] = ()
    renamed: Mapping[str, str] = field(default_factory=dict)
    alias_of: tuple[str, ...] = ()


def resolve(target: str) -> Any:
    """``"package.module:attribute"`` -> the attribute (imports the module)."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def layers() -> list[str]:
    """The top-level packages of the distribution, this one first (the layers of ``setup.cfg``)."""
    try:
        listed = (importlib.metadata.distribution(DISTRIBUTION).read_text("top_level.txt") or "").split()
    except importlib.metadata.PackageNotFoundError:  # a source tree that is not installed
        listed = []
    return [DISTRIBUTION, *sorted(set(listed) - {DISTRIBUTION})]


def registered() -> dict[str, Command]:
    """Every layer's ``COMMANDS``, by name, in layer order (the base layer first)."""
    commands: dict[str, Command] = {}
    for package in layers():
        if importlib.util.find_spec(f"{package}.commands") is None:
            continue
        for command in importlib.import_module(f"{package}.commands").COMMANDS:
            if command.name in commands:
                raise RuntimeError(f"command {command.name!r} is registered twice ({package}.commands)")
            commands[command.name] = command
    return commands


# --- the settings of a config class, for --help and for flag aliases ------------------------------


def _type_name(tp: Any) -> str:
    """A short, readable name of a field type (``list[str]``, ``int | None``, ``one of a|b``)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        return "one of " + "|".join(str(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join("None" if a is type(None) else _type_name(a) for a in args)
    if origin in (tuple, list):
        if len(args) == 2 and args[1] is not Ellipsis:
            return f"[{_type_name(args[0])}, {_type_name(args[1])}]"
        return f"list[{_type_name(args[0]) if args else 'any'}]"
    if origin is dict:
        return "mapping"
    return getattr(tp, "__name__", str(tp))


_PROSE = re.compile(r"(?P<names>``\w+``(?:\s*/\s*``\w+``)*):\s(?P<doc>.+?)(?=\s``\w+``(?:\s*/\s*``\w+``)*:\s|$)")
_ATTRIBUTE = re.compile(r"^(?P<names>[A-Za-z_][\w]*(?:\s*,\s*[A-Za-z_][\w]*)*)\s*:\s*(?P<doc>.*)$")


def field_docs(cls: type) -> dict[str, str]:
    """Each field's documentation on one line: ``field(metadata={"doc": ...})``, the class docstring's
    ``Attributes:`` section (``name: text`` or ``a, b: text`` lines), or its prose (````name````: text)."""
    docs: dict[str, str] = {}
    text = (cls.__doc__ or "").expandtabs()
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "Attributes:"), None)
    if start is not None:
        names: list[str] = []
        indent = None
        for line in lines[start + 1 :]:
            if not line.strip():
                continue
            depth = len(line) - len(line.lstrip())
            if indent is None:
                indent = depth
            if depth < indent:
                break
            match = _ATTRIBUTE.match(line.strip()) if depth == indent else None
            if match:
                names = [n.strip() for n in match["names"].split(",")]
                for name in names:
                    docs[name] = match["doc"].strip()
            else:
                for name in names:
                    docs[name] += " " + line.strip()
    flat = " ".join((text if start is None else "\n".join(lines[:start])).split())
    for match in _PROSE.finditer(flat):  # prose style: "``a``: text. ``b`` / ``c``: text."
        for name in re.findall(r"``(\w+)``", match["names"]):
            docs.setdefault(name, re.split(r"(?<=\.)\s(?=``)", match["doc"].strip())[0])  # its own sentences
    for f in dataclasses.fields(cls):
        if "doc" in f.metadata:
            docs[f.name] = f.metadata["doc"]
    return {name: " ".join(doc.split()) for name, doc in docs.items()}


@dataclass(frozen=True)
class Setting:
    """One key of a config: its dotted name, type, default and one-line documentation."""

    key: str
    type: Any
    default: Any
    doc: str


def settings(cls: type, prefix: str = "", instance: Any = None) -> list[Setting]:
    """Every key of dataclass ``cls``, nested dataclass sections flattened to ``section.key``; defaults
    read from ``instance`` (a section's default value) when given."""
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    out: list[Setting] = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        tp = hints[f.name]
        if instance is not None:
            default = getattr(instance, f.name)
        elif f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = dataclasses.MISSING
        if dataclasses.is_dataclass(tp):
            section = default if dataclasses.is_dataclass(default) else None
            out.extend(settings(tp, f"{prefix}{f.name}.", section))  # type: ignore[arg-type]
            continue
        out.append(Setting(f"{prefix}{f.name}", tp, default, docs.get(f.name, "")))
    return out


def _shown(value: Any) -> str:
    if value is dataclasses.MISSING:
        return "required"
    if dataclasses.is_dataclass(value) or isinstance(value, (list, tuple, dict)):
        from neuroequi.config import to_plain

        return json.dumps(to_plain(value), default=str)
    return json.dumps(value, default=str)


def settings_help(cls: type, aliases: Mapping[str, str], subject: str = "") -> str:
    """The "Settings" epilog of a command: one line per key (type, default, doc, flag aliases)."""
    flags: dict[str, list[str]] = {}
    for flag, key in aliases.items():
        flags.setdefault(key, []).append(flag)
    if subject:
        flags.setdefault(subject, []).insert(0, "positional")
    rows = []
    for s in settings(cls):
        also = f" (also {', '.join(flags[s.key])})" if s.key in flags else ""
        rows.append(f"  {s.key} : {_type_name(s.type)} = {_shown(s.default)}\n      {s.doc}{also}".rstrip())
    return "Settings (KEY=VALUE anywhere on the line, values parsed as YAML; a list is [a,b]):\n" + "\n".join(rows)


def _alias_kind(cls: type, key: str) -> str:
    """``switch``, ``list``, ``text`` or ``value``: how the flag of ``key`` reads its value."""
    tp = {s.key: s.type for s in settings(cls)}[key]
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if tp is bool:
        return "switch"
    if typing.get_origin(tp) in (tuple, list):
        return "list"
    if tp is str or (typing.get_origin(tp) in (typing.Union, types.UnionType) and args == [str]):
        return "text"
    return "value"


# --- parser ---------------------------------------------------------------------------------------


def _dest(flag: str) -> str:
    return "alias_" + flag.lstrip("-").replace("-", "_")


def configure(parser: argparse.ArgumentParser, command: Command) -> None:
    """Arguments of a leaf command: subject, ``--preset``/``--config``, aliases, options; settings epilog."""
    cls = resolve(command.config) if command.config else None
    if command.subject:
        kind = _alias_kind(cls, command.subject)
        parser.add_argument(
            "subject",
            nargs="*" if kind == "list" else "?",
            metavar=command.subject.upper(),
            help=f"the setting {command.subject} (see Settings)",
        )
    if cls is not None:
        parser.add_argument("--config", type=Path, default=None, metavar="FILE", help="YAML config file")
        if command.presets is not None:
            names = ", ".join(presets(command))
            default = f"; default {command.preset}" if command.preset else ""
            parser.add_argument(
                "--preset",
                default=command.preset,
                metavar="NAME",
                help=f"a config shipped beside the code ({names}{default}); --config and KEY=VALUE override it",
            )
        for flag, key in command.aliases.items():
            kind = _alias_kind(cls, key)
            if kind == "switch":
                parser.add_argument(flag, dest=_dest(flag), action="store_const", const=True, help=f"= {key}=true")
            elif kind == "list":
                parser.add_argument(
                    flag,
                    dest=_dest(flag),
                    action="append",
                    metavar=key.upper(),
                    help=f"= {key}=[...] (repeatable or comma-separated)",
                )
            else:
                parser.add_argument(flag, dest=_dest(flag), metavar=key.split(".")[-1].upper(), help=f"= {key}=...")
        parser.epilog = settings_help(cls, command.aliases, command.subject)
    for option in command.options:
        dest = option.flag.lstrip("-").replace("-", "_")
        if option.kind == "switch":
            parser.add_argument(option.flag, dest=dest, action="store_true", help=option.help)
        else:
            default = None if option.default is None else Path(option.default)
            shown = f" (default {option.default})" if option.default else ""
            parser.add_argument(
                option.flag,
                dest=dest,
                type=Path,
                default=default,
                required=option.required,
                metavar="DIR" if option.kind == "folder" else "FILE",
                help=option.help + shown,
            )
    parser.set_defaults(_command=command)


def presets(command: Command) -> list[str]:
    """The names of the command's presets (``<presets>/<NAME>.yaml``)."""
    return sorted(p.stem for p in command.presets.glob("*.yaml")) if command.presets else []


def _add(sub: argparse._SubParsersAction, command: Command, chosen: list[str], prefix: str = "") -> None:
    """Add ``command`` to ``sub``; configure it only when it is the one on the line (``chosen``)."""
    help_text = command.help if not command.alias_of else f"old spelling of `{' '.join(command.alias_of)}`"
    parser = sub.add_parser(
        command.name, help=help_text, description=command.help, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    if not chosen or chosen[0] != command.name:
        return
    if command.commands:
        inner = parser.add_subparsers(dest=f"{command.name}_command", metavar="SUBCOMMAND", required=True)
        for child in command.commands:
            _add(inner, child, chosen[1:], f"{prefix}{command.name} ")
    else:
        configure(parser, command)
        parser.set_defaults(command_line=f"{prefix}{command.name}")


def _chosen(argv: Sequence[str]) -> list[str]:
    return [a for a in argv if not a.startswith("-") and "=" not in a]


def build_parser(argv: Sequence[str], commands: Mapping[str, Command]) -> argparse.ArgumentParser:
    """Parser with every command listed; only the one on the line is configured."""
    parser = argparse.ArgumentParser(prog="neuroequi", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error (anywhere on the line)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = _chosen(argv)
    for command in commands.values():
        _add(sub, command, chosen)
    return parser


def respell(argv: list[str], commands: Mapping[str, Command]) -> list[str]:
    """Old spellings -> new ones, each with a one-line notice on stderr: renamed commands, renamed
    flags, and a group named without its sub-command (its ``default``)."""
    words = _chosen(argv)
    if not words or words[0] not in commands:
        return argv
    command = commands[words[0]]
    at = argv.index(words[0])
    if command.alias_of:
        new = " ".join(command.alias_of)
        print(f"neuroequi: `neuroequi {command.name}` is now `neuroequi {new}`", file=sys.stderr)
        return respell([*argv[:at], *command.alias_of, *argv[at + 1 :]], commands)
    if command.commands:
        names = {c.name: c for c in command.commands}
        if len(words) < 2 or words[1] not in names:
            if command.default is None or "-h" in argv or "--help" in argv:
                return argv
            print(
                f"neuroequi: `neuroequi {command.name}` runs `neuroequi {command.name} {command.default}` "
                "(name the sub-command)",
                file=sys.stderr,
            )
            argv = [*argv[: at + 1], command.default, *argv[at + 1 :]]
            words = [words[0], command.default]
        command = names[words[1]]
    for i, token in enumerate(argv):
        flag, eq, value = token.partition("=")
        if flag in command.renamed:
            print(f"neuroequi: {flag} is now {command.renamed[flag]}", file=sys.stderr)
            argv[i] = command.renamed[flag] + eq + value
    return argv


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


# --- config ---------------------------------------------------------------------------------------


def alias_overrides(command: Command, args: argparse.Namespace) -> list[str]:
    """The subject and the alias flags on the line as ``key=value`` overrides (they win over the others)."""
    cls = resolve(command.config)
    given: list[tuple[str, str, Any]] = []
    if command.subject and getattr(args, "subject", None) not in (None, []):
        given.append((command.subject, command.subject, args.subject))
    for flag, key in command.aliases.items():
        value = getattr(args, _dest(flag), None)
        if value is not None:
            given.append((flag, key, value))
    overrides = []
    for flag, key, value in given:
        kind = _alias_kind(cls, key)
        if kind == "list":
            items = value if isinstance(value, list) else [value]
            parts = [part.strip() for item in items for part in str(item).split(",") if part.strip()]
            if not parts:  # e.g. `--layers ,`: never silently the default
                raise ConfigError(
                    f"{flag} {', '.join(map(str, items))!r} names nothing; give one or more "
                    f"comma-separated values of {key}"
                )
            value = json.dumps(parts)
        elif kind == "text":
            value = json.dumps(value)
        elif kind == "switch":
            value = "true"
        overrides.append(f"{key}={value}")
    return overrides


def script_config(
    cls: type,
    prog: str,
    description: str,
    argv: Sequence[str],
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
) -> tuple[argparse.Namespace, Any]:
    """The arguments and typed ``cls`` config of a module script (``python -m pkg.module``): its own
    arguments (``add_arguments``), ``--config FILE`` and ``key=value`` settings anywhere on the line,
    with the settings list of ``cls`` in ``--help``. Raises ``ConfigError`` for a bad setting."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=settings_help(cls, {}),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, default=None, help="a YAML file of settings (key=value wins)")
    if add_arguments is not None:
        add_arguments(parser)
    rest, overrides = split_overrides(argv, parser)
    args = parser.parse_args(rest)
    return args, load_typed(cls, args.config, overrides, "settings")


def run_script(
    cls: type,
    prog: str,
    description: str,
    argv: Sequence[str] | None,
    work: Callable[[argparse.Namespace, Any], None],
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
) -> int:
    """Run a module script: :func:`script_config` on ``argv`` (``sys.argv[1:]`` when None), then
    ``work(args, config)``. Returns 0, or the exit code (2) of a ``NeuroequiError``, printed as one line."""
    from neuroequi.errors import NeuroequiError

    try:
        work(*script_config(cls, prog, description, sys.argv[1:] if argv is None else argv, add_arguments))
    except NeuroequiError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return err.exit_code
    return 0


def command_config(command: Command, args: argparse.Namespace) -> Any:
    """The typed config of ``command``: defaults, ``--preset``, ``--config``, ``key=value``, then flags."""
    overrides = [*args.overrides, *alias_overrides(command, args)]
    if command.load:
        return resolve(command.load)(args, overrides)
    cls = resolve(command.config)
    preset = getattr(args, "preset", None)
    if preset and preset not in presets(command):
        raise ConfigError(f"neuroequi {args.command_line}: unknown preset {preset!r}; valid: {presets(command)}")
    base = read_yaml(command.presets / f"{preset}.yaml", "preset") if preset and command.presets else {}
    return load_typed(cls, args.config, overrides, f"neuroequi {args.command_line}", base=base)


def parse(argv: Sequence[str]) -> tuple[Command, argparse.Namespace, Any]:
    """The command on the line, its arguments and its typed config (None without settings).

    Old spellings are rewritten first (:func:`respell`); errors raise (argparse exits with 2).
    """
    commands = registered()
    argv = respell(list(argv), commands)
    parser = build_parser(argv, commands)
    argv, overrides = split_overrides(argv, parser)
    args = parser.parse_args(argv)
    command: Command = args._command
    if overrides and not command.config:
        raise ConfigError(f"neuroequi {args.command_line} takes no KEY=VALUE settings, got {overrides}")
    args.overrides = overrides
    config = command_config(command, args) if command.config else None
    missing = [key for key in command.required if not getattr(config, key)]
    if missing:
        spelled = [
            " or ".join(
                [
                    f"{key}=...",
                    *(f for f, k in command.aliases.items() if k == key),
                    *([f"a positional {key.upper()}"] if key == command.subject else []),
                ]
            )
            for key in missing
        ]
        raise ConfigError(f"neuroequi {args.command_line}: give {'; '.join(spelled)}")
    return command, args, config


def report(err: Exception) -> int:
    """Print a known error (:class:`~neuroequi.errors.NeuroequiError`) as the one line
    ``neuroequi: error: <message>`` on stderr; return its exit code (2)."""
    message = " ".join(str(err).split()) or type(err).__name__
    print(f"neuroequi: error: {message}", file=sys.stderr)
    return getattr(err, "exit_code", 2)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``neuroequi`` console script.

    A :class:`~neuroequi.errors.NeuroequiError` (any error the user can fix), and an
    ``OSError`` of a write (no space, no permission: :func:`neuroequi.errors.write_error`),
    is printed as one line on stderr with exit code 2; ``--debug`` (anywhere
    on the line) shows its traceback instead. Other exceptions are bugs and
    keep their traceback.
    """
    from neuroequi.errors import NeuroequiError, write_error

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    try:
        command, args, config = parse(argv)
        run: Callable[[Any, argparse.Namespace], int | None] = resolve(command.run)
        return int(run(config, args) or 0)
    except NeuroequiError as err:
        if debug:
            raise
        return report(err)
    except OSError as err:  # a write that failed outside neuroequi.io.atomic_write: no space, no permission
        error = write_error(err)
        if error is None or debug:
            raise
        return report(error)
    except KeyboardInterrupt:
        print("neuroequi: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # python -m neuroequi.cli: run the module the layers' commands import
    from neuroequi.cli import main as _main

    sys.exit(_main())
