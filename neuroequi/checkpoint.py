"""Checkpoint files: atomic writes, validated reads, backbone / method loading, published weights.

A checkpoint is a ``torch.save`` dict::

    {"format": "neuroequi.checkpoint", "version": 1,
     "model": full method state dict (backbone, projectors, predictors, EquiMod heads, ...),
     "backbone": plain backbone state dict (torchvision key names; loads with strict=True
                 into the torchvision ResNet with fc = Identity),
     "probe": online linear probe state dict or None,
     "optimizer", "scheduler", "scaler": their state dicts (scaler None without fp16),
     "rng": {"torch": ByteTensor, "cuda": [ByteTensor] or None, "python": random.getstate()},
     "epoch_sums": {"sums": {log name: sum over the epoch's steps so far}, "count": steps},
     "meta": {"method", "equivariance", "lambda", "arch", "width", "config", "dataset",
              "epoch", "step", "total_steps", "final", "versions", "git_commit",
              "input_normalization", "image_size"}}

Files are written to a temporary file in the target directory and renamed over the target
(:func:`save_checkpoint`), so a reader never sees a half-written file. Only tensors and plain
Python containers are stored, so every file loads with ``torch.load(weights_only=True)``.
Every read checks the archive's CRCs (:func:`check_archive`) and the weights for non-finite
values (:func:`check_finite`).
"""

from __future__ import annotations

import functools
import io
import os
import pickle
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from neuroequi.errors import CheckpointError, IntegrityError
from neuroequi.io import atomic_write
from neuroequi.registry import build_backbone

FORMAT = "neuroequi.checkpoint"
VERSION = 1
REQUIRED_KEYS = ("format", "version", "model", "backbone", "meta")
#: Metadata every reader uses: the backbone's architecture and width.
REQUIRED_META = ("arch", "width")
#: How a file in torch's legacy (pre-1.6, non-zip) format begins: the pickled magic number.
LEGACY_MAGIC = b"\x80\x02\x8a\x0a" + torch.serialization.MAGIC_NUMBER.to_bytes(10, "little")


