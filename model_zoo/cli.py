"""``neuroequi zoo list|show|add``: the model catalogue from the command line."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    """Sub-commands ``list``, ``show NAME`` and ``add PATH``."""
    sub = parser.add_subparsers(dest="zoo_command", metavar="SUBCOMMAND", required=True)
    sub.add_parser("list", help="list every model (built-in and registered)")
    show = sub.add_parser("show", help="print one model's catalogue entry")
    show.add_argument("name")
    add = sub.add_parser("add", help="register one of the project's checkpoints (neuroequi.checkpoint format)")
    add.add_argument("path", help="checkpoint file")
    add.add_argument("--name", help="catalogue name (default: <method>-lambda<l>-<arch>-<dataset>-<sha8>)")
    add.add_argument("--url", help="public download address of the same file (needed to package a submission)")
    add.add_argument("--replace", action="store_true", help="replace an entry of the same name")


def _lam(lam: float | None) -> str:
    from neuroequi.io import format_lambda

    return "-" if lam is None else format_lambda(lam)


def run(args: argparse.Namespace) -> int:
    """Run the chosen sub-command; 0 on success (user errors raise ``neuroequi.errors`` errors)."""
    from neuroequi.io import to_json
    from model_zoo.catalogue import builtin_entries, get_entry, register_checkpoint, user_entries
    from neuroequi.errors import NeuroequiError

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
    entry = register_checkpoint(args.path, name=args.name, url=args.url, replace=args.replace)
    print(f"registered {entry.name} ({entry.arch}, {entry.method}, lambda {_lam(entry.lam)}) "
          f"-> {entry.source.location}")
    print("run `neuroequi brainscore install` to make it visible to brainscore_vision.load_model")
    return 0
