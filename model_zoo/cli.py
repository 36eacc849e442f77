"""``neuroequi zoo list|show|add``: the model catalogue from the command line."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    """Sub-commands ``list``, ``show NAME`` and ``add PATH``."""
    sub = parser.add_subparsers(dest="zoo_command", metavar="SUBCOMMAND", required=True)
    sub.add_parser("list", help="list every model (built-in and registered)")
    show = sub.add_parser("show", help="print one model's catalogue entry")
    show.add_argument("name")
    add = sub.add_parser("add", help="register a model: a state dict of any architecture (--arch), or a "
                                     "checkpoint of this project",
                         description="Register a model in the zoo. With --arch: a state dict file (plain, under "
                                     "'state_dict', or with a 'module.' prefix) of torchvision:<name>, timm:<name> or "
                                     "module:<package.module>:<callable>; whole pickled networks are refused. "
                                     "Without: a neuroequi checkpoint.")
    add.add_argument("path", help="weights file")
    add.add_argument("--arch", help="torchvision:<name> | timm:<name> | module:<package.module>:<callable>")
    add.add_argument("--name", help="catalogue name (default: <arch name>-<sha8>, or for a project checkpoint "
                                    "<method>-lambda<l>-<arch>-<dataset>-<sha8>)")
    add.add_argument("--layers", help="comma-separated modules to record (default: the architecture's stages)")
    add.add_argument("--image-size", type=int, help="input side in px (default: the model's own, else 224)")
    add.add_argument("--mean", help="3 comma-separated values (default: the model's own, else ImageNet's)")
    add.add_argument("--std", help="3 comma-separated values (default: the model's own, else ImageNet's)")
    add.add_argument("--url", help="public download address of the same file (needed to package a submission)")
    add.add_argument("--replace", action="store_true", help="replace an entry of the same name")


def _lam(lam: float | None) -> str:
    from neuroequi.io import format_lambda

    return "-" if lam is None else format_lambda(lam)


def _values(text: str | None, kind: type, flag: str) -> list | None:
    """``'a,b'`` -> ``[kind('a'), kind('b')]`` (None stays None); ConfigError naming ``flag`` otherwise."""
    from neuroequi.errors import ConfigError

    if text is None:
        return None
    try:
        return [kind(part.strip()) for part in text.split(",") if part.strip()]
    except ValueError as err:
        raise ConfigError(f"{flag} {text!r}: comma-separated {kind.__name__} values expected ({err})") from err


def run(args: argparse.Namespace) -> int:
    """Run the chosen sub-command; 0 on success (user errors raise ``neuroequi.errors`` errors)."""
    from neuroequi.io import to_json
    from model_zoo.catalogue import builtin_entries, get_entry, register_checkpoint, register_weights, user_entries
    from neuroequi.errors import ConfigError, NeuroequiError

    if args.zoo_command == "list":
        problem = None
        try:
            registered = user_entries()
        except NeuroequiError as err:  # a damaged user catalogue: list the built-in models, then report it
            registered, problem = {}, err
        listed = {**registered, **builtin_entries()}
        rows = [(e.name, e.arch, e.method, _lam(e.lam), e.dataset, e.source.kind) for e in listed.values()]
        header = ("name", "arch", "method", "lambda", "dataset", "source")
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())
        if problem is not None:
            raise problem
        return 0
    if args.zoo_command == "show":
        print(to_json(get_entry(args.name).to_json(), indent=2))
        return 0
    if args.arch:
        entry = register_weights(args.path, args.arch, args.name, replace=args.replace, url=args.url,
                                 layers=_values(args.layers, str, "--layers"), image_size=args.image_size,
                                 mean=_values(args.mean, float, "--mean"), std=_values(args.std, float, "--std"))
        print(f"registered {entry.name} ({entry.arch}; {entry.image_size} px, mean {list(entry.mean)}, "
              f"std {list(entry.std)} from {entry.meta['preprocessing']}; layers {', '.join(entry.layers)}) "
              f"-> {entry.source.location}")
    else:
        options = [flag for flag, value in (("--layers", args.layers), ("--image-size", args.image_size),
                                            ("--mean", args.mean), ("--std", args.std)) if value is not None]
        if options:
            raise ConfigError(f"zoo add: {', '.join(options)} need --arch (a project checkpoint records its own)")
        entry = register_checkpoint(args.path, name=args.name, url=args.url, replace=args.replace)
        print(f"registered {entry.name} ({entry.arch}, {entry.method}, lambda {_lam(entry.lam)}) "
              f"-> {entry.source.location}")
    print("run `neuroequi brainscore install` to make it visible to brainscore_vision.load_model")
    return 0
