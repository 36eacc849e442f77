"""figures.reuse: a saved step is reused only when its settings and inputs hash the same."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from figures.reuse import StepKey, decide, flatten, key_path, stale, write_key
from neuroequi.errors import ConfigError


@dataclass
class Optim:
    lr: float = 0.3
    name: str = "lars"


@dataclass
class Settings:
    n_images: int = 8
    optim: Optim = field(default_factory=Optim)
    seeds: tuple[int, ...] = (0, 1)


def test_flatten_names_every_leaf():
    assert flatten(Settings()) == {"n_images": 8, "optim.lr": 0.3, "optim.name": "lars", "seeds": [0, 1]}


def test_a_step_is_reused_only_with_the_same_settings_and_inputs(tmp_path):
    weights = tmp_path / "final.pt"
    weights.write_bytes(b"weights 1")
    out = tmp_path / "score.json"
    key = StepKey.of(Settings(), {"checkpoint": weights})
    assert stale(out, key) == ["no output"]
    out.write_text("{}")
    assert stale(out, key)[0].startswith("no key file")  # written before reuse keys: not trusted
    write_key(out, key)
    assert stale(out, key) is None and json.loads(key_path(out).read_text())["sha256"] == key.sha256
    changed = StepKey.of(Settings(n_images=12, optim=Optim(lr=0.9)), {"checkpoint": weights})
    assert stale(out, changed) == ["n_images: 8 -> 12", "optim.lr: 0.3 -> 0.9"]
    weights.write_bytes(b"weights 2")  # another checkpoint under the same path
    assert stale(out, StepKey.of(Settings(), {"checkpoint": weights}))[0].startswith("input checkpoint: ")


def test_refuse_names_the_changed_keys_and_changes_nothing(tmp_path):
    out = tmp_path / "table.csv"
    out.write_text("old")
    write_key(out, StepKey.of(Settings()))
    changed = StepKey.of(Settings(n_images=12))
    with pytest.raises(
        ConfigError,
        match=r"table: .*table.csv was computed from other settings or inputs "
        r"\(n_images: 8 -> 12\); pass reuse=recompute",
    ):
        decide("table", out, changed, "refuse")
    assert out.read_text() == "old" and key_path(out).is_file()
    with pytest.raises(ConfigError, match="reuse must be one of"):
        decide("table", out, changed, "sometimes")


def test_recompute_clears_the_stale_output_and_its_folder(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    final = run / "checkpoints" / "final.pt"
    final.write_bytes(b"old")
    write_key(final, StepKey.of(Settings()))
    assert decide("train", final, StepKey.of(Settings()), "recompute") is None  # the same: reused
    assert decide("train", final, StepKey.of(Settings(seeds=(0,))), "recompute", remove=run) == ["seeds: [0, 1] -> [0]"]
    assert not run.exists()
