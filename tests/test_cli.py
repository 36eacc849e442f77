"""The command grammar (:mod:`neuroequi.cli`): settings generated from the typed configs, flags as
aliases of keys, old spellings with a notice, and help that imports neither torch nor Brain-Score."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field

import pytest

from neuroequi import cli


def leaves(commands, prefix=()):
    """Every runnable command under ``commands`` as (words, Command)."""
    for command in commands:
        if command.alias_of:
            continue
        if command.commands:
            yield from leaves(command.commands, (*prefix, command.name))
        else:
            yield (*prefix, command.name), command


def all_leaves():
    return list(leaves(tuple(cli.registered().values())))


@dataclass(frozen=True)
class Inner:
    """Attributes:
    depth: how deep, in layers.
    """

    depth: int = 2


@dataclass(frozen=True)
class Example:
    """An example config.

    Attributes:
        name: the run's name; also its folder.
        size, width: two sizes
            documented together.
    """

    name: str = "run"
    size: int = 3
    width: float = 0.5
    tags: tuple[str, ...] = ("a",)
    inner: Inner = field(default_factory=Inner)
    noted: bool = field(default=False, metadata={"doc": "from the field's metadata."})


@dataclass(frozen=True)
class Prose:
    """Settings in prose. ``layer``: the module (None: the last). ``probe_train`` / ``probe_test``:
    probe images. ``seed`` is not documented with a colon."""

    layer: str | None = None
    probe_train: int = 0
    probe_test: int = 1
    seed: int = 0


def test_settings_are_generated_from_the_fields_with_type_default_and_doc():
    rows = {s.key: s for s in cli.settings(Example)}
    assert list(rows) == ["name", "size", "width", "tags", "inner.depth", "noted"]
    assert rows["size"].doc == rows["width"].doc == "two sizes documented together."
    assert rows["name"].doc == "the run's name; also its folder."
    assert (rows["inner.depth"].default, rows["inner.depth"].doc) == (2, "how deep, in layers.")
    assert rows["noted"].doc == "from the field's metadata."
    prose = cli.field_docs(Prose)
    assert prose == {
        "layer": "the module (None: the last).",
        "probe_train": "probe images.",
        "probe_test": "probe images.",
    }
    text = cli.settings_help(Example, {"--tag": "tags"})
    assert '  tags : list[str] = ["a"]' in text and "(also --tag)" in text and "  width : float = 0.5" in text


@pytest.mark.parametrize("words,command", all_leaves(), ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_every_setting_is_shown_once_in_the_help(words, command, capsys):
    with pytest.raises(SystemExit):
        cli.main([*words, "--help"])
    out = capsys.readouterr().out
    if not command.config:
        assert "Settings" not in out
        return
    for setting in cli.settings(cli.resolve(command.config)):
        line = f"  {setting.key} : {cli._type_name(setting.type)} = "
        assert out.count(line) == 1, (setting.key, out)
    for flag in command.aliases:  # each flag is an alias of a key, named beside it
        assert f"(also {flag}" in out or f", {flag}" in out


def test_flags_are_aliases_of_keys():
    _, _, by_flags = cli.parse(
        ["score", "--model", "m", "--benchmark", "a,b", "--benchmark", "c", "--recompute", "--layers", "all"]
    )
    _, _, by_keys = cli.parse(["score", "model=m", "benchmarks=[a, b, c]", "recompute=true", "layers=[all]"])
    assert by_flags == by_keys
    assert (by_keys.benchmarks, by_keys.recompute) == (("a", "b", "c"), True)
    _, _, flag_wins = cli.parse(["score", "--model", "m", "model=other", "benchmarks=[a]"])
    assert flag_wins.model == "m"  # a flag on the line wins over the key, as documented


def test_subject_fills_its_key_and_every_command_says_model_the_same_way():
    _, _, config = cli.parse(["data", "verify", "a", "b"])
    assert config.datasets == ("a", "b")
    for words, command in all_leaves():
        if command.config and "model" in {s.key for s in cli.settings(cli.resolve(command.config))}:
            assert command.aliases.get("--model") == "model", words
        assert all(o.kind == "folder" for o in command.options if o.flag == "--out"), words


def test_old_spellings_run_the_new_command_with_a_one_line_notice(capsys):
    command, args, config = cli.parse(["hssl", "--preset", "toy"])
    assert (command.name, args.command_line) == ("hssl", "figures hssl")
    assert capsys.readouterr().err.strip() == "neuroequi: `neuroequi hssl` is now `neuroequi figures hssl`"
    command, args, _ = cli.parse(["figures", "--preset", "smoke"])
    assert args.command_line == "figures figure1" and "name the sub-command" in capsys.readouterr().err
    command, args, _ = cli.parse(["train", "--recipe", "tessl-barlow-imagenet"])
    assert args.preset == "tessl-barlow-imagenet" and "--recipe is now --preset" in capsys.readouterr().err


def test_a_required_setting_that_is_missing_is_named_with_its_flag(capsys):
    assert cli.main(["score", "--benchmark", "Kiani2007.IT-rdm"]) == 2
    assert capsys.readouterr().err.strip() == "neuroequi: error: neuroequi score: give model=... or --model"
    assert cli.main(["zoo", "add"]) == 2
    assert "give path=... or a positional PATH" in capsys.readouterr().err


def test_unknown_preset_is_a_one_line_error_naming_the_valid_ones(capsys):
    assert cli.main(["figures", "hssl", "--preset", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown preset 'nope'" in err and "'cpu'" in err and err.count("\n") == 1


def test_no_command_is_registered_twice_and_the_base_names_no_higher_layer():
    names = [c.name for c in cli.registered().values()]
    assert len(names) == len(set(names))
    source = open(cli.__file__).read()
    assert not any(f"{layer}." in source for layer in ("analyses", "model_zoo", "figures"))


HELP_PROBE = """
import json, sys, time
start = time.perf_counter()
from neuroequi.cli import main
try:
    main(sys.argv[1:] + ["--help"])
except SystemExit:
    pass
print(json.dumps({"seconds": time.perf_counter() - start, "torch": "torch" in sys.modules,
                  "brainscore": "brainscore_vision" in sys.modules}))
"""


def _help(words: tuple[str, ...]) -> dict:
    done = subprocess.run([sys.executable, "-c", HELP_PROBE, *words], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("words", [(), *[w for w, _ in all_leaves()]], ids=lambda w: " ".join(w) or "neuroequi")
def test_help_imports_neither_torch_nor_brainscore(words):
    probe = _help(words)
    assert not probe["brainscore"] and not probe["torch"], probe
    assert probe["seconds"] < 1.0 or os.getloadavg()[0] > os.cpu_count(), probe  # a loaded machine is slower


@pytest.mark.parametrize("module", ["analyses.neural.reliability", "analyses.neural.rdm_report"])
def test_module_scripts_parse_settings_and_report_a_bad_one_in_one_line(module, capsys, tmp_path):
    """The report scripts' ``main``: ``--help`` lists the settings of their config, an unknown key or a bad
    value is one line naming it and exit code 2, before anything is scored or written."""
    import importlib

    main = importlib.import_module(module).main
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    assert "seeds :" in capsys.readouterr().out
    assert main(["bogus=1", "--out", str(tmp_path)]) == 2
    assert main(["threads=many", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "'bogus'" in err[0] and "threads" in err[1], err
    assert not any(tmp_path.iterdir())
