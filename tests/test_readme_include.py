"""Result text in the README is the committed result file it names, verbatim (``figures.readme_include``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from figures.readme_include import included, main, refresh, source
from neuroequi.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_every_include_block_of_the_readmes_equals_its_result_file():
    blocks = {md: included(md) for md in [ROOT / "README.md", *ROOT.glob("*/**/README.md")] if ".venv" not in md.parts}
    reported = {"figures/hssl/cpu/report.md", "figures/equivariance_table/cpu/table.md", "figures/figure1_rerun/agreement.md"}
    assert reported <= set(blocks[ROOT / "README.md"]), "the README must report these results through include blocks"
    for markdown, bodies in blocks.items():
        for path, body in bodies.items():
            assert body == source(markdown, path).read_text(), f"{markdown}: block {path} differs from the file (python -m figures.readme_include {markdown.relative_to(ROOT)})"


def test_refresh_rewrites_a_stale_block_and_only_then(tmp_path):
    (tmp_path / "r.md").write_text("| a |\n")
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- include r.md -->\nold text\n<!-- /include -->\nend\n")
    assert refresh(readme) == ["r.md"]
    assert readme.read_text() == "intro\n<!-- include r.md -->\n| a |\n<!-- /include -->\nend\n"
    assert refresh(readme) == []


def test_a_block_naming_a_missing_file_is_a_one_line_error(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("<!-- include gone.md -->\nx\n<!-- /include -->\n")
    with pytest.raises(ConfigError, match="'gone.md', which is not a file"):
        refresh(readme)
    assert main([str(readme)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
