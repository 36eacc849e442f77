"""Self-contained Brain-Score submissions: rendered architecture source, the plugin files, bad input,
and `neuroequi brainscore check` with this project blocked (weights served from 127.0.0.1)."""

from __future__ import annotations

import ast
import http.server
import inspect
import json
import os
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
import torch

from model_zoo.catalogue import get_entry, random_entry
from model_zoo.plugin_source import PROJECT_PACKAGES, architecture, bundle
from model_zoo.submission import LayerMap, package
from neuroequi.errors import ConfigError, DataUnavailableError, OfflineError


@pytest.fixture()
def isolated(tmp_path, monkeypatch):
    """A fresh zoo home."""
    monkeypatch.setenv("NEUROEQUI_ZOO_HOME", str(tmp_path / "zoo"))
    return tmp_path


@pytest.fixture(scope="module")
def weights_server():
    """An HTTP server on 127.0.0.1 serving folders registered in ``roots`` (``/<key>/<file>``)."""
    roots: dict[str, Path] = {}

    class Handler(http.server.SimpleHTTPRequestHandler):
        def translate_path(self, path):
            key, _, rest = path.lstrip("/").partition("/")
            return str(roots.get(key, Path("/nonexistent")) / rest)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield roots, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- rendered architecture source


def _entries():
    from neuroequi.registry import BACKBONE_REGISTRY

    return ["cifar-resnet20-supervised", *BACKBONE_REGISTRY]


