"""Checkpoint downloads against a real HTTP server on 127.0.0.1: good file, wrong sha256,
interrupted transfer, trust-on-first-use pinning, cache hits, offline errors."""

from __future__ import annotations

import hashlib
import http.server
import threading

import pytest

from model_zoo.download import download, read_pins
from neuroequi.errors import DataUnavailableError, IntegrityError, OfflineError

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


class _Handler(http.server.BaseHTTPRequestHandler):
    """/good: the payload; /truncated: announces the full length, sends half, closes."""

    files: dict[str, bytes] = {}
    hits: list[str] = []

    def do_GET(self):
        self.hits.append(self.path)
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if self.path == "/truncated" else body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def server(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROEQUI_ZOO_HOME", str(tmp_path / "zoo"))
    monkeypatch.delenv("NEUROEQUI_OFFLINE", raising=False)  # downloads from this local server only
    _Handler.files = {"/good": PAYLOAD, "/truncated": PAYLOAD, "/changing": PAYLOAD}
    _Handler.hits = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_good_file_is_verified_and_cached(server, tmp_path):
    target = tmp_path / "ckpt" / "good.bin"
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    assert download(f"{server}/good", target, sha) == target
    assert target.read_bytes() == PAYLOAD
    assert sorted(p.name for p in target.parent.iterdir()) == ["good.bin"]  # no temporary file left
    download(f"{server}/good", target, sha)  # second call: cache hit, no request
    assert _Handler.hits == ["/good"]


def test_wrong_sha256_deletes_the_download(server, tmp_path):
    target = tmp_path / "bad.bin"
    before = set(tmp_path.iterdir())
    with pytest.raises(IntegrityError, match="expected 0000"):
        download(f"{server}/good", target, "0" * 64)
    assert set(tmp_path.iterdir()) == before  # neither the file nor a temporary one


def test_interrupted_transfer_leaves_nothing(server, tmp_path):
    target = tmp_path / "cut.bin"
    before = set(tmp_path.iterdir())
    with pytest.raises(DataUnavailableError, match="cannot download .*/truncated"):
        download(f"{server}/truncated", target, hashlib.sha256(PAYLOAD).hexdigest())
    assert set(tmp_path.iterdir()) == before


def test_unpublished_hash_is_pinned_on_first_use(server, tmp_path):
    url = f"{server}/changing"
    first = tmp_path / "a" / "file.bin"
    download(url, first, None)
    assert read_pins()[url] == hashlib.sha256(PAYLOAD).hexdigest()
    _Handler.files["/changing"] = PAYLOAD[::-1]  # the server's file changes afterwards
    with pytest.raises(IntegrityError, match="remove its pin"):
        download(url, tmp_path / "b" / "file.bin", None)
    first.write_bytes(PAYLOAD[:10])  # a cached file that no longer matches its pin
    with pytest.raises(IntegrityError, match="delete it to download again"):
        download(url, first, None)


def test_offline_mode_tries_no_connection(server, tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROEQUI_OFFLINE", "1")
    target = tmp_path / "off.bin"
    with pytest.raises(OfflineError) as err:
        download(f"{server}/good", target, hashlib.sha256(PAYLOAD).hexdigest())
    assert (
        f"{server}/good" in str(err.value) and str(target) in str(err.value) and "NEUROEQUI_OFFLINE" in str(err.value)
    )
    assert _Handler.hits == [] and not target.exists()


def test_unreachable_server_error_names_url_and_destination(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROEQUI_ZOO_HOME", str(tmp_path / "zoo"))
    monkeypatch.delenv("NEUROEQUI_OFFLINE", raising=False)
    probe = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    port = probe.server_address[1]
    probe.server_close()  # nothing listens on this port any more: connection refused
    url = f"http://127.0.0.1:{port}/ckpt.pt"
    target = tmp_path / "ckpt.pt"
    with pytest.raises(DataUnavailableError) as err:
        download(url, target, None, timeout=5)
    assert url in str(err.value) and str(target) in str(err.value) and "pinned on first use" in str(err.value)


def test_pins_go_to_the_home_passed_not_the_environment(server, tmp_path):
    home = tmp_path / "explicit"
    download(f"{server}/good", tmp_path / "g.bin", None, home=home)
    assert read_pins(home) == {f"{server}/good": hashlib.sha256(PAYLOAD).hexdigest()}
    assert read_pins() == {}  # $NEUROEQUI_ZOO_HOME (the fixture's) untouched
