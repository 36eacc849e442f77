"""The data registry verifies by sha256; loaders return documented shapes on the real files."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from dataclasses import dataclass

import numpy as np
import pytest

from neuroequi.data import (
    COWLEY2023_RELEASE,
    DataFile,
    DataUnavailableError,
    cifar10,
    cowley2023_session,
    cowley2023_sessions,
    fetch,
    kriegeskorte92,
    pretrained_cifar_resnet,
    registered_files,
    verify,
)
from neuroequi.errors import ConfigError
from neuroequi.io import sha256_file
import neuroequi.data.registry as reg

KMAT = "kriegeskorte2008_92/Kriegeskorte_Neuron2008_supplementalData.mat"


def test_registry_hashes_match_real_files(data_root):
    for relpath, entry in registered_files().items():
        assert sha256_file(data_root / relpath) == entry.sha256, relpath


def test_urls_point_at_pinned_commits():
    entry = registered_files()[KMAT]
    assert entry.url == (
        "https://raw.githubusercontent.com/rsagroup/rsatoolbox/"
        "f1f83cadb7243492a1aae7460466e0f0140b20ac/demos/92imageData/"
        "Kriegeskorte_Neuron2008_supplementalData.mat"
    )


def test_unknown_file_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown data file 'nope/nothing.bin'; registered datasets: .*cowley"):
        fetch("nope/nothing.bin")


def test_verify_never_downloads(tmp_path, monkeypatch, data_root):
    monkeypatch.setenv("NEUROEQUI_DATA", str(tmp_path))
    monkeypatch.delenv("NEUROEQUI_OFFLINE")  # even with downloads allowed
    with pytest.raises(DataUnavailableError, match="missing file.*kriegeskorte2008_92"):
        verify(KMAT)
    assert not (tmp_path / KMAT).exists()
    (tmp_path / KMAT).parent.mkdir(parents=True)
    (tmp_path / KMAT).write_bytes((data_root / KMAT).read_bytes())
    assert verify(KMAT) == tmp_path / KMAT


def test_data_command_has_subcommands_and_one_line_errors(capsys, data_root):
    from neuroequi.cli import main

    assert main(["data", "verify", "kriegeskorte2008_92"]) == 0
    assert "kriegeskorte2008_92: ok (" in capsys.readouterr().out
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert all(f"{name}: " in out for name in ("cowley2023_v4", "kriegeskorte2008_92", "pretrained_cifar_resnet"))
    assert main(["data", "verify", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown dataset(s) ['nope']; known: [" in err
    with pytest.raises(SystemExit):  # argparse: an action is required
        main(["data"])


def test_corrupt_file_is_refused(tmp_path, monkeypatch, data_root):
    target = tmp_path / KMAT
    target.parent.mkdir(parents=True)
    payload = bytearray((data_root / KMAT).read_bytes())
    payload[1000] ^= 0xFF  # one flipped byte
    target.write_bytes(bytes(payload))
    monkeypatch.setenv("NEUROEQUI_DATA", str(tmp_path))
    with pytest.raises(DataUnavailableError, match="corrupt.*kriegeskorte2008_92") as err:
        fetch(KMAT)
    assert str(target) in str(err.value)


def test_missing_file_offline_names_dataset_path_and_source(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROEQUI_DATA", str(tmp_path))
    monkeypatch.setenv("NEUROEQUI_OFFLINE", "1")
    with pytest.raises(DataUnavailableError) as err:
        pretrained_cifar_resnet(20)
    msg = str(err.value)
    assert "pretrained_cifar_resnet" in msg and str(tmp_path) in msg
    assert "akamaster/pytorch_resnet_cifar10" in msg


@dataclass(frozen=True)
class _LocalFile(DataFile):
    base: str = ""

    @property
    def url(self) -> str:
        return f"{self.base}/{self.relpath}"


@pytest.fixture
def local_server(data_root):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(data_root))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _serve_registry(monkeypatch, base, sha_override=None):
    files = {k: _LocalFile(v.dataset, v.relpath, sha_override or v.sha256, base) for k, v in registered_files().items()}
    monkeypatch.setattr(reg, "registered_files", lambda: files)


def test_download_verifies_checksum(tmp_path, monkeypatch, local_server):
    monkeypatch.setenv("NEUROEQUI_DATA", str(tmp_path / "fresh"))
    monkeypatch.delenv("NEUROEQUI_OFFLINE")
    _serve_registry(monkeypatch, local_server)
    path = fetch(KMAT)
    assert path == tmp_path / "fresh" / KMAT and path.is_file()

    monkeypatch.setenv("NEUROEQUI_DATA", str(tmp_path / "bad"))
    _serve_registry(monkeypatch, local_server, sha_override="0" * 64)
    with pytest.raises(DataUnavailableError, match="could not download"):
        fetch(KMAT)
    assert not (tmp_path / "bad" / KMAT).exists()


def test_cowley_sessions_present(data_root):
    present = cowley2023_sessions()
    assert {"190923", "201025", "210225", "210325"} <= set(present)
    assert set(present) <= set(COWLEY2023_RELEASE)


@pytest.mark.parametrize("session", ["190923", "210325"])
def test_cowley_session_shapes(session, data_root):
    s = cowley2023_session(session)
    n_neurons, n_images = s.responses.shape
    assert len(s.images) == len(s.image_names) == n_images
    assert s.image_names[0] == "image0001.jpg" and s.image_names == sorted(s.image_names)
    assert s.images[0].size == (112, 112) and s.images[0].mode == "RGB"
    assert np.isfinite(s.responses).all() and (s.responses >= 0).all()
    if session == "210325":
        assert s.responses_raw.shape[:2] == (n_neurons, n_images) == (50, 640)
        # repeat-averaged = NaN-aware mean of the raw repeats
        np.testing.assert_allclose(np.nanmean(s.responses_raw, axis=2), s.responses, rtol=1e-10)
    else:
        assert s.responses_raw is None and n_images == 1200


def test_cowley_bad_session_ids(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="unknown Cowley 2023 session"):
        cowley2023_session("999999")
    with pytest.raises(DataUnavailableError, match="190924"):
        cowley2023_session("190924")  # in the release, not in the data directory


def test_kriegeskorte92(data_root):
    k = kriegeskorte92()
    assert len(k.images) == 92 and k.images[0].size == (175, 175)
    assert k.category_vectors.shape == (92, 12) and len(k.category_labels) == 12
    for rdm in (k.rdm_monkey_it, k.rdm_human_it):
        assert rdm.shape == (92, 92)
        np.testing.assert_array_equal(rdm, rdm.T)
        assert np.all(np.diag(rdm) == 0)
    animate = k.category_vectors[:, k.category_labels.index("animate")].astype(bool)
    # Kiani/Kriegeskorte: monkey IT separates animate from inanimate objects
    within = k.rdm_monkey_it[np.ix_(animate, animate)].mean()
    between = k.rdm_monkey_it[np.ix_(animate, ~animate)].mean()
    assert between > within


def test_cifar10_imagefolder(data_root):
    test = cifar10("test")
    assert len(test) == 10_000 and test.classes[0] == "airplane"
    image, label = test[0]
    assert image.size == (32, 32) and label == 0
    assert np.bincount(test.targets).tolist() == [1000] * 10
    with pytest.raises(ValueError, match="split"):
        cifar10("val")


def test_cifar10_bad_tree(tmp_path, monkeypatch):
    (tmp_path / "cifar10" / "train" / "cats").mkdir(parents=True)
    monkeypatch.setenv("NEUROEQUI_DATA", str(tmp_path))
    with pytest.raises(DataUnavailableError, match="ten class folders"):
        cifar10("train")


def test_pretrained_resnet_bad_depth():
    with pytest.raises(ValueError, match="depth"):
        pretrained_cifar_resnet(56)


def test_copy_is_reverified(tmp_path, monkeypatch, data_root):
    target = tmp_path / KMAT
    target.parent.mkdir(parents=True)
    shutil.copy(data_root / KMAT, target)
    monkeypatch.setenv("NEUROEQUI_DATA", str(tmp_path))
    assert fetch(KMAT) == target