@pytest.mark.parametrize("name", _entries())
def test_rendered_source_builds_the_same_network(name):
    """Every architecture a submission can carry: the CIFAR ResNets and every registered backbone."""
    import model_zoo
    from neuroequi.activations import layer_activations

    entry = get_entry(name) if name.startswith("cifar-") else random_entry(name, width=0.25)
    reference = model_zoo.load(entry).module
    arch = architecture(entry)
    code = bundle(arch.roots)
    assert not any(line.split()[1].split(".")[0] in PROJECT_PACKAGES for line in code.imports)
    for origin in code.origins:  # every definition is the project's own text, not an edited copy
        module, obj_name = origin.split(":")
        obj = getattr(sys.modules[module], obj_name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getsource(obj).strip() in code.source
    namespace: dict = {}
    exec(compile("\n".join(code.imports) + "\n" + code.source, "<plugin>", "exec"), namespace)  # noqa: S102
    rendered = eval(arch.build, namespace)  # noqa: S307
    assert type(rendered) is not type(reference)  # built from the rendered text, not the project's class
    rendered.load_state_dict(reference.state_dict(), strict=True)
    rendered.eval()
    images = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    ours = layer_activations(rendered, [images], list(entry.layers))
    theirs = layer_activations(reference, [images], list(entry.layers))
    for layer in entry.layers:
        torch.testing.assert_close(ours[layer], theirs[layer], rtol=0, atol=0)


def test_published_ce_ssl_weights_are_not_repackaged():
    with pytest.raises(ConfigError, match="CE-<method>_lmda_<lambda>"):
        architecture(get_entry("tessl-simclr-lambda0.1-resnet50"))


# --------------------------------------------------------------------------- the plugin files


def test_submission_is_a_self_contained_brainscore_plugin(isolated):
    import yaml
    from brainscore_core.submission.repository import find_submission_directory

    from analyses.neural.submission_check import static_failures, weights_url
    from model_zoo import load

    name = "cifar-resnet20-supervised"
    out = package(name, isolated / "sub.zip")
    plugin = "neuroequi_cifar_resnet20_supervised"
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
    assert names == {
        f"models/{plugin}/{f}"
        for f in (
            "__init__.py",
            "model.py",
            "test.py",
            "requirements.txt",
            "metadata.yaml",
            f"region_layer_map/{name}.json",
        )
    }
    assert out.stat().st_size < 50 * 2**20
    folder = isolated / "sub" / "models" / plugin
    assert find_submission_directory(isolated / "sub") == "models"
    assert static_failures(folder) == []
    init = (folder / "__init__.py").read_text()
    assert sum(line.startswith(f"model_registry['{name}'] = ") for line in init.splitlines()) == 1
    assert (folder / "requirements.txt").read_text().split() == ["torch", "torchvision"]
    loaded = load(name)
    assert weights_url(folder)[0] == loaded.entry.source.url and loaded.sha256 in (folder / "model.py").read_text()
    assert json.loads((folder / "region_layer_map" / f"{name}.json").read_text()) == loaded.region_layer_map
    metadata = yaml.safe_load((folder / "metadata.yaml").read_text())["models"][name]
    assert metadata["total_parameter_count"] == sum(p.numel() for p in loaded.module.parameters())
    assert metadata["training_dataset"] == "cifar10" and loaded.sha256 in metadata["extra_notes"]
    model_py = ast.parse((folder / "model.py").read_text())
    constants = {
        t.id: ast.literal_eval(n.value)
        for n in model_py.body
        if isinstance(n, ast.Assign)
        for t in n.targets
        if isinstance(t, ast.Name) and isinstance(n.value, ast.Constant | ast.Tuple | ast.List)
    }
    assert (
        constants["IMAGE_SIZE"] == 32
        and constants["MEAN"] == loaded.mean
        and constants["IDENTIFIER"] == loaded.identifier
    )


def test_packaging_refuses_what_brainscore_could_not_load(isolated):
    from test_model_zoo import _save_project_checkpoint

    from model_zoo.catalogue import register_checkpoint

    register_checkpoint(_save_project_checkpoint(isolated / "run.pt", seed=0), name="local-only")
    with pytest.raises(ConfigError, match="no public URL"):
        package("local-only", isolated / "x.zip")
    with pytest.raises(ConfigError, match="must be http"):
        package("local-only", isolated / "x.zip", weights_url="file:///tmp/run.pt")
    gone = _save_project_checkpoint(isolated / "gone.pt", seed=1)
    register_checkpoint(gone, name="gone", url="https://example.org/gone.pt")
    gone.unlink()  # its sha256 can no longer be computed: refused, naming the file and the URL
    with pytest.raises(DataUnavailableError, match=r"checkpoint of 'gone' is missing.*example.org/gone.pt"):
        package("gone", isolated / "x.zip")
    with pytest.raises(ConfigError, match="random initialisation"):
        package("cifar-resnet20-random", isolated / "x.zip")
    with pytest.raises(ConfigError, match="V1, V2, V4 and IT"):
        package("cifar-resnet20-supervised", isolated / "x.zip", layer_map=LayerMap({"IT": "fc"}, "test"))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/w.pt",
        "https://localhost/w.pt",
        "http://10.1.2.3/w.pt",
        "http://192.168.0.5/w.pt",
        "http://169.254.169.254/w.pt",
        "http://[::1]/w.pt",
        "file:///tmp/w.pt",
    ],
)
def test_a_weights_url_brainscore_cannot_reach_is_refused_in_one_line_before_layers_are_chosen(
    isolated, capsys, monkeypatch, url
):
    import analyses.neural.commitment as commitment
    from test_model_zoo import _save_project_checkpoint

    from model_zoo.catalogue import register_checkpoint
    from neuroequi.cli import main

    def never(*args, **kwargs):
        raise AssertionError("layers were chosen before the weights URL was checked")

    monkeypatch.setattr(commitment, "choose_region_layer_map", never)
    register_checkpoint(_save_project_checkpoint(isolated / "run.pt", seed=0), name="mirrored", url=url)
    assert main(["brainscore", "package", "--model", "mirrored", "--out", str(isolated / "x")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neuroequi: error: ") and url in err and err.count("\n") == 1
    assert ("is not public" in err) != url.startswith("file:") and not (isolated / "x").exists()
    with pytest.raises(ConfigError, match="weights URL of 'mirrored'"):
        package("mirrored", isolated / "x.zip", weights_url=url)


# --------------------------------------------------------------------------- the check: bad input, fast


def test_check_refuses_what_is_not_a_plugin(tmp_path, capsys):
    from analyses.neural.submission_check import check_submission
    from neuroequi.cli import main

    (tmp_path / "notes.txt").write_text("not a zip")
    with pytest.raises(ConfigError, match="not a zip"):
        check_submission(tmp_path / "notes.txt")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as zf:
        zf.writestr("my_model/model.py", "print('hi')\n")
    assert main(["brainscore", "check", str(tmp_path / "other.zip")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neuroequi: error: ") and "not a Brain-Score plugin" in err and err.count("\n") == 1


def test_check_names_an_unreachable_weights_url_at_once(isolated, capsys):
    from analyses.neural.submission_check import check_submission
    from neuroequi.cli import main

    url = f"http://127.0.0.1:{_closed_port()}/resnet20.th"
    out = package("cifar-resnet20-supervised", isolated / "sub.zip", weights_url=url, allow_private_url=True)
    start = time.perf_counter()
    with pytest.raises(OfflineError, match=r"models/neuroequi_cifar_resnet20_supervised/model.py:\d+: weights URL"):
        check_submission(out, allow_private_url=True)
    assert main(["brainscore", "check", str(out), "allow_private_url=true"]) == 2
    assert time.perf_counter() - start < 30
    err = capsys.readouterr().err
    assert url in err and err.count("\n") == 1
    assert main(["brainscore", "check", str(out)]) == 2  # a loopback URL is refused before it is tried
    err = capsys.readouterr().err
    assert "is not public (a loopback" in err and err.count("\n") == 1


def test_static_checks_name_file_and_line(isolated):
    from analyses.neural.submission_check import static_failures

    package("cifar-resnet20-supervised", isolated / "sub.zip")
    folder = isolated / "sub" / "models" / "neuroequi_cifar_resnet20_supervised"
    (folder / "model.py").write_text((folder / "model.py").read_text() + "\nfrom model_zoo import load\n")
    (folder / "requirements.txt").write_text("torch\nneuroequi==0.1.0\nx @ git+https://example.org/x\n")
    found = {(f.file, f.line, f.message.split(",")[0]) for f in static_failures(folder)}
    lines = (folder / "model.py").read_text().splitlines()
    assert (f"{folder.name}/model.py", len(lines), "imports 'model_zoo'") in found
    assert {(f.file, f.line) for f in static_failures(folder) if "requirements" in f.file} == {
        (f"{folder.name}/requirements.txt", 2),
        (f"{folder.name}/requirements.txt", 3),
    }


def test_the_blocked_environment_cannot_import_the_project(tmp_path):
    from analyses.neural.submission_check import write_sitecustomize

    blocker = write_sitecustomize(tmp_path / "blocker").parent
    env = {**os.environ, "PYTHONPATH": str(blocker)}
    for package_name in PROJECT_PACKAGES:
        run = subprocess.run(
            [sys.executable, "-P", "-c", f"import {package_name}"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode != 0 and "blocks this project's packages" in run.stderr
    run = subprocess.run(
        [sys.executable, "-P", "-c", "import torchvision.models; print('ok')"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-2000:]


def test_the_runner_imports_nothing_of_the_project():
    from analyses.neural.submission_check import RUNNER

    for node in ast.walk(ast.parse(RUNNER.read_text())):
        names = (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
        assert not any(n.split(".")[0] in PROJECT_PACKAGES for n in names), names


# --------------------------------------------------------------------------- the check, end to end


@pytest.mark.slow
def test_packaged_resnet20_passes_brainscores_checks_and_scores_as_the_zoo_model(isolated, weights_server, data_root):
    from analyses.neural.submission_check import check_submission

    roots, base = weights_server
    roots["akamaster"] = data_root / "pretrained_cifar_resnet"
    out = package(
        "cifar-resnet20-supervised",
        isolated / "sub.zip",
        weights_url=f"{base}/akamaster/resnet20-12fca82f.th",
        allow_private_url=True,
    )
    report = check_submission(out, allow_private_url=True)
    print("\n".join(report.lines()))
    assert report.ok, report.lines()
    assert [p["phase"] for p in report.phases] == [
        "import",
        "check_base_models",
        "generic_tests",
        "plugin_tests",
        "record",
    ]
    assert report.zoo_score is not None and abs(report.score - report.zoo_score) <= 1e-6


@pytest.fixture(scope="module")
def trained_checkpoint(tmp_path_factory):
    """A tiny TeSSL run on real CIFAR-10 images (resnet18_cifar, width 1/16, 16 px): its final checkpoint."""
    from test_train import tiny_config

    from neuroequi.train import config_from_dict, train

    return train(config_from_dict(tiny_config(tmp_path_factory.mktemp("run"), epochs=1)))


@pytest.mark.slow
def test_a_trained_checkpoint_becomes_a_submission_that_scores_as_the_zoo_model(
    isolated, weights_server, trained_checkpoint, data_root
):
    from analyses.neural.submission_check import check_submission
    from model_zoo.catalogue import register_checkpoint

    roots, base = weights_server
    roots["runs"] = trained_checkpoint.parent
    entry = register_checkpoint(trained_checkpoint, name="tiny-tessl", url=f"{base}/runs/{trained_checkpoint.name}")
    out = package(
        "tiny-tessl",
        isolated / "sub.zip",
        layer_map=LayerMap(dict(entry.region_layer_map), "test"),
        allow_private_url=True,
    )
    assert "class Backbone(ResNet)" in (isolated / "sub" / "models" / "neuroequi_tiny_tessl" / "model.py").read_text()
    report = check_submission(out, phases=("generic_tests", "plugin_tests", "record"), allow_private_url=True)
    print("\n".join(report.lines()))
    assert report.ok, report.lines()
    assert report.zoo_score is not None and abs(report.score - report.zoo_score) <= 1e-6

    from neuroequi.cli import main

    assert (
        main(
            [
                "brainscore",
                "package",
                "--model",
                "tiny-tessl",
                "--out",
                str(isolated / "cli"),
                "choose_layers=false",
                "allow_private_url=true",
                "region_layer_map={IT: layer3}",
            ]
        )
        == 0
    )
    folder = isolated / "cli" / "neuroequi_tiny_tessl" / "models" / "neuroequi_tiny_tessl"
    assert json.loads((folder / "region_layer_map" / "tiny-tessl.json").read_text())["IT"] == "layer3"
    assert "overridden by the user: {'IT': 'layer3'}" in (folder / "__init__.py").read_text()
