"""Result text in the README is the committed result file it names, verbatim (``figures.readme_include``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from figures.readme_include import included, main, refresh, source
from neuroequi.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_every_include_block_of_the_readmes_equals_its_result_file():
    pages = [ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("*/**/README.md")]
    blocks = {md: included(md) for md in pages if ".venv" not in md.parts}
    reported = {
        "../figures/hssl/cpu/report.md",
        "../figures/equivariance_table/cpu/table.md",
        "../figures/figure1_rerun/agreement.md",
    }
    assert reported <= set(blocks[ROOT / "docs" / "reproduction.md"]), (
        "docs/reproduction.md must report these results through include blocks"
    )
    assert {"../tests/benchmarks/RESULTS.md", "../analyses/neural/RESULTS_rdm.md"} <= set(
        blocks[ROOT / "docs" / "benchmarks.md"]
    )
    for markdown, bodies in blocks.items():
        for path, body in bodies.items():
            assert body == source(markdown, path).read_text(), (
                f"{markdown}: block {path} differs from the file (python -m figures.readme_include {markdown.relative_to(ROOT)})"
            )


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


def test_the_readme_is_a_first_page_and_every_link_of_it_and_the_docs_leads_somewhere():
    import re

    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    first_screen = "\n".join(readme.splitlines()[:60])
    for command in ("make figures", "make test", "neuroequi zoo add", "neuroequi report"):
        assert command in first_screen, command
    assert not re.search(r"\bissues? \d+|DESIGN\.md|design note", readme, re.I)
    for page in [ROOT / "README.md", *ROOT.glob("docs/*.md")]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if not target.startswith(("http://", "https://")):
                assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to {target}, which is missing"