def save_checkpoint(payload: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write ``payload`` atomically to ``path`` (:func:`neuroequi.io.atomic_write`: a temporary
    sibling, fsync'ed, renamed over ``path``); returns ``path``. The same payload gives the same bytes.
    No space or no permission: :class:`~neuroequi.errors.WriteError` naming ``path``; ``path`` is unchanged."""
    path = Path(path)
    # serialised in memory first, to a file object: the archive's records are then named 'archive/...',
    # not after the random temporary file name, so the same payload gives the same bytes (reproducible
    # checkpoints); and a full disk is the OSError of a plain write (a WriteError naming ``path``), not
    # torch's "unexpected pos" from inside its zip writer
    buffer = io.BytesIO()
    torch.save(dict(payload), buffer)
    with atomic_write(path) as tmp, open(tmp, "wb") as fh:
        fh.write(buffer.getbuffer())
    return path


#: Why :func:`_read` refuses a file that pickles Python objects (a project checkpoint never does).
NOT_A_CHECKPOINT = "so it is not a neuroequi checkpoint (refusing to unpickle arbitrary objects)"
#: The same, for a file registered as the weights of another architecture (``neuroequi zoo add FILE --arch``).
NOT_A_STATE_DICT = (
    "not a state dict: a whole pickled network (torch.save(model)) or other Python objects; "
    "refusing to unpickle it, which could run arbitrary code. Save model.state_dict() instead "
    "(torch.save(model.state_dict(), FILE)) and add that file"
)


def _read(path: Path, refused: str = NOT_A_CHECKPOINT) -> Any:
    """``torch.load(weights_only=True)`` with the failure modes turned into CheckpointError.

    Reads torch's zip format and its legacy (pre-1.6) format, e.g. the ``.th`` files of the
    pretrained CIFAR ResNets in the data registry. ``refused``: what the error says of a file
    that pickles other objects than tensors and plain containers."""
    if path.is_dir():
        raise CheckpointError(f"checkpoint {str(path)!r} is a directory, not a checkpoint file")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    if path.stat().st_size == 0:
        raise CheckpointError(f"checkpoint {str(path)!r} is empty (0 bytes)")
    if not zipfile.is_zipfile(path) and not _is_legacy(path):
        raise CheckpointError(
            f"checkpoint {str(path)!r} is truncated or corrupt: neither a complete torch.save archive "
            "(a zip file whose directory is at its end) nor a legacy torch file"
        )
    if zipfile.is_zipfile(path):
        check_archive(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"{str(path)!r} holds objects other than tensors and plain containers, {refused}"
            + "".join(f" (it pickles {name})" for name in re.findall(r"GLOBAL ([\w.]+)", str(err))[:1])
        ) from err
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as err:
        raise CheckpointError(f"checkpoint {str(path)!r} is truncated or corrupt and cannot be read: {err}") from err


def check_archive(path: str | os.PathLike) -> None:
    """CheckpointError unless every record of the zip archive ``path`` matches its CRC-32.

    ``torch.load`` does not check the CRCs, so bytes changed inside a tensor record (a damaged
    disk, a bad copy) would load as other weights. The check reads the whole file once; it is
    memoised on (path, size, mtime), like :func:`model_zoo.download.file_sha256`."""
    path = Path(path).resolve()
    stat = path.stat()
    _check_archive(path, stat.st_size, stat.st_mtime_ns)


@functools.cache
def _check_archive(path: Path, size: int, mtime_ns: int) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as err:
        raise CheckpointError(f"checkpoint {str(path)!r} is a damaged archive: {err}") from err
    if bad is not None:
        raise CheckpointError(
            f"checkpoint {str(path)!r} is damaged: its record {bad!r} fails the archive's CRC-32 check "
            "(the bytes changed after torch.save wrote them); restore the file or train it again"
        )


def _is_legacy(path: Path) -> bool:
    """True when ``path`` starts like a file in torch's legacy (non-zip) format."""
    with open(path, "rb") as fh:
        return fh.read(len(LEGACY_MAGIC)) == LEGACY_MAGIC


def check_finite(state: Mapping[str, Any], where: str) -> None:
    """IntegrityError naming ``where`` and the first tensors of ``state`` holding NaN or ±inf."""
    bad = [
        key
        for key, value in state.items()
        if isinstance(value, Tensor) and value.is_floating_point() and not bool(torch.isfinite(value).all())
    ]
    if bad:
        raise IntegrityError(
            f"{where}: {len(bad)} weight tensor(s) hold NaN or inf values, e.g. {bad[:5]}; "
            "the weights are unusable (a diverged training or a damaged file)"
        )


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a neuroequi checkpoint (on the CPU).

    Raises:
        CheckpointError: missing, empty, truncated or corrupt file, or a directory; a file that
            is some other kind of checkpoint (a bare state dict, a Composer or torchvision file:
            use :func:`convert_published_state_dict`); a newer format version; a ``model`` or
            ``backbone`` that is not a state dict of tensors; metadata lacking :data:`REQUIRED_META`.
        IntegrityError: the model or backbone weights hold NaN or inf.
    """
    path = Path(path)
    blob = _read(path)
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        keys = sorted(blob)[:8] if isinstance(blob, dict) else type(blob).__name__
        raise CheckpointError(
            f"{str(path)!r} is not a neuroequi checkpoint (no format={FORMAT!r}; top level: {keys}). "
            "Published CE-SSL/TeSSL weights load with neuroequi.checkpoint.load_published_backbone; the "
            "state dict of another network is added with `neuroequi zoo add FILE --arch torchvision:<name>` "
            "(or timm:<name>, module:<package.module>:<callable>)."
        )
    if blob.get("version") != VERSION:
        raise CheckpointError(
            f"{str(path)!r} has checkpoint version {blob.get('version')!r}; this code reads version {VERSION}"
        )
    missing = [k for k in REQUIRED_KEYS if k not in blob]
    if missing:
        raise CheckpointError(f"{str(path)!r} lacks the keys {missing}")
    for part in ("model", "backbone"):  # the backbone is what every reader loads: it may not be empty
        state = blob[part]
        if (
            not isinstance(state, Mapping)
            or not all(isinstance(v, Tensor) for v in state.values())
            or (part == "backbone" and not state)
        ):
            raise CheckpointError(
                f"{str(path)!r}: {part!r} must be a {'non-empty ' if part == 'backbone' else ''}"
                f"state dict of tensors, got {type(state).__name__}{'' if state else ' (empty)'}"
            )
    meta = blob["meta"]
    absent = [k for k in REQUIRED_META if not isinstance(meta, Mapping) or k not in meta]
    if absent:
        raise CheckpointError(
            f"{str(path)!r}: its metadata lacks {absent} (meta holds "
            f"{sorted(meta) if isinstance(meta, Mapping) else type(meta).__name__}); "
            "not a checkpoint written by neuroequi train"
        )
    for part in ("model", "backbone"):
        check_finite(blob[part], f"checkpoint {str(path)!r} ({part})")
    return blob


def load_backbone(path: str | os.PathLike) -> tuple[nn.Module, dict[str, Any]]:
    """The trained backbone (eval mode, CPU) of a checkpoint and its metadata."""
    blob = load_checkpoint(path)
    meta = blob["meta"]
    backbone = build_backbone(meta["arch"], meta["width"])
    try:
        backbone.load_state_dict(blob["backbone"], strict=True)
    except RuntimeError as err:
        raise CheckpointError(
            f"{str(path)!r}: backbone weights do not fit {meta['arch']} width {meta['width']}: {err}"
        ) from err
    return backbone.eval(), meta


def load_state_dict_file(path: str | os.PathLike) -> dict[str, Tensor]:
    """The state dict in ``path``: a plain ``{key: tensor}`` file, one under a ``state_dict``,
    ``model`` or ``state`` key, or a neuroequi checkpoint (its backbone); a ``module.`` prefix on
    every key (``DataParallel``/DDP) is removed. Read with ``weights_only=True``.

    Raises:
        CheckpointError: an unreadable file, a pickled network or other objects
            (:data:`NOT_A_STATE_DICT`), or no mapping of names to tensors.
        IntegrityError: NaN or inf weights.
    """
    path = Path(path)
    state = _read(path, NOT_A_STATE_DICT)
    if isinstance(state, Mapping) and state.get("format") == FORMAT:
        state = state["backbone"]
    for key in ("state_dict", "model", "state"):
        if isinstance(state, Mapping) and isinstance(state.get(key), Mapping):
            state = state[key]
    if not isinstance(state, Mapping) or not state or not all(isinstance(v, Tensor) for v in state.values()):
        found = sorted(map(str, state))[:8] if isinstance(state, Mapping) else type(state).__name__
        raise CheckpointError(
            f"{str(path)!r} holds no state dict (a mapping of parameter names to tensors, "
            f"optionally under 'state_dict'); found {found}"
        )
    if all(str(k).startswith("module.") for k in state):
        state = {str(k).removeprefix("module."): v for k, v in state.items()}
    check_finite(state, f"state dict {str(path)!r}")
    return dict(state)


# ------------------------------------------------------------------------------ published weights

#: Prefixes under which training frameworks store the backbone, most specific first
#: (CE-SSL's Composer files: ``module.f.``; others: ``module.backbone.``, ``backbone.``, ...).
BACKBONE_PREFIXES = ("module.f.", "f.", "module.backbone.", "backbone.", "module.encoder.", "encoder.", "module.", "")


def convert_published_state_dict(
    state: Mapping[str, Tensor], arch: str = "resnet50"
) -> tuple[dict[str, Tensor], list[str]]:
    """Map a training framework's state dict onto a width-1 :class:`Backbone` of ``arch``, 1:1.

    The backbone prefix is the first of :data:`BACKBONE_PREFIXES` under which *every* backbone
    key is found; the keys under it must be exactly the backbone's (an ``fc.*`` classifier
    under the prefix is set aside). Keys outside it (projectors ``g_1``/``g_2``, a linear
    classifier ``lin_cls``, ...) are returned as ignored.

    Returns:
        ``(backbone state dict, ignored keys)``.

    Raises:
        CheckpointError: listing the backbone keys found under no prefix, the unmapped keys
            under the chosen prefix, or shape mismatches.
    """
    expected = build_backbone(arch).state_dict()
    for prefix in BACKBONE_PREFIXES:
        if all(prefix + k in state for k in expected):
            break
    else:
        best = max(BACKBONE_PREFIXES, key=lambda p: sum(p + k in state for k in expected))
        missing = [best + k for k in expected if best + k not in state]
        raise CheckpointError(
            f"no prefix holds a complete {arch} backbone; best guess {best!r} lacks {len(missing)} keys: {missing[:10]}"
        )
    under = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    unmapped = sorted(k for k in under if k not in expected and not k.startswith("fc."))
    if prefix and unmapped:
        raise CheckpointError(
            f"keys under {prefix!r} that are not {arch} backbone weights: {[prefix + k for k in unmapped]}"
        )
    wrong = [
        f"{prefix + k}: {tuple(under[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if under[k].shape != v.shape
    ]
    if wrong:
        raise CheckpointError(f"shape mismatches against {arch}: {wrong}")
    ignored = sorted(k for k in state if not (k.startswith(prefix) and k[len(prefix) :] in expected))
    return {k: under[k] for k in expected}, ignored


def load_published_backbone(
    path: str | os.PathLike, arch: str = "resnet50", trust: bool = False
) -> tuple[nn.Module, list[str]]:
    """A published TeSSL / CE-SSL checkpoint (Composer: ``blob['state']['model']``; or any state
    dict, optionally under ``state_dict``/``model``) as an eval-mode :class:`Backbone`.

    Files are read with ``weights_only=True``; Composer files that pickle other objects need
    ``trust=True`` (full unpickling: only for files whose sha256 you have verified).
    Returns ``(backbone, ignored keys)``.
    """
    path = Path(path)
    try:
        blob = _read(path)
    except CheckpointError:
        if not trust or not path.is_file():
            raise
        blob = torch.load(path, map_location="cpu", weights_only=False)
    state = blob
    for key in ("state", "model", "state_dict"):
        if isinstance(state, Mapping) and key in state and isinstance(state[key], Mapping):
            state = state[key]
    if not isinstance(state, Mapping) or not all(isinstance(v, Tensor) for v in state.values()):
        raise CheckpointError(f"{str(path)!r}: no state dict of tensors found")
    weights, ignored = convert_published_state_dict(state, arch)
    backbone = build_backbone(arch)
    backbone.load_state_dict(weights, strict=True)
    return backbone.eval(), ignored


__all__ = [
    "CheckpointError",
    "FORMAT",
    "VERSION",
    "check_archive",
    "check_finite",
    "convert_published_state_dict",
    "load_backbone",
    "load_checkpoint",
    "load_published_backbone",
    "load_state_dict_file",
    "save_checkpoint",
]
