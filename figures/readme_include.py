"""README text that reports a result is a verbatim copy of a committed result file.

A block ``<!-- include PATH -->`` ... ``<!-- /include -->`` in a Markdown file holds the text of
``PATH`` (relative to that file); ``tests/test_readme_include.py`` checks every block against its
file, and this command rewrites them after a result file changed::

    python -m figures.readme_include [README.md ...]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from neuroequi.cli import report
from neuroequi.errors import ConfigError
from neuroequi.io import atomic_write

BLOCK = re.compile(r"<!-- include (?P<path>\S+) -->\n(?P<body>.*?)<!-- /include -->", re.S)


def included(markdown: Path) -> dict[str, str]:
    """``{path: text in the block}`` of every include block of ``markdown`` (paths as written)."""
    return {m["path"]: m["body"] for m in BLOCK.finditer(markdown.read_text())}


def source(markdown: Path, path: str) -> Path:
    """The result file a block of ``markdown`` names (relative to the Markdown file); it must exist."""
    file = markdown.parent / path
    if not file.is_file():
        raise ConfigError(
            f"{markdown}: include block names {path!r}, which is not a file (run the command that writes it)"
        )
    return file


def refresh(markdown: Path) -> list[str]:
    """Rewrite every include block of ``markdown`` from its file; return the paths whose text changed."""
    text = markdown.read_text()
    changed: list[str] = []

    def fill(match: re.Match[str]) -> str:
        body = source(markdown, match["path"]).read_text()
        if body != match["body"]:
            changed.append(match["path"])
        return f"<!-- include {match['path']} -->\n{body}<!-- /include -->"

    new = BLOCK.sub(fill, text)
    if changed:
        with atomic_write(markdown) as tmp:
            tmp.write_text(new)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m figures.readme_include", description=__doc__.splitlines()[0])
    parser.add_argument("markdown", nargs="*", type=Path, default=[Path("README.md")])
    args = parser.parse_args(argv)
    try:
        for markdown in args.markdown:
            changed = refresh(markdown)
            print(f"{markdown}: {', '.join(changed) if changed else 'every include block is current'}")
    except ConfigError as err:
        return report(err)
    return 0


if __name__ == "__main__":
    sys.exit(main())
