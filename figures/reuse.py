"""Reuse keyed on the computation: a saved step is reused only when it is the same computation.

Like Make or Snakemake keyed on content, every saved output of a pipeline step (a trained
checkpoint, an analysis, a score, a table) has a *key file* beside it, ``<output>.key.json``:

* ``config``: the step's complete settings, flattened to ``{"a.b.c": value}`` (every key the
  step's computation reads, e.g. the whole training config of a training);
* ``inputs``: the sha256 of each input file (the checkpoint an analysis reads, ...), by name;
* ``sha256``: the hash of both.

A step is reused only when its output exists *and* its key file records the same ``sha256``.
Otherwise, by the pipeline's ``reuse`` setting (:data:`POLICIES`):

* ``recompute`` (default): the stale output (and, for a training, its run folder) is removed and
  the step runs again; its log line names the changed keys;
* ``refuse``: a :class:`~neuroequi.errors.ConfigError` naming the changed keys with their old and
  new values, before anything is written (:func:`refuse_changed_config`: the run's saved
  ``config.yaml`` is left as it was).

Under ``recompute`` a pipeline saves its new ``config.yaml`` and every step whose key changed runs
again, so the saved config always describes the saved results.

An output without a key file (written before keys existed) is treated as changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuroequi.config import to_plain
from neuroequi.errors import ConfigError
from neuroequi.io import atomic_write

__all__ = [
    "KEY_SUFFIX",
    "POLICIES",
    "TRAINING_PLACE",
    "StepKey",
    "check_policy",
    "decide",
    "differences",
    "flatten",
    "key_path",
    "refuse_changed_config",
    "stale",
    "write_key",
]

#: Keys of a training config that only place the run (its folder), not what it computes.
TRAINING_PLACE = ("output_dir", "name")
#: Settings of a pipeline that say how it runs, not what it computes (never a reason to refuse).
OPERATIONAL = ("reuse", "parallel", "executor", "slurm", "warm_jobs", "zoo_home")

KEY_SUFFIX = ".key.json"
POLICIES = ("recompute", "refuse")


def flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    """A config (dataclass, mapping, plain values) as ``{"a.b": value}``, values JSON-plain."""
    plain = to_plain(config)
    if not isinstance(plain, Mapping):
        return {prefix.rstrip(".") or "value": plain}
    out: dict[str, Any] = {}
    for key, value in plain.items():
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = json.loads(json.dumps(value, default=str))
    return out


def _file_sha256(path: Path) -> str:
    from model_zoo.download import file_sha256  # memoised on (path, size, mtime)

    return file_sha256(path)


@dataclass(frozen=True)
class StepKey:
    """What a step computes from: its flattened settings and its inputs' sha256 (see the module doc)."""

    config: dict[str, Any]
    inputs: dict[str, str]

    @classmethod
    def of(
        cls, config: Any, inputs: Mapping[str, str | os.PathLike] | None = None, place: tuple[str, ...] = ()
    ) -> StepKey:
        """The key of a step with settings ``config`` reading the files ``inputs`` (name -> path);
        ``place``: settings that only say where the step writes (e.g. a training's ``output_dir``),
        left out so a moved results folder is still reused."""
        settings = {k: v for k, v in flatten(config).items() if k not in place}
        return cls(settings, {name: _file_sha256(Path(path)) for name, path in sorted((inputs or {}).items())})

    @property
    def sha256(self) -> str:
        """Hash of the settings and the inputs' hashes."""
        text = json.dumps({"config": self.config, "inputs": self.inputs}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def changes(self, recorded: Mapping[str, Any]) -> list[str]:
        """``key: old -> new`` for every setting or input that differs from a ``recorded`` key file."""
        return differences(recorded.get("config", {}), self.config) + differences(
            recorded.get("inputs", {}), self.inputs, label="input ", width=12
        )


def differences(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    label: str = "",
    width: int | None = None,
    skip: tuple[str, ...] = (),
) -> list[str]:
    """``<label><key>: <old> -> <new>`` (JSON values, or their first ``width`` characters; ``<unset>``
    when absent) for every key whose value differs, in key order; keys under ``skip`` left out."""

    def shown(values: Mapping[str, Any], key: str) -> str:
        if key not in values:
            return "<unset>"
        return str(values[key])[:width] if width else json.dumps(values[key])

    return [
        f"{label}{key}: {shown(old, key)} -> {shown(new, key)}"
        for key in sorted(set(old) | set(new))
        if key.split(".")[0] not in skip and old.get(key, "<unset>") != new.get(key, "<unset>")
    ]


def key_path(output: Path) -> Path:
    """The key file of ``output``: ``<output>.key.json`` beside it."""
    return output.with_name(output.name + KEY_SUFFIX)


def check_policy(policy: str) -> str:
    """``policy`` if it is one of :data:`POLICIES`; ConfigError naming the key otherwise."""
    if policy not in POLICIES:
        raise ConfigError(f"reuse must be one of {list(POLICIES)}, got {policy!r}")
    return policy


def stale(output: Path, key: StepKey) -> list[str] | None:
    """None when ``output`` exists and its key file records ``key``; else what differs
    (``["no output"]``, ``["no key file ..."]`` or the changed keys)."""
    if not output.exists():
        return ["no output"]
    path = key_path(output)
    try:
        recorded = json.loads(path.read_text())
    except (OSError, ValueError):
        return [f"no key file {path.name} (written before reuse keys, or damaged)"]
    if recorded.get("sha256") == key.sha256:
        return None
    return key.changes(recorded) or ["key file does not match"]


def decide(what: str, output: Path, key: StepKey, policy: str, remove: Path | None = None) -> list[str] | None:
    """Reuse ``output`` (None) or clear the way to recompute it (the reasons, for the log line).

    A stale output under ``policy='refuse'`` is a ConfigError naming ``what`` and the changed keys;
    under ``'recompute'`` the output, its key file and ``remove`` (e.g. a training's run folder)
    are deleted, so the step runs from scratch."""
    reasons = stale(output, key)
    if reasons is None or reasons == ["no output"]:
        return reasons
    if check_policy(policy) == "refuse":
        raise ConfigError(
            f"{what}: {output} was computed from other settings or inputs ({'; '.join(reasons)}); "
            "pass reuse=recompute to recompute it, or use another results folder"
        )
    for path in (remove, output):
        if path is not None and path.is_dir():
            shutil.rmtree(path)
        elif path is not None:
            path.unlink(missing_ok=True)
    key_path(output).unlink(missing_ok=True)
    return reasons


def write_key(output: Path, key: StepKey) -> Path:
    """Record ``key`` beside ``output`` (atomic write); the step's output is then reusable."""
    with atomic_write(key_path(output)) as tmp:
        tmp.write_text(
            json.dumps({"sha256": key.sha256, "config": key.config, "inputs": key.inputs}, indent=1, sort_keys=True)
        )
    return key_path(output)


def refuse_changed_config(saved: Path, config: Any, policy: str) -> None:
    """With ``policy='refuse'``: ConfigError naming every setting of ``config`` (a pipeline's typed
    config) that differs from the run's saved ``config.yaml`` (``saved``), before the pipeline writes
    anything, so a refused run leaves the saved config as it was. Settings of :data:`OPERATIONAL`
    are not compared; a run without a saved config is new. ``'recompute'``: nothing to check here
    (every step compares its own key)."""
    import yaml

    if check_policy(policy) != "refuse" or not saved.is_file():
        return
    changed = differences(flatten(yaml.safe_load(saved.read_text()) or {}), flatten(config), skip=OPERATIONAL)
    if changed:
        raise ConfigError(
            f"the results in {str(saved.parent)!r} were computed with other settings ({'; '.join(changed)}); "
            "pass reuse=recompute to recompute what they change, or use another results folder"
        )
