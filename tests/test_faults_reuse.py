"""Fault injection of issue 23: stale reuse, shared zoos, damaged checkpoints, errors after the work.

Like ``test_faults.py`` (whose helpers and tiny trainings this module uses), each case asserts what
the user sees (exit code 2 and one ``neuroequi: error:`` line naming the problem, no traceback) and
that nothing was lost or changed. The stale-lock race is in ``test_locks.py``.
"""

from __future__ import annotations

import shutil
import struct
import zipfile
from pathlib import Path

import pytest
from test_faults import cache, fails, finished, snapshot, zoo  # noqa: F401  (fixtures)

from neuroequi.cli import main
from neuroequi.errors import CheckpointError
from neuroequi.io import sha256_file

# ------------------------------------------------------------------------------------ damaged checkpoints


def plant(path: Path, value: float = 1e30) -> None:
    """Overwrite every float32 of every tensor record of the torch archive ``path`` with ``value``
    in place (the zip's CRCs are then wrong; size and layout are unchanged)."""
    with zipfile.ZipFile(path) as archive:
        records = [info for info in archive.infolist() if "/data/" in info.filename and info.file_size >= 4]
    with open(path, "r+b") as fh:
        for info in records:
            fh.seek(info.header_offset + 26)
            name_len, extra_len = struct.unpack("<HH", fh.read(4))
            fh.seek(info.header_offset + 30 + name_len + extra_len)
            fh.write(struct.pack("<f", value) * (info.file_size // 4))


def test_damaged_checkpoint_is_refused_at_registration_and_at_load(tmp_path, finished, zoo, capsys):  # noqa: F811
    """Issue 23: 1e30 planted into every tensor record was accepted by `zoo add`, scored and analysed."""
    good = Path(shutil.copyfile(finished / "checkpoints" / "final.pt", tmp_path / "good.pt"))
    bad = Path(shutil.copyfile(good, tmp_path / "bad.pt"))
    plant(bad)
    fails(capsys, ["zoo", "add", str(bad)], str(bad), "CRC-32")
    assert not (zoo / "catalogue.json").exists()
    fails(capsys, ["analyze", "--model", str(bad), "--out", str(tmp_path / "a"), "probe_train=0"], str(bad), "CRC-32")
    assert not (tmp_path / "a").exists()

    assert main(["zoo", "add", str(good), "--name", "mine"]) == 0
    recorded = sha256_file(good)
    plant(good)  # damaged after registration: the hash no longer matches either
    before = snapshot(zoo, good)
    fails(capsys, ["score", "--model", "mine", "--benchmark", "Kiani2007.IT-rdm"], str(good), recorded, sha256_file(good))
    assert snapshot(zoo, good) == before


def test_archive_check_names_the_damaged_record(tmp_path, finished):  # noqa: F811
    from neuroequi.checkpoint import load_checkpoint

    bad = Path(shutil.copyfile(finished / "checkpoints" / "final.pt", tmp_path / "bad.pt"))
    plant(bad, float("nan"))
    with pytest.raises(CheckpointError, match=r"record '.*/data/\d+' fails"):
        load_checkpoint(bad)
